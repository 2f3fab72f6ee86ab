"""Images between numpy (H, W, C) arrays and torch (1, C, H, W) tensors: the one place that converts."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(
    image: np.ndarray, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``(H, W, C)`` array → ``(1, C, H, W)`` tensor on ``device`` (float32 unless ``dtype``)."""
    if np.ndim(image) != 3:
        raise ValueError(f"to_tensor: expected an (H, W, C) array, got shape {np.shape(image)}")
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return x.to(device=device, dtype=torch.float32 if dtype is None else dtype)


def to_image(x: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` tensor → float32 ``(H, W, C)`` array on the CPU."""
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"to_image: expected a (1, C, H, W) tensor, got shape {tuple(x.shape)}")
    return x.detach()[0].permute(1, 2, 0).float().cpu().numpy()
