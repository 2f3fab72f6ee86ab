"""The folder a ``dpst serve`` keeps every file in, and what a killed server left behind.

Each server makes one folder ``dpst-<random>`` under a base folder shared by every server of the
machine (the web framework's upload folder), holding a lock file it keeps locked as long as it runs.
A lock dies with its process, however the process ends (``kill -9`` included), so a server starting
finds the folders of dead servers by their free locks and deletes them.  A folder is made under a
hidden name and renamed once its lock is held, so no server ever sees a live one unlocked.  (On a
system without ``fcntl`` locks, Windows, no folder is ever taken for dead.)
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

PREFIX = "dpst-"
LOCK = ".lock"
GRACE = 60.0  # seconds: a folder without a lock file younger than this may be an older dpst's, starting


class ServerFolder:
    """This server's folder under ``base``: made (after deleting the dead servers' folders) and locked
    on construction, deleted by :meth:`release`."""

    def __init__(self, base: str | Path) -> None:
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.removed = remove_leftovers(self.base)
        name = secrets.token_hex(8)
        starting = self.base / f".{PREFIX}{name}"
        starting.mkdir()
        self._lock: IO[str] | None = (starting / LOCK).open("w")
        if fcntl is not None:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock.write(f"{os.getpid()}\n")
        self._lock.flush()
        self.path = starting.rename(self.base / f"{PREFIX}{name}")

    def release(self) -> None:
        """Delete the folder and everything in it, then let go of the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def remove_leftovers(base: str | Path) -> list[Path]:
    """Delete the folders under ``base`` of servers that are no longer running; returns them."""
    gone = []
    starting = [f for f in Path(base).glob(f".{PREFIX}*") if _old(f)]  # died before it was renamed
    for folder in sorted(Path(base).glob(f"{PREFIX}*")) + starting:
        if folder.is_dir() and (folder in starting or _dead(folder)):
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone


def _dead(folder: Path) -> bool:
    lock = folder / LOCK
    if not lock.exists():  # an older dpst's layout
        return _old(folder)
    if fcntl is None:
        return False
    try:
        with lock.open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: its server is gone
            return True
    except OSError:  # held (BlockingIOError), or unreadable: not ours to judge
        return False


def _old(folder: Path) -> bool:
    try:
        return time.time() - folder.stat().st_mtime > GRACE
    except OSError:
        return False
