"""dpst.ops.lab.srgb_to_lab: shapes, golden values, a per-pixel reference and properties.

srgb_to_lab does no input checking (any float array of shape (..., 3)), so there is no exception
test; a non-3 last axis fails inside numpy's matmul.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dpst.ops.lab import srgb_to_lab

from . import _reference as ref
from ._reference import PROPERTY


class TestSrgbToLab:
    def test_smoke(self) -> None:
        lab = srgb_to_lab(np.random.default_rng(0).random((5, 6, 3)))
        assert lab.shape == (5, 6, 3) and lab.dtype == np.float64
        assert np.isfinite(lab).all()

    @pytest.mark.parametrize("shape", [(3,), (1, 3), (4, 5, 3), (2, 3, 4, 3)])
    def test_cardinality(self, shape: tuple) -> None:
        rgb = np.random.default_rng(1).random(shape)
        lab = srgb_to_lab(rgb)
        assert lab.shape == shape
        np.testing.assert_array_equal(lab.reshape(-1, 3), srgb_to_lab(rgb.reshape(-1, 3)))

    def test_float32_input(self) -> None:
        rgb = np.random.default_rng(2).random((4, 3)).astype(np.float32)
        np.testing.assert_allclose(srgb_to_lab(rgb), srgb_to_lab(rgb.astype(np.float64)), rtol=0, atol=1e-4)

    def test_golden_primaries(self) -> None:
        # published CIELAB (D65, 2 deg) of the sRGB primaries, white and black, e.g. Bruce Lindbloom's
        # calculator (brucelindbloom.com) with sRGB, D65 reference white and no adaptation
        rgb = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]], dtype=np.float64)
        expected = np.array(
            [
                [53.2408, 80.0925, 67.2032],
                [87.7347, -86.1827, 83.1793],
                [32.2970, 79.1875, -107.8602],
                [100.0, 0.0, 0.0],
                [0.0, 0.0, 0.0],
            ]
        )
        np.testing.assert_allclose(srgb_to_lab(rgb), expected, rtol=0, atol=2e-3)

    def test_equals_per_pixel_formula(self) -> None:
        # a 5x6 image with values on both sides of the sRGB knee (0.04045) and of the CIE knee (dark colours)
        rgb = np.random.default_rng(3).random((5, 6, 3)) ** 3
        rgb[0, :3] = [0.04045, 0.04045 + 1e-9, 0.0]
        expected = np.array([[ref.srgb_to_lab_pixel(tuple(px)) for px in row] for row in rgb])
        np.testing.assert_allclose(srgb_to_lab(rgb), expected, rtol=0, atol=1e-9)

    @PROPERTY
    @given(v=st.floats(0.0, 1.0), w=st.floats(0.0, 1.0))
    def test_property_greys_are_neutral_and_lightness_increases(self, v: float, w: float) -> None:
        assume(abs(v - w) > 1e-6)
        (lo, hi) = (srgb_to_lab(np.full(3, t)) for t in sorted((v, w)))
        np.testing.assert_allclose(lo[1:], 0.0, atol=1e-4)  # D65 white = the matrix's row sums
        assert hi[0] > lo[0]

    @PROPERTY
    @given(rgb=hnp.arrays(np.float64, (4, 3), elements=st.floats(0.0, 1.0)))
    def test_property_lightness_in_range_and_continuous(self, rgb: np.ndarray) -> None:
        lab = srgb_to_lab(rgb)
        assert (lab[:, 0] >= -1e-9).all() and (lab[:, 0] <= 100 + 1e-5).all()
        # both piecewise formulas meet at their knees: a tiny step in RGB is a tiny step in Lab
        step = np.abs(srgb_to_lab(np.clip(rgb + 1e-7, 0, 1)) - lab).max()
        assert step < 1e-3
