"""Hard cuts from colour-histogram differences of consecutive frames (pure numpy).

Each frame is summarised by a joint RGB histogram of ``BINS``³ cells (of a small thumbnail); the
distance of frames t-1 and t is half the L1 distance of their normalised histograms (0: the same
colours, 1: no colour in common).  Frame t starts a new shot when that distance is over
``threshold`` *and* over ``ratio`` times the largest distance among the ``window`` frames on either
side: a cut is a lone spike, while a pan or a flash raises the distance over several frames.
"""

from __future__ import annotations

import numpy as np

BINS = 8


def histogram(frame: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Normalised joint RGB histogram, (bins³,) float64, of an (H, W, 3) uint8 frame."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame: expected (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    q = (frame.astype(np.int32) * bins) >> 8  # H, W, 3 in 0..bins-1
    idx = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    h = np.bincount(idx.ravel(), minlength=bins**3).astype(np.float64)
    return h / h.sum()


def distances(histograms: np.ndarray) -> np.ndarray:
    """(T,) distance of each frame to the one before (0 for the first): half the L1 distance."""
    h = np.asarray(histograms, dtype=np.float64)
    d = np.zeros(len(h))
    d[1:] = 0.5 * np.abs(np.diff(h, axis=0)).sum(axis=1)
    return d


def find_cuts(d: np.ndarray, threshold: float = 0.2, ratio: float = 2.0, window: int = 3) -> list[int]:
    """Frames that start a new shot (ascending, never 0), from the distances ``d`` of
    :func:`distances`."""
    d = np.asarray(d, dtype=np.float64)
    cuts = []
    for t in range(1, len(d)):
        near = np.concatenate([d[max(1, t - window) : t], d[t + 1 : t + 1 + window]])
        if d[t] > threshold and (len(near) == 0 or d[t] > ratio * near.max()):
            cuts.append(t)
    return cuts


def shots(cuts: list[int], frames: int) -> list[tuple[int, int]]:
    """[start, end) frame ranges of the shots between ``cuts``."""
    edges = [0, *[c for c in cuts if 0 < c < frames], frames]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
