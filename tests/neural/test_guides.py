from __future__ import annotations

import numpy as np
import torch

from dpst.neural.guides import one_hot, propagate
from dpst.neural.vgg import layer_sequence


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
