"""dpst.ops.tensor: to_tensor and to_image (the one numpy <-> torch image conversion)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dpst.ops.tensor import to_image, to_tensor

from ._reference import PROPERTY


class TestToTensor:
    def test_smoke(self) -> None:
        img = np.random.default_rng(0).random((5, 6, 3)).astype(np.float32)
        x = to_tensor(img)
        assert isinstance(x, torch.Tensor)
        assert x.shape == (1, 3, 5, 6) and x.dtype == torch.float32 and x.device.type == "cpu"

    @pytest.mark.parametrize(
        ("shape", "dtype", "want"),
        [
            ((5, 6, 1), None, torch.float32),
            ((2, 3, 4), torch.float64, torch.float64),
            ((1, 1, 3), torch.float16, torch.float16),
        ],
    )
    def test_cardinality_and_dtype(self, shape: tuple, dtype: torch.dtype | None, want: torch.dtype) -> None:
        img = np.random.default_rng(1).random(shape)
        x = to_tensor(img, device="cpu", dtype=dtype)
        assert x.shape == (1, shape[2], shape[0], shape[1]) and x.dtype == want

    def test_equals_per_pixel_reference(self) -> None:
        img = np.random.default_rng(2).random((4, 5, 3))[:, ::-1]  # a non-contiguous view
        x = to_tensor(img, dtype=torch.float64)
        for y in range(4):
            for xx in range(5):
                for c in range(3):
                    assert x[0, c, y, xx].item() == img[y, xx, c]

    def test_uint8_values_are_not_rescaled(self) -> None:
        assert to_tensor(np.full((1, 1, 3), 255, dtype=np.uint8)).flatten().tolist() == [255.0] * 3

    @pytest.mark.parametrize("shape", [(5, 6), (1, 5, 6, 3), ()])
    def test_exception(self, shape: tuple) -> None:
        with pytest.raises(
            ValueError,
            match=re.escape(f"to_tensor: expected an (H, W, C) array, got shape {shape}"),
        ):
            to_tensor(np.zeros(shape))


class TestToImage:
    def test_smoke(self) -> None:
        img = to_image(torch.rand(1, 3, 5, 6, dtype=torch.float64, requires_grad=True))
        assert isinstance(img, np.ndarray)
        assert img.shape == (5, 6, 3) and img.dtype == np.float32

    @pytest.mark.parametrize("shape", [(3, 5, 6), (2, 3, 5, 6), (1, 1, 3, 5, 6)])
    def test_exception(self, shape: tuple) -> None:
        with pytest.raises(
            ValueError,
            match=re.escape(f"to_image: expected a (1, C, H, W) tensor, got shape {shape}"),
        ):
            to_image(torch.zeros(shape))

    @PROPERTY
    @given(img=hnp.arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4))))
    def test_property_round_trip(self, img: np.ndarray) -> None:
        back = to_image(to_tensor(img))
        assert back.shape == img.shape and back.dtype == np.float32
        np.testing.assert_array_equal(back, img)  # NaN and inf included
        np.testing.assert_array_equal(to_image(to_tensor(img, dtype=torch.float64)), img)
