"""Matched masks of two photos from dense semantic correspondences: no masks, no scene parser.

What corresponds between a content and a style photo is found where Deep Image Analogy (Liao et al.,
SIGGRAPH 2017, arXiv 1705.01088) and Progressive Color Transfer (He et al., ACM TOG 2019, arXiv
1710.00756) find it: in the deep layers of the VGG-19 that dpst already runs, whose features say what
a patch *is* more than what colour it has (the lit towers of a night city are near the walls of a day
city there).  The photos are then segmented *together*, so that region k of one is region k of the
other by construction:

1. Each photo's cells on the relu4_1 grid of an ``analysis_size`` copy get a descriptor: relu4_1 and
   relu5_1 (carried to that grid), each L2-normalised per cell, concatenated.  Cosine similarity of
   descriptors is the correspondence score.
2. Correspondences: the ``cross_k`` most similar cells of the other photo, kept where they are
   *mutual* (each cell among the other's ``cross_k`` nearest): the confident matches.
3. One graph over the cells of both photos: within each photo, each cell is joined to its
   ``within_k`` nearest cells by appearance (deep features reduced by PCA, CIELAB colour and vertical
   position, standardised per photo); across the photos, the mutual correspondences, weighted by
   their similarity and scaled so that all of them together weigh ``cross_weight`` times half the
   within-photo edges.
4. Spectral clustering of that graph (Ng, Jordan & Weiss, NIPS 2001): k-means on the rows of its
   first k eigenvectors (normalised Laplacian), for k = 2..``max_regions``; among the clusterings in
   which every region covers ``min_share`` of *each* photo, the one with the largest eigengap wins;
   none: each photo is one region.  A region thus gathers parts of both photos that look alike within
   each photo and correspond across them.
5. Each photo is also segmented alone by the same spectral step on its own graph, and its regions
   matched by their cells' nearest cells in the other photo (:func:`match_regions`): a content region
   takes the style region that the votes of both ways favour, when at least two style regions are
   each the mutual choice of a content region.  These regions are used where no clustering of the
   joint graph qualifies (small groups of cells all but cut off from the rest take its first
   eigenvectors, say), or where the cells' nearest cells support their matching more than the joint
   graph's (:func:`match_strength`).  Else, with no joint regions, each photo stays one region; so
   does it where the regions chosen have a matching that under ``min_support`` (a half) of the
   cells' nearest cells vote for: two photos that are one subject each (a dahlia, a rose) split
   into parts that do not correspond.
6. The soft memberships of the cells are carried to the photo's size and refined along its edges by a
   guided filter (as :func:`dpst.segment.auto.refine_labels` does), the most likely region wins.

Departure from both papers: they warp the reference through a dense nearest-neighbour field; here the
field only ties the photos' regions together, and the style loss per region (Luan et al.) does the rest.
Pure functions apart from :func:`correspond_labels`, which runs the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from .. import io
from ..ops.lab import srgb_to_lab
from ..ops.tensor import to_tensor
from ..settings import check_settings, setting
from .auto import kmeans, refine_labels, standardise

LAYERS = ("relu4_1", "relu5_1")


@dataclass(frozen=True)
class CorrespondSettings:
    """Knobs of the correspondence masks (measured against the hand-drawn masks, docs/masks.md).  No
    flags: messages name a knob ``CorrespondSettings.max_regions``."""

    FLAG_PREFIX: ClassVar[None] = None

    analysis_size: int = setting(256, "long side the features are computed at", min=32)
    max_regions: int = setting(3, "most regions to find", min=1)
    min_share: float = setting(0.05, "every region must cover this share of each photo", min=0, max=0.49)
    cross_k: int = setting(3, "nearest cells of the other photo a correspondence is among, both ways", min=1)
    within_k: int = setting(10, "nearest cells by appearance joined within a photo", min=1)
    cross_weight: float = setting(
        1.0, "weight of all correspondences against half the within-photo edges", min=0
    )
    sharpness: float = setting(0.1, "a correspondence weighs exp((cosine - 1) / sharpness)", above=0)
    pca_dims: int = setting(8, "dimensions the deep features are reduced to for appearance", min=1)
    deep_weight: float = setting(1.0, "weight of the deep block of the appearance", min=0)
    colour_weight: float = setting(1.0, "weight of the CIELAB block of the appearance", min=0)
    position_weight: float = setting(1.0, "weight of the vertical position in the appearance", min=0)
    temperature: float = setting(0.05, "softness of the memberships refined at full size", above=0)
    refine_radius: float = setting(0.08, "guided-filter radius, as a share of the long side", min=0)
    seed: int = setting(0, "random seed of k-means")
    separate: bool = setting(
        True,
        "also segment each photo alone and match its regions by their cells' nearest cells in the other "
        "photo; used where the joint graph finds no regions in both photos, or where those nearest cells "
        "support its matching less",
    )
    vote_k: int = setting(8, "nearest cells of the other photo each cell votes with, in that matching", min=1)
    min_support: float = setting(
        0.5,
        "with separate: the regions used are those whose matching the cells' nearest cells support at "
        "least this much (match_strength, the votes' mean); else each photo stays one region",
        min=0,
        max=1,
    )

    def __post_init__(self) -> None:
        check_settings(self)


def descriptors(maps: list[torch.Tensor], grid: tuple[int, int]) -> torch.Tensor:
    """(N, D) unit descriptors of the cells of a (gh, gw) grid from feature maps (1, C, h, w) each:
    every map carried to the grid (bilinear), L2-normalised per cell, concatenated, normalised again."""
    cells = []
    for f in maps:
        t = F.interpolate(f.float(), size=grid, mode="bilinear", align_corners=False)[0]
        cells.append(F.normalize(t.reshape(t.shape[0], -1).T, dim=1))
    return F.normalize(torch.cat(cells, 1), dim=1)


def nearest(a: torch.Tensor, b: torch.Tensor, k: int, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` cells of ``b`` (M, D) most similar to each cell of ``a`` (N, D), by dot product (the
    cosine for unit rows).  Returns (similarities (N, k), indices (N, k)), most similar first; rows of
    ``a`` in chunks, so memory stays O(chunk·M)."""
    k = min(k, len(b))
    sims, idx = [], []
    for start in range(0, len(a), chunk):
        s, i = torch.topk(a[start : start + chunk] @ b.T, k, dim=1)
        sims.append(s)
        idx.append(i)
    return torch.cat(sims), torch.cat(idx)


def mutual_matches(a: torch.Tensor, b: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j) with j among the ``k`` nearest cells of ``b`` to ``a[i]`` and i among the ``k``
    nearest of ``a`` to ``b[j]``.  Returns (i, j, similarity), each (P,), sorted by i then j."""
    s_ab, i_ab = nearest(a, b, k)
    _, i_ba = nearest(b, a, k)
    rows = torch.arange(len(a), device=a.device)[:, None].expand_as(i_ab)
    back = (i_ba[i_ab] == rows[..., None]).any(-1)  # (N, k): is a[i] among b[j]'s nearest?
    i, j, s = rows[back], i_ab[back], s_ab[back]
    order = torch.argsort(i * len(b) + j)
    return i[order].cpu().numpy(), j[order].cpu().numpy(), s[order].double().cpu().numpy()


def knn_affinity(x: np.ndarray, k: int) -> np.ndarray:
    """Symmetric (N, N) affinity joining each row of ``x`` (N, D) to its ``k`` nearest rows, weighted
    ``exp(-d² / median d²)`` over those neighbours (a self-tuning scale)."""
    d2 = np.maximum((x**2).sum(1)[:, None] - 2.0 * x @ x.T + (x**2).sum(1)[None], 0.0)
    np.fill_diagonal(d2, np.inf)
    k = min(k, len(x) - 1)
    idx = np.argpartition(d2, k - 1, axis=1)[:, :k] if k > 0 else np.zeros((len(x), 0), np.int64)
    near = np.take_along_axis(d2, idx, 1)
    scale = max(float(np.median(near)), 1e-12) if near.size else 1.0
    w = np.zeros_like(d2)
    np.put_along_axis(w, idx, np.exp(-near / scale), 1)
    return np.maximum(w, w.T)


def joint_affinity(
    within: tuple[np.ndarray, np.ndarray],
    matches: tuple[np.ndarray, np.ndarray, np.ndarray],
    cross_weight: float,
    sharpness: float,
) -> np.ndarray:
    """The graph over the cells of both photos, (Nc + Ns) square: the photos' own affinities on the
    diagonal blocks, the correspondences (i, j, cosine) across, weighing ``exp((cos - 1) / sharpness)``
    each and ``cross_weight`` times half the content's within-photo weight in all."""
    wc, ws = within
    nc, ns = len(wc), len(ws)
    w = np.zeros((nc + ns, nc + ns))
    w[:nc, :nc], w[nc:, nc:] = wc, ws
    i, j, sim = matches
    if len(i):
        cross = np.exp((sim - 1.0) / sharpness)
        cross *= cross_weight * 0.5 * wc.sum() / cross.sum()
        w[i, nc + j] = cross
        w[nc + j, i] = cross
    return w


def _eigengap_clustering(
    w: np.ndarray, max_regions: int, qualifies, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """k-means on the rows of the first k eigenvectors of the normalised Laplacian of ``w``, each row
    scaled to unit length (Ng, Jordan & Weiss), for k = 2..``max_regions``; among the clusterings
    whose labels ``qualifies(labels, k)``, the one with the largest eigengap.  Returns its rows (N,
    k), centres (k, k) and labels (N,), or None when none qualifies."""
    d = 1.0 / np.sqrt(np.maximum(w.sum(1), 1e-12))
    vals, vecs = np.linalg.eigh(np.eye(len(w)) - d[:, None] * w * d[None])
    best: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None
    for k in range(2, min(max_regions, len(w) - 1) + 1):
        rows = vecs[:, :k] / np.maximum(np.linalg.norm(vecs[:, :k], axis=1, keepdims=True), 1e-12)
        centres, labels = _kmeans(rows, k, seed)
        gap = vals[k] - vals[k - 1]
        if qualifies(labels, k) and (best is None or gap > best[0]):
            best = (gap, rows, centres, labels)
    return None if best is None else best[1:]


def spectral_regions(
    w: np.ndarray, n_content: int, max_regions: int, min_share: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Spectral clustering of the joint graph ``w`` (N, N) whose first ``n_content`` nodes are the
    content's cells (:func:`_eigengap_clustering`), for k = 2..``max_regions``, among the clusterings
    with every region in at least ``min_share`` of both photos.  Returns the embedded rows (N, k) and
    the centres (k, k); k = 1 (rows of ones) when none qualifies."""

    def in_both(labels: np.ndarray, k: int) -> bool:
        share_c = np.bincount(labels[:n_content], minlength=k) / n_content
        share_s = np.bincount(labels[n_content:], minlength=k) / (len(w) - n_content)
        return min(share_c.min(), share_s.min()) >= min_share

    found = _eigengap_clustering(w, max_regions, in_both, seed)
    return (np.ones((len(w), 1)), np.ones((1, 1))) if found is None else found[:2]


def photo_regions(
    w: np.ndarray, max_regions: int, min_share: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectral clustering of one photo's graph ``w`` (N, N) alone, as :func:`spectral_regions` does
    for both: among k = 2..``max_regions`` with every region in at least ``min_share`` of the photo,
    the largest eigengap.  Returns the embedded rows (N, k), the centres (k, k) and the labels (N,);
    one region (rows of ones, labels 0) when none qualifies."""
    found = _eigengap_clustering(
        w, max_regions, lambda labels, k: (np.bincount(labels, minlength=k) / len(w)).min() >= min_share, seed
    )
    return (np.ones((len(w), 1)), np.ones((1, 1)), np.zeros(len(w), np.int64)) if found is None else found


def region_votes(labels: np.ndarray, neighbour_labels: np.ndarray, k_other: int) -> np.ndarray:
    """(K, k_other): for each region r of a photo (``labels`` (N,) of its cells, 0..K-1), the share of
    its cells' nearest cells in the other photo (``neighbour_labels`` (N, n): their regions there)
    that lie in each region of the other photo.  A region with no cell votes for none."""
    votes = np.zeros((int(labels.max()) + 1, k_other))
    for r in range(len(votes)):
        near = neighbour_labels[labels == r].ravel()
        if near.size:
            votes[r] = np.bincount(near, minlength=k_other) / near.size
    return votes


def match_regions(
    content_votes: np.ndarray,
    style_votes: np.ndarray,
    content_share: np.ndarray,
    style_share: np.ndarray,
    min_share: float,
) -> np.ndarray | None:
    """The style region of each content region, from :func:`region_votes` both ways (content (Kc, Ks),
    style (Ks, Kc)): the one with the largest geometric mean of the two votes.  Accepted when at least
    two style regions are each the mutual choice of a content region (that region is, of all content
    regions, the one it scores highest with) and each covers ``min_share`` of both photos (the
    content side: all regions given it; ``content_share`` (Kc,), ``style_share`` (Ks,)).  Returns
    (Kc,) style regions, or None: each photo stays one region."""
    score = np.sqrt(content_votes * style_votes.T)
    given = score.argmax(1)
    mutual = {int(given[a]) for a in range(len(given)) if score[:, given[a]].argmax() == a}
    if len(mutual) < 2:
        return None
    if any(min(content_share[given == b].sum(), style_share[b]) < min_share for b in mutual):
        return None
    return given


def match_strength(
    content_votes: np.ndarray, style_votes: np.ndarray, given: np.ndarray, content_share: np.ndarray
) -> float:
    """How strongly the cells' nearest cells support a matching of regions: the geometric mean of the
    two votes (:func:`region_votes`, content (Kc, Ks), style (Ks, Kc)) of each content region and the
    style region it is ``given`` (Kc,), weighted by the content region's share of its photo (Kc,)."""
    score = np.sqrt(content_votes * style_votes.T)
    return float((content_share * score[np.arange(len(given)), given]).sum())


def neighbours(descs: tuple[torch.Tensor, torch.Tensor], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each content cell's ``k`` nearest style cells (Nc, k) and each style cell's nearest content
    cells (Ns, k), by the descriptors ``descs`` (:func:`nearest`), as indices."""
    return tuple(nearest(a, b, k)[1].cpu().numpy() for a, b in (descs, descs[::-1]))  # type: ignore[return-value]


def _votes_both_ways(
    lc: np.ndarray, ls: np.ndarray, near: tuple[np.ndarray, np.ndarray], kc: int, ks: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`region_votes` of the content's ``kc`` regions (cell labels ``lc``) for the style's ``ks``
    (``ls``) and the other way, through ``near`` (:func:`neighbours`)."""
    return region_votes(lc, ls[near[0]], ks), region_votes(ls, lc[near[1]], kc)


def joint_strength(labels: np.ndarray, n_content: int, near: tuple[np.ndarray, np.ndarray]) -> float:
    """:func:`match_strength` of the joint graph's regions (``labels`` (Nc + Ns,) of both photos'
    cells, region k of one matched with region k of the other); ``near`` from :func:`neighbours`."""
    k = int(labels.max()) + 1
    lc, ls = labels[:n_content], labels[n_content:]
    votes_c, votes_s = _votes_both_ways(lc, ls, near, k, k)
    return match_strength(votes_c, votes_s, np.arange(k), np.bincount(lc, minlength=k) / len(lc))


def separate_regions(
    near: tuple[np.ndarray, np.ndarray], within: tuple[np.ndarray, np.ndarray], s: CorrespondSettings
) -> tuple[torch.Tensor, torch.Tensor, float] | None:
    """Each photo segmented alone (:func:`photo_regions` of its own graph in ``within``), the regions
    matched (:func:`match_regions`, each cell voting with its nearest cells of the other photo,
    ``near`` from :func:`neighbours`).  Returns the soft memberships of the content's cells (Ks, Nc)
    in the style's regions, of the style's cells (Ks, Ns), and the :func:`match_strength`; None when
    the regions do not match.  A style region no content region takes is kept in the style (it gives
    no style)."""
    (rc, cc, lc), (rs, cs, ls) = (photo_regions(w, s.max_regions, s.min_share, s.seed) for w in within)
    if len(cc) == 1 or len(cs) == 1:
        return None
    votes_c, votes_s = _votes_both_ways(lc, ls, near, len(cc), len(cs))
    share_c, share_s = (np.bincount(x, minlength=len(c)) / len(x) for x, c in ((lc, cc), (ls, cs)))
    given = match_regions(votes_c, votes_s, share_c, share_s, s.min_share)
    if given is None:
        return None
    own = memberships(rc, cc, s.temperature)  # (Kc, Nc)
    content = torch.zeros(len(cs), own.shape[1]).index_add_(0, torch.from_numpy(given), own)
    return content, memberships(rs, cs, s.temperature), match_strength(votes_c, votes_s, given, share_c)


def _kmeans(x: np.ndarray, k: int, seed: int, restarts: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k-means of several seedings (one generator) with the least inertia: a single k-means++
    seeding flips between clusterings on small changes of the embedding."""
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(restarts):
        centres, labels = kmeans(x, k, rng)
        inertia = float(((x - centres[labels]) ** 2).sum())
        if best is None or inertia < best[0] - 1e-9:
            best = (inertia, centres, labels)
    return best[1], best[2]


def memberships(rows: np.ndarray, centres: np.ndarray, temperature: float) -> torch.Tensor:
    """Soft assignment (K, N) of embedded rows to centres: softmax of -distance² / temperature."""
    d2 = ((rows[:, None, :] - centres[None]) ** 2).sum(-1)
    logits = torch.from_numpy(-(d2 - d2.min(1, keepdims=True)) / temperature)
    return torch.softmax(logits, 1).T.float()


def appearance(deep: np.ndarray, rgb: np.ndarray, grid: tuple[int, int], s: CorrespondSettings) -> np.ndarray:
    """(N, D) appearance of a photo's cells for its within-photo graph: the deep descriptors reduced
    to ``pca_dims`` by the photo's own PCA, the cells' mean CIELAB colour and vertical position, each
    block standardised over the photo and weighted by ``s``."""
    x = deep - deep.mean(0)
    _, vecs = np.linalg.eigh(x.T @ x)
    reduced = x @ vecs[:, ::-1][:, : s.pca_dims]
    lab = F.adaptive_avg_pool2d(to_tensor(srgb_to_lab(rgb.astype(np.float64)), dtype=torch.float64), grid)
    colour = lab[0].reshape(3, -1).T.numpy()
    y = np.repeat((np.arange(grid[0]) + 0.5) / grid[0], grid[1])[:, None]
    blocks = [(reduced, s.deep_weight), (colour, s.colour_weight), (y, s.position_weight)]
    return np.concatenate([standardise([b], wt)[0] for b, wt in blocks], 1)


def deep_cells(net, rgb: np.ndarray, size: int) -> tuple[torch.Tensor, np.ndarray, tuple[int, int]]:
    """A photo's cell descriptors (N, D) on the net's device (:func:`descriptors` of :data:`LAYERS` on
    the relu4_1 grid of a copy at a long side of ``size``), that copy (h, w, 3), and the (gh, gw) grid,
    cells in row-major order.  net: a :class:`dpst.neural.vgg.VGGFeatures`."""
    small = io.resize_long_side(rgb, size)
    dev = next(net.parameters()).device
    with torch.no_grad():
        feats = net(to_tensor(small, dev), LAYERS)
    grid = tuple(feats[LAYERS[0]].shape[-2:])
    return descriptors([feats[n] for n in LAYERS], grid), small, grid


def _cells(net, rgb: np.ndarray, s: CorrespondSettings) -> tuple[torch.Tensor, np.ndarray, tuple[int, int]]:
    """Descriptors (N, D) on the net's device, appearance (N, D'), and grid of one photo."""
    desc, small, grid = deep_cells(net, rgb, s.analysis_size)
    return desc, appearance(desc.double().cpu().numpy(), small, grid, s), grid


def correspond_labels(
    net,
    content: np.ndarray,
    style: np.ndarray,
    s: CorrespondSettings = CorrespondSettings(),
    shapes: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Matched label maps of both photos: region k of the content corresponds to region k of the
    style, regions numbered from the top of the photos down.  content, style: (H, W, 3) float in
    [0, 1], any sizes; net: a :class:`dpst.neural.vgg.VGGFeatures`.  shapes: the (H, W) of the maps
    to return (default: the photos' own).  Runs at ``analysis_size`` whatever the photos' size."""
    (dc, ac, gc), (ds, as_, gs) = _cells(net, content, s), _cells(net, style, s)
    matches = mutual_matches(dc, ds, s.cross_k)
    within = (knn_affinity(ac, s.within_k), knn_affinity(as_, s.within_k))
    w = joint_affinity(within, matches, s.cross_weight, s.sharpness)
    nc = len(ac)
    rows, centres = spectral_regions(w, nc, s.max_regions, s.min_share, s.seed)
    shapes = shapes or (content.shape[:2], style.shape[:2])
    soft = memberships(rows, centres, s.temperature) if len(centres) > 1 else None  # (k, Nc + Ns)
    if s.separate:
        near = neighbours((dc, ds), s.vote_k)
        support = -1.0 if soft is None else joint_strength(soft.argmax(0).numpy(), nc, near)
        apart = separate_regions(near, within, s)
        if apart is not None and apart[2] > support:
            soft, support = torch.cat(apart[:2], 1), apart[2]
        if support < s.min_support:  # matched regions that most nearest cells disagree with
            soft = None
    if soft is None:
        return np.zeros(shapes[0], np.int64), np.zeros(shapes[1], np.int64)
    k = len(soft)
    y = np.concatenate([np.repeat((np.arange(g[0]) + 0.5) / g[0], g[1]) for g in (gc, gs)])
    order = np.argsort(soft.numpy() @ y / soft.numpy().sum(1), kind="stable")  # top region first
    soft = soft[torch.from_numpy(order)]
    out = []
    for rgb, part, grid, shape in zip((content, style), (soft[:, :nc], soft[:, nc:]), (gc, gs), shapes):
        photo = rgb if rgb.shape[:2] == tuple(shape) else io.resize(rgb, *shape)
        out.append(refine_labels(part.reshape(k, *grid), photo, s.refine_radius))
    return out[0], out[1]
