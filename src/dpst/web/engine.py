"""What the page does, as plain methods a test can call without a browser: uploads, masks, strokes,
runs (queued, with progress, previews and Stop), and the end of a session.

Every method takes the session's id; each session's files live in its own folder
(:mod:`.sessions`), so results never mix between sessions.  Errors the user can fix are raised as
ValueError with a message for the page, naming the uploaded file as the user knows it.  What a server
lets its pages use (:class:`.limits.Limits`) is checked here: uploads before they are decoded, runs
as they are queued, and idle sessions and the disk by :meth:`Engine.tidy`.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import io
from ..api import Stylizer
from ..config import Config
from ..neural.vgg import load_weights
from .guard import Owners
from .jobs import DISK_FULL, Runs
from .limits import Limits, check_upload
from .masks import DISPLAY, AutoMasks, corrected, overlay, read_mask, settled, strokes_from_layers
from .runs import Update
from .sessions import Photo, Session, Sessions

# seconds: a tidy round keeps an untracked upload made up to this long before the oldest live session began
SWEEP_MARGIN = 60.0


class Engine:
    """The server's state: the network (loaded once), its automatic masks, the runs and the live sessions."""

    def __init__(
        self,
        root: str | Path,
        config: Config = Config(),
        weights: dict | None = None,
        uploads: str | Path | None = None,
        limits: Limits = Limits(),
    ) -> None:
        """root: the folder that holds every session's folder; config: the device, weights and
        automatic-mask settings (runs take their other settings from the page); uploads: the web
        framework's folder of uploads, swept as sessions end and at each :meth:`tidy`
        (:class:`.sessions.Sessions`); limits: what the pages may use."""
        sd = weights if weights is not None else load_weights(config.weights or None)
        self.config, self.limits = config, limits
        # one network: a run keeps its state to itself, so masks of a new upload are made beside
        # someone else's run (AutoMasks makes one pair's at a time)
        self.stylizer = Stylizer(config, weights=sd)
        self.masks = AutoMasks(self.stylizer, config)
        self.sessions = Sessions(root, uploads)
        self.owners = Owners(uploads if uploads is not None else root, self.sessions.owner)
        self.runs = Runs(self.stylizer, self.sessions, config, self.auto_masks, limits)
        self.queue = self.runs.queue
        self._tidying = threading.Event()

    # uploads -------------------------------------------------------------------------------------

    def upload_photo(self, sid: str, which: str, path: str | Path) -> Photo:
        """Take the uploaded file at ``path`` as the session's content or style photo (its automatic
        masks are made by :meth:`auto_masks`).  A file that is not a readable photo, or over the
        limits (checked before it is decoded), raises ValueError saying so; the previous photo is
        kept then."""
        s = self.sessions.get(sid)
        self.sessions.track(sid, path)
        name = Path(path).name
        self._check_upload(path, f"{which} photo {name}")
        folder = s.new_folder(f"{which}-", keep=2)
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
            self._update_masks(s, *s.photos.values())
        return photo

    def remove_photo(self, sid: str, which: str) -> None:
        """The photo was taken off the page: forget it (and the other photo's automatic mask)."""
        s = self.sessions.get(sid)
        with s.lock:
            s.photos.pop(which, None)
            for p in s.photos.values():
                p.auto = None
            self._update_masks(s, *s.photos.values())

    def upload_mask(self, sid: str, which: str, path: str | Path) -> Photo:
        """A mask file of the user's for the content or style photo: it replaces the automatic mask
        (strokes still correct it).  It must be the photo's size."""
        s = self.sessions.get(sid)
        self.sessions.track(sid, path)
        name = Path(path).name
        photo = s.photos.get(which)
        if photo is None:
            raise ValueError(f"{which} mask {name}: upload the {which} photo first")
        self._check_upload(path, f"{which} mask {name}")
        try:
            given = read_mask(str(path), photo.rgb, f"{which} mask {name}")
        except ValueError as exc:
            raise ValueError(str(exc).replace(str(path), name)) from None
        with s.lock:
            photo.given = given
            self._update_masks(s, photo)
        return photo

    def clear_mask(self, sid: str, which: str) -> None:
        s = self.sessions.get(sid)
        with s.lock:
            if which in s.photos:
                s.photos[which].given = None
                self._update_masks(s, s.photos[which])

    # masks -----------------------------------------------------------------------------------------

    def auto_masks(self, sid: str) -> str:
        """Make the automatic masks of the session's pair (matching regions share a colour), when both
        photos are there.  Returns which masks they are (``"unsupervised"``, ``"semantic (...)"``,
        see :func:`dpst.segment.choose.choose_masks`), or "" when a photo is missing."""
        s = self.sessions.get(sid)
        with s.lock:
            if not s.ready():
                return ""
            c, st = s.photos["content"], s.photos["style"]
        c_auto, s_auto, used = self.masks(c.rgb, st.rgb)
        with s.lock:
            if s.photos.get("content") is c and s.photos.get("style") is st:  # not replaced meanwhile
                c.auto, st.auto = c_auto, s_auto
                self._update_masks(s, c, st)
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
            self._update_masks(s, photo)
        return True

    def _update_masks(self, s: Session, *changed: Photo) -> None:
        """Each ``changed`` photo's base corrected by its strokes, then the pair's masks as a run
        uses them (:func:`settled`: what strokes left of the automatic regions redrawn)."""
        for photo in changed:
            photo.own = corrected(photo.rgb, photo.base, photo.strokes)
        c, st = s.photos.get("content"), s.photos.get("style")
        if c is None or st is None:
            for photo in changed:
                photo.mask = photo.own
            return
        c.mask, st.mask = settled(c, st)

    def display(self, sid: str, which: str, with_mask: bool) -> Path | None:
        """A file of the photo (at most :data:`DISPLAY` px) for the page, with its mask as a
        translucent overlay when ``with_mask`` (and a mask is there)."""
        s = self.sessions.get(sid)
        photo = s.photos.get(which)
        if photo is None:
            return None
        labels = photo.mask if with_mask and (photo.base is not None or photo.strokes is not None) else None
        path = s.new_folder(f"view-{which}-", keep=2) / ("overlay.png" if labels is not None else "photo.png")
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
        return self.runs.run(sid, preset, settings, poll)

    def close(self, sid: str) -> None:
        """The session ended: its run stops, its files go."""
        self.sessions.close(sid)

    # limits ----------------------------------------------------------------------------------------

    def _check_upload(self, path: str | Path, what: str) -> None:
        """ValueError when the file is over the limits (from its size and header), or when there is
        no room for it on the disk even with every finished result deleted."""
        check_upload(path, self.limits, what)
        if self.sessions.make_room(self.limits.disk_bytes) > self.limits.disk_bytes:
            raise ValueError(f"{what}: {DISK_FULL.format(self.limits.disk_mb)}")

    def notice(self, sid: str) -> str:
        """What the page should be told that it did not ask (its session ended while idle, a result
        of its was deleted to make room); "" when nothing.  Not counted as activity."""
        return self.sessions.notice(sid)

    def tidy(self) -> list[str]:
        """End the sessions idle for longer than the limit, make room on the disk, delete the uploads
        no live session can hold, forget uploads that are gone.  Returns the ids of the sessions
        ended."""
        ended = self.sessions.expire_idle(self.limits.idle_minutes * 60)
        self.sessions.make_room(self.limits.disk_bytes)
        self.sessions.sweep_unheld(margin=SWEEP_MARGIN)
        self.owners.forget_missing()
        return ended

    def start_tidying(self, every: float) -> None:
        """:meth:`tidy` every ``every`` seconds in a background thread, until :meth:`stop_tidying`."""
        self._tidying.clear()

        def loop() -> None:
            while not self._tidying.wait(every):
                try:
                    self.tidy()
                except OSError:  # a file went while it was looked at: the next round sees
                    pass

        threading.Thread(target=loop, name="dpst-tidy", daemon=True).start()

    def stop_tidying(self) -> None:
        self._tidying.set()
