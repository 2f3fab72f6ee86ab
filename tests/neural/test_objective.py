"""The objective in bfloat16 is the float32 objective up to rounding: same values, same descent
direction (what L-BFGS needs), with its terms in float32."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dpst.neural import vgg
from dpst.neural.objective import Objective


def _objective(
    dtype: torch.dtype, weights: dict | None = None
) -> tuple[Objective, torch.Tensor, torch.Tensor]:
    """An objective of a random two-region pair, its content photo and a random image."""
    g = torch.Generator().manual_seed(0)
    net = vgg.VGGFeatures(weights or vgg.random_weights(0, channels=(16,) * 13))
    content = torch.rand(1, 3, 48, 64, generator=g)
    style = torch.rand(1, 3, 40, 56, generator=g) ** 2
    c_lab = np.zeros((48, 64), np.int64)
    c_lab[:, 32:] = 1
    s_lab = np.zeros((40, 56), np.int64)
    s_lab[20:] = 1
    obj = Objective(net, content, style, c_lab, s_lab, [0, 1], dtype=dtype)
    return obj, content, torch.rand(1, 3, 48, 64, generator=g)


def _value_and_grad(obj: Objective, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    x = x.clone().requires_grad_(True)
    values = obj(x)
    sum(values.values()).backward()
    return {k: v.detach() for k, v in values.items()}, x.grad


def _compare(weights: dict | None) -> tuple[dict[str, float], float]:
    """Relative differences of the terms, and the cosine of the gradients, bfloat16 against float32."""
    obj32, _, x = _objective(torch.float32, weights)
    obj16, _, _ = _objective(torch.bfloat16, weights)
    v32, g32 = _value_and_grad(obj32, x)
    v16, g16 = _value_and_grad(obj16, x)
    assert all(v.dtype == torch.float32 for v in v16.values()) and g16.dtype == torch.float32
    assert not torch.equal(g16, g32)  # it did run in bfloat16
    rel = {k: abs(float(v16[k] / v32[k]) - 1) for k in ("content", "style")}
    return rel, float((g16 * g32).sum() / (g16.norm() * g32.norm()))


def test_bfloat16_objective_matches_float32():
    # a tiny random network: 16 channels a layer round worse than VGG-19's hundreds
    rel, cosine = _compare(None)
    assert max(rel.values()) < 0.03 and cosine > 0.9


@pytest.mark.weights
def test_bfloat16_objective_matches_float32_with_vgg19(real_weights):
    rel, cosine = _compare(real_weights)  # measured: 0.1% / 0.2%, cosine 0.998
    assert max(rel.values()) < 0.01 and cosine > 0.99


def test_targets_are_computed_in_the_objectives_precision():
    obj, content, _ = _objective(torch.bfloat16)
    ref, _, _ = _objective(torch.float32)
    assert obj.content_target.dtype == torch.float32
    assert not torch.equal(obj.content_target, ref.content_target)
    assert torch.allclose(obj.content_target, ref.content_target, rtol=0.05, atol=0.05)
    # at the content itself the content term is ~0 in either precision: targets and steps agree
    values, _ = _value_and_grad(obj, content)
    assert float(values["content"]) < 1e-6


def test_a_style_layer_weighed_zero_is_not_computed_and_the_rest_is_the_same():
    """With relu5_1 weighed 0 the network stops at the content layer (relu4_2): same value of every
    term as when relu5_1 is computed and then weighed 0."""
    obj, _, x = _objective(torch.float32)
    weights = {"relu1_1": 0.25, "relu2_1": 0.25, "relu3_1": 0.25, "relu4_1": 0.25, "relu5_1": 0.0}
    obj.layer_weights = weights
    asked = []
    forward = obj.net.forward

    def spy(x, layers):
        asked.append(tuple(layers))
        return forward(x, layers)

    obj.net.forward = spy
    skipped = obj(x)
    assert "relu5_1" not in asked[-1]
    obj.net.forward = lambda x, layers: forward(x, (*layers, "relu5_1"))  # computed, weighed 0
    full = obj(x)
    assert {k: float(v) for k, v in skipped.items()} == pytest.approx({k: float(v) for k, v in full.items()})
    obj.layer_weights = {**weights, "relu5_1": 0.25, "relu1_1": 0.0}
    assert float(obj(x)["style"]) != pytest.approx(float(skipped["style"]))  # the weights do count
