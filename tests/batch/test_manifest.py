"""dpst batch: manifest parsing, the ledger (resume), failure isolation, the local pool and Ray."""

from __future__ import annotations

import json

import pytest

from dpst.batch.manifest import Job, check_outputs, jobs_from_folder, read_manifest
from dpst.batch.runners import (
    run_batch,
)
from dpst.config import Config
from tests.batch.conftest import _ledger, _photo, _write_csv


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


def test_rejected_rows_are_recorded_and_the_rest_runs(album, tmp_path, fast):
    m = _write_csv(album / "m.csv", ["content", "style"], [["a.png", "look.png"], ["gone.png", "look.png"]])
    jobs, rejected = read_manifest(m)
    summary = run_batch(jobs, tmp_path / "out", fast, rejected=rejected, workers=0)
    assert (summary.done, summary.failed, summary.exit_code) == (1, 1, 1)
    assert _ledger(tmp_path / "out")["rejected"][0]["where"] == "m.csv row 3"
