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

import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
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
    own: np.ndarray | None = None  # (H, W) int labels: the base corrected by this photo's strokes
    mask: np.ndarray | None = None  # (H, W) int labels a run uses: ``own``, settled with the other photo's

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
    client: str | None = None  # the client (browser) the session belongs to, see Sessions.claim
    active: float = field(default_factory=time.monotonic)  # when it last did something
    notice: str = ""  # what the page should be told (a result of its was deleted to make room)
    _made: dict[str, list[Path]] = field(default_factory=dict)

    def new_folder(self, prefix: str, keep: int | None = None) -> Path:
        """A fresh sub-folder (``prefix`` + a counter), so a new file never reuses an old URL.  With
        ``keep``, only the newest ``keep`` folders of this prefix are kept: the older go (the page
        may still be fetching the one before the newest)."""
        with self.lock:
            self.runs += 1
            path = self.folder / f"{prefix}{self.runs}"
            made = self._made.setdefault(prefix, [])
            made.append(path)
            old = made[:-keep] if keep else []
            del made[: len(old)]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ready(self) -> bool:
        return all(w in self.photos for w in WHICH)


ENDED = 10_000  # ended sessions whose reason is kept for their page, at most


class Sessions:
    """The live sessions, by the id the web framework gives each browser tab."""

    def __init__(self, root: str | Path, uploads: str | Path | None = None) -> None:
        """root: the folder of the session folders; uploads: the web framework's folder of uploaded
        files, swept when a session ends and by :meth:`sweep_unheld` (None: not swept), and counted
        with ``root`` as the disk the sessions use."""
        self.root = Path(os.path.abspath(root)).resolve()
        self.uploads = Path(os.path.abspath(uploads)).resolve() if uploads is not None else None
        self._live: dict[str, Session] = {}
        self._by_folder: dict[str, Session] = {}
        self._tracked: dict[str, set[Path]] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()  # why a session ended, for its page
        self._results: list[tuple[float, Session, Path]] = []  # finished runs' folders, oldest first
        self._lock = threading.Lock()

    def get(self, sid: str) -> Session:
        """The session ``sid``, made (with its folder) on first use, and marked active now.  A closed
        session is not reopened: its id gets a new, empty session."""
        with self._lock:
            s = self._live.get(sid)
            if s is None:
                name = secrets.token_urlsafe(16)  # not the id: folders are not guessable
                folder = self.root / name
                folder.mkdir(parents=True, exist_ok=False)
                s = self._live[sid] = self._by_folder[name] = Session(sid, folder)
                self._tracked[sid] = set()
                self._ended.pop(sid, None)  # its page starts again
            s.active = time.monotonic()
            return s

    def claim(self, sid: str, client: str | None) -> Session:
        """The session ``sid`` (:meth:`get`) for a request of ``client`` (its cookie, see
        :mod:`.guard`): a new session becomes that client's; a session of another client is refused
        (ValueError), so no client can act in, or fetch from, another's session."""
        s = self.get(sid)
        with self._lock:
            if s.client is None and s.runs == 0:
                s.client = client
            if client is None:
                raise ValueError("this server needs its cookie: allow cookies for this page and reload it")
            if s.client != client:
                raise ValueError("this page's session belongs to another browser; reload the page")
        return s

    def belongs(self, sid: str, client: str | None) -> bool:
        """True unless the live session ``sid`` is another client's: only its own client may stop it
        or end it."""
        with self._lock:
            s = self._live.get(sid)
            return s is None or s.client is None or s.client == client

    def owner(self, path: Path) -> str | None:
        """The client whose session folder holds ``path`` (absolute, resolved), or None."""
        try:
            name = path.relative_to(self.root).parts[0]
        except (ValueError, IndexError):
            return None
        with self._lock:
            s = self._by_folder.get(name)
            return None if s is None or s.closed else s.client

    def notice(self, sid: str) -> str:
        """What the page of ``sid`` should be told (why its session ended, or that a result of its
        was deleted), without counting as activity; "" when nothing."""
        with self._lock:
            if sid in self._ended:
                return self._ended[sid]
            s = self._live.get(sid)
            return s.notice if s is not None else ""

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
        """Mark that work as done (the session was active until now); a session that ended meanwhile is
        deleted now."""
        with self._lock:
            s.busy -= 1
            s.active = time.monotonic()
            remove = s.closed and s.busy == 0
        if remove:
            shutil.rmtree(s.folder, ignore_errors=True)

    def close(self, sid: str, why: str = "") -> None:
        """The session has ended (its tab was closed or reloaded, or ``why``, said to its page if it
        comes back): stop its run, delete its files."""
        with self._lock:
            s = self._live.pop(sid, None)
            tracked = self._tracked.pop(sid, set())
            still_held = self._held()
            if s is not None:
                s.closed = True
                s.stop.set()
                self._by_folder.pop(s.folder.name, None)
                self._results = [r for r in self._results if r[1] is not s]
                if why:
                    self._ended[sid] = why
                    while len(self._ended) > ENDED:
                        self._ended.popitem(last=False)
            remove = s is not None and s.busy == 0
        for path in tracked - still_held:
            _delete(path, self.uploads)
        self.sweep_unheld()
        if remove:  # last: once the folder is gone, so is every file of the session
            shutil.rmtree(s.folder, ignore_errors=True)

    def sweep_unheld(self, margin: float = 0.0) -> None:
        """:meth:`sweep` the uploads older than every live session (none of those can be theirs) by
        ``margin`` seconds, but those a live session holds: what the framework stored that no session
        tracked (the editor uploads its layers unasked) goes with the last session that could have
        made it.  ``margin``: room for an upload whose session the page starts only after it (a page
        whose session ended idle starts a new one with its next upload)."""
        with self._lock:
            keep = self._held()
            horizon = min((x.started for x in self._live.values()), default=time.time())
        self.sweep(horizon - margin, keep)

    def _held(self) -> set[Path]:
        """The framework's files that live sessions track (the caller holds the lock)."""
        return set().union(*self._tracked.values())

    def sweep(self, horizon: float, keep: set[Path] = frozenset()) -> None:
        """Delete the files in ``uploads`` older than ``horizon`` (a time.time()) but those in
        ``keep``, the session folders and the server's own hidden files (its lock)."""
        if self.uploads is None or not self.uploads.is_dir():
            return
        for entry in self.uploads.iterdir():
            if entry.name.startswith(".") or entry == self.root:
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

    def expire_idle(self, seconds: float, now: float | None = None) -> list[str]:
        """End every session with nothing going (no run queued or running) and no action for
        ``seconds``; its page is told so.  Returns their ids."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [sid for sid, s in self._live.items() if s.busy == 0 and now - s.active > seconds]
        minutes = f"{seconds / 60:g} minute{'s' if seconds != 60 else ''}"
        for sid in idle:
            self.close(
                sid, f"This page was idle for more than {minutes}, so its photos and results were deleted: "
                "upload the photos again to go on.",
            )  # fmt: skip
        return idle

    # disk --------------------------------------------------------------------------------------------

    def finished(self, s: Session, folder: Path) -> None:
        """A run of ``s`` finished with its files in ``folder``: the first to go when room is needed."""
        with self._lock:
            if not s.closed:
                self._results.append((time.time(), s, folder))

    def used(self) -> int:
        """Bytes in the sessions' folders and the framework's uploads."""
        top = self.uploads if self.uploads is not None and self.root.is_relative_to(self.uploads) else None
        total = 0
        for base in [top] if top is not None else [self.root, self.uploads]:
            if base is None:
                continue
            for dirpath, _, names in os.walk(base):
                for name in names:
                    try:
                        total += os.stat(os.path.join(dirpath, name)).st_size
                    except OSError:  # deleted meanwhile
                        pass
        return total

    def make_room(self, limit: int, keep: Path | None = None) -> int:
        """Delete finished results, oldest first (but ``keep``), until the sessions use at most
        ``limit`` bytes; the page of each is told.  Returns the bytes used then."""
        used = self.used()
        while used > limit:
            with self._lock:
                i = next((i for i, r in enumerate(self._results) if r[2] != keep), None)
                if i is None:
                    break
                when, s, folder = self._results.pop(i)
                s.notice = (
                    f"Your result of {time.strftime('%H:%M', time.localtime(when))} was deleted to make "
                    "room on this server: download results soon after they finish."
                )
            shutil.rmtree(folder, ignore_errors=True)
            used = self.used()
        return used


def _delete(path: Path, top: Path | None = None) -> None:
    """Delete a file, and its folder (never ``top``) when that is left empty: the framework keeps
    each upload in a folder of its own."""
    path.unlink(missing_ok=True)
    if path.parent != top:
        try:
            path.parent.rmdir()
        except OSError:
            pass
