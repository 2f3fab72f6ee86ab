"""dpst.ops.palette: labels_from_colors, colors_from_labels, resize_labels, match_labels.

The first tests check the nine colours, float == uint8 input, one snap/blend pair, one bad shape, one
resize and one round trip; the battery after them adds the tolerance, the messages, a per-pixel resize
reference and properties over random label maps.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dpst.ops.palette import (
    PALETTE,
    UNLABELLED,
    colors_from_labels,
    labels_from_colors,
    match_labels,
    resize_labels,
)

from ._reference import PROPERTY


def test_palette_colours_map_to_their_index():
    img = PALETTE.astype(np.uint8)[None]  # 1×9×3
    assert labels_from_colors(img).tolist() == [list(range(9))]


def test_float_input_same_as_uint8():
    img = PALETTE.astype(np.uint8)[None]
    assert (labels_from_colors(img.astype(np.float32) / 255) == labels_from_colors(img)).all()


def test_near_colours_snap_and_antialiased_blends_are_unlabelled():
    blue, green = PALETTE[0], PALETTE[1]
    near_blue = blue + np.array([10, 12, -20])
    blend = (blue + green) / 2  # an anti-aliased edge pixel between blue and green
    img = np.clip(np.stack([near_blue, blend]), 0, 255).astype(np.uint8)[None]
    assert labels_from_colors(img).tolist() == [[0, UNLABELLED]]


def test_bad_shape_raises():
    with pytest.raises(ValueError, match="H×W×3"):
        labels_from_colors(np.zeros((4, 4)))


def test_resize_labels_nearest_keeps_values_and_shape():
    lab = np.array([[0, 1], [2, 3]])
    big = resize_labels(lab, 4, 6)
    assert big.shape == (4, 6)
    assert set(np.unique(big)) == {0, 1, 2, 3}
    assert (big[:2, :3] == 0).all() and (big[2:, 3:] == 3).all()
    assert (resize_labels(big, 2, 2) == lab).all()


def test_match_labels_splits_missing():
    content = np.array([[0, 0, 1, 4]])
    style = np.array([[0, 1, 1, -1]])
    assert match_labels(content, style) == ([0, 1], [4])


def test_palette_round_trip():
    labels = np.array([[0, 1, 2], [3, 4, 8]])
    assert np.array_equal(labels_from_colors(colors_from_labels(labels)), labels)
    with pytest.raises(ValueError):
        colors_from_labels(np.array([[-1, 0]]))


def label_maps(low: int = 0, high: int = 8, max_side: int = 6):
    return hnp.arrays(
        np.int64,
        st.tuples(st.integers(1, max_side), st.integers(1, max_side)),
        elements=st.integers(low, high),
    )


class TestLabelsFromColors:
    def test_smoke(self) -> None:
        labels = labels_from_colors(np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8))
        assert labels.shape == (5, 6) and labels.dtype == np.int64
        assert ((labels >= UNLABELLED) & (labels < len(PALETTE))).all()

    @pytest.mark.parametrize(("tol", "want"), [(0.25, 0), (0.15, UNLABELLED)])
    def test_tolerance(self, tol: float, want: int) -> None:
        # 0.2 * 255 from blue (Euclidean), about 0.72 * 255 from every other palette colour
        offset = 0.2 * 255 / np.sqrt(3)
        pixel = np.array([[[offset, offset, 255 - offset]]]) / 255
        assert labels_from_colors(pixel, tol=tol).tolist() == [[want]]

    @pytest.mark.parametrize("shape", [(4, 4, 4), (4, 4, 3, 1), (12,)])
    def test_exception(self, shape: tuple) -> None:
        with pytest.raises(
            ValueError,
            match=re.escape(f"a mask must be an H×W×3 colour image, got shape {shape}"),
        ):
            labels_from_colors(np.zeros(shape))

    @PROPERTY
    @given(labels=label_maps(), seed=st.integers(0, 2**16))
    def test_property_round_trip_survives_antialiasing_noise(self, labels: np.ndarray, seed: int) -> None:
        rgb = colors_from_labels(labels)
        assert labels_from_colors(rgb).tolist() == labels.tolist()
        # noise up to 0.2 * 255 a pixel (Euclidean) keeps the label: palette colours are >= 0.5 * 255 apart
        noise = np.random.default_rng(seed).standard_normal(rgb.shape)
        noise *= (
            0.2
            * 255
            * np.random.default_rng(seed + 1).random(labels.shape)[..., None]
            / np.linalg.norm(noise, axis=-1, keepdims=True)
        )
        noisy = np.clip(rgb + noise, 0, 255) / 255  # float input in [0, 1]
        assert labels_from_colors(noisy).tolist() == labels.tolist()


class TestColorsFromLabels:
    def test_smoke(self) -> None:
        rgb = colors_from_labels(np.array([[0, 4], [6, 8]]))
        assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
        assert rgb.tolist() == [[[0, 0, 255], [255, 0, 0]], [[128, 128, 128], [255, 0, 255]]]

    @pytest.mark.parametrize("bad", [np.array([[9]]), np.array([[0, -1]]), np.array([[UNLABELLED]])])
    def test_exception(self, bad: np.ndarray) -> None:
        with pytest.raises(ValueError, match=r"label ids must lie in 0\.\.8"):
            colors_from_labels(bad)


class TestResizeLabels:
    @pytest.mark.parametrize(("size", "dtype"), [((7, 3), np.int64), ((2, 9), np.int32), ((1, 1), np.int64)])
    def test_smoke_and_cardinality(self, size: tuple, dtype: type) -> None:
        labels = np.arange(20, dtype=dtype).reshape(4, 5)
        out = resize_labels(labels, *size)
        assert out.shape == size and out.dtype == dtype
        assert set(np.unique(out)) <= set(np.unique(labels))

    def test_equals_per_pixel_reference(self) -> None:
        # nearest neighbour, half-pixel centres: output pixel i reads input floor((i + 0.5) * n_in / n_out)
        labels = np.arange(30).reshape(5, 6)
        for h, w in [(3, 4), (8, 11), (5, 2)]:
            want = [
                [labels[int((i + 0.5) * 5 / h), int((j + 0.5) * 6 / w)] for j in range(w)] for i in range(h)
            ]
            assert resize_labels(labels, h, w).tolist() == want

    def test_downsizing_by_an_odd_factor_takes_window_centres(self) -> None:
        labels = np.arange(9 * 6).reshape(9, 6)
        assert resize_labels(labels, 3, 2).tolist() == labels[1::3, 1::3].tolist()

    @PROPERTY
    @given(labels=label_maps(UNLABELLED, 8), up=st.tuples(st.integers(0, 7), st.integers(0, 7)))
    def test_property_enlarging_then_shrinking_is_the_identity(self, labels: np.ndarray, up: tuple) -> None:
        h, w = labels.shape
        big = resize_labels(labels, h + up[0], w + up[1])
        assert big.shape == (h + up[0], w + up[1])
        assert resize_labels(big, h, w).tolist() == labels.tolist()


class TestMatchLabels:
    def test_smoke(self) -> None:
        used, missing = match_labels(np.array([[3, 3, 1], [0, -1, 7]]), np.array([[7, 0], [0, 2]]))
        assert (used, missing) == ([0, 7], [1, 3])
        assert all(type(k) is int for k in used + missing)

    def test_min_pixels(self) -> None:
        content = np.array([[0, 0, 0, 1, 1, 2]])
        style = np.array([[0, 0, 1, 2, 2, 2]])
        assert match_labels(content, style, min_pixels=2) == ([0], [1])  # 2: too small in content
        assert match_labels(content, style, min_pixels=3) == ([], [0])  # 0: too small in style

    @PROPERTY
    @given(content=label_maps(UNLABELLED, 5), style=label_maps(UNLABELLED, 5), min_pixels=st.integers(1, 4))
    def test_property_partition_of_the_content_labels(
        self, content: np.ndarray, style: np.ndarray, min_pixels: int
    ) -> None:
        used, missing = match_labels(content, style, min_pixels)
        big_enough = lambda m: {k for k in range(6) if (m == k).sum() >= min_pixels}  # noqa: E731
        assert used == sorted(used) and missing == sorted(missing)
        assert set(used) == big_enough(content) & big_enough(style)
        assert set(missing) == big_enough(content) - big_enough(style)
        assert UNLABELLED not in used + missing
