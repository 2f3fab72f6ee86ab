"""dpst batch: manifest parsing, the ledger (resume), failure isolation, the local pool and Ray."""

from __future__ import annotations

import csv
import json
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dpst.batch.ledger import LEDGER_NAME, Ledger
from dpst.batch.manifest import Job, jobs_from_folder
from dpst.batch.runners import (
    PROBE_NAME,
    Outcome,
    _feed,
    _Reporter,
    default_workers,
    job_memory,
    run_batch,
    run_job,
)
from dpst.config import Config
from dpst.neural.vgg import random_weights
from dpst.resources import usable_cpus


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    torch.save(random_weights(0), path)
    return path


@pytest.fixture
def fast(weights):
    """Well under a second a job: a tiny random network, 48 px, 2 steps, no stage 2, no filter, one
    thread (on a busy machine, threads waiting on each other cost seconds for these tiny convolutions)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield Config(size=48, iterations=2, stage2=False, filter=False, weights=str(weights), device="cpu")
    torch.set_num_threads(threads)


def _photo(path: Path, seed: int, h: int = 40, w: int = 52) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = (
        0.5 + 0.3 * np.stack([np.sin(3 * x + seed), np.cos(4 * y), x * y], -1) + 0.05 * rng.random((h, w, 3))
    )
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def album(tmp_path) -> Path:
    """tmp/album/{a,b,c}.png, tmp/album/look.png."""
    folder = tmp_path / "album"
    folder.mkdir()
    for i, name in enumerate("abc"):
        _photo(folder / f"{name}.png", i)
    _photo(folder / "look.png", 9, 36, 36)
    return folder


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _ledger(outdir: Path) -> dict:
    return json.loads((outdir / LEDGER_NAME).read_text())


class _PoolWhoseWorkerDies:
    """Stands in for a ProcessPoolExecutor: the job named "b.png" kills its worker."""

    def submit(self, fn, job, *args):
        f = Future()
        if job.output == "b.png":
            f.set_exception(BrokenProcessPool("a worker died"))
        else:
            f.set_result(Outcome(job.output, True, 0.1))
        return f


def _check_three_done(out: Path, events: list) -> None:
    assert sorted(e.output for e in events if e.status == "done") == [
        "a__look.png",
        "b__look.png",
        "c__look.png",
    ]
    for name in ("a", "b", "c"):
        assert Image.open(out / f"{name}__look.png").size == (52, 40)
    workers = {e.worker for e in events}
    assert sum(e.loaded for e in events) == len(workers)  # the network is loaded once per worker process


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
    assert outcome.ok and outcome.png.startswith(b"\x89PNG") and not (tmp_path / "elsewhere").exists()
    assert Image.open(__import__("io").BytesIO(outcome.png)).size == (52, 40)
    events = []
    _Reporter(Ledger(tmp_path), 1, events.append).record(job, {}, outcome)  # the driver writes it
    assert events[0].status == "done" and Image.open(tmp_path / "x.png").size == (52, 40)


def test_default_workers_respect_cores_and_memory():
    assert 1 <= default_workers("cpu") <= usable_cpus()
    assert default_workers("cpu", per_job=1 << 60) == 1
    assert job_memory(Config(size=700)) > job_memory(Config(size=128)) > 0


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
