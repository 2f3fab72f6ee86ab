"""A server's own folder, locked while it runs; what a dead server left is removed by the next."""

from __future__ import annotations

import os
import time

from dpst.web.workdir import LOCK, ServerFolder, remove_leftovers


def test_a_live_servers_folder_is_kept_and_its_own_release_deletes_it(tmp_path):
    first = ServerFolder(tmp_path)
    (first.path / "sessions").mkdir()
    (first.path / "sessions" / "result.png").write_bytes(b"x")
    second = ServerFolder(tmp_path)  # its start looks for leftovers: the first is alive (locked)
    assert first.path.is_dir() and second.path != first.path and second.removed == []
    assert (first.path / LOCK).read_text().strip() == str(os.getpid())
    first.release()
    assert not first.path.exists() and second.path.is_dir()
    second.release()
    assert list(tmp_path.iterdir()) == []


def test_the_folders_of_dead_servers_are_removed(tmp_path):
    dead = tmp_path / "dpst-dead"
    (dead / "sessions" / "s").mkdir(parents=True)
    (dead / LOCK).write_text("12345\n")  # its lock is free: no process holds it
    old = tmp_path / "dpst-0123abcd"  # an older dpst's folder, without a lock, an hour old
    old.mkdir()
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    young = tmp_path / "dpst-young"  # without a lock but new: maybe a server starting
    young.mkdir()
    others = tmp_path / "4f2a" / "upload.png"  # not a server's folder: not ours to judge
    others.parent.mkdir()
    others.write_bytes(b"x")
    assert remove_leftovers(tmp_path) == [old, dead]
    assert not dead.exists() and not old.exists() and young.exists() and others.exists()
