from __future__ import annotations

import numpy as np
import pytest
import torch

from dpst.masks import (
    PALETTE,
    UNLABELLED,
    labels_from_colors,
    match_labels,
    one_hot,
    propagate,
    resize_labels,
)
from dpst.vgg import layer_sequence


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


def test_one_hot_partitions_labelled_pixels():
    lab = np.array([[0, 1, -1], [1, 1, 0]])
    m = one_hot(lab, [0, 1])
    assert m.shape == (2, 2, 3)
    assert torch.equal(m.sum(0), torch.tensor([[1.0, 1, 0], [1, 1, 1]]))


def test_propagate_shapes_follow_vgg_and_masks_soften():
    lab = np.zeros((37, 50), np.int64)
    lab[:, 25:] = 1
    masks = propagate(one_hot(lab, [0, 1]), layer_sequence())
    assert masks["relu1_1"].shape == (2, 37, 50)
    assert masks["relu2_1"].shape == (2, 19, 25)  # ceil(37/2), ceil(50/2)
    assert masks["relu5_1"].shape == (2, 3, 4)
    # partition of unity survives; deep masks are soft along the boundary
    for m in masks.values():
        assert torch.allclose(m.sum(0), torch.ones_like(m[0]), atol=1e-5)
    deep = masks["relu4_1"][0]
    assert ((deep > 0.01) & (deep < 0.99)).any()


def test_full_mask_stays_one_everywhere():
    masks = propagate(torch.ones(1, 20, 30), layer_sequence())
    for m in masks.values():
        assert torch.allclose(m, torch.ones_like(m))
