"""Automatic matched segmentation of a content and a style photo (no hand-drawn masks).

Both photos are described on a coarse grid by the same features, each block standardised per photo:
VGG-19 activations (relu3_1 and relu4_1, reduced jointly by PCA), CIE Lab colour, texture and, as the
last column, vertical position.  One k-means over the cells of *both* photos then gives regions that
correspond by construction: cluster k is region k in each photo.  The number of regions is chosen by
the silhouette of the clustering on the appearance columns (all but position), among clusterings
where every region covers a real share of both photos (a region present in one photo only cannot
guide the style).  The coarse soft memberships are finally upsampled edge-aware (a guided filter with the
photo as guide) to any resolution, so region boundaries follow the photo's own edges.

Pure functions apart from :func:`auto_labels`, which runs the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from .. import io
from ..ops.guided import guided_filter
from ..ops.lab import srgb_to_lab
from ..ops.tensor import to_tensor
from ..settings import check_settings, setting


@dataclass(frozen=True)
class SegmentSettings:
    """Knobs of the automatic segmentation (measured against the hand-drawn masks, docs/masks.md).  No
    flags: messages name a knob ``SegmentSettings.max_regions``."""

    FLAG_PREFIX: ClassVar[None] = None

    analysis_size: int = setting(256, "long side the features are computed at", min=1)
    max_regions: int = setting(2, "most regions to find", min=1)
    min_share: float = setting(0.05, "every region must cover this share of each photo", min=0)
    min_silhouette: float = setting(
        0.1, "below this silhouette (-1..1), one region (the whole photo) is kept"
    )
    deep_weight: float = setting(
        1.0, "weight of the VGG feature block (each block scaled to unit variance)", min=0
    )
    colour_weight: float = setting(1.0, "weight of the CIE Lab colour block", min=0)
    texture_weight: float = setting(1.0, "weight of the texture block", min=0)
    position_weight: float = setting(1.0, "weight of the vertical position", min=0)
    pca_dims: int = setting(8, "dimensions the VGG features are reduced to (PCA)", min=1)
    temperature: float = setting(0.5, "softness of the memberships that are refined at full size", above=0)
    refine_radius: float = setting(0.02, "guided-filter radius, as a share of the long side", min=0)
    seed: int = setting(0, "random seed of k-means")

    def __post_init__(self) -> None:
        check_settings(self)


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding.  x (N, D) → (centres (k, D), labels (N,))."""
    n = len(x)
    centres = [x[rng.integers(n)]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        centres.append(x[rng.choice(n, p=p)])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(1))
    c = np.stack(centres)
    labels = np.zeros(n, np.int64)
    for it in range(iters):
        dist = _sq_dist(x, c)
        new = dist.argmin(1)
        if it and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            if len(members):
                c[j] = members.mean(0)
    return c, labels


def silhouette(x: np.ndarray, labels: np.ndarray, rng: np.random.Generator, n: int = 1500) -> float:
    """Mean silhouette coefficient on a random subsample of at most n points (−1..1, higher = better
    separated clusters)."""
    if len(np.unique(labels)) < 2:
        return -1.0
    idx = rng.choice(len(x), size=min(n, len(x)), replace=False)
    x, labels = x[idx], labels[idx]
    d = np.sqrt(np.maximum(_sq_dist(x, x), 0.0))
    ks = np.unique(labels)
    mean_to = np.stack([d[:, labels == k].mean(1) for k in ks], 1)  # (n, K)
    own = np.searchsorted(ks, labels)
    size = np.array([(labels == k).sum() for k in ks])[own]
    a = mean_to[np.arange(len(x)), own] * size / np.maximum(size - 1, 1)  # exclude the point itself
    mean_to[np.arange(len(x)), own] = np.inf
    b = mean_to.min(1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    return float(np.where(size > 1, s, 0.0).mean())


def _sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (x**2).sum(1)[:, None] - 2.0 * x @ c.T + (c**2).sum(1)[None]


def cell_features(
    deep: list[np.ndarray], rgb: np.ndarray, grid: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The feature blocks of one photo on a (gh, gw) grid, each (gh·gw, ·): deep activations (the
    given maps, (C, h, w) each, resized to the grid and L2-normalised per cell), Lab colour
    (area-averaged), texture (log of the lightness's standard deviation in the cell: smooth sky vs
    busy ground, which survives a day-to-night look where colour inverts) and vertical position in
    [0, 1]."""
    gh, gw = grid
    maps = []
    for f in deep:
        t = F.interpolate(torch.from_numpy(f)[None], size=grid, mode="bilinear", align_corners=False)[0]
        t = t / t.norm(dim=0, keepdim=True).clamp_min(1e-8)
        maps.append(t.reshape(t.shape[0], -1).T.numpy())
    lab = srgb_to_lab(rgb.astype(np.float64))
    lab_t = F.adaptive_avg_pool2d(to_tensor(lab, dtype=torch.float64), grid)[0]
    colour = lab_t.reshape(3, -1).T.numpy()
    light = to_tensor(lab[..., :1], dtype=torch.float64)
    var = F.adaptive_avg_pool2d(light**2, grid) - F.adaptive_avg_pool2d(light, grid) ** 2
    texture = torch.log1p(var.clamp_min(0).sqrt()).reshape(-1, 1).numpy()
    y = np.repeat((np.arange(gh) + 0.5) / gh, gw)[:, None]
    return np.concatenate(maps, 1), colour, texture, y


def _pca(blocks: list[np.ndarray], dims: int) -> list[np.ndarray]:
    """Joint PCA of the deep blocks of both photos (same basis for both)."""
    x = np.concatenate(blocks)
    mean = x.mean(0)
    # the principal axes as eigenvectors of the (D, D) scatter matrix: the same axes as an SVD of the
    # (N, D) cells (up to sign, which no distance sees) at a third of the time
    xc = (x - mean).astype(np.float64)
    _, vecs = np.linalg.eigh(xc.T @ xc)
    basis = vecs[:, ::-1][:, :dims]
    return [(b - mean) @ basis for b in blocks]


def standardise(blocks: list[np.ndarray], weight: float) -> list[np.ndarray]:
    """Standardise a feature block *per photo* (zero mean, unit variance per dimension), then scale it
    to total variance ``weight**2``.  Per photo on purpose: the two photos differ by the very look
    being transferred (night vs day), and a joint clustering of raw features separates the photos
    instead of the regions (measured: the content and the style fell into different clusters)."""
    out = []
    for b in blocks:
        z = (b - b.mean(0)) / np.maximum(b.std(0), 1e-6)
        out.append(z * weight / np.sqrt(z.shape[1]))
    return out


def joint_clusters(
    content_cells: np.ndarray, style_cells: np.ndarray, s: SegmentSettings = SegmentSettings()
) -> tuple[np.ndarray, int]:
    """Cluster the cells of both photos together and choose the number of regions.

    Returns the cluster centres (K, D) and K.  K = 1 when no clustering separates the cells well
    (silhouette below ``min_silhouette``) with every region present in both photos."""
    x = np.concatenate([content_cells, style_cells])
    n_c = len(content_cells)
    best: tuple[float, np.ndarray] | None = None
    for k in range(2, s.max_regions + 1):
        rng = np.random.default_rng(s.seed)
        centres, labels = kmeans(x, k, rng)
        share_c = np.bincount(labels[:n_c], minlength=k) / n_c
        share_s = np.bincount(labels[n_c:], minlength=k) / (len(x) - n_c)
        if min(share_c.min(), share_s.min()) < s.min_share:
            continue
        # separation judged on appearance only: position (the last column) splits any photo in two
        sil = silhouette(x[:, :-1], labels, rng)
        if sil >= s.min_silhouette and (best is None or sil > best[0]):
            best = (sil, centres)
    if best is None:
        return x.mean(0, keepdims=True), 1
    return best[1], len(best[1])


def memberships(
    cells: np.ndarray, centres: np.ndarray, grid: tuple[int, int], temperature: float
) -> torch.Tensor:
    """Soft assignment of each cell to each centre, (K, gh, gw), softmax of −distance²/T."""
    d2 = _sq_dist(cells, centres)
    logits = torch.from_numpy(-(d2 - d2.min(1, keepdims=True)) / max(temperature, 1e-6))
    return torch.softmax(logits, 1).T.reshape(len(centres), *grid).float()


def refine_labels(soft: torch.Tensor, rgb: np.ndarray, radius_share: float) -> np.ndarray:
    """Upsample coarse memberships (K, gh, gw) to the photo's size, guided-filter each with the photo
    as guide, and take the argmax: boundaries snap to the photo's edges.  Returns (H, W) int64."""
    h, w = rgb.shape[:2]
    if soft.shape[0] == 1:
        return np.zeros((h, w), np.int64)
    up = F.interpolate(soft[None], size=(h, w), mode="bilinear", align_corners=False)
    guide = to_tensor(rgb)
    r = max(1, round(radius_share * max(h, w)))
    return guided_filter(guide, up, r, 1e-3)[0].argmax(0).numpy().astype(np.int64)


def ordered(centres: np.ndarray, position_column: int = -1) -> np.ndarray:
    """Centres sorted by their vertical position (top first), for labels that read the same way on
    every run (region 0 is the one highest in the photos)."""
    return centres[np.argsort(centres[:, position_column], kind="stable")]


def joint_cells(
    net, content: np.ndarray, style: np.ndarray, s: SegmentSettings = SegmentSettings()
) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """The clustering features of both photos' cells on the relu3_1 grid of an ``analysis_size``
    copy: deep (one PCA over both photos), colour, texture and position blocks, each standardised per
    photo and weighted by ``s``.  Returns ``[content_cells, style_cells]`` (N, D) and their grids."""
    cells, grids = [], []
    dev = next(net.parameters()).device
    for rgb in (content, style):
        small = io.resize_long_side(rgb, s.analysis_size)
        x = to_tensor(small)
        with torch.no_grad():
            feats = net(x.to(dev), ("relu3_1", "relu4_1"))
        grid = tuple(feats["relu3_1"].shape[-2:])
        deep = [feats[n][0].float().cpu().numpy() for n in ("relu3_1", "relu4_1")]
        cells.append(cell_features(deep, small, grid))
        grids.append(grid)
    deep = standardise(_pca([c[0] for c in cells], s.pca_dims), s.deep_weight)
    colour = standardise([c[1] for c in cells], s.colour_weight)
    texture = standardise([c[2] for c in cells], s.texture_weight)
    pos = standardise([c[3] for c in cells], s.position_weight)
    return [np.concatenate(b, 1) for b in zip(deep, colour, texture, pos)], grids


def auto_labels(
    net,
    content: np.ndarray,
    style: np.ndarray,
    s: SegmentSettings = SegmentSettings(),
    shapes: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Matched label maps of both photos: region k of the content corresponds to region k of the
    style.  content, style: (H, W, 3) float in [0, 1] (any sizes); net: a
    :class:`dpst.neural.vgg.VGGFeatures`.  shapes: the (H, W) of the label maps to return (default: the
    photos' own)."""
    blocks, grids = joint_cells(net, content, style, s)
    centres, k = joint_clusters(blocks[0], blocks[1], s)
    centres = ordered(centres) if k > 1 else centres
    shapes = shapes or (content.shape[:2], style.shape[:2])
    out = []
    for rgb, b, grid, shape in zip((content, style), blocks, grids, shapes):
        soft = memberships(b, centres, grid, s.temperature)
        photo = rgb if rgb.shape[:2] == tuple(shape) else io.resize(rgb, *shape)
        out.append(refine_labels(soft, photo, s.refine_radius))
    return out[0], out[1]
