"""One folder of files per browser session, deleted when the session ends.

Every file a session makes (its copies of the photos, masks, previews, results) lives in its own
folder under ``root``; the server hands out files from there, never another session's.  Files the web
framework stored for a session (its uploads) are tracked and deleted with it, unless another live
session holds the same file (the framework stores identical uploads once).  Uploads the framework
makes without telling the handlers (the image editor sends its picture whenever it is set) cannot
be told apart by session, so when a session ends the framework's folder (``uploads``) is swept of
every untracked file older than the oldest live session: no live session can have made it.  A
session that ends while its run is going asks the run to stop; its folder goes when the run lets go
of it.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WHICH = ("content", "style")


@dataclass
class Photo:
    """An uploaded photo and the masks made for it."""

    name: str  # the uploaded file's own name, as the command line refers to it
    path: Path  # this session's copy
    rgb: np.ndarray  # (H, W, 3) float32 in [0, 1], at full size
    auto: np.ndarray | None = None  # (H, W) int labels of the automatic mask
    given: np.ndarray | None = None  # (H, W) int labels of a mask the user uploaded (replaces auto)
    strokes: np.ndarray | None = None  # (H, W) int labels painted, -1 unpainted
    mask: np.ndarray | None = None  # (H, W) int labels a run uses: the base with the strokes completed

    @property
    def base(self) -> np.ndarray | None:
        """The mask the strokes correct: the uploaded one, else the automatic one."""
        return self.given if self.given is not None else self.auto

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass
class Session:
    """What one browser session holds.  ``lock`` guards ``photos`` against the session's own
    concurrent events (a stroke completed while the automatic masks arrive)."""

    id: str
    folder: Path
    photos: dict[str, Photo] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.RLock = field(default_factory=threading.RLock)
    runs: int = 0  # runs started, to name each run's folder
    busy: int = 0  # work in progress that still writes into the folder
    closed: bool = False
    started: float = field(default_factory=time.time)

    def new_folder(self, prefix: str) -> Path:
        """A fresh sub-folder (``prefix`` + a counter), so a new file never reuses an old URL."""
        with self.lock:
            self.runs += 1
            path = self.folder / f"{prefix}{self.runs}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ready(self) -> bool:
        return all(w in self.photos for w in WHICH)


class Sessions:
    """The live sessions, by the id the web framework gives each browser tab."""

    def __init__(self, root: str | Path, uploads: str | Path | None = None) -> None:
        """root: the folder of the session folders; uploads: the web framework's folder of uploaded
        files, swept when a session ends (None: not swept)."""
        self.root = Path(root)
        self.uploads = Path(uploads) if uploads is not None else None
        self._live: dict[str, Session] = {}
        self._tracked: dict[str, set[Path]] = {}
        self._lock = threading.Lock()

    def get(self, sid: str) -> Session:
        """The session ``sid``, made (with its folder) on first use.  A closed session is not
        reopened: its id gets a new, empty session."""
        with self._lock:
            s = self._live.get(sid)
            if s is None:
                folder = self.root / secrets.token_hex(8)  # not the id: folders are not guessable
                folder.mkdir(parents=True, exist_ok=False)
                s = self._live[sid] = Session(sid, folder)
                self._tracked[sid] = set()
            return s

    def __contains__(self, sid: str) -> bool:
        return sid in self._live

    def __len__(self) -> int:
        return len(self._live)

    def track(self, sid: str, path: str | Path | None) -> None:
        """Delete ``path`` (a file the framework stored for this session) when the session ends."""
        if path:
            self.get(sid)
            with self._lock:
                self._tracked[sid].add(Path(path))

    def begin(self, s: Session) -> bool:
        """Mark work that writes into ``s.folder`` as started; False if the session has ended."""
        with self._lock:
            if s.closed:
                return False
            s.busy += 1
            return True

    def end(self, s: Session) -> None:
        """Mark that work as done; a session that ended meanwhile is deleted now."""
        with self._lock:
            s.busy -= 1
            remove = s.closed and s.busy == 0
        if remove:
            shutil.rmtree(s.folder, ignore_errors=True)

    def close(self, sid: str) -> None:
        """The session has ended (its tab was closed or reloaded): stop its run, delete its files."""
        with self._lock:
            s = self._live.pop(sid, None)
            tracked = self._tracked.pop(sid, set())
            still_held = set().union(*self._tracked.values()) if self._tracked else set()
            if s is not None:
                s.closed = True
                s.stop.set()
            remove = s is not None and s.busy == 0
            horizon = min((x.started for x in self._live.values()), default=time.time())
        for path in tracked - still_held:
            _delete(path, self.uploads)
        if remove:
            shutil.rmtree(s.folder, ignore_errors=True)
        self.sweep(horizon, still_held)

    def sweep(self, horizon: float, keep: set[Path] = frozenset()) -> None:
        """Delete the files in ``uploads`` older than ``horizon`` (a time.time()) but those in
        ``keep`` and the session folders (``dpst-*``, this server's and any other's)."""
        if self.uploads is None or not self.uploads.is_dir():
            return
        for entry in self.uploads.iterdir():
            if entry.name.startswith("dpst-") or entry == self.root:
                continue
            for path in [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]:
                try:
                    old = path.stat().st_mtime < horizon
                except OSError:
                    continue
                if old and path not in keep:
                    _delete(path, self.uploads)

    def close_all(self) -> None:
        for sid in list(self._live):
            self.close(sid)


def _delete(path: Path, top: Path | None = None) -> None:
    """Delete a file, and its folder (never ``top``) when that is left empty: the framework keeps
    each upload in a folder of its own."""
    path.unlink(missing_ok=True)
    if path.parent != top:
        try:
            path.parent.rmdir()
        except OSError:
            pass
