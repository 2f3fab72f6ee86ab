"""Choosing the masks of a run, without running them: which segmenter, and the line that says so."""

from __future__ import annotations

import pytest
import torch

import dpst
from dpst.errors import DownloadFailed
from dpst.segment import semantic
from dpst.segment.choose import SceneParsers, choose_masks

PARSERS = SceneParsers(torch.device("cpu"))


def test_given_and_none_have_no_segmenter():
    assert choose_masks(dpst.Config(), None, PARSERS, given=True) == (None, "given")
    assert choose_masks(dpst.Config(masks="none"), None, PARSERS) == (None, "none (each photo one region)")
    assert choose_masks(dpst.Config(masks="none"), None, PARSERS, given=True) == (None, "given")


def test_unsupervised_is_a_segmenter_and_says_so():
    segment, line = choose_masks(dpst.Config(masks="unsupervised"), None, PARSERS)
    assert callable(segment) and line == "unsupervised"


def test_auto_without_the_extra_falls_back_and_says_why(monkeypatch):
    monkeypatch.setattr(semantic.importlib.util, "find_spec", lambda name: None)
    segment, line = choose_masks(dpst.Config(), None, PARSERS)
    assert callable(segment)
    assert line == "correspondences (no scene parser: pip install 'dpst[semantic]'; docs/masks.md)"


def test_correspond_is_a_segmenter_and_says_so():
    segment, line = choose_masks(dpst.Config(masks="correspond"), None, PARSERS)
    assert callable(segment) and line == "correspondences"


def test_auto_and_correspond_use_the_correspondence_masks(monkeypatch):
    """Without a scene parser, --masks auto runs the same segmenter as --masks correspond."""
    import numpy as np

    import dpst.segment.choose as choose

    seen = []
    monkeypatch.setattr(choose, "correspond_labels", lambda net, c, s, st, shapes: seen.append(st) or (c, s))
    monkeypatch.setattr(semantic.importlib.util, "find_spec", lambda name: None)
    for masks in ("auto", "correspond"):
        segment, _ = choose_masks(dpst.Config(masks=masks, seed=3), None, PARSERS)
        segment(np.zeros(1), np.ones(1), ((1, 1), (1, 1)))
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0].seed == 3


class Refusing:
    """Stands for semantic.load_parser where no parser can be had; counts the tries."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, name, device, *, offline="", licence="", on_download=None):
        self.calls.append((name, offline))
        raise DownloadFailed(f"the scene parser {name}", "could not be downloaded (no network)")


def test_auto_falls_back_when_the_parser_cannot_be_had_says_why_and_does_not_try_again(monkeypatch):
    refusing = Refusing()
    monkeypatch.setattr(semantic, "load_parser", refusing)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # tests/conftest.py sets it
    parsers = SceneParsers(torch.device("cpu"))
    for _ in range(2):  # a run asks twice (to run, and for its line): one download tried
        segment, line = choose_masks(dpst.Config(), None, parsers)
        assert callable(segment)
        assert line == (
            f"correspondences (no scene parser: {dpst.Config().segmenter} could not be downloaded (no "
            "network); docs/masks.md)"
        )
    assert refusing.calls == [(dpst.Config().segmenter, "")]
    with pytest.raises(DownloadFailed, match="could not be downloaded"):  # --masks semantic: the error
        choose_masks(dpst.Config(masks="semantic"), None, parsers)


def test_offline_is_passed_down_from_the_flag_and_the_environment(monkeypatch):
    refusing = Refusing()
    monkeypatch.setattr(semantic, "load_parser", refusing)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    choose_masks(dpst.Config(offline=True), None, SceneParsers(torch.device("cpu")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    choose_masks(dpst.Config(), None, SceneParsers(torch.device("cpu")))
    assert [offline for _, offline in refusing.calls] == ["--offline", "HF_HUB_OFFLINE=1"]


def test_the_line_names_the_parser_and_its_licence(monkeypatch):
    loaded = []
    monkeypatch.setattr(semantic, "load_parser", lambda n, *a, **k: loaded.append(k["licence"]) or object())
    _, line = choose_masks(dpst.Config(), None, SceneParsers(torch.device("cpu")))
    assert line == "semantic (scene parser openmmlab/upernet-convnext-tiny, MIT)"
    segformer = dpst.Config(segmenter="nvidia/segformer-b0-finetuned-ade-512-512")
    _, line = choose_masks(segformer, None, SceneParsers(torch.device("cpu")))
    assert line.endswith(
        ", its licence, NVIDIA's SegFormer licence (research and evaluation only), forbids commercial use)"
    )
    assert loaded == ["MIT", "NVIDIA's SegFormer licence (research and evaluation only)"]


def test_the_parser_is_given_the_network_for_its_correspondences(monkeypatch):
    """--masks auto and semantic label with the parser and the run's VGG (dpst.segment.hybrid)."""
    parser, net, seen = object(), object(), []
    monkeypatch.setattr(semantic, "available", lambda: True)  # the extra, whether installed or not
    monkeypatch.setattr(semantic, "load_parser", lambda n, *a, **k: parser)
    monkeypatch.setattr(semantic, "semantic_labels", lambda *a: seen.append(a) or ("c", "s"))
    for masks in ("auto", "semantic"):
        segment, _ = choose_masks(dpst.Config(masks=masks), net, SceneParsers(torch.device("cpu")))
        assert segment("content", "style", "shapes") == ("c", "s")
    assert seen == [(parser, "content", "style", "shapes", net)] * 2
