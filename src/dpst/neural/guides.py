"""Region masks as guides of the network: one-hot masks, carried through VGG's ops to every layer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def one_hot(labels: np.ndarray, ids: Sequence[int]) -> torch.Tensor:
    """(K, H, W) float32 masks, one per id in ``ids``."""
    lab = torch.from_numpy(np.ascontiguousarray(labels))
    return torch.stack([(lab == k).float() for k in ids]) if ids else torch.zeros(0, *labels.shape)


def propagate(masks: torch.Tensor, ops: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
    """Carry masks (K, H, W) through the network's ops the way the reference code did.

    A 3×3 conv widens a feature's footprint, so the mask is blurred by a 3×3 box; a 2×2 pool halves
    the size (ceil), so the mask is resized bilinearly.  Deep layers thus see soft masks.  Returns
    the mask at every conv layer, keyed by the layer's name, each (K, h, w).

    Departure: the box average ignores padding (the reference counted zeros outside the image, which
    darkened every mask along the border)."""
    m = masks[None]
    out: dict[str, torch.Tensor] = {}
    for kind, name in ops:
        if kind == "conv":
            m = F.avg_pool2d(m, 3, stride=1, padding=1, count_include_pad=False)
            out[name] = m[0]
        elif kind == "pool":
            h, w = m.shape[-2:]
            m = F.interpolate(m, size=(-(-h // 2), -(-w // 2)), mode="bilinear", align_corners=False)
        else:
            raise ValueError(f"unknown op kind {kind!r}")
    return out
