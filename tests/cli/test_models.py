"""``dpst models`` and ``dpst models fetch``, in process, against the local stand-in hub
(tests/segment/standin_hub.py): what is listed, the size line and the bar, exit 2 with one line."""

from __future__ import annotations

import pytest

from dpst.cli import main
from dpst.segment import hub, parsers
from tests.segment.conftest import DEFAULT, SEGFORMER, TINY

pytest.importorskip("transformers")


def test_an_empty_cache_lists_the_default_as_not_cached(standin, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"scene parsers in {hub.short(hub.cache_dir())}:"
    assert out[1:] == [f"  {DEFAULT}  not cached (241 MB: dpst models fetch)  MIT  (default)"]


def test_fetch_says_the_size_shows_a_bar_and_the_list_then_has_it(standin, capsys):
    assert main(["models", "fetch"]) == 0
    got = capsys.readouterr()
    assert got.err.startswith(f"dpst: downloading the scene parser {DEFAULT} (0.1 MB, MIT) once into ")
    assert "scene parser: 100%" in got.err
    assert got.out == f"{DEFAULT}: {hub.short(hub.snapshot(DEFAULT))}\n"
    assert main(["models"]) == 0
    assert f"  {DEFAULT}  0.1 MB  MIT  (default)" in capsys.readouterr().out.splitlines()
    asked = len(standin.requests)
    assert main(["models", "fetch", "-q"]) == 0 and len(standin.requests) == asked  # cached: nothing asked
    assert capsys.readouterr().err == ""


def test_fetch_by_name_says_a_restrictive_licence_and_both_are_listed(standin, capsys):
    assert main(["models", "fetch", SEGFORMER, "-q"]) == 0
    assert capsys.readouterr().err == f"dpst: {SEGFORMER}: {parsers.PARSERS[SEGFORMER].note()}\n"
    assert main(["models", "fetch", "-q"]) == 0
    capsys.readouterr()
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[0] for line in lines] == [SEGFORMER, DEFAULT]
    assert "NVIDIA's SegFormer licence" in lines[0] and lines[1].endswith("MIT  (default)")


@pytest.mark.parametrize("how", ["cut", "offline", "unknown"])
def test_a_fetch_that_fails_exits_2_with_one_line_and_leaves_the_cache_clean(
    standin, capsys, monkeypatch, how
):
    argv = ["models", "fetch"]
    if how == "cut":
        standin.cut["pytorch_model.bin"] = 4000
    elif how == "offline":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        argv.append("nobody/nothing")
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("dpst: error:")]
    assert len(lines) == 1
    assert ("dpst is offline (HF_HUB_OFFLINE=1)" if how == "offline" else "could not be downloaded") in lines[
        0
    ]
    assert not hub.repo_folder(argv[-1] if how == "unknown" else DEFAULT).exists()
    if how == "offline":
        assert standin.requests == []


def test_fetching_a_checkpoint_dpst_cannot_use_exits_2(standin, capsys, tmp_path):
    from transformers import AutoModelForSemanticSegmentation

    config = parsers.architecture(SEGFORMER, id2label={0: "sky", 1: "unicorn"}, **TINY[SEGFORMER])
    AutoModelForSemanticSegmentation.from_config(config).save_pretrained(tmp_path / "odd")
    standin.add("someone/odd-labels", tmp_path / "odd")
    capsys.readouterr()
    assert main(["models", "fetch", "someone/odd-labels", "-q"]) == 2
    assert capsys.readouterr().err.strip() == (
        "dpst: error: the scene parser's labels are not in dpst's merge table: unicorn "
        "(dpst.segment.semantic.GROUPS); use an ADE20K checkpoint"
    )
