"""The runs of the page: one at a time through a queue, each in a worker thread that turns the
library's progress into previews, and its result into the files the page offers."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import io
from ..api import Stylizer
from ..config import Config
from ..errors import first_line
from ..neural.lbfgs import Interrupted, Progress
from ..ops.palette import PALETTE_NAMES, match_labels
from .limits import Limits
from .masks import mask_image
from .queue import RunQueue
from .runs import Result, Update, command_line, file_names, make_config, page_words
from .sessions import WHICH, Photo, Session, Sessions

PREVIEWS = 15  # intermediate images shown per stage, about
PREVIEW_SIZE = 384  # long side (px) at least of a preview
DISK_FULL = (
    "the server's disk space for pages is full ({} MB, its limit), even with every finished result "
    "deleted; try again later"
)


def trim_memory() -> None:
    """Hand the memory a run freed back to the system.  glibc keeps freed heap memory for reuse, and
    as photos of new sizes come, a server's RSS creeps up by several MB a run without it (measured:
    docs/web.md, "Under load").  A no-op where the C library is not glibc."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


class Runs:
    """Runs of any session, one at a time: on a CPU two at once take twice as long each.

    A run is refused when the queue is at its limits (``limits.session_runs`` per session,
    ``limits.queued_runs`` in all) or the sessions' disk is full even after deleting every finished
    result.  A run whose page goes away (its session ends, or the page stops listening) stops at
    its next step: its worker lets go of the queue and of the session's folder as it ends."""

    def __init__(
        self,
        stylizer: Stylizer,
        sessions: Sessions,
        config: Config,
        auto_masks: Callable[[str], str],
        limits: Limits = Limits(),
    ) -> None:
        """config: the server's (device, weights, automatic masks); ``auto_masks(session id)`` makes
        the automatic masks a photo still lacks."""
        self.stylizer, self.sessions, self.config, self.auto_masks = stylizer, sessions, config, auto_masks
        self.limits = limits
        self.queue = RunQueue(1, per_owner=limits.session_runs, most=limits.queued_runs)

    def run(self, sid: str, preset: str, settings: dict[str, Any], poll: float = 0.25) -> Iterator[Update]:
        """The session's run (:meth:`.engine.Engine.run`)."""
        s = self.sessions.get(sid)
        try:
            config = make_config(preset, settings, self.config)
            if not s.ready():
                missing = " and ".join(w for w in WHICH if w not in s.photos)
                raise ValueError(f"upload the {missing} photo first")
            ticket = self.queue.enter(sid)
        except ValueError as exc:
            yield Update(message=str(exc), done=True)
            return
        s.stop.clear()
        s.notice = ""
        if not self.sessions.begin(s):
            self.queue.leave(ticket)
            return
        try:
            yield from self._queued(s, ticket, preset, config, poll)
        finally:
            self.sessions.end(s)

    def _queued(self, s: Session, ticket: int, preset: str, config: Config, poll: float) -> Iterator[Update]:
        handed: list[bool] = []  # the slot is the worker's once it starts
        try:
            yield Update(ahead=self.queue.ahead(ticket))  # every run is shown its place, if only briefly
            while not self.queue.wait_turn(ticket, timeout=0):
                if s.stop.is_set():
                    yield Update(message="stopped while waiting in the queue; nothing ran", done=True)
                    return
                yield Update(ahead=self.queue.ahead(ticket))
                self.queue.wait_turn(ticket, timeout=poll)
            if self.sessions.make_room(self.limits.disk_bytes) > self.limits.disk_bytes:
                yield Update(message=DISK_FULL.format(self.limits.disk_mb), done=True)
                return
            yield from self._going(s, ticket, preset, config, poll, handed)
        finally:
            if not handed:
                self.queue.leave(ticket)

    def _going(
        self, s: Session, ticket: int, preset: str, config: Config, poll: float, handed: list[bool]
    ) -> Iterator[Update]:
        """The run from its masks to its result files; ``handed`` gets True once its worker holds the
        queue slot (and lets go of it as it ends)."""
        yield Update(phase="masks")
        try:
            if any(p.base is None and p.given is None for p in s.photos.values()):
                self.auto_masks(s.id)
            with s.lock:
                c, st = s.photos["content"], s.photos["style"]
                c_lab, s_lab = c.mask, st.mask
                if c.given is None or st.given is None:  # dpst made them: the run does as the CLI does
                    config = config.for_automatic_masks()
            folder = s.new_folder("run-")
            names = file_names(c.name, st.name)
            c_mask, s_mask = folder / names["content_mask"], folder / names["style_mask"]
            mask_image(c_lab).save(c_mask)
            mask_image(s_lab).save(s_mask)
        except ValueError as exc:
            yield Update(message=page_words(first_line(exc)), done=True)
            return
        job = _Job(s, config, folder)
        if not self.sessions.begin(s):  # the worker holds the folder too, until it ends
            return

        def let_go() -> None:
            trim_memory()
            self.sessions.end(s)
            self.queue.leave(ticket)

        worker = threading.Thread(
            target=job.go, args=(self.stylizer, c.path, st.path, c_mask, s_mask, let_go), daemon=True
        )
        worker.start()
        handed.append(True)
        try:
            yield from job.watch(worker, poll)
        finally:
            job.cancel.set()  # a no-op once it ended; else the page went away: stop at the next step
        if s.closed:
            return
        if job.error is not None:
            text = first_line(job.error).replace(str(c.path), c.name).replace(str(st.path), st.name)
            yield Update(message=page_words(text), done=True)
            return
        if job.image is None:
            yield Update(message="stopped before the first step; there is no result yet", done=True)
            return
        command = command_line(c.name, st.name, names["png"], c_mask.name, s_mask.name, preset, config)
        result = _write_result(job, c, folder, names, c_mask, s_mask, command)
        self.sessions.finished(s, folder)
        self.sessions.make_room(self.limits.disk_bytes, keep=folder)
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
        self.cancel = threading.Event()  # the page went away

    def go(
        self, stylizer: Stylizer, content: Path, style: Path, c_mask: Path, s_mask: Path, let_go: Callable
    ) -> None:
        """The run, in the worker thread; ``let_go()`` when it ends, however it ends."""
        try:
            result = stylizer.run(
                content,
                style,
                content_mask=c_mask,
                style_mask=s_mask,
                config=self.config,
                callback=self.on_step,
                on_phase=self.on_phase,
            )
            self.image = result.pixels()  # at full precision, for a 16-bit download
        except Interrupted as stop:
            self.image, self.stopped = stop.image, True
        except KeyboardInterrupt:
            self.stopped = True
        except Exception as exc:  # shown in the page; the server goes on
            self.error = exc
        finally:
            let_go()

    def watch(self, worker: threading.Thread, poll: float) -> Iterator[Update]:
        """An update whenever one is new, until the worker ends."""
        shown = None
        while worker.is_alive():
            worker.join(poll)
            now = self.update()
            if now != shown:
                shown = now
                yield now

    def stopping(self) -> bool:
        return self.session.stop.is_set() or self.cancel.is_set()

    def on_phase(self, name: str) -> None:
        if self.stopping():
            raise KeyboardInterrupt
        self.phase = name

    def on_step(self, p: Progress) -> None:
        if self.stopping():
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
    like = io.read_photo(content.path).info  # downloads in the upload's colour space, depth and metadata
    io.save_photo(image, png, like)
    io.save_photo(image, jpeg, like)
    before = folder / "before.png"
    io.save_image(io.resize(content.rgb, h, w) if content.rgb.shape[:2] != (h, w) else content.rgb, before)
    head = "# Run in a folder that holds the two photos and the two masks downloaded with this file.\n"
    if job.stopped:
        head += "# This run was stopped early; the command runs it to the end.\n"
    script = folder / names["command"]
    io.write_atomic(script, (head + command + "\n").encode())
    return Result(png, jpeg, before, c_mask, s_mask, script, command, job.stopped, (w, h))
