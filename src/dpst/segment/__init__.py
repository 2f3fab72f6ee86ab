"""Masks of both photos, matched region to region: found without supervision (:mod:`.auto`)."""

from __future__ import annotations

from .auto import SegmentSettings, auto_labels, joint_cells

__all__ = ["SegmentSettings", "auto_labels", "joint_cells"]
