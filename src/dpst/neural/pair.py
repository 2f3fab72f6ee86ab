"""A content/style pair prepared for the objective: both photos at a working size and their labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import io
from ..ops.palette import resize_labels


@dataclass
class Pair:
    """A content/style pair prepared at the working size (made by :func:`dpst.api.prepare`)."""

    content_full: np.ndarray  # (H, W, 3) the photo at its own size
    style_full: np.ndarray  # (Hs, Ws, 3) the style photo at its own size
    content: np.ndarray  # (h, w, 3) at the working size
    style: np.ndarray  # (hs, ws, 3) at the working size
    content_labels: np.ndarray  # (h, w) int, -1 = no style guidance
    style_labels: np.ndarray  # (hs, ws) int
    ids: list[int]  # labels taking part in the style loss

    def at(self, size: int) -> Pair:
        """The same pair at another working size (labels resized nearest)."""
        c = io.resize_long_side(self.content_full, size)
        s = io.resize_long_side(self.style_full, size)
        c_lab = resize_labels(self.content_labels, *c.shape[:2])
        s_lab = resize_labels(self.style_labels, *s.shape[:2])
        return Pair(self.content_full, self.style_full, c, s, c_lab, s_lab, self.ids)

    @property
    def size(self) -> int:
        """The working size: the long side (px) of ``content``."""
        return max(self.content.shape[:2])
