"""dpst batch: manifest parsing, the ledger (resume), failure isolation, the local pool and Ray."""

from __future__ import annotations

import time
from collections import deque

import pytest
from PIL import Image

from dpst.batch.ledger import Ledger
from dpst.batch.manifest import Job, jobs_from_folder
from dpst.batch.runners import (
    PROBE_NAME,
    _feed,
    _Reporter,
    default_workers,
    job_memory,
    run_batch,
    run_job,
)
from dpst.config import Config
from dpst.resources import usable_cpus
from tests.batch.conftest import _check_three_done, _ledger, _photo, _PoolWhoseWorkerDies


def test_resume_skips_unchanged_and_reruns_changed(album, tmp_path, fast):
    out = tmp_path / "out"
    jobs = jobs_from_folder(album, album / "look.png")[:2]
    first = run_batch(jobs, out, fast, workers=0)
    assert (first.done, first.skipped, first.failed) == (2, 0, 0)
    led = _ledger(out)["jobs"]["a__look.png"]
    assert led["status"] == "done" and len(led["sha256"]["content"]) == 64 and led["settings"]["size"] == 48
    assert not (out / PROBE_NAME).exists()

    events = []
    second = run_batch(jobs, out, fast, workers=0, callback=events.append)
    assert (second.done, second.skipped) == (0, 2) and {e.status for e in events} == {"skipped"}

    third = run_batch(jobs, out, fast.updated(iterations=3), workers=0)  # a setting changed: all re-run
    assert third.done == 2
    _photo(album / "b.png", 42)  # an input changed: only its job re-runs
    fourth = run_batch(jobs, out, fast.updated(iterations=3), workers=0)
    assert (fourth.done, fourth.skipped) == (1, 1)
    (out / "a__look.png").unlink()  # an output gone: re-made
    assert run_batch(jobs, out, fast.updated(iterations=3), workers=0).done == 1


def test_ctrl_c_keeps_finished_results_and_a_valid_ledger(album, tmp_path, fast):
    out = tmp_path / "out"

    def stop_after_first(event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(
            jobs_from_folder(album, album / "look.png"), out, fast, workers=0, callback=stop_after_first
        )
    assert [k for k, v in _ledger(out)["jobs"].items() if v["status"] == "done"] == ["a__look.png"]
    assert (out / "a__look.png").is_file() and not list(out.glob("*.part"))
    summary = run_batch(jobs_from_folder(album, album / "look.png"), out, fast, workers=0)
    assert (summary.done, summary.skipped) == (3, 1)


def test_the_worker_hands_back_png_bytes_when_it_cannot_see_outdir(album, tmp_path, fast):
    job = Job("r", "x.png", str(album / "a.png"), str(album / "look.png"))
    outcome = run_job(job, fast, str(tmp_path / "elsewhere"), token="abc")
    assert outcome.ok and outcome.data.startswith(b"\x89PNG") and not (tmp_path / "elsewhere").exists()
    assert Image.open(__import__("io").BytesIO(outcome.data)).size == (52, 40)
    events = []
    _Reporter(Ledger(tmp_path), 1, events.append).record(job, {}, outcome)  # the driver writes it
    assert events[0].status == "done" and Image.open(tmp_path / "x.png").size == (52, 40)


def test_default_workers_respect_cores_and_memory():
    assert 1 <= default_workers("cpu") <= usable_cpus()
    assert default_workers("cpu", per_job=1 << 60) == 1
    flat = Config(stage3_iterations=0)  # the working size alone (stage 3 counts at its own size)
    assert job_memory(flat.updated(size=700)) > job_memory(flat.updated(size=128)) > 0


def test_a_dead_worker_fails_the_jobs_in_flight_and_the_rest_go_on(album, tmp_path, fast):
    a, look = str(album / "a.png"), str(album / "look.png")
    queue = deque((Job(n, n, a, look), fast, {}) for n in ("a.png", "b.png", "c.png"))
    events = []
    _feed(_PoolWhoseWorkerDies(), queue, str(tmp_path), "", _Reporter(Ledger(tmp_path), 3, events.append), 2)
    assert [(e.output, e.status) for e in events] == [("a.png", "done"), ("b.png", "failed")]
    assert "worker process died" in events[1].error and [j.output for j, _, _ in queue] == ["c.png"]


def test_local_pool_with_two_workers(album, tmp_path, fast):
    (album / "look.png").rename(tmp_path / "look.png")
    events = []
    start = time.perf_counter()
    summary = run_batch(
        jobs_from_folder(album, tmp_path / "look.png"),
        tmp_path / "out",
        fast,
        workers=2,
        callback=events.append,
    )
    assert (summary.done, summary.failed) == (3, 0), [e.error for e in events]
    _check_three_done(tmp_path / "out", events)
    assert 1 <= len({e.worker for e in events}) <= 2
    assert time.perf_counter() - start < 120


@pytest.mark.slow
def test_ray_local_mode(album, tmp_path, fast):
    pytest.importorskip("ray")
    (album / "look.png").rename(tmp_path / "look.png")
    events = []
    summary = run_batch(
        jobs_from_folder(album, tmp_path / "look.png"),
        tmp_path / "out",
        fast,
        ray="local",
        threads=1,
        callback=events.append,
    )
    assert (summary.done, summary.failed) == (3, 0), [e.error for e in events]
    _check_three_done(tmp_path / "out", events)
    assert _ledger(tmp_path / "out")["jobs"]["b__look.png"]["status"] == "done"
