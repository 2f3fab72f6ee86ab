"""Private kernels shared by the local affine ops: box filters, the per-window affine fit, row tiling
and the input checks.

The fact they build on: the least-squares affine map from a guide's colours ``I`` to a signal ``p``
over a window is ``a = (Sigma_I + eps U)^{-1} cov(I, p)``, ``b = mean(p) - a^T mean(I)`` (He, Sun & Tang
2010, "Guided Image Filtering", ECCV, sec. 3 and its colour-guide form), and every term there is a box
mean, so the fits of all windows at once cost a few box filters.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ._sym3 import SYM3, SYM3_IDX, inv_sym3


def _box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean of ``x`` over the ``(2r+1)^2`` window clipped to the image.  ``(..., H, W)``."""
    return _box(x, radius, mean=True)


def _box_sum(x: Tensor, radius: int) -> Tensor:
    """Sum of ``x`` over the ``(2r+1)^2`` window clipped to the image.  ``(..., H, W)``."""
    return _box(x, radius, mean=False)


def _box(x: Tensor, radius: int, mean: bool) -> Tensor:
    """Separable box filter by cumulative sums: O(1) per pixel whatever the radius.

    The clipped window is a product of a row range and a column range, so filtering rows then
    columns (dividing each by its own count of valid pixels for the mean) is exact.  Sums run in
    float64: a float32 cumulative sum over 4000 pixels would lose ~1e-4 absolute, the size of the
    ``eps`` the callers add to variances.  1.6x faster than ``avg_pool2d`` at r = 8.
    """
    y = x.to(torch.float32 if x.device.type == "mps" else torch.float64)  # MPS has no float64
    for dim in (-1, -2):
        n = y.shape[dim]
        c = F.pad(torch.cumsum(y, dim), (1, 0) if dim == -1 else (0, 0, 1, 0))  # c[i] = sum of y[:i]
        i = torch.arange(n, device=x.device)
        hi, lo = (i + radius + 1).clamp_(max=n), (i - radius).clamp_(min=0)
        y = c.index_select(dim, hi) - c.index_select(dim, lo)
        if mean:
            count = (hi - lo).to(y.dtype)
            y = y / (count if dim == -1 else count[:, None])
    return y.to(x.dtype)


def _affine_fit(guide: Tensor, src: Tensor, radius: int, eps: float | Tensor) -> tuple[Tensor, Tensor]:
    """Per-window ridge fit ``src ~ a^T guide + b`` (He et al. 2010, before the mean of a and b).

    ``guide (B, G, H, W)`` with ``G`` in ``{1, 3}``, ``src (B, C, H, W)``, ``eps`` a number or a
    tensor broadcastable to ``(B, H, W)``.  Returns ``a (B, C, G, H, W)``, ``b (B, C, H, W)``.
    """
    a, b, _, _ = _affine_fit_moments(guide, src, radius, eps)
    return a, b


def _affine_fit_moments(
    guide: Tensor, src: Tensor, radius: int, eps: float | Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`_affine_fit`'s ``a`` and ``b``, and the window moments it used: ``mean_p (B, C, H, W)``
    (the window means of ``src``) and ``cov_ip (B, C, G, H, W)`` (its covariances with the guide)."""
    mean_i = _box_mean(guide, radius)  # B, G, H, W
    mean_p = _box_mean(src, radius)  # B, C, H, W
    cov_ip = (
        _box_mean(src[:, :, None] * guide[:, None], radius) - mean_p[:, :, None] * mean_i[:, None]
    )  # B,C,G,H,W
    if guide.shape[1] == 1:
        var_i = _box_mean(guide * guide, radius) - mean_i * mean_i  # B, 1, H, W
        a = cov_ip / (var_i[:, None] + (eps[:, None, None] if isinstance(eps, Tensor) else eps))
    else:
        prods = torch.stack([guide[:, i] * guide[:, j] for i, j in SYM3], dim=1)  # B, 6, H, W
        sigma = _box_mean(prods, radius) - torch.stack([mean_i[:, i] * mean_i[:, j] for i, j in SYM3], 1)
        s = list(sigma.unbind(1))
        for d in (0, 3, 5):
            s[d] = s[d] + eps
        inv = inv_sym3(*s)
        a = torch.stack(
            [sum(inv[SYM3_IDX[i][j]][:, None] * cov_ip[:, :, j] for j in range(3)) for i in range(3)], dim=2
        )
    b = mean_p - (a * mean_i[:, None]).sum(2)
    return a, b, mean_p, cov_ip


def _guided_coefficients(guide: Tensor, src: Tensor, radius: int, eps: float) -> tuple[Tensor, Tensor]:
    a, b = _affine_fit(guide, src, radius, eps)
    return _box_mean(a, radius), _box_mean(b, radius)


def _apply_affine(a: Tensor, b: Tensor, guide: Tensor) -> Tensor:
    """``sum_j a[..., c, j, :, :] * guide[..., j, :, :] + b[..., c, :, :]``: ``a (.., C, G, H, W)``."""
    return (a * guide.unsqueeze(-4)).sum(-3) + b


def _map_row_tiles(fn: Callable[..., Tensor], inputs: Sequence[Tensor], halo: int, tile_rows: int) -> Tensor:
    """``fn(*inputs)`` computed in row tiles; exact if each output row depends on rows within ``halo``."""
    h = inputs[0].shape[-2]
    if h <= tile_rows:
        return fn(*inputs)
    out: Tensor | None = None
    for t0 in range(0, h, tile_rows):
        t1 = min(t0 + tile_rows, h)
        a0, a1 = max(t0 - halo, 0), min(t1 + halo, h)
        part = fn(*(x[..., a0:a1, :] for x in inputs))[..., t0 - a0 : t1 - a0, :]
        if out is None:
            out = part.new_empty(*part.shape[:-2], h, part.shape[-1])
        out[..., t0:t1, :] = part
    assert out is not None
    return out


def _check_image(x: object, fn: str, name: str, channels: tuple[int, ...] | None = None) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{fn}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{fn}: {name} must have shape (B, C, H, W), got {tuple(x.shape)}")
    if channels is not None and x.shape[1] not in channels:
        want = " or ".join(map(str, channels))
        raise ValueError(f"{fn}: {name} must have {want} channels, got shape {tuple(x.shape)}")
    if x.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{fn}: {name} must be float32 or float64, got {x.dtype}")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"{fn}: {name} is empty, shape {tuple(x.shape)}")


def _check_pair(
    first: Tensor,
    second: Tensor,
    fn: str,
    names: tuple[str, str] = ("guide", "src"),
    first_channels: tuple[int, ...] | None = None,
    second_channels: tuple[int, ...] | None = None,
    same_channels: bool = False,
) -> None:
    """Both are (B, C, H, W) float tensors with equal B, H, W (and C if asked), dtype and device."""
    _check_image(first, fn, names[0], first_channels)
    _check_image(second, fn, names[1], second_channels)
    f, s = tuple(first.shape), tuple(second.shape)
    if f[0] != s[0] or f[-2:] != s[-2:] or (same_channels and f[1] != s[1]):
        what = "batch size, channels and H x W" if same_channels else "batch size and H x W"
        raise ValueError(f"{fn}: {names[0]} {f} and {names[1]} {s} must have the same {what}")
    if first.dtype != second.dtype or first.device != second.device:
        raise ValueError(
            f"{fn}: {names[0]} ({first.dtype}, {first.device}) and {names[1]} "
            f"({second.dtype}, {second.device}) must share dtype and device"
        )


def _check_window(radius: int, eps: float, rname: str, ename: str, min_radius: int) -> None:
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < min_radius:
        raise ValueError(f"{rname} must be an integer >= {min_radius}, got {radius!r}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"{ename} must be a finite number > 0, got {eps!r}")


def _check_positive_int(n: int, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
