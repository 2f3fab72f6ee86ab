from __future__ import annotations

import pytest
import torch

from dpst.neural import losses


def test_gram_analytic():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # C=2, N=2
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / 2.0
    assert torch.allclose(losses.gram(f), expected)


def test_full_mask_equals_unmasked():
    f = torch.randn(1, 5, 6, 7)
    assert torch.allclose(losses.masked_gram(f, torch.ones(6, 7)), losses.gram(f), atol=1e-6)


def test_masked_gram_is_gram_of_the_region():
    f = torch.randn(1, 4, 6, 8)
    mask = torch.zeros(6, 8)
    mask[:, :3] = 1
    assert torch.allclose(losses.masked_gram(f, mask), losses.gram(f[..., :3]), atol=1e-6)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "unbatched"])
def test_region_gram_equals_masked_gram_for_soft_masks(layout):
    f = torch.randn(1, 4, 6, 8)
    mask = torch.rand(6, 8) * (torch.rand(6, 8) > 0.5)
    g = f.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else f
    g = g[0] if layout == "unbatched" else g
    assert torch.allclose(losses.region_gram(g, losses.region(mask)), losses.masked_gram(f, mask), atol=1e-6)
    assert torch.allclose(losses.region_gram(g, losses.region(torch.ones(6, 8))), losses.gram(f), atol=1e-6)


def test_region_gram_gradient_matches_masked_gram():
    mask = torch.rand(6, 8) * (torch.rand(6, 8) > 0.5)
    f1 = torch.randn(1, 4, 6, 8).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    f2 = f1.detach().clone().requires_grad_(True)
    w = torch.randn(4, 4)
    (losses.region_gram(f1, losses.region(mask)) * w).sum().backward()
    (losses.masked_gram(f2, mask) * w).sum().backward()
    assert torch.allclose(f1.grad, f2.grad, atol=1e-5)


def test_style_loss_zero_at_target_and_positive_elsewhere():
    feats = {"a": torch.randn(1, 3, 5, 5), "b": torch.randn(1, 6, 3, 3)}
    masks = {"a": torch.ones(1, 5, 5), "b": torch.ones(1, 3, 3)}
    regions = {k: [losses.region(m) for m in v] for k, v in masks.items()}
    targets = losses.style_targets(feats, regions)
    assert losses.style_loss(feats, regions, targets, [1.0]).item() < 1e-10
    other = {k: v + 0.5 for k, v in feats.items()}
    assert losses.style_loss(other, regions, targets, [1.0]).item() > 1e-3


def test_relative_error_is_scale_free():
    t = torch.randn(10)
    x = t + 0.1 * torch.randn(10)
    assert torch.allclose(losses.relative_sq_error(x, t), losses.relative_sq_error(1e3 * x, 1e3 * t))


def test_content_and_tv():
    t = torch.rand(1, 3, 4, 4)
    assert losses.content_loss(t, t).item() == 0
    assert losses.tv_loss(torch.ones(1, 3, 4, 4)).item() == 0
    assert losses.tv_loss(torch.rand(1, 3, 4, 4)).item() > 0
