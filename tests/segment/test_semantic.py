"""The scene-parser path, offline: the merge table and the orphan rule on synthetic logits, and the
whole path on a tiny randomly initialised SegFormer built from a config (no download anywhere)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import dpst
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
def tiny_parser(tmp_path_factory) -> Path:
    """A tiny SegFormer with the ADE20K labels, random weights, saved as a local checkpoint folder."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.SegformerConfig(
        num_labels=150,
        id2label=dict(enumerate(ADE20K_LABELS)),
        label2id={n: i for i, n in enumerate(ADE20K_LABELS)},
        depths=[1, 1, 1, 1],
        hidden_sizes=[8, 16, 16, 16],
        num_attention_heads=[1, 1, 1, 1],
        decoder_hidden_size=16,
    )
    folder = tmp_path_factory.mktemp("segformer")
    transformers.SegformerForSemanticSegmentation(config).save_pretrained(folder)
    return folder


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


def test_auto_uses_the_parser_only_when_it_is_on_this_machine(tiny_parser, tmp_path):
    st = dpst.Stylizer(FAST, weights=random_weights())
    _, used = st.segmenter(FAST.updated(segmenter=str(tiny_parser)))
    assert used.startswith("semantic")
    _, used = st.segmenter(FAST.updated(segmenter=str(tmp_path / "nothing-here")))
    assert used.startswith("correspondences (no scene parser")


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


@pytest.fixture
def unreachable_hub(tmp_path):
    """An empty Hugging Face cache and a hub that refuses connections (a closed port on loopback)."""
    return {
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }


def test_offline_auto_falls_back_and_says_so_once(tmp_path, tiny_weights_file, unreachable_hub):
    pytest.importorskip("transformers")
    proc, out = _cli(tmp_path, tiny_weights_file, env=unreachable_hub)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("dpst: masks:")]
    assert lines == [
        f"dpst: masks: correspondences (no scene parser: {dpst.Config().segmenter} not cached; docs/masks.md)"
    ]
    assert out.is_file()


def test_offline_semantic_exits_2_with_one_line_and_writes_nothing(
    tmp_path, tiny_weights_file, unreachable_hub
):
    pytest.importorskip("transformers")
    # offline mode stands for the unreachable hub here (the closed port alone costs ~27 s of retries)
    env = {**unreachable_hub, "HF_HUB_OFFLINE": "1"}
    proc, out = _cli(tmp_path, tiny_weights_file, "--masks", "semantic", "-q", env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dpst: error: ")
    assert dpst.Config().segmenter in lines[0] and "dpst[semantic]" in lines[0]
    assert not out.exists()


def test_segmenter_flag_takes_a_local_folder(tmp_path, tiny_weights_file, tiny_parser):
    proc, out = _cli(tmp_path, tiny_weights_file, "--masks", "semantic", "--segmenter", str(tiny_parser))
    assert proc.returncode == 0, proc.stderr
    assert f"dpst: masks: semantic (scene parser {tiny_parser})" in proc.stderr
    assert out.is_file()
