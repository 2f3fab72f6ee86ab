"""What the page does, as plain methods a test can call without a browser: uploads, masks, strokes,
runs (queued, with progress, previews and Stop), and the end of a session.

Every method takes the session's id; each session's files live in its own folder
(:mod:`.sessions`), so results never mix between sessions.  Errors the user can fix are raised as
ValueError with a message for the page, naming the uploaded file as the user knows it.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import io
from ..api import Stylizer
from ..config import Config
from ..errors import first_line
from ..neural.lbfgs import Interrupted, Progress
from ..neural.vgg import load_weights
from ..ops.palette import PALETTE_NAMES, labels_from_colors, match_labels
from .masks import DISPLAY, corrected, mask_image, overlay, read_mask, strokes_from_layers
from .queue import RunQueue
from .runs import Result, Update, command_line, file_names, make_config, page_words
from .sessions import WHICH, Photo, Session, Sessions

_MASK_CACHE = 8  # photo pairs whose automatic masks are kept (a re-upload costs nothing)
PREVIEWS = 15  # intermediate images shown per stage, about
PREVIEW_SIZE = 384  # long side (px) at least of a preview


class Engine:
    """The server's state: the network (loaded once), the run queue and the live sessions."""

    def __init__(
        self,
        root: str | Path,
        config: Config = Config(),
        weights: dict | None = None,
        uploads: str | Path | None = None,
    ) -> None:
        """root: the folder that holds every session's folder; config: the device, weights and
        automatic-mask settings (runs take their other settings from the page); uploads: the web
        framework's folder of uploads, swept as sessions end (:class:`.sessions.Sessions`)."""
        sd = weights if weights is not None else load_weights(config.weights or None)
        self.config = config
        # two copies of the network: one for runs, one for automatic masks, so masks of a new upload
        # need not wait for someone else's run (a Stylizer runs one thing at a time)
        self.runner = Stylizer(config, weights=sd)
        self.masker = Stylizer(config, weights=sd)
        self._masker_lock = threading.Lock()
        self._auto: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray, str]] = OrderedDict()
        # Runs go one at a time: on a CPU two at once take twice as long each, and a Stylizer is not
        # safe to share between threads.
        self.queue = RunQueue(1)
        self.sessions = Sessions(root, uploads)

    # uploads -------------------------------------------------------------------------------------

    def upload_photo(self, sid: str, which: str, path: str | Path) -> Photo:
        """Take the uploaded file at ``path`` as the session's content or style photo (its automatic
        masks are made by :meth:`auto_masks`).  A file that is not a readable photo, or too large,
        raises ValueError saying so; the previous photo is kept then."""
        s = self.sessions.get(sid)
        self.sessions.track(sid, path)
        name = Path(path).name
        folder = s.new_folder(f"{which}-")
        copy = folder / name
        shutil.copyfile(path, copy)
        try:
            rgb = io.load_image(copy, which)
        except ValueError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise ValueError(f"{which} photo {str(exc).replace(str(copy), name)}") from None
        photo = Photo(name, copy, rgb)
        with s.lock:
            s.photos[which] = photo
            for p in s.photos.values():
                p.auto = None  # the masks of a pair are made together
            self._update_mask(photo)
        return photo

    def remove_photo(self, sid: str, which: str) -> None:
        """The photo was taken off the page: forget it (and the other photo's automatic mask)."""
        s = self.sessions.get(sid)
        with s.lock:
            s.photos.pop(which, None)
            for p in s.photos.values():
                p.auto = None
                self._update_mask(p)

    def upload_mask(self, sid: str, which: str, path: str | Path) -> Photo:
        """A mask file of the user's for the content or style photo: it replaces the automatic mask
        (strokes still correct it).  It must be the photo's size."""
        s = self.sessions.get(sid)
        self.sessions.track(sid, path)
        name = Path(path).name
        photo = s.photos.get(which)
        if photo is None:
            raise ValueError(f"{which} mask {name}: upload the {which} photo first")
        try:
            given = read_mask(str(path), photo.rgb, f"{which} mask {name}")
        except ValueError as exc:
            raise ValueError(str(exc).replace(str(path), name)) from None
        with s.lock:
            photo.given = given
            self._update_mask(photo)
        return photo

    def clear_mask(self, sid: str, which: str) -> None:
        s = self.sessions.get(sid)
        with s.lock:
            if which in s.photos:
                s.photos[which].given = None
                self._update_mask(s.photos[which])

    # masks -----------------------------------------------------------------------------------------

    def auto_masks(self, sid: str) -> str:
        """Make the automatic masks of the session's pair (matching regions share a colour), when both
        photos are there.  Returns which masks they are (``"unsupervised"``, ``"semantic (...)"``,
        see :meth:`dpst.Stylizer.segmenter`), or "" when a photo is missing."""
        s = self.sessions.get(sid)
        with s.lock:
            if not s.ready():
                return ""
            c, st = s.photos["content"], s.photos["style"]
        key = (_digest(c.rgb), _digest(st.rgb))
        if key not in self._auto:
            with self._masker_lock:
                cm, sm = self.masker.masks(c.rgb, st.rgb, config=self.config)
                used = self.masker.masks_used
            self._auto[key] = (labels_from_colors(np.asarray(cm)), labels_from_colors(np.asarray(sm)), used)
            while len(self._auto) > _MASK_CACHE:
                self._auto.popitem(last=False)
        c_auto, s_auto, used = self._auto[key]
        with s.lock:
            if s.photos.get("content") is c and s.photos.get("style") is st:  # not replaced meanwhile
                c.auto, st.auto = c_auto, s_auto
                self._update_mask(c)
                self._update_mask(st)
        return used

    def paint(self, sid: str, which: str, layers: list[np.ndarray]) -> bool:
        """The editor's drawing layers (RGBA, transparent background, any size) as corrective strokes
        on the content or style photo; its completed mask is updated.  False when nothing changed
        (no photo, or the same strokes)."""
        s = self.sessions.get(sid)
        photo = s.photos.get(which)
        if photo is None:
            return False
        strokes = strokes_from_layers(layers, photo.rgb.shape[:2])
        with s.lock:
            same = (strokes is None and photo.strokes is None) or (
                strokes is not None and photo.strokes is not None and np.array_equal(strokes, photo.strokes)
            )
            if same or s.photos.get(which) is not photo:
                return False
            photo.strokes = strokes
            self._update_mask(photo)
        return True

    def _update_mask(self, photo: Photo) -> None:
        photo.mask = corrected(photo.rgb, photo.base, photo.strokes)

    def display(self, sid: str, which: str, with_mask: bool) -> Path | None:
        """A file of the photo (at most :data:`DISPLAY` px) for the page, with its mask as a
        translucent overlay when ``with_mask`` (and a mask is there)."""
        s = self.sessions.get(sid)
        photo = s.photos.get(which)
        if photo is None:
            return None
        labels = photo.mask if with_mask and (photo.base is not None or photo.strokes is not None) else None
        path = s.new_folder(f"view-{which}-") / ("overlay.png" if labels is not None else "photo.png")
        overlay(photo.rgb, labels, long_side=DISPLAY).save(path)
        return path

    # runs ------------------------------------------------------------------------------------------

    def stop(self, sid: str) -> None:
        """Stop the session's run: a queued run leaves the queue, a running one ends at its next step
        and keeps the result so far."""
        if sid in self.sessions:
            self.sessions.get(sid).stop.set()

    def run(self, sid: str, preset: str, settings: dict[str, Any], poll: float = 0.25) -> Iterator[Update]:
        """A run of the session's pair with the masks shown: queued, then going, then its result.
        Yields an :class:`Update` whenever something changed (at most every ``poll`` seconds); the
        last one has ``done`` set, and ``result`` unless the run failed or was stopped before its
        first step (``message`` says why)."""
        s = self.sessions.get(sid)
        s.stop.clear()
        try:
            config = make_config(preset, settings, self.config)
            if not s.ready():
                missing = " and ".join(w for w in WHICH if w not in s.photos)
                raise ValueError(f"upload the {missing} photo first")
        except ValueError as exc:
            yield Update(message=str(exc), done=True)
            return
        if not self.sessions.begin(s):
            return
        try:
            yield from self._queued(s, preset, config, poll)
        finally:
            self.sessions.end(s)

    def _queued(self, s: Session, preset: str, config: Config, poll: float) -> Iterator[Update]:
        ticket = self.queue.enter()
        try:
            yield Update(ahead=self.queue.ahead(ticket))  # every run is shown its place, if only briefly
            while not self.queue.wait_turn(ticket, timeout=0):
                if s.stop.is_set():
                    yield Update(message="stopped while waiting in the queue; nothing ran", done=True)
                    return
                yield Update(ahead=self.queue.ahead(ticket))
                self.queue.wait_turn(ticket, timeout=poll)
            yield from self._going(s, preset, config, poll)
        finally:
            self.queue.leave(ticket)

    def _going(self, s: Session, preset: str, config: Config, poll: float) -> Iterator[Update]:
        yield Update(phase="masks")
        try:
            if any(p.base is None and p.given is None for p in s.photos.values()):
                self.auto_masks(s.id)
            with s.lock:
                c, st = s.photos["content"], s.photos["style"]
                c_lab, s_lab = c.mask, st.mask
            folder = s.new_folder("run-")
            names = file_names(c.name, st.name)
            c_mask, s_mask = folder / names["content_mask"], folder / names["style_mask"]
            mask_image(c_lab).save(c_mask)
            mask_image(s_lab).save(s_mask)
        except ValueError as exc:
            yield Update(message=page_words(first_line(exc)), done=True)
            return
        job = _Job(s, config, folder)
        worker = threading.Thread(
            target=job.go, args=(self.runner, c.path, st.path, c_mask, s_mask), daemon=True
        )
        worker.start()
        shown = None
        while worker.is_alive():
            worker.join(poll)
            now = job.update()
            if now != shown:
                shown = now
                yield now
        if job.error is not None:
            text = first_line(job.error).replace(str(c.path), c.name).replace(str(st.path), st.name)
            yield Update(message=page_words(text), done=True)
            return
        if job.image is None:
            yield Update(message="stopped before the first step; there is no result yet", done=True)
            return
        command = command_line(c.name, st.name, names["png"], c_mask.name, s_mask.name, preset, config)
        result = _write_result(job, c, folder, names, c_mask, s_mask, command)
        _, missing = match_labels(c_lab, s_lab)
        note = ""
        if missing:
            note = "content regions the style mask lacks got no style: " + ", ".join(
                PALETTE_NAMES[k] for k in missing
            )
        last = job.update()
        yield Update(
            phase=last.phase, stage=last.stage, step=last.step, total=last.total,
            preview=last.preview, result=result, message=note, done=True,
        )  # fmt: skip

    def close(self, sid: str) -> None:
        """The session ended: its run stops, its files go."""
        self.sessions.close(sid)


class _Job:
    """One run in its worker thread: the library's progress callbacks in, previews and the result out."""

    def __init__(self, s: Session, config: Config, folder: Path) -> None:
        self.session, self.config, self.folder = s, config, folder
        self.phase, self.progress = "prepare", None
        self.preview: Path | None = None
        self._previews: list[Path] = []
        self.image: np.ndarray | None = None
        self.stopped = False
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self.started = time.monotonic()

    def go(self, stylizer: Stylizer, content: Path, style: Path, c_mask: Path, s_mask: Path) -> None:
        try:
            image = stylizer(
                content,
                style,
                content_mask=c_mask,
                style_mask=s_mask,
                config=self.config,
                callback=self.on_step,
                on_phase=self.on_phase,
            )
            self.image = np.asarray(image, dtype=np.float32) / 255.0
        except Interrupted as stop:
            self.image, self.stopped = stop.image, True
        except KeyboardInterrupt:
            self.stopped = True
        except Exception as exc:  # shown in the page; the server goes on
            self.error = exc

    def on_phase(self, name: str) -> None:
        if self.session.stop.is_set():
            raise KeyboardInterrupt
        self.phase = name

    def on_step(self, p: Progress) -> None:
        if self.session.stop.is_set():
            raise KeyboardInterrupt  # the library hands back the result so far (Interrupted)
        every = max(1, p.total // PREVIEWS)
        path = None
        if p.step == 1 or p.step % every == 0 or p.step == p.total:
            path = self.folder / f"preview-{p.stage}-{p.step:04d}.png"
            image = p.image()
            if max(image.shape[:2]) < PREVIEW_SIZE:  # the working size can be tiny: show it larger
                image = io.resize_long_side(image, PREVIEW_SIZE)
            io.to_pil(image).save(path)
        with self._lock:
            self.progress = p
            if path is not None:
                self.preview = path
                self._previews.append(path)
                while len(self._previews) > 2:  # the page may still be fetching the one before
                    self._previews.pop(0).unlink(missing_ok=True)

    def update(self) -> Update:
        with self._lock:
            p = self.progress
            if p is None:
                return Update(phase=self.phase, preview=self.preview)
            return Update(phase=self.phase, stage=p.stage, step=p.step, total=p.total, preview=self.preview)


def _write_result(
    job: _Job, content: Photo, folder: Path, names: dict, c_mask: Path, s_mask: Path, command: str
) -> Result:
    image = job.image
    h, w = image.shape[:2]
    png, jpeg = folder / names["png"], folder / names["jpeg"]
    io.save_image(image, png)
    io.save_image(image, jpeg)
    before = folder / "before.png"
    io.save_image(io.resize(content.rgb, h, w) if content.rgb.shape[:2] != (h, w) else content.rgb, before)
    head = "# Run in a folder that holds the two photos and the two masks downloaded with this file.\n"
    if job.stopped:
        head += "# This run was stopped early; the command runs it to the end.\n"
    script = folder / names["command"]
    io.write_atomic(script, (head + command + "\n").encode())
    return Result(png, jpeg, before, c_mask, s_mask, script, command, job.stopped, (w, h))


def _digest(rgb: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).hexdigest() + str(rgb.shape)
