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

from dpst.batch import (
    LEDGER_NAME,
    PROBE_NAME,
    Job,
    Ledger,
    Outcome,
    _feed,
    _Reporter,
    check_outputs,
    default_workers,
    import_ray,
    job_memory,
    jobs_from_folder,
    main,
    read_manifest,
    run_batch,
    run_job,
    usable_cpus,
)
from dpst.config import Config
from dpst.vgg import random_weights


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


# ------------------------------------------------------------------------------------------ manifest


def test_csv_manifest_relative_paths_settings_and_default_names(album):
    m = _write_csv(
        album / "m.csv",
        ["content", "style", "size", "stage2", "style_weight", "output"],
        [
            ["a.png", "look.png", "64", "no", "", ""],
            ["./b.png", str(album / "look.png"), "", "", "2.5", "B.jpg"],
        ],
    )
    jobs, rejected = read_manifest(m)
    assert rejected == []
    a, b = jobs
    assert a.content == str(album / "a.png") and a.style == str(album / "look.png")
    assert a.output == "a__look.png" and a.where == "m.csv row 2"
    assert dict(a.settings) == {"size": 64, "stage2": False}  # empty cells set nothing
    assert b.output == "B.jpg" and dict(b.settings) == {"style_weight": 2.5}
    assert a.config(Config(size=700, iterations=5)) == Config(size=64, iterations=5, stage2=False)


def test_jsonl_manifest_with_masks(album):
    m = album / "m.jsonl"
    rows = [
        {
            "content": "a.png",
            "style": "look.png",
            "content_mask": "b.png",
            "style_mask": "c.png",
            "iterations": 3,
        },
        {"content": "c.png", "style": "look.png", "init": "noise", "refine_detail": True},
    ]
    m.write_text("\n".join(json.dumps(r) for r in rows[:1]) + "\n\n" + json.dumps(rows[1]) + "\n")
    jobs, rejected = read_manifest(m)
    assert rejected == []
    assert jobs[0].content_mask == str(album / "b.png") and dict(jobs[0].settings) == {"iterations": 3}
    assert jobs[1].where == "m.jsonl row 3" and dict(jobs[1].settings) == {
        "init": "noise",
        "refine_detail": True,
    }


def test_bad_rows_are_rejected_one_by_one(album):
    rows = [
        ["a.png", "look.png", "", "", ""],  # row 2: fine
        ["", "look.png", "", "", ""],  # 3: no content
        ["a.png", "look.png", "lots", "", "x.png"],  # 4: wrong type
        ["a.png", "missing.png", "", "", "y.png"],  # 5: missing file
        ["b.png", "look.png", "", "7", ""],  # 6: unknown column with a value
        ["c.png", "look.png", "", "", "../escape.png"],  # 7: output outside OUTDIR
    ]
    m = _write_csv(album / "m.csv", ["content", "style", "iterations", "iteratons", "output"], rows)
    jobs, rejected = read_manifest(m)
    assert [j.where for j in jobs] == ["m.csv row 2"]
    errors = {r.where: r.error for r in rejected}
    assert errors["m.csv row 3"] == "no content photo given"
    assert errors["m.csv row 4"] == "iterations: 'lots' is not a whole number"
    assert (
        errors["m.csv row 5"].startswith("style file not found:") and "missing.png" in errors["m.csv row 5"]
    )
    assert errors["m.csv row 6"] == "unknown setting 'iteratons' (did you mean 'iterations'?)"
    assert "must be a file name" in errors["m.csv row 7"]


def test_bad_jsonl_rows(album):
    m = album / "m.jsonl"
    m.write_text(
        '{"content": "a.png", "style": "look.png", "size": 64.5}\n'
        "not json\n"
        '["a.png"]\n'
        '{"content": "a.png", "style": "look.png", "stage2": "maybe"}\n'
        '{"content": "a.png", "style": "look.png", "init": "zeros"}\n'
        '{"content": "a.png", "style": "look.png", "device": "cuda"}\n'
        '{"content": "a.png", "style": "look.png", "content_mask": "b.png"}\n'
    )
    jobs, rejected = read_manifest(m)
    assert jobs == []
    errors = [r.error for r in rejected]
    assert errors[0] == "size: 64.5 is not a whole number"
    assert errors[1].startswith("not valid JSON")
    assert errors[2] == "not a JSON object {...}"
    assert errors[3] == "stage2: 'maybe' is not true/false"
    assert errors[4].startswith("init: 'zeros' is not one of ") and "noise" in errors[4]
    assert errors[5] == "device cannot change per job; give --device for the whole batch"
    assert errors[6] == "give both content_mask and style_mask, or neither"


def test_manifest_without_content_column_is_a_usage_error(album):
    m = _write_csv(album / "m.csv", ["photo", "style"], [["a.png", "look.png"]])
    with pytest.raises(ValueError, match="no 'content' column"):
        read_manifest(m)
    with pytest.raises(FileNotFoundError, match="no such manifest"):
        read_manifest(album / "nope.csv")


def test_duplicate_outputs_and_overwriting_inputs(album, tmp_path):
    a, look = str(album / "a.png"), str(album / "look.png")
    jobs = [Job("r2", "x.png", a, look), Job("r3", "x.png", a, look), Job("r4", "a.png", a, look)]
    kept, rejected = check_outputs(jobs, album)
    assert [j.where for j in kept] == ["r2"]
    assert rejected[0].error == "output x.png is already written by r2"
    assert "would overwrite one of its inputs" in rejected[1].error


def test_folder_jobs(album):
    _photo(album / "d.JPG", 3)
    (album / "notes.txt").write_text("not a photo")
    jobs = jobs_from_folder(album, album / "look.png")
    assert [j.output for j in jobs] == [
        "a__look.png",
        "b__look.png",
        "c__look.png",
        "d__look.png",
        "look__look.png",
    ]
    with pytest.raises(ValueError, match="no images"):
        jobs_from_folder(album / "..", album / "look.png")


# ------------------------------------------------------------------------------------ runs (in-process)


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


def test_a_corrupt_photo_fails_alone_and_the_exit_code_says_so(album, tmp_path, weights, fast, capsys):
    (album / "b.png").write_bytes(b"this is not a PNG")
    out = tmp_path / "out"
    argv = ["--content", str(album), "--style", str(album / "look.png"), "-o", str(out), "--workers", "0"]
    argv += ["--size", "48", "--iterations", "2", "--no-stage2", "--no-filter", "--weights", str(weights)]
    assert main(argv) == 1
    jobs = _ledger(out)["jobs"]
    assert jobs["b__look.png"]["status"] == "failed" and "not an image file" in jobs["b__look.png"]["error"]
    assert {k for k, v in jobs.items() if v["status"] == "done"} == {
        "a__look.png",
        "c__look.png",
        "look__look.png",
    }
    assert (out / "a__look.png").is_file() and not (out / "b__look.png").exists()
    err = capsys.readouterr().err
    assert "failed  " in err and "b.png" in err and "3 done, 0 skipped, 1 failed" in err
    _photo(album / "b.png", 1)  # fixed: the next run does only that one
    assert main(argv) == 0
    assert "1 done, 3 skipped, 0 failed" in capsys.readouterr().err


def test_rejected_rows_are_recorded_and_the_rest_runs(album, tmp_path, fast):
    m = _write_csv(album / "m.csv", ["content", "style"], [["a.png", "look.png"], ["gone.png", "look.png"]])
    jobs, rejected = read_manifest(m)
    summary = run_batch(jobs, tmp_path / "out", fast, rejected=rejected, workers=0)
    assert (summary.done, summary.failed, summary.exit_code) == (1, 1, 1)
    assert _ledger(tmp_path / "out")["rejected"][0]["where"] == "m.csv row 3"


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


def test_main_returns_130_on_ctrl_c(album, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("dpst.batch.run_batch", interrupted)
    assert (
        main(["--content", str(album), "--style", str(album / "look.png"), "-o", str(tmp_path / "o")]) == 130
    )
    assert "run the same command to resume" in capsys.readouterr().err


def test_usage_errors(album, tmp_path):
    look = str(album / "look.png")
    with pytest.raises(ValueError, match="give a MANIFEST, or --content DIR"):
        main(["-o", str(tmp_path)])
    with pytest.raises(ValueError, match="needs --style"):
        main(["--content", str(album), "-o", str(tmp_path)])
    with pytest.raises(ValueError, match="same folder"):
        main(["--content", str(album), "--style", look, "-o", str(album)])
    with pytest.raises(ValueError, match="--workers must be 0"):
        main(["--content", str(album), "--style", look, "-o", str(tmp_path), "--workers", "-1"])
    with pytest.raises(ValueError, match="--weights .*: no such file"):
        main(["--content", str(album), "--style", look, "-o", str(tmp_path), "--weights", "nope.pth"])


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


def test_without_ray_the_error_says_how_to_install_it(album, tmp_path, monkeypatch, capsys):
    from dpst.cli import main as dpst_main

    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    with pytest.raises(ValueError, match=r"pip install 'dpst\[ray\]'"):
        import_ray()
    argv = ["batch", "--content", str(album), "--style", str(album / "look.png"), "-o", str(tmp_path / "o")]
    assert dpst_main([*argv, "--ray", "auto"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--ray needs Ray" in err and not (tmp_path / "o").exists()


class _PoolWhoseWorkerDies:
    """Stands in for a ProcessPoolExecutor: the job named "b.png" kills its worker."""

    def submit(self, fn, job, *args):
        f = Future()
        if job.output == "b.png":
            f.set_exception(BrokenProcessPool("a worker died"))
        else:
            f.set_result(Outcome(job.output, True, 0.1))
        return f


def test_a_dead_worker_fails_the_jobs_in_flight_and_the_rest_go_on(album, tmp_path, fast):
    a, look = str(album / "a.png"), str(album / "look.png")
    queue = deque((Job(n, n, a, look), fast, {}) for n in ("a.png", "b.png", "c.png"))
    events = []
    _feed(_PoolWhoseWorkerDies(), queue, str(tmp_path), "", _Reporter(Ledger(tmp_path), 3, events.append), 2)
    assert [(e.output, e.status) for e in events] == [("a.png", "done"), ("b.png", "failed")]
    assert "worker process died" in events[1].error and [j.output for j, _, _ in queue] == ["c.png"]


# ------------------------------------------------------------------------------ pool and Ray (real runs)


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
