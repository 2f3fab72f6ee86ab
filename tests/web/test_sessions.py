from __future__ import annotations

import os
import shutil
import time

import pytest

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
    lock = uploads / ".lock"  # the server's own (web/workdir.py)
    lock.write_text("1\n")
    os.utime(lock, (time.time() - 60, time.time() - 60))
    sessions.close("young")
    assert not stray.exists() and recent.exists() and lock.exists()
    sessions.close("old")  # no live session left: nothing can be anyone's
    assert not recent.exists() and lock.exists()
    assert uploads.is_dir() and (uploads / "dpst-x").is_dir()


def test_a_sessions_folder_goes_only_after_the_uploads_it_could_have_made(tmp_path, monkeypatch):
    # the folder's end tells that the session's files are gone: nothing of it is swept afterwards
    uploads = tmp_path / "uploads"
    sessions = Sessions(uploads / "dpst-x", uploads)
    s = sessions.get("a")
    stray = _upload(uploads, "layer_0.png")  # stored by the framework, tracked by no session
    seen = []
    rmtree = shutil.rmtree

    def watched(path, *args, **kwargs):
        seen.append((path, stray.exists()))
        return rmtree(path, *args, **kwargs)

    monkeypatch.setattr("dpst.web.sessions.shutil.rmtree", watched)
    sessions.close("a")
    assert seen == [(s.folder, False)]


def test_untracked_uploads_are_swept_without_a_session_ending(tmp_path):
    uploads = tmp_path / "uploads"
    sessions = Sessions(uploads / "dpst-x", uploads)
    stray = _upload(uploads, "background.png", age=60)
    sessions.get("live")
    held, recent = _upload(uploads, "held.png", age=60), _upload(uploads, "recent.png")
    sessions.track("live", held)
    sessions.sweep_unheld(margin=120)  # the stray is not that much older than the session
    assert stray.exists()
    sessions.sweep_unheld()
    assert not stray.exists() and held.exists() and recent.exists()


def test_a_session_is_its_clients_alone(tmp_path):
    sessions = Sessions(tmp_path / "root")
    s = sessions.claim("a", "me")
    assert s.client == "me" and sessions.claim("a", "me") is s
    with pytest.raises(ValueError, match="belongs to another browser"):
        sessions.claim("a", "you")
    with pytest.raises(ValueError, match="cookie"):
        sessions.claim("b", None)
    inside = s.new_folder("run-") / "result.png"
    assert sessions.owner(inside) == "me" and sessions.owner(tmp_path / "elsewhere.png") is None
    assert sessions.belongs("a", "me") and not sessions.belongs("a", "you") and sessions.belongs("z", "you")
    sessions.close("a")
    assert sessions.owner(inside) is None  # an ended session's files are nobody's


def test_only_the_newest_folders_of_a_kind_are_kept(tmp_path):
    s = Sessions(tmp_path / "root").get("a")
    made = [s.new_folder("view-content-", keep=2) for _ in range(4)]
    other = s.new_folder("run-")
    assert [p.exists() for p in made] == [False, False, True, True] and other.exists()


def test_idle_sessions_end_and_their_page_is_told(tmp_path):
    sessions = Sessions(tmp_path / "root")
    idle, working, fresh = sessions.get("idle"), sessions.get("working"), sessions.get("fresh")
    assert sessions.begin(working)
    now = time.monotonic()
    idle.active = working.active = now - 1000
    assert sessions.expire_idle(600, now) == ["idle"]
    assert not idle.folder.exists() and working.folder.is_dir() and fresh.folder.is_dir()
    assert "idle for more than 10 minutes" in sessions.notice("idle") and sessions.notice("fresh") == ""
    sessions.end(working)  # its run ended: that counts as activity
    assert sessions.expire_idle(600) == []
    again = sessions.get("idle")  # the page goes on: a new session, and nothing more to say
    assert again is not idle and sessions.notice("idle") == ""


def test_room_is_made_by_deleting_the_oldest_finished_results_first(tmp_path):
    uploads = tmp_path / "server"
    sessions = Sessions(uploads / "sessions", uploads)
    a, b = sessions.get("a"), sessions.get("b")
    runs = []
    for s in (a, b, a):
        folder = s.new_folder("run-")
        (folder / "result.png").write_bytes(b"x" * 1000)
        sessions.finished(s, folder)
        runs.append(folder)
    (uploads / "upload").mkdir()
    (uploads / "upload" / "photo.png").write_bytes(b"y" * 500)
    assert sessions.used() == 3500
    assert sessions.make_room(2600) == 2500
    assert [r.exists() for r in runs] == [False, True, True]
    assert "was deleted to make room" in sessions.notice("a") and sessions.notice("b") == ""
    assert sessions.make_room(0, keep=runs[2]) == 1500  # all but the one kept; the upload stays
    assert [r.exists() for r in runs] == [False, False, True] and "deleted" in sessions.notice("b")
