"""The guided filter (He, Sun & Tang 2010) and two uses of it: a local affine projection and detail
refinement.

Images are ``(B, C, H, W)`` float32 or float64 tensors; full-size photos are processed in row tiles
(with a halo wide enough to make the result independent of the tiling).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ._kernels import (
    _apply_affine,
    _box_mean,
    _check_pair,
    _check_positive_int,
    _check_window,
    _guided_coefficients,
    _map_row_tiles,
)

__all__ = ["affine_projection", "fast_guided_filter", "guided_coefficients", "guided_filter", "refine_detail"]


def guided_filter(guide: Tensor, src: Tensor, radius: int, eps: float, *, tile_rows: int = 256) -> Tensor:
    """Guided filter (He et al. 2010): ``q_i = mean_k(a_k)^T I_i + mean_k(b_k)``.

    Box means are taken over the ``(2r+1)^2`` window clipped to the image and divided by the number
    of pixels inside it (as in He's reference code), so borders are not darkened by zero padding.

    Args:
        guide: ``(B, G, H, W)`` guide ``I``, ``G`` = 3 (colour guide, 3x3 solve per window) or 1.
        src: ``(B, C, H, W)`` signal ``p`` to filter, any number of channels.
        radius: window radius ``r`` (>= 1).
        eps: regulariser ``epsilon`` (> 0) added to the guide's window (co)variance.
        tile_rows: rows computed at once (each tile reads ``2r`` extra rows on either side).

    Returns:
        ``(B, C, H, W)`` filtered ``src``.
    """
    _check_pair(guide, src, "guided_filter", first_channels=(1, 3))
    _check_window(radius, eps, "radius", "eps", min_radius=1)
    _check_positive_int(tile_rows, "tile_rows")

    def filt(g: Tensor, p: Tensor) -> Tensor:
        a, b = _guided_coefficients(g, p, radius, eps)
        return _apply_affine(a, b, g)

    return _map_row_tiles(filt, (guide, src), halo=2 * radius, tile_rows=tile_rows)


def fast_guided_filter(
    guide: Tensor, src: Tensor, radius: int, eps: float, scale: int, *, tile_rows: int = 256
) -> Tensor:
    """The fast guided filter (He & Sun 2015, arXiv 1505.00996): the window fits of
    :func:`guided_filter` made on copies of ``guide`` and ``src`` reduced ``scale`` times (area
    averages), with the radius reduced alike, and their mean coefficients carried back to full size
    bilinearly and applied to the full-size guide.  About ``scale**2`` times fewer operations; the
    output keeps the full-size guide's edges.  ``scale`` 1 is :func:`guided_filter`.

    Args:
        guide: ``(B, G, H, W)``, ``G`` in ``{1, 3}``; src: ``(B, C, H, W)``.
        radius, eps: of the full-size filter (the reduced radius is ``max(1, round(radius / scale))``).
        scale: reduction factor (>= 1).
        tile_rows: full-size rows whose coefficients are carried up at once (``C * G`` channels of
            them per row: bounded memory on large photos).

    Returns:
        ``(B, C, H, W)`` filtered ``src``.
    """
    _check_pair(guide, src, "fast_guided_filter", first_channels=(1, 3))
    _check_window(radius, eps, "radius", "eps", min_radius=1)
    _check_positive_int(scale, "scale")
    _check_positive_int(tile_rows, "tile_rows")
    if scale == 1:
        return guided_filter(guide, src, radius, eps, tile_rows=tile_rows)
    h, w = guide.shape[-2:]
    size = (max(1, round(h / scale)), max(1, round(w / scale)))
    a, b = _guided_coefficients(
        F.interpolate(guide, size=size, mode="area"),
        F.interpolate(src, size=size, mode="area"),
        max(1, round(radius / scale)),
        eps,
    )
    coeffs = torch.cat([a.flatten(1, 2), b], 1)  # (B, C*G + C, h', w')
    # bilinear with align_corners=False, as F.interpolate, row tile by row tile: a full-size pixel
    # centre's normalised position does not depend on the reduced size, and the border clamps
    gx = (torch.arange(w, dtype=coeffs.dtype, device=coeffs.device) + 0.5) * (2 / w) - 1
    out = src.new_empty(src.shape)
    c, g = src.shape[1], guide.shape[1]
    for t0 in range(0, h, tile_rows):
        t1 = min(t0 + tile_rows, h)
        gy = (torch.arange(t0, t1, dtype=coeffs.dtype, device=coeffs.device) + 0.5) * (2 / h) - 1
        grid = torch.stack(torch.broadcast_tensors(gx[None, :], gy[:, None]), -1)[None]
        up = F.grid_sample(
            coeffs, grid.expand(len(coeffs), -1, -1, -1), mode="bilinear", padding_mode="border",
            align_corners=False,
        )
        a_t, b_t = up[:, : c * g].unflatten(1, (c, g)), up[:, c * g :]
        out[..., t0:t1, :] = _apply_affine(a_t, b_t, guide[..., t0:t1, :])
    return out


def guided_coefficients(guide: Tensor, src: Tensor, radius: int, eps: float) -> tuple[Tensor, Tensor]:
    """Mean-filtered linear coefficients of the guided filter (He et al. 2010).

    Args:
        guide: ``(B, G, H, W)``, ``G`` in ``{1, 3}``.
        src: ``(B, C, H, W)``.
        radius, eps: as in :func:`guided_filter`.

    Returns:
        ``(A, b)`` with ``A`` of shape ``(B, C, G, H, W)`` and ``b`` of shape ``(B, C, H, W)`` such that
        ``guided_filter(guide, src) == (A * guide[:, None]).sum(2) + b``.
    """
    _check_pair(guide, src, "guided_coefficients", first_channels=(1, 3))
    _check_window(radius, eps, "radius", "eps", min_radius=1)
    return _guided_coefficients(guide, src, radius, eps)


def affine_projection(
    result: Tensor, content: Tensor, passes: int, radius: int = 1, eps: float = 1e-4
) -> Tensor:
    """Make ``result`` more locally affine in ``content``: ``passes`` guided filters of the result with
    the photo as guide, each fitting an affine colour map per ``(2r+1)^2`` window (the window and
    regulariser of the photorealism term and of ``affine_rms``) and averaging the maps.  A result that
    is an affine colour map of the photo comes back unchanged; each pass lowers what no local affine
    map of the photo explains (texture the photo does not have, halos across its edges).

    Args:
        result: ``(B, C, H, W)`` stylised image; content: ``(B, 3, H, W)`` the photo.
        passes: number of passes (0: ``result`` as is).

    Returns:
        ``(B, C, H, W)`` in ``[0, 1]``.
    """
    _check_pair(content, result, "affine_projection", ("content", "result"), first_channels=(1, 3))
    _check_window(radius, eps, "radius", "eps", min_radius=1)
    if passes < 0:
        raise ValueError(f"affine_projection: passes must be >= 0, got {passes}")
    for _ in range(passes):
        result = guided_filter(content, result, radius, eps).clamp_(0.0, 1.0)
    return result


def refine_detail(result: Tensor, content: Tensor, radius: int = 8, eps: float = 0.01) -> Tensor:
    """Add the content photo's fine detail back: ``clamp(result + content - smooth(content), 0, 1)``.

    ``smooth`` is the guided filter of each content channel guided by itself (He et al. 2010, sec. 4,
    edge-preserving smoothing with ``I = p``), so the added layer holds texture and noise but not
    the large edges, which the stylised result already has.  Fights the posterisation of flat regions.

    Args:
        result: ``(B, C, H, W)`` stylised image.
        content: ``(B, C, H, W)`` content photo.
        radius, eps: of the self-guided filter; ``eps`` sets which contrast counts as detail.

    Returns:
        ``(B, C, H, W)`` in ``[0, 1]``.
    """
    _check_pair(content, result, "refine_detail", ("content", "result"), same_channels=True)
    _check_window(radius, eps, "radius", "eps", min_radius=1)
    flat = content.flatten(0, 1)  # channels as batch items: (B*C, H, W)
    base = _map_row_tiles(lambda p: _self_guided(p, radius, eps), (flat,), halo=2 * radius, tile_rows=256)
    return (result + (content - base.reshape(content.shape))).clamp_(0.0, 1.0)


def _self_guided(p: Tensor, radius: int, eps: float) -> Tensor:
    """Gray guided filter of ``p (..., H, W)`` guided by itself: ``a = var / (var + eps)``.

    Same result as ``guided_filter(p, p)`` with a 1-channel guide, with 4 box filters instead of 6.
    """
    mean = _box_mean(p, radius)
    var = _box_mean(p * p, radius) - mean * mean
    a = var / (var + eps)
    return _box_mean(a, radius) * p + _box_mean(mean - a * mean, radius)
