"""Masks of both photos, matched region to region: found without supervision (:mod:`.auto`), by a
pretrained scene parser (:mod:`.semantic`), or completed from a few strokes (:mod:`.strokes`); which of
them a run uses is chosen in :mod:`.choose`, and :mod:`.labelled` prepares the labelled pair."""

from __future__ import annotations

from .auto import SegmentSettings, auto_labels, joint_cells
from .strokes import StrokeSettings, complete_labels, complete_pair

__all__ = [
    "SegmentSettings",
    "StrokeSettings",
    "auto_labels",
    "complete_labels",
    "complete_pair",
    "joint_cells",
]
