from __future__ import annotations

import os
import time

from dpst.web.sessions import Sessions


def test_each_session_has_its_own_folder_deleted_when_it_ends(tmp_path):
    sessions = Sessions(tmp_path / "root")
    a, b = sessions.get("a"), sessions.get("b")
    assert a.folder != b.folder and a.folder.is_dir() and sessions.get("a") is a
    (a.new_folder("run-") / "result.png").write_bytes(b"x")
    sessions.close("a")
    assert not a.folder.exists() and b.folder.is_dir() and "a" not in sessions
    assert a.stop.is_set() and a.closed
    assert sessions.get("a") is not a  # a closed session is never reopened


def test_a_session_ending_during_its_run_is_deleted_when_the_run_lets_go(tmp_path):
    sessions = Sessions(tmp_path / "root")
    s = sessions.get("a")
    assert sessions.begin(s)
    sessions.close("a")
    assert s.folder.is_dir() and s.stop.is_set()  # the run still writes there
    assert not sessions.begin(s)  # no new work for an ended session
    sessions.end(s)
    assert not s.folder.exists()


def _upload(uploads, name: str, data: bytes = b"photo", age: float = 0.0):
    folder = uploads / f"hash-{name}"
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(data)
    if age:
        t = time.time() - age
        os.utime(path, (t, t))
    return path


def test_uploads_go_with_their_session_unless_another_live_session_holds_them(tmp_path):
    uploads = tmp_path / "uploads"
    sessions = Sessions(uploads / "dpst-x", uploads)
    shared, own = _upload(uploads, "shared.png"), _upload(uploads, "own.png")
    sessions.track("a", shared)
    sessions.track("a", own)
    sessions.track("b", shared)
    sessions.close("a")
    assert not own.exists() and not own.parent.exists()
    assert shared.exists()  # b still shows it
    sessions.close("b")
    assert not shared.exists()


def test_untracked_uploads_older_than_every_live_session_are_swept(tmp_path):
    uploads = tmp_path / "uploads"
    sessions = Sessions(uploads / "dpst-x", uploads)
    sessions.get("old")
    time.sleep(0.02)
    sessions.get("young")
    stray = _upload(uploads, "editor.png", age=60)  # made before any live session began
    recent = _upload(uploads, "recent.png")  # may be a live session's upload in progress
    other_server = uploads / "dpst-y" / "s" / "result.png"
    other_server.parent.mkdir(parents=True)
    other_server.write_bytes(b"x")
    sessions.close("young")
    assert not stray.exists() and recent.exists() and other_server.exists()
    sessions.close("old")  # no live session left: nothing can be anyone's
    assert not recent.exists() and other_server.exists()
    assert uploads.is_dir() and (uploads / "dpst-x").is_dir()
