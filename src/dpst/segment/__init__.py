"""Masks of both photos, matched region to region: from dense semantic correspondences between the
photos (:mod:`.correspond`, the automatic default without a scene parser), by a pretrained scene parser
(:mod:`.semantic`; the known checkpoints in :mod:`.parsers`, fetched on first use by :mod:`.hub`; where
it is unsure, or for content its style lacks, correspondences decide: :mod:`.hybrid`),
by the earlier joint clustering (:mod:`.auto`), or completed from a few strokes (:mod:`.strokes`);
which of them a run uses is chosen in :mod:`.choose`, and :mod:`.labelled` prepares
the labelled pair."""

from __future__ import annotations

from .auto import SegmentSettings, auto_labels, joint_cells
from .correspond import CorrespondSettings, correspond_labels
from .hybrid import HybridSettings
from .strokes import (
    StrokeSettings,
    complete_labels,
    complete_pair,
    correct_labels,
    correct_pair,
    settle_pair,
)

__all__ = [
    "CorrespondSettings",
    "HybridSettings",
    "SegmentSettings",
    "StrokeSettings",
    "auto_labels",
    "complete_labels",
    "complete_pair",
    "correct_labels",
    "correct_pair",
    "correspond_labels",
    "joint_cells",
    "settle_pair",
]
