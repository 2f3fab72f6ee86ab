"""The page's actions without a browser: a tiny random network, synthetic photos."""

from __future__ import annotations

import os
import shlex
import threading
import time

import numpy as np
import pytest
from PIL import Image

from dpst.config import PRESETS, Config
from dpst.neural.vgg import random_weights
from dpst.web import engine as engine_module
from dpst.web import jobs
from dpst.web.engine import Engine
from dpst.web.limits import Limits
from tests.conftest import save_photo

FAST = {"size": 32, "output_size": 40, "style_weight": 10, "photo_weight": 3000}


pytestmark = pytest.mark.filterwarnings("ignore:content-mask regions absent")


@pytest.fixture(autouse=True)
def short_fast_preset(monkeypatch):
    """The fast preset with a few steps a stage: these tests check the plumbing, not the look."""
    monkeypatch.setitem(PRESETS, "fast", {**PRESETS["fast"], "stage1_iterations": 6, "stage2_iterations": 4})


@pytest.fixture
def engine(tmp_path):
    uploads = tmp_path / "uploads"
    return Engine(uploads / "dpst-test", Config(masks="unsupervised"), random_weights(0), uploads)


@pytest.fixture
def pair(tmp_path):
    return save_photo(tmp_path / "cat.png", 48, 64, 0), save_photo(tmp_path / "dusk.png", 40, 56, 1)


def ready(engine, sid, pair):
    engine.upload_photo(sid, "content", pair[0])
    engine.upload_photo(sid, "style", pair[1])
    assert engine.auto_masks(sid)


@pytest.fixture
def slow_steps(monkeypatch):
    """Each step lasts several polls. The page polls the run; a 32 px stage can end between two
    polls on a fast machine (CI did), so tests that look for a stage's steps use runs with
    poll=0.01 and this: they check what is reported, not how fast the CPU is."""
    on_step = jobs._Job.on_step

    def slow_step(job, p):
        on_step(job, p)
        time.sleep(0.1)

    monkeypatch.setattr(jobs._Job, "on_step", slow_step)


def last(updates):
    *_, end = updates
    assert end.done
    return end


@pytest.mark.parametrize(
    "data, words",
    [
        (b"just some text\n", "content photo notes.png: not an image file PIL can read"),
        ("truncated", "content photo notes.png: cannot read image"),
        (b"", "content photo notes.png: empty file"),
        ("huge", "content photo notes.png: image too large (over 1000 pixels)"),
    ],
)
def test_bad_photos_get_a_message_and_the_session_goes_on(engine, pair, tmp_path, monkeypatch, data, words):
    bad = tmp_path / "notes.png"
    if data == "truncated":
        bad.write_bytes(pair[0].read_bytes()[:300])
    elif data == "huge":
        bad.write_bytes(pair[0].read_bytes())
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    else:
        bad.write_bytes(data)
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        engine.upload_photo("a", "content", bad)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)
    assert "content" not in engine.sessions.get("a").photos
    ready(engine, "a", pair)
    assert last(engine.run("a", "fast", FAST)).result is not None


def test_a_mask_of_another_size_is_refused(engine, pair, tmp_path):
    ready(engine, "a", pair)
    mask = tmp_path / "cat_mask.png"
    Image.new("RGB", (30, 20), (0, 0, 255)).save(mask)
    with pytest.raises(ValueError, match=r"content mask cat_mask.png is 30×20 px but its photo is 64×48 px"):
        engine.upload_mask("a", "content", mask)
    Image.new("RGB", (64, 48), (255, 0, 0)).save(mask)
    engine.upload_mask("a", "content", mask)
    assert (engine.sessions.get("a").photos["content"].mask == 4).all()


def test_a_run_reports_its_steps_and_hands_out_its_files(engine, pair, slow_steps):
    ready(engine, "a", pair)
    layer = np.zeros((48, 64, 4), np.uint8)
    layer[20:24, 10:30] = [255, 255, 0, 255]  # a yellow stroke on the content
    assert engine.paint("a", "content", [layer]) and not engine.paint("a", "content", [layer])
    updates = list(engine.run("a", "fast", FAST, poll=0.01))
    end = updates[-1]
    steps = [(u.stage, u.step) for u in updates if u.stage]
    assert steps == sorted(steps) and {s for s, _ in steps} == {1, 2}
    assert any(u.preview is not None for u in updates[:-1])
    r = end.result
    assert not r.stopped and r.size == (40, 30) and Image.open(r.png).size == (40, 30)
    assert Image.open(r.jpeg).size == (40, 30) and Image.open(r.before).size == (40, 30)
    assert Image.open(r.content_mask).size == (64, 48)
    assert (np.asarray(Image.open(r.content_mask).convert("RGB")) == [255, 255, 0]).all(-1).any()
    assert "yellow" in end.message  # the style mask has no yellow region: said so
    assert r.command.read_text().splitlines()[-1] == r.command_text
    assert r.command_text.startswith("dpst cat.png dusk.png -o cat_restyled.png --content-mask cat_mask.png")
    folder = engine.sessions.get("a").folder
    assert all(str(p).startswith(str(folder)) for p in r.downloads())


def test_stop_keeps_the_result_so_far(engine, pair, slow_steps):
    ready(engine, "a", pair)
    updates = []
    for u in engine.run("a", "fast", {**FAST, "size": 48}, poll=0.01):
        updates.append(u)
        if u.stage == 1 and u.step >= 1:
            engine.stop("a")
    end = updates[-1]
    assert end.result is not None and end.result.stopped and end.result.size == (40, 30)
    assert "stopped early" in end.result.command.read_text()


def test_runs_of_two_sessions_queue_and_never_mix(engine, pair, tmp_path):
    other = save_photo(tmp_path / "noon.png", 40, 40, 7)
    ready(engine, "a", pair)
    ready(engine, "b", (pair[0], other))
    seen: dict[str, list] = {"a": [], "b": []}
    gate = threading.Barrier(2)

    def go(sid):
        gate.wait()
        seen[sid] = list(engine.run(sid, "fast", FAST, poll=0.01))

    threads = [threading.Thread(target=go, args=(sid,)) for sid in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(s[-1].result is not None for s in seen.values())
    waited = [sid for sid, s in seen.items() if any(u.ahead == 1 for u in s)]
    assert len(waited) == 1
    a, b = (seen[k][-1].result for k in "ab")
    assert a.png.parent != b.png.parent and "dusk.png" in a.command_text and "noon.png" in b.command_text
    assert str(engine.sessions.get("a").folder) in str(a.png)


def test_stop_while_queued_leaves_the_queue(engine, pair):
    ready(engine, "a", pair)
    ticket = engine.queue.enter()
    engine.queue.wait_turn(ticket, timeout=0)  # someone else's run holds the slot
    run = engine.run("a", "fast", FAST, poll=0.01)
    assert next(run).ahead == 1
    engine.stop("a")
    end = last(run)
    assert end.result is None and "queue" in end.message
    engine.queue.leave(ticket)
    assert len(engine.queue) == 0


def test_a_run_needs_both_photos_and_good_settings(engine, pair):
    engine.upload_photo("a", "content", pair[0])
    assert "upload the style photo" in last(engine.run("a", "fast", FAST)).message
    engine.upload_photo("a", "style", pair[1])
    assert "Working size 8" in last(engine.run("a", "fast", {**FAST, "size": 8})).message


def test_a_session_that_ends_takes_its_files(engine, pair):
    ready(engine, "a", pair)
    r = last(engine.run("a", "fast", FAST)).result
    folder = engine.sessions.get("a").folder
    engine.close("a")
    assert not folder.exists() and not r.png.exists()


def test_downloads_carry_the_uploads_profile_and_metadata(engine, tmp_path):
    from dpst import io
    from tests.conftest import photo
    from tests.files.media import adobe_rgb_icc, camera_jpeg

    icc = adobe_rgb_icc()
    content = camera_jpeg(tmp_path / "cam.jpg", np.round(photo(48, 64, 0) * 255).astype(np.uint8), icc=icc)
    engine.upload_photo("a", "content", content)
    engine.upload_photo("a", "style", save_photo(tmp_path / "dusk.png", 40, 56, 1))
    assert engine.upload_photo("a", "content", content).rgb.shape == (48, 64, 3)  # read upright
    r = last(engine.run("a", "fast", FAST, poll=0.01)).result
    for download in (r.png, r.jpeg):
        with Image.open(download) as im:
            assert im.info["icc_profile"] == icc and im.getexif()[0x010F] == "Canon"
            assert im.getexif()[0x0112] == 1 and not im.getexif().get_ifd(0x8825)  # no GPS by default
    assert io.read_photo(r.png).info.space == "RGB"


# --- the limits of a shared server ----------------------------------------------------------------


def limited(tmp_path, **limits) -> Engine:
    uploads = tmp_path / "server"
    config = Config(masks="unsupervised")
    return Engine(uploads / "sessions", config, random_weights(0), uploads, Limits(**limits))


def test_a_photo_over_the_pixel_limit_is_refused_before_it_is_decoded(tmp_path, pair, monkeypatch):
    engine = limited(tmp_path, megapixels=0.002)  # 2000 pixels; the photo has 3072

    def decode(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(engine_module.io, "load_image", decode)
    with pytest.raises(ValueError, match=r"photo cat.png: 64×48 px \(0 megapixels\) is over this server's"):
        engine.upload_photo("a", "content", pair[0])
    assert "content" not in engine.sessions.get("a").photos


def test_runs_over_the_queues_limits_are_refused_with_words_for_the_page(tmp_path, pair):
    engine = limited(tmp_path, queued_runs=2)
    ready(engine, "a", pair)
    mine = engine.queue.enter("a")  # a run of the same page already waits
    assert "this page already has 1 run queued or running" in last(engine.run("a", "fast", FAST)).message
    engine.queue.leave(mine)
    others = [engine.queue.enter(sid) for sid in ("b", "c")]
    assert "the server's queue is full (2 runs" in last(engine.run("a", "fast", FAST)).message
    engine.queue.leave(others[0])
    run = engine.run("a", "fast", FAST)
    assert next(run).ahead == 1  # room again: queued behind c's
    engine.stop("a")
    assert "nothing ran" in last(run).message


def test_a_run_whose_page_stops_listening_stops_at_its_next_step(engine, pair, slow_steps, monkeypatch):
    steps = []
    on_step = jobs._Job.on_step

    def counted(job, p):
        steps.append(p.step)
        on_step(job, p)

    monkeypatch.setattr(jobs._Job, "on_step", counted)
    ready(engine, "a", pair)
    run = engine.run("a", "fast", {**FAST, "size": 48}, poll=0.01)
    for u in run:
        if u.stage == 1 and u.step >= 2:
            break
    run.close()  # as the web framework closes the handler when its client disconnects
    seen = len(steps)
    deadline = time.monotonic() + 10
    while len(engine.queue) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(engine.queue) == 0  # the worker let go of its slot
    assert len(steps) <= seen + 1  # the step under way, then no other
    session = engine.sessions.get("a")
    assert session.busy == 0 and not session.stop.is_set()  # the session itself goes on


def test_a_session_idle_too_long_is_ended_and_its_page_told(tmp_path, pair):
    engine = limited(tmp_path, idle_minutes=1)
    ready(engine, "a", pair)
    ready(engine, "b", pair)
    folder = engine.sessions.get("a").folder
    engine.sessions.get("a").active -= 61
    assert engine.tidy() == ["a"]
    assert not folder.exists() and "b" in engine.sessions
    assert "idle for more than 1 minute" in engine.notice("a") and engine.notice("b") == ""


def test_tidying_deletes_what_the_framework_stored_that_no_live_session_can_hold(tmp_path, pair):
    engine = limited(tmp_path)
    stray = tmp_path / "server" / "f00d" / "layer_0.png"  # the editor's upload of an ended session
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"png")
    os.utime(stray, (time.time() - 120, time.time() - 120))  # older than the session by the margin
    ready(engine, "a", pair)
    engine.tidy()
    assert not stray.exists() and engine.sessions.get("a").folder.is_dir()


def test_the_oldest_finished_result_makes_room_and_a_full_disk_refuses_uploads(tmp_path, pair):
    engine = limited(tmp_path, disk_mb=10)
    ready(engine, "a", pair)
    first = last(engine.run("a", "fast", FAST)).result
    (first.png.parent / "big.bin").write_bytes(b"\0" * 10_000_000)  # as if it were a huge result
    second = last(engine.run("a", "fast", FAST)).result
    assert not first.png.exists() and second.png.exists()
    assert "was deleted to make room on this server" in engine.notice("a")
    stray = engine.sessions.uploads / "4f2a" / "big.bin"  # something that is no result fills the disk
    stray.parent.mkdir()
    stray.write_bytes(b"\0" * 11_000_000)
    with pytest.raises(ValueError, match=r"content photo cat.png: the server's disk space for pages is full"):
        engine.upload_photo("a", "content", pair[0])
    assert "disk space for pages is full" in last(engine.run("a", "fast", FAST)).message


def test_the_masks_a_run_uses_are_corrected_and_settled_as_the_cli_does(engine, pair):
    from dpst.segment import correct_pair

    ready(engine, "a", pair)
    layer = np.zeros((48, 64, 4), np.uint8)
    layer[20:24, 10:30] = [0, 0, 255, 255]  # a blue stroke on the content
    assert engine.paint("a", "content", [layer])
    c, st = (engine.sessions.get("a").photos[w] for w in ("content", "style"))
    want = correct_pair((c.rgb, st.rgb), (c.auto, st.auto), (c.strokes, None))
    np.testing.assert_array_equal(c.mask, want[0])
    np.testing.assert_array_equal(st.mask, want[1])


def test_a_run_on_automatic_masks_takes_their_stage3_and_finish_as_the_cli_does(engine, pair, tmp_path):
    ready(engine, "a", pair)
    auto = shlex.split(last(engine.run("a", "fast", FAST)).result.command_text)
    assert auto[auto.index("--stage3-texture") + 1] == "0.0"  # the command gives what ran
    assert auto[auto.index("--f-pick-carry") + 1] == "1"  # and the finish's choice of carry
    for which, size in (("content", (64, 48)), ("style", (56, 40))):
        mask = tmp_path / f"{which}_mask.png"
        Image.new("RGB", size, (0, 0, 255)).save(mask)
        engine.upload_mask("a", which, mask)
    given = last(engine.run("a", "fast", FAST)).result.command_text
    assert "--stage3-texture" not in given and "--f-pick-carry" not in given  # the preset's own
