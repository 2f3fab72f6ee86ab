"""The benchmark scripts: each answers ``--help``, none uses a private name of dpst, their shared
helpers (benchmarks/common.py) parse what they are given, and the quick ones run end to end on a
tiny pair with a tiny random network, so none breaks unseen."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dpst.ops.palette import PALETTE
from tests.conftest import save_photo

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name != "common.py")
sys.path.insert(0, str(BENCHMARKS))

import common  # noqa: E402


def run(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(BENCHMARKS / script), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def helps() -> dict[str, subprocess.CompletedProcess]:
    """Every script's ``--help``, run side by side (each imports torch: seconds apiece)."""
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(BENCHMARKS / name), "--help"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in SCRIPTS
    }
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


def test_there_are_benchmarks_and_the_retired_ones_are_gone():
    assert {"quality.py", "speed.py", "stages.py", "video.py"} <= set(SCRIPTS)
    assert not {"sweep.py", "per_pair.py", "filter_sweep.py", "sheets.py"} & set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_benchmark_answers_help(helps, script):
    proc = helps[script]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


def _private_uses(path: Path) -> list[str]:
    """``dpst`` names starting with an underscore that a script imports or reaches through an
    attribute of something it imported from dpst."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, bound = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "dpst":
            parts = node.module.split(".") + [a.name for a in node.names]
            found += [f"{node.module}: {p}" for p in parts if p.startswith("_")]
            bound |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "dpst":
                    found += [a.name] * any(p.startswith("_") for p in a.name.split("."))
                    bound.add(a.asname or a.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("script", [*SCRIPTS, "common.py"])
def test_no_benchmark_uses_a_private_name_of_dpst(script):
    assert _private_uses(BENCHMARKS / script) == []


def test_the_private_name_check_sees_them(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from dpst.api import _shared\nfrom dpst import segment\nsegment.auto._sq_dist(1, 2)\n")
    assert len(_private_uses(bad)) == 2


def test_every_results_file_is_indexed_with_its_command_and_where_it_is_cited():
    index = (BENCHMARKS / "results" / "README.md").read_text()
    rows = {line.split("`")[1]: line for line in index.splitlines() if line.startswith("| `")}
    files = {p.name for p in (BENCHMARKS / "results").glob("*.json")}
    assert set(rows) == files
    docs = "".join(p.read_text() for p in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])
    assert all(name in docs or "section it writes" in rows[name] for name in files)


# --- benchmarks/common.py ---------------------------------------------------------------------------


def test_ids_and_settings_from_text():
    assert common.parse_ids("1-3,7") == [1, 2, 3, 7]
    with pytest.raises(ValueError, match="--ids"):
        common.parse_ids("one")
    assert common.parse_settings(["lambda=3000", "filter=off", "style_layers=1,0,0,0,0"]) == {
        "photo_weight": 3000.0,
        "filter": False,
        "style_layers": "1,0,0,0,0",
    }
    with pytest.raises(ValueError, match="KEY one of"):
        common.parse_settings(["colour=1"])
    with pytest.raises(ValueError, match="'maybe' is not true/false"):  # dpst.settings.parse_setting's words
        common.parse_settings(["filter=maybe"])
    with pytest.raises(ValueError, match="one value"):
        common.parse_settings(["seed=1,2"])


def test_the_masks_proxy_knows_the_default_design_and_its_settings():
    import masks_proxy

    assert masks_proxy._parse("correspond:within_k=20,sharpness=0.05") == (
        "correspond",
        ["within_k=20", "sharpness=0.05"],
    )
    with pytest.raises(ValueError, match="use hand, none, auto, correspond"):
        masks_proxy._parse("kmeans")
    with pytest.raises(ValueError, match="KEY one of"):  # a SegmentSettings name is not a correspondence one
        masks_proxy.proxy("correspond:reach=2", [1], ROOT)


def test_a_sweep_is_every_combination_in_order():
    assert common.parse_sweep(["seed=1,2", "filter=false", "seed=3"]) == [
        {"seed": 1, "filter": False},
        {"seed": 2, "filter": False},
        {"seed": 3, "filter": False},
    ]
    combos = common.parse_sweep(["lambda=1000,3000", "f_pick=true,false"])
    assert [tuple(c.values()) for c in combos] == [(1000, True), (1000, False), (3000, True), (3000, False)]
    assert common.parse_sweep([]) == [{}]


# --- tiny end-to-end runs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    """An examples folder with one tiny pair laid out as shared/examples is (hand masks: two halves)."""
    root = tmp_path_factory.mktemp("examples")
    for d in ("input", "style", "segmentation", "paper_final", "paper_stage1"):
        (root / d).mkdir()
    save_photo(root / "input/in1.png", 48, 64, 1)
    save_photo(root / "style/tar1.png", 40, 40, 2)
    save_photo(root / "paper_final/best1_t_1000.png", 48, 64, 3)
    save_photo(root / "paper_stage1/out1_t_1000.png", 48, 64, 4)
    for name, (h, w) in (("in1.png", (48, 64)), ("tar1.png", (40, 40))):
        mask = np.empty((h, w, 3), np.uint8)
        mask[:, : w // 2], mask[:, w // 2 :] = PALETTE[0], PALETTE[1]
        Image.fromarray(mask).save(root / "segmentation" / name)
    return root


def _tiny(weights: Path) -> list[str]:
    sets = [f"weights={weights}", "size=48", "stage1_size=32", "iterations=2", "stage3_iterations=0"]
    return [a for s in sets for a in ("--set", s)]


def test_stages_scores_each_stage_of_a_tiny_run(pairs, tiny_weights_file):
    proc = run("stages.py", "--pairs", str(pairs), "--pair", "1", "--preset", "fast", "--no-gram",
               *_tiny(tiny_weights_file))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert [ln.split()[2] for ln in lines] == ["stage", "stage", "result", "masks:", "seconds:"]
    assert "style_swd" in lines[2] and "stage1" in lines[-1]


def test_the_masks_proxy_runs_a_pair_the_other_way_round(pairs):
    import masks_proxy
    from common import pair_files

    files = pair_files(pairs, 1)
    back = masks_proxy.swap(files)
    assert (back["content"], back["style"]) == (files["style"], files["content"])
    assert (back["content_mask"], back["style_mask"]) == (files["style_mask"], files["content_mask"])
    assert back["authors"] == files["authors"] and masks_proxy.swap(back) == files
    try:
        from dpst.metrics import default_net

        default_net()  # the proxy scores with the real VGG-19's masks and colours
    except Exception:
        pytest.skip("the real VGG-19 weights are not installed")
    ahead, reverse = (masks_proxy.proxy("hand", [1], pairs, size=32, reverse=r)[1] for r in (False, True))
    assert ahead["iou"] == pytest.approx(1.0) and reverse["iou"] == pytest.approx(1.0)
    assert np.isfinite(reverse["style_swd"]) and reverse["style_swd"] != ahead["style_swd"]


def test_the_simulated_user_writes_its_strokes_for_photos_of_different_sizes(pairs, tmp_path):
    try:
        from dpst.metrics import default_net

        default_net()  # interactive.py finds the automatic masks with the real VGG-19
    except Exception:
        pytest.skip("the real VGG-19 weights are not installed")
    out, doc, result = tmp_path / "strokes", tmp_path / "doc.md", tmp_path / "interactive.json"
    proc = run("interactive.py", "--pairs", str(pairs), "--ids", "1", "--write", str(out),
               "--json", str(result), "--doc", str(doc))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    curve = json.loads(result.read_text())["pairs"]["1"]["iou"]
    assert len(curve) == 11 and all(0 <= v <= 1 for v in curve)
    written = sorted(p.name for p in out.iterdir())  # the 48 x 64 content and the 40 x 40 style
    assert written and set(written) <= {"in1.png", "tar1.png"}
    for name in written:
        rgba = np.asarray(Image.open(out / name))
        assert rgba.shape[2] == 4 and (rgba[..., 3] > 0).any()  # strokes on a transparent background
    assert "<!-- interactive:begin -->" in doc.read_text()


def test_the_oracle_stroke_fixes_exactly_the_error_region_it_is_drawn_in():
    import interactive

    hand = np.zeros((6, 8), np.int64)
    hand[:, 4:] = 1
    pred = np.zeros_like(hand)
    pred[0, 7] = 2  # an error of colour 1 apart from the one painted
    pred[5, 0] = 1  # an error of colour 0: not the stroke's colour
    brush = np.zeros(hand.shape, bool)
    brush[2:4, 5] = True
    got = interactive.fixed_part(pred, hand, brush)
    want = hand.copy()
    want[5, 0] = 1  # untouched
    assert (got == want).all()  # the whole connected error of colour 1 (the [0, 7] pixel with it)
    apart = pred.copy()
    apart[:, 6] = 1  # now the error region of colour 1 is two parts: only the painted one is fixed
    got = interactive.fixed_part(apart, hand, brush)
    assert (got[:, 4:6] == 1).all() and got[0, 7] == 2 and (got[:, 6] == 1).all()
    # with a reach, only the error pixels that near the stroke: 1/8 of the long side is one pixel
    got = interactive.fixed_part(pred, hand, brush, reach=1 / 8)
    near = np.zeros(hand.shape, bool)
    near[1:5, 5] = near[2:4, 4:7] = True
    assert (got[near] == 1).all() and (got[~near] == pred[~near]).all()


def test_the_simulated_user_saves_the_strokes_that_reach_its_bar():
    import interactive

    hand = np.zeros((20, 20), np.int64)
    hand[:9, 10:] = hand[11:, 10:] = 1  # colour 1 in two parts: each needs its own oracle stroke
    hands = [hand, hand.copy()]
    base = [np.zeros_like(hand), hand.copy()]  # the style is right from the start
    runs = {
        bar: interactive.run_pair(None, hands, base, None, 0.08, 0.01, oracle=0.0, bar=bar)
        for bar in (0.7, 1.0)
    }
    curve = runs[1.0][0]
    assert curve[0] < 0.7 <= curve[1] < 1.0 == curve[2]  # one part fixed, then the other
    painted = {bar: (r[1][0] >= 0).sum() for bar, r in runs.items()}
    assert 0 < painted[0.7] < painted[1.0]  # one stroke at NoS@70, two at NoS@100
    assert (runs[0.7][1][1] < 0).all()  # nothing painted on the photo that was right


def test_the_oracle_run_writes_its_own_results_and_section(pairs, tmp_path):
    try:
        from dpst.metrics import default_net

        default_net()
    except Exception:
        pytest.skip("the real VGG-19 weights are not installed")
    doc, result = tmp_path / "doc.md", tmp_path / "oracle.json"
    proc = run("interactive.py", "--pairs", str(pairs), "--ids", "1", "--oracle", "--json", str(result),
               "--doc", str(doc))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(result.read_text())
    curve = data["pairs"]["1"]["iou"]
    assert data["oracle"] and len(curve) == 11
    assert all(b >= a - 1e-9 for a, b in zip(curve, curve[1:]))  # a fixed region never comes back wrong
    text = doc.read_text()
    assert "<!-- interactive_oracle:begin -->" in text and "<!-- interactive:begin -->" not in text


def test_a_quality_sweep_runs_each_value_and_documents_the_means(pairs, tiny_weights_file, tmp_path):
    pytest.importorskip("matplotlib")
    try:
        from dpst.metrics import default_net

        default_net()  # quality.py scores style_gram with the real VGG-19
    except Exception:
        pytest.skip("the real VGG-19 weights are not installed")
    out, doc, result = tmp_path / "runs", tmp_path / "doc.md", tmp_path / "sweep.json"
    args = ["--pairs", str(pairs), "--ids", "1", "--preset", "fast", "--out", str(out), "--json", str(result)]
    proc = run("quality.py", *args, "--doc", str(doc), *_tiny(tiny_weights_file), "--set", "seed=0,1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    sweep = json.loads(result.read_text())
    assert sweep["keys"] == ["seed"]
    assert [p["settings"] for p in sweep["points"]] == [{"seed": 0}, {"seed": 1}]
    assert all(set(p["ours"]) == set(common.METRICS) for p in sweep["points"])
    assert (out / "seed=1" / "out1.png").is_file() and (out / "seed=1" / "quality.json").is_file()
    text = doc.read_text()
    assert "<!-- sweep:begin -->" in text and "| seed |" in text
    assert (tmp_path / "img" / "doc_sweep.png").is_file()


def test_parsers_times_a_candidate_architecture_and_writes_its_row(tmp_path):
    pytest.importorskip("transformers")
    result, doc = tmp_path / "parsers.json", tmp_path / "doc.md"
    name = "nvidia/segformer-b0-finetuned-ade-512-512"  # the smallest: a smoke run, not a timing
    args = ["--parsers", name, "--repeats", "1", "--size", "64", "--json", str(result), "--doc", str(doc)]
    proc = run("parsers.py", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(result.read_text())["rows"][name]
    assert 3.5 < row["params_m"] < 4.0 and row["parse_size"] == 64 and row["seconds"] > 0  # B0: 3.8 M
    assert row["licence"].startswith("NVIDIA") and not row["permissive"]
    text = doc.read_text()
    assert "<!-- parsers:begin -->" in text and f"| {name} | NVIDIA" in text
    bad = run("parsers.py", "--parsers", "nobody/nothing", "--json", str(result), "--doc", str(doc))
    assert bad.returncode == 2 and "unknown parser(s) nobody/nothing" in bad.stderr
