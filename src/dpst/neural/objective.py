"""The stylisation objective: targets computed once, terms evaluated per step."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..config import CONTENT_LAYER, STYLE_LAYERS, Config
from ..ops.laplacian import LaplacianTerm, matting_laplacian
from ..ops.tensor import to_tensor
from . import losses
from .guides import one_hot, propagate
from .pair import Pair
from .vgg import VGGFeatures, compute_dtype, layer_sequence, precision

_TARGET_CACHE = 4  # style looks (× sizes) whose Gram matrices an Objectives keeps


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
        # a style layer weighed 0 is not computed (nor the network past the deepest layer used)
        used = [n for n in STYLE_LAYERS if self.layer_weights is None or self.layer_weights.get(n, 0.0) > 0]
        with precision(x.device, self.dtype):
            feats = self.net(x, (*used, CONTENT_LAYER))
            # the Gram products too (autocast runs matmuls in self.dtype); their differences to the
            # float32 targets, and every sum, in float32
            style = losses.style_loss(
                {n: feats[n] for n in used},
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


class Objectives:
    """The objective of a pair at its size, for one network; the style's Gram matrices come from a
    small cache, so restyling many photos in one look computes them once per size."""

    def __init__(self, net: VGGFeatures, device: torch.device) -> None:
        self.net, self.device = net, device
        self._targets: dict[tuple, dict] = {}  # by precision, style photo, its labels and size

    def __call__(self, pair: Pair, cfg: Config) -> Objective:
        content, style = to_tensor(pair.content, self.device), to_tensor(pair.style, self.device)
        dtype = compute_dtype(cfg.precision, self.device)
        key = (
            dtype,
            hashlib.sha1(pair.style.tobytes()).hexdigest(),
            pair.style.shape,
            hashlib.sha1(pair.style_labels.tobytes()).hexdigest(),
            tuple(pair.ids),
        )
        if key not in self._targets:
            if len(self._targets) >= _TARGET_CACHE:
                self._targets.pop(next(iter(self._targets)))
            self._targets[key] = style_targets(self.net, style, pair.style_labels, pair.ids, dtype)
        return Objective(
            self.net,
            content,
            style,
            pair.content_labels,
            pair.style_labels,
            pair.ids,
            self._targets[key],
            cfg.layer_weights(),
            dtype,
        )


def photorealism_term(content: np.ndarray, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """The photorealism term (Luan et al. eq. 3) per pixel: Σ_c V_cᵀ M_I V_c / N, with M_I the matting
    Laplacian of the content at the size being optimised (a Laplacian of another size would be wrong).

    Departure: dividing by the pixel count N makes λ mean the same at every working size; our other
    terms are size-free too."""
    term = LaplacianTerm(matting_laplacian(content.astype(np.float64)), device=device)
    per_pixel = 1.0 / (content.shape[0] * content.shape[1])
    return lambda x: term(x, weight=per_pixel)
