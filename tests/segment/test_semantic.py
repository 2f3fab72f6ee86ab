"""The scene-parser path, offline: the merge table and the orphan rule on synthetic logits, and the
whole path on a tiny randomly initialised SegFormer built from a config (no download anywhere)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import dpst
import dpst.segment.parsers
from dpst.neural.vgg import random_weights
from dpst.segment import semantic
from dpst.segment.semantic import (
    ADE20K_LABELS,
    GROUP_COLOURS,
    GROUPS,
    group_logits,
    group_table,
    restricted_labels,
    style_groups,
)
from tests.conftest import photo, save_photo
from tests.segment.conftest import DEFAULT, SEGFORMER, TINY

ROOT = Path(__file__).resolve().parents[2]
G = {name: i for i, name in enumerate(GROUPS)}


def test_the_table_knows_every_ade20k_label_and_merges_them_into_the_nine_groups():
    table = group_table(dict(enumerate(ADE20K_LABELS)))
    assert len(ADE20K_LABELS) == 150 and table.shape == (150,) and (table >= 0).all()
    assert set(table.tolist()) == set(range(len(GROUPS)))  # every group is used
    by = {name: table[i] for i, name in enumerate(ADE20K_LABELS)}
    assert by["sky"] == G["sky"] and by["skyscraper"] == G["building, structure"]
    assert by["tree"] == by["grass"] == by["palm"] == G["tree, plant, grass"]
    assert by["sea"] == by["river"] == by["lake"] == G["water, sea, river, lake"]
    assert by["road"] == by["floor"] == G["ground, road, floor"]
    assert by["hill"] == by["rock"] == G["mountain, hill, rock"]
    assert by["car"] == by["boat"] == G["vehicle"] and by["person"] == G["person"]
    assert by["lamp"] == G["the rest"] and by["pool table"] == G["the rest"]  # not water
    assert sorted(GROUP_COLOURS.tolist()) == list(range(9))  # one palette colour each


def test_labels_are_matched_by_name_with_alternates_and_spaces():
    table = group_table({0: "Bed ", 1: "windowpane;window", 2: "Sky", 3: "flower, blossom"})
    assert table.tolist() == [G["the rest"], G["building, structure"], G["sky"], G["tree, plant, grass"]]


def test_a_checkpoint_with_unknown_labels_ends_with_one_line_listing_them():
    with pytest.raises(ValueError, match=r"not in dpst's merge table: spaceship, unicorn \(") as e:
        group_table({0: "sky", 1: "unicorn", 2: "spaceship"})
    assert "\n" not in str(e.value)


def test_group_probabilities_are_the_sums_of_their_classes():
    rng = torch.Generator().manual_seed(0)
    logits = torch.randn(150, 4, 5, generator=rng, dtype=torch.float64)
    table = group_table(dict(enumerate(ADE20K_LABELS)))
    groups = torch.softmax(group_logits(logits, table), 0)
    classes = torch.softmax(logits, 0)
    for g in range(len(GROUPS)):
        torch.testing.assert_close(groups[g], classes[torch.from_numpy(np.flatnonzero(table == g))].sum(0))


def test_orphan_content_labels_go_to_their_most_likely_shared_group():
    # content pixel 0: water 5 > sky 3 > rest; pixel 1: person 4 > tree 2.  The style has sky and trees.
    lg = torch.full((len(GROUPS), 1, 2), -10.0)
    lg[G["water, sea, river, lake"], 0, 0], lg[G["sky"], 0, 0] = 5.0, 3.0
    lg[G["person"], 0, 1], lg[G["tree, plant, grass"], 0, 1] = 4.0, 2.0
    allowed = [G["sky"], G["tree, plant, grass"]]
    assert restricted_labels(lg, allowed).tolist() == [[G["sky"], G["tree, plant, grass"]]]
    assert restricted_labels(lg, list(range(len(GROUPS)))).tolist() == [
        [G["water, sea, river, lake"], G["person"]]
    ]


def test_style_groups_leave_out_specks_but_never_everything():
    labels = torch.tensor([0] * 990 + [3] * 9 + [5])
    assert style_groups(labels, 0.01) == [0]
    assert style_groups(torch.tensor([2, 2, 4]), 0.9) == [2]


@pytest.fixture(scope="module")
def tiny_parser(tiny_parsers) -> Path:
    """A tiny SegFormer with the ADE20K labels, random weights, as a local checkpoint folder."""
    return tiny_parsers[SEGFORMER]


FAST = dpst.Config(size=48, iterations=3, stage2=False, filter=False)


def test_semantic_masks_run_end_to_end_on_a_tiny_segformer(tiny_parser):
    cfg = FAST.updated(masks="semantic", segmenter=str(tiny_parser))
    st = dpst.Stylizer(cfg, weights=random_weights())
    found = st.masks(photo(48, 64), photo(40, 40, 1))
    c_mask, s_mask = found
    assert found.used == f"semantic (scene parser {tiny_parser})"
    c, s = (dpst.ops.labels_from_colors(np.asarray(m)) for m in (c_mask, s_mask))
    assert c.shape == (48, 64) and s.shape == (40, 40) and c.min() >= 0
    assert set(np.unique(c)) <= set(np.unique(s))  # content labels limited to the style's
    out = st(photo(48, 64), photo(40, 40, 1))
    assert out.size == (64, 48)


def test_auto_uses_a_parser_folder_and_falls_back_saying_why_without_one(tiny_parser, tmp_path):
    st = dpst.Stylizer(FAST, weights=random_weights())
    _, used = st.segmenter(FAST.updated(segmenter=str(tiny_parser)))
    assert used == f"semantic (scene parser {tiny_parser})"
    _, used = st.segmenter(FAST.updated(segmenter=str(tmp_path / "nothing-here")))
    assert used == (
        f"correspondences (no scene parser: {tmp_path / 'nothing-here'} is neither a folder nor a Hugging "
        "Face model id; docs/masks.md)"
    )


@pytest.mark.parametrize("name", list(TINY))
def test_each_family_loads_from_a_folder_and_labels_both_photos(tiny_parsers, name):
    parser = semantic.load_parser(str(tiny_parsers[name]))
    config = parser.model.config
    kind = config.model_type + (
        f"-{config.backbone_config.model_type}" if config.model_type == "upernet" else ""
    )
    assert kind == dpst.segment.parsers.PARSERS[name].family
    assert getattr(parser.model, "auxiliary_head", None) is None  # it only trains
    assert parser.preprocess.size == 64 and parser.preprocess.square == (
        parser.model.config.model_type == "beit"
    )
    lg = parser.logits(photo(48, 80))
    assert (
        lg.shape[0] == len(GROUPS) and abs(lg.shape[1] / lg.shape[2] - 48 / 80) < 0.03
    )  # the photo's aspect
    assert lg.shape[2] == (16 if name == SEGFORMER else 64)  # parsed at 64 px (SegFormer's logits at 1/4)
    c, s = parser.labels(photo(48, 80), photo(40, 40, 1))
    assert c.shape == (48, 80) and s.shape == (40, 40)
    assert set(np.unique(c)) <= set(np.unique(s)) <= set(GROUP_COLOURS.tolist())


def test_the_preprocessing_comes_from_the_checkpoint():
    beit = semantic.Preprocess.from_config(
        {"image_mean": [0.5] * 3, "image_std": [0.5] * 3, "size": 640}, "beit"
    )
    assert beit == semantic.Preprocess((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 640, square=True)
    upernet = semantic.Preprocess.from_config({"size": {"height": 512, "width": 512}}, "upernet")
    assert upernet == semantic.Preprocess() and not upernet.square
    mmseg = semantic.Preprocess.from_config(
        {"image_mean": [123.675, 116.28, 103.53], "image_std": [58.395] * 3}
    )
    assert np.allclose(mmseg.mean, semantic.IMAGENET_MEAN) and np.allclose(mmseg.std, 0.229)
    raw = semantic.Preprocess.from_config({"do_normalize": False, "size": {"shortest_edge": 384}})
    assert raw.mean == (0.0, 0.0, 0.0) and raw.std == (1.0, 1.0, 1.0) and raw.size == 384
    with pytest.raises(ValueError, match="3 means, 3 stds > 0"):
        semantic.Preprocess(std=(0.5, 0.0, 0.5))


def test_a_checkpoint_without_all_its_weights_is_refused_in_one_line(tiny_parsers, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "damaged"
    shutil.copytree(tiny_parsers[SEGFORMER], folder)
    weights = load_file(folder / "model.safetensors")
    save_file(
        {k: v for k, v in weights.items() if not k.startswith("decode_head")}, folder / "model.safetensors"
    )
    with pytest.raises(ValueError, match=r"lacks \d+ of its weights \(decode_head") as e:
        semantic.load_parser(str(folder))
    assert "\n" not in str(e.value)


def test_auto_falls_back_without_the_extra(monkeypatch):
    monkeypatch.setattr(semantic.importlib.util, "find_spec", lambda name: None)
    st = dpst.Stylizer(FAST, weights=random_weights())
    _, used = st.segmenter(FAST)
    assert used == "correspondences (no scene parser: pip install 'dpst[semantic]'; docs/masks.md)"
    with pytest.raises(dpst.MissingExtra, match=r"pip install 'dpst\[semantic\]'"):
        st.segmenter(FAST.updated(masks="semantic"))


def _cli(tmp_path, tiny_weights_file, *extra, env=None):
    c, s = save_photo(tmp_path / "c.png", 48, 64, 0), save_photo(tmp_path / "s.png", 40, 40, 1)
    out = tmp_path / "out.png"
    argv = [str(c), str(s), "-o", str(out), "--size", "48", "--iterations", "2", "--no-stage2", "--no-filter"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "dpst", *argv, "--weights", str(tiny_weights_file), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    return proc, out


def masks_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("dpst: masks:")]


def test_auto_downloads_the_parser_on_first_use_with_its_size_and_a_bar(tmp_path, tiny_weights_file, standin):
    proc, out = _cli(tmp_path, tiny_weights_file, env=standin.env)
    assert proc.returncode == 0, proc.stderr
    first = next(line for line in proc.stderr.splitlines() if "downloading" in line)
    assert first.startswith(f"dpst: downloading the scene parser {DEFAULT} (0.1 MB, MIT) once into ")
    assert "scene parser: 100%" in proc.stderr  # the bar, done
    assert masks_lines(proc.stderr) == [f"dpst: masks: semantic (scene parser {DEFAULT}, MIT)"]
    assert out.is_file()
    again, _ = _cli(tmp_path, tiny_weights_file, env=standin.env)  # cached: not downloaded again
    assert (
        again.returncode == 0
        and "downloading" not in again.stderr
        and masks_lines(again.stderr)[0].endswith("MIT)")
    )


def test_a_cut_download_falls_back_says_so_and_leaves_the_cache_clean(tmp_path, tiny_weights_file, standin):
    standin.cut["pytorch_model.bin"] = 5000
    proc, out = _cli(tmp_path, tiny_weights_file, env=standin.env)
    assert proc.returncode == 0, proc.stderr
    [line] = masks_lines(proc.stderr)
    assert line.startswith(
        f"dpst: masks: correspondences (no scene parser: {DEFAULT} could not be downloaded ("
    )
    assert "503" in line and line.endswith("; docs/masks.md)") and out.is_file()
    assert not (tmp_path / "hf" / "hub" / f"models--{DEFAULT.replace('/', '--')}").exists()


@pytest.mark.parametrize("how", ["--offline", "HF_HUB_OFFLINE=1"])
def test_offline_auto_falls_back_asks_nothing_and_says_so_once(tmp_path, tiny_weights_file, standin, how):
    flag, env = ([how], standin.env) if how == "--offline" else ([], {**standin.env, "HF_HUB_OFFLINE": "1"})
    proc, out = _cli(tmp_path, tiny_weights_file, *flag, env=env)
    assert proc.returncode == 0, proc.stderr
    assert masks_lines(proc.stderr) == [
        f"dpst: masks: correspondences (no scene parser: {DEFAULT} is not in the cache "
        f"{tmp_path / 'hf' / 'hub'} "
        f"and dpst is offline ({how}); docs/masks.md)"
    ]
    assert standin.requests == [] and out.is_file()


def test_segformer_says_its_licence_once(tmp_path, tiny_weights_file, standin):
    proc, _ = _cli(tmp_path, tiny_weights_file, "--segmenter", SEGFORMER, env=standin.env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("forbids commercial use") == 1
    assert masks_lines(proc.stderr) == [
        f"dpst: masks: semantic (scene parser {SEGFORMER}, its licence, NVIDIA's SegFormer licence (research "
        "and evaluation only), forbids commercial use)"
    ]


def test_semantic_exits_2_with_one_line_when_the_parser_cannot_be_had(tmp_path, tiny_weights_file, standin):
    standin.cut["pytorch_model.bin"] = 5000
    proc, out = _cli(tmp_path, tiny_weights_file, "--masks", "semantic", "-q", env=standin.env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"dpst: error: the scene parser {DEFAULT} could not be downloaded"
    )
    assert "dpst models fetch" in lines[0] and not out.exists()


def test_an_unreachable_hub_falls_back_at_once(tmp_path, tiny_weights_file):
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0"}
    proc, out = _cli(tmp_path, tiny_weights_file, env=env)
    assert proc.returncode == 0 and out.is_file(), proc.stderr
    assert masks_lines(proc.stderr) == [
        f"dpst: masks: correspondences (no scene parser: {DEFAULT} could not be downloaded (no network "
        "([Errno 111] Connection refused)); docs/masks.md)"
    ]


def test_segmenter_flag_takes_a_local_folder(tmp_path, tiny_weights_file, tiny_parser):
    proc, out = _cli(tmp_path, tiny_weights_file, "--masks", "semantic", "--segmenter", str(tiny_parser))
    assert proc.returncode == 0, proc.stderr
    assert f"dpst: masks: semantic (scene parser {tiny_parser})" in proc.stderr
    assert out.is_file()
