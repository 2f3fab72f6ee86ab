"""dpst.ops._sym3: closed-form inverses of many symmetric 3x3 matrices."""

from __future__ import annotations

import numpy as np
import pytest

from dpst.ops._sym3 import SYM3, inv_spd3, inv_sym3


def upper(m: np.ndarray) -> list[np.ndarray]:
    return [m[..., a, b] for a, b in SYM3]


def full(entries) -> np.ndarray:
    out = np.empty((*np.shape(entries[0]), 3, 3))
    for v, (a, b) in zip(entries, SYM3):
        out[..., a, b] = out[..., b, a] = v
    return out


@pytest.mark.parametrize("inverse", [inv_sym3, inv_spd3])
def test_inverse_of_random_spd_matrices(inverse) -> None:
    x = np.random.default_rng(0).normal(size=(500, 3, 5))
    m = x @ x.transpose(0, 2, 1) + 0.1 * np.eye(3)
    np.testing.assert_allclose(full(inverse(*upper(m))), np.linalg.inv(m), rtol=1e-9, atol=1e-9)


def test_spd_inverse_keeps_its_accuracy_where_the_matrix_is_nearly_rank_one() -> None:
    # a grey window's colour covariance: a * 1 1^T plus eps/|w| on the diagonal (the matting Laplacian's)
    a, delta = 8 / 81, 1e-7 / 9
    m = a * np.ones((3, 3)) + delta * np.eye(3)
    want = np.eye(3) / delta - a / (delta * (delta + 3 * a)) * np.ones((3, 3))  # Sherman-Morrison
    d = np.ones(3) * 0.3  # a centred grey colour: the inverse's large eigenvalues must cancel on it
    got = full(inv_spd3(*upper(m)))
    np.testing.assert_allclose(got @ d, want @ d, rtol=1e-6)
    assert np.abs(full(inv_sym3(*upper(m))) @ d - want @ d).max() > 1e-3 * np.abs(want @ d).max()
