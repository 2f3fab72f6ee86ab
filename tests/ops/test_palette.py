from __future__ import annotations

import numpy as np
import pytest

from dpst.ops.palette import (
    PALETTE,
    UNLABELLED,
    colors_from_labels,
    labels_from_colors,
    match_labels,
    resize_labels,
)


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
