"""Fixtures and helpers of the batch tests (tests/batch and tests/cli/test_batch.py)."""

from __future__ import annotations

import csv
import json
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dpst.batch.ledger import LEDGER_NAME
from dpst.batch.runners import (
    Outcome,
)
from dpst.config import Config
from dpst.neural.vgg import random_weights


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
    jobs = _ledger(out)["jobs"]  # the ledger records which masks each job used
    used = {jobs[f"{n}__look.png"]["masks"] for n in "abc"}
    # the default, --masks auto: the scene parser where cached, else the correspondences
    assert len(used) == 1 and used.pop().startswith(("correspondences", "semantic"))
