"""Choosing the masks of a run, without running them: which segmenter, and the line that says so."""

from __future__ import annotations

import torch

import dpst
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
