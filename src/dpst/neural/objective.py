"""The stylisation objective: targets computed once, terms evaluated per step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..config import CONTENT_LAYER, STYLE_LAYERS
from . import losses
from .guides import one_hot, propagate
from .vgg import VGGFeatures, layer_sequence, precision


class Objective:
    """Content + segmented style (+ TV) terms for one content/style pair at one size.

    content, style: (1, 3, H, W) in [0, 1]; content_labels/style_labels: (H, W) int label maps at the
    same sizes as their photos; ids: the labels taking part (present in both photos).  ``targets``:
    the style's Gram matrices from :func:`style_targets`, when already computed (a cache);
    layer_weights: {style layer: weight} (default: equal); dtype: what the network's convolutions
    run in (targets and every step alike; losses stay float32)."""

    def __init__(
        self,
        net: VGGFeatures,
        content: torch.Tensor,
        style: torch.Tensor,
        content_labels,
        style_labels,
        ids: Sequence[int],
        targets: dict | None = None,
        layer_weights: dict[str, float] | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.net = net
        self.dtype = dtype
        self.layer_weights = layer_weights
        c_masks = propagate(one_hot(content_labels, ids).to(content.device), layer_sequence("relu5_1"))
        self.regions = {name: [losses.region(m) for m in c_masks[name]] for name in STYLE_LAYERS}
        counts = torch.tensor([float((content_labels == k).sum()) for k in ids])
        self.label_weights = (counts / counts.sum()).tolist()
        with torch.no_grad(), precision(content.device, dtype):
            self.content_target = net(content, [CONTENT_LAYER])[CONTENT_LAYER]
        if targets is None:
            targets = style_targets(net, style, style_labels, ids, dtype)
        self.style_targets = targets
        self.extra: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}

    def add_term(self, name: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Plug in one more term (the photorealism term of stage 2)."""
        self.extra[name] = fn

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        with precision(x.device, self.dtype):
            feats = self.net(x, (*STYLE_LAYERS, CONTENT_LAYER))
            # the Gram products too (autocast runs matmuls in self.dtype); their differences to the
            # float32 targets, and every sum, in float32
            style = losses.style_loss(
                {n: feats[n] for n in STYLE_LAYERS},
                self.regions,
                self.style_targets,
                self.label_weights,
                self.layer_weights,
            )
        out = {
            "content": losses.content_loss(feats[CONTENT_LAYER], self.content_target),
            "style": style,
            "tv": losses.tv_loss(x),
        }
        out.update({name: fn(x) for name, fn in self.extra.items()})
        return out


@torch.no_grad()
def style_targets(
    net: VGGFeatures,
    style: torch.Tensor,
    style_labels,
    ids: Sequence[int],
    dtype: torch.dtype = torch.float32,
) -> dict:
    """The style photo's masked Gram matrices at every style layer: per layer, a list over ``ids``."""
    s_masks = propagate(one_hot(style_labels, ids).to(style.device), layer_sequence("relu5_1"))
    s_regions = {name: [losses.region(m) for m in s_masks[name]] for name in STYLE_LAYERS}
    with precision(style.device, dtype):
        feats = net(style, STYLE_LAYERS)
    return losses.style_targets(feats, s_regions)
