"""Strokes to masks: a few painted strokes per region, completed into full masks along the photo's edges.

Measured with a simulated user on pairs 1-20 (``benchmarks/strokes.py``, docs/masks.md): a plain random
walker reached a per-colour IoU of 0.58 with 2 strokes a region (textured regions, buildings say, stop
the walks from strokes that are few and short); with the appearance prior below, 0.86.

A random walker (Grady 2006, "Random Walks for Image Segmentation", PAMI): on the 4-connected grid of a
reduced copy of the photo, with edge weights ``w_ij = exp(-beta * d_ij / mean(d))`` where ``d_ij`` is
the squared CIELAB distance of neighbours, each unpainted pixel gets, per label, the probability that
a random walk from it first reaches a stroke of that label.  That is one sparse linear system,
``L_U X = -B^T S`` (``L`` the graph Laplacian, ``U`` the unpainted pixels, ``S`` the strokes' one-hot
labels), factorised once for all labels.  The probabilities are then carried to the photo's full size
by a guided filter with the photo as guide (as the automatic masks are), and painted pixels keep their
label.

Departure from Grady: distances are normalised by their mean over the image, so ``beta`` means the
same on a low-contrast photo and on a high-contrast one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch
import torch.nn.functional as F
from scipy import ndimage
from scipy.ndimage import uniform_filter

from .. import io
from ..ops.guided import fast_guided_filter
from ..ops.lab import srgb_to_lab
from ..ops.palette import UNLABELLED, resize_labels
from ..ops.tensor import to_tensor
from ..settings import check_settings, setting
from .auto import SegmentSettings, joint_cells


@dataclass(frozen=True)
class StrokeSettings:
    """Knobs of the completion (measured with simulated strokes on pairs 1-20: docs/masks.md).  No
    flags: messages name a knob ``StrokeSettings.beta``."""

    FLAG_PREFIX: ClassVar[None] = None

    work_size: int = setting(192, "long side of the grid the random walker runs on", min=8)
    beta: float = setting(
        8.0, "edge sensitivity: larger keeps regions from leaking across weaker edges", min=0
    )
    edge_texture: float = setting(
        1.0, "weight of the local contrast's change, beside CIELAB's, in the edge weights", min=0
    )
    fusion: float = setting(
        4.0, "the walk's probabilities times the appearance prior's to this power (0: no prior)", min=0
    )
    prior_weight: float = setting(0.0, "gamma of Grady's prior nodes (the earlier design; 0: off)", min=0)
    temperature: float = setting(
        2.0, "softness of the prior: exp(-d^2 / T) over standardised features", above=0
    )
    position_weight: float = setting(
        0.5, "weight of the vertical position beside the colour in the prior", min=0
    )
    samples: int = setting(400, "stroke pixels per label the prior compares against", min=1)
    texture_weight: float = setting(1.0, "weight of local lightness contrast in the prior", min=0)
    texture_size: int = setting(3, "window (pixels of the reduced photo) of the local contrast", min=1)
    cross_fusion: float = setting(
        2.0,
        "when both photos are painted: the power of the prior from deep features and the strokes of "
        "both photos (:func:`cross_priors`)",
        min=0,
    )
    joint_fusion: float = setting(
        2.0, "when both photos are painted: the power of the photo's own prior then", min=0
    )
    cross_temperature: float = setting(1.0, "softness of the cross prior", above=0)
    refine_radius: float = setting(
        0.04, "guided-filter radius at full size, as a share of the long side (docs/masks.md)", min=0
    )
    refine_eps: float = setting(1e-3, "regularisation of that guided filter", above=0)
    reach: float = setting(
        0.2,
        "a corrective stroke redraws its region's pixels within this share of the long side of it "
        "(:func:`correct_labels`)",
        above=0,
    )
    refine_scale: int = setting(
        2,
        "the refinement's window fits on a copy this many times smaller (the fast guided filter), "
        "where the radius is at least 4x this (docs/masks.md)",
        min=1,
    )
    correct_fusion: float = setting(
        2.0,
        "``fusion`` in a correction (:func:`correct_labels`; from scratch it stays ``fusion``): with the "
        "closing, the simulated user's NoS@90 4.20 at 2 against 4.40 at 4 (docs/masks.md)",
        min=0,
    )
    close: float = setting(
        0.02,
        "after a correction, each stroke's region closed by a disk of this share of the long side "
        "within the freed pixels (:func:`close_labels`; 0: off)",
        min=0,
    )
    residue: float = setting(
        0.05,
        "after corrective strokes, a region no stroke painted that is left under this share of either "
        "photo is redrawn from the others (:func:`settle_pair`; 0: off)",
        min=0,
        max=0.5,
    )

    def __post_init__(self) -> None:
        check_settings(self)


def _edge_weights(lab: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the horizontal (h, w-1) and vertical (h-1, w) edges of a (h, w, C) image (Lab, and
    any other channels the walk should not cross changes of)."""
    dx = ((lab[:, 1:] - lab[:, :-1]) ** 2).sum(-1)
    dy = ((lab[1:] - lab[:-1]) ** 2).sum(-1)
    scale = max(float(np.concatenate([dx.ravel(), dy.ravel()]).mean()), 1e-12)
    return np.exp(-beta * dx / scale) + 1e-6, np.exp(-beta * dy / scale) + 1e-6


def _laplacian(wx: np.ndarray, wy: np.ndarray) -> scipy.sparse.csr_matrix:
    h, w = wy.shape[0] + 1, wx.shape[1] + 1
    idx = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([idx[:, :-1].ravel(), idx[:-1].ravel()])
    cols = np.concatenate([idx[:, 1:].ravel(), idx[1:].ravel()])
    vals = np.concatenate([wx.ravel(), wy.ravel()])
    a = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(h * w, h * w))
    a = (a + a.T).tocsr()
    return (scipy.sparse.diags(np.asarray(a.sum(1)).ravel()) - a).tocsr()


def random_walker(
    lab: np.ndarray,
    seeds: np.ndarray,
    ids: list[int],
    beta: float,
    prior: np.ndarray | None = None,
    prior_weight: float = 0.0,
) -> np.ndarray:
    """Probabilities (K, h, w) of each label in ``ids`` for every pixel of a (h, w, 3) image, from
    ``seeds`` (h, w) holding a label id or ``UNLABELLED``.  Seeded pixels are certain.  With a
    ``prior`` (K, h, w) (each pixel's label probabilities from appearance alone), the walk may also
    end at a label's "prior node" (Grady 2005, "Multilabel random walker image segmentation using prior
    models"): ``(L_U + gamma I) x_k = -B^T m_k + gamma prior_k``, so a region the strokes cannot reach
    through the photo's edges is still labelled by what it looks like."""
    h, w = seeds.shape
    lap = _laplacian(*_edge_weights(lab, beta))
    flat = seeds.ravel()
    marked = flat != UNLABELLED
    onehot = np.stack([(flat[marked] == k).astype(np.float64) for k in ids], 1)  # (M, K)
    prob = np.zeros((h * w, len(ids)))
    prob[marked] = onehot
    free = np.flatnonzero(~marked)
    if free.size:
        l_u = lap[free][:, free]
        rhs = -(lap[free][:, np.flatnonzero(marked)] @ onehot)
        if prior is not None and prior_weight > 0:
            l_u = l_u + prior_weight * scipy.sparse.identity(len(free), format="csr")
            rhs = rhs + prior_weight * prior.reshape(len(ids), -1).T[free]
        prob[free] = scipy.sparse.linalg.splu(l_u.tocsc()).solve(np.ascontiguousarray(rhs))
    return prob.T.reshape(len(ids), h, w)


def appearance_prior(
    features: np.ndarray, seeds: np.ndarray, ids: list[int], s: StrokeSettings, seed: int = 0
) -> np.ndarray:
    """(K, h, w) label probabilities of every pixel from its (h, w, D) ``features`` alone: a softmax of
    ``-d_k^2 / T`` with ``d_k`` the distance to the nearest painted pixel of label k (features
    standardised over the image; at most ``s.samples`` painted pixels per label)."""
    h, w, d = features.shape
    f = features.reshape(-1, d)
    f = (f - f.mean(0)) / (f.std(0).mean() + 1e-8)
    rng = np.random.default_rng(seed)
    flat = seeds.ravel()
    x = torch.from_numpy(f).float()
    dist = []
    for k in ids:
        idx = np.flatnonzero(flat == k)
        idx = rng.choice(idx, min(len(idx), s.samples), replace=False)
        dist.append(torch.cdist(x, x[torch.from_numpy(idx)]).min(1).values ** 2)
    d2 = torch.stack(dist)  # (K, N)
    d2 = d2 / (d2.min(0).values.mean() + 1e-8)  # distances in units of the typical nearest one
    return torch.softmax(-d2 / s.temperature, 0).numpy().reshape(len(ids), h, w).astype(np.float64)


def local_contrast(lab: np.ndarray, size: int) -> np.ndarray:
    """(h, w, 1) standard deviation of the lightness in a ``size`` window, in Lab units."""
    light = lab[..., 0]
    var = uniform_filter(light**2, size) - uniform_filter(light, size) ** 2
    return np.sqrt(np.clip(var, 0, None))[..., None]


def pixel_features(lab: np.ndarray, s: StrokeSettings) -> np.ndarray:
    """(h, w, D) appearance features of a reduced photo: CIELAB (scaled to unit mean variance),
    vertical position and local lightness contrast (each weighted by ``s``).  Measured with simulated
    strokes on pairs 1-20, 2 a region, 3 seeds: colour and position 0.842, with the contrast 0.858;
    the horizontal position lowered it (0.810), so did VGG relu3_1/relu4_1 features (0.835 -> 0.801 on
    seed 0, at twice the time), and a GrabCut-like second solve (0.837)."""
    h, w = lab.shape[:2]
    y = np.repeat(np.linspace(0, 1, h)[:, None, None], w, 1)
    colour = lab / (lab.reshape(-1, 3).std(0).mean() + 1e-8)
    blocks = [colour, y / (y.std() + 1e-8) * s.position_weight]
    if s.texture_weight > 0:
        t = np.log1p(local_contrast(lab, s.texture_size))
        blocks.append(t / (t.std() + 1e-8) * s.texture_weight)
    return np.concatenate(blocks, -1)


def complete_labels(
    photo: np.ndarray,
    strokes: np.ndarray,
    shape: tuple[int, int] | None = None,
    s: StrokeSettings = StrokeSettings(),
    cross: np.ndarray | None = None,
) -> np.ndarray:
    """Full label maps from strokes.  photo: (H, W, 3) float in [0, 1]; strokes: (h, w) int label
    ids, ``UNLABELLED`` where nothing is painted (any size: resized nearest to the photo's).  Returns
    (H, W) int64 labels, or at ``shape`` when given; every pixel gets one of the painted labels.
    ``cross``: (K, h, w) probabilities of the painted ids from the strokes of both photos
    (:func:`cross_priors`), fused with the walk and this photo's own prior."""
    ids = painted_ids(strokes)
    if not ids:
        raise ValueError("the strokes image has no stroke: paint at least one region (alpha >= 128)")
    shape = tuple(shape) if shape is not None else photo.shape[:2]
    if len(ids) == 1:
        return np.full(shape, ids[0], np.int64)
    small = io.resize_long_side(photo, min(s.work_size, max(photo.shape[:2])))
    seeds = _shrink_strokes(strokes, small.shape[:2])
    lab = srgb_to_lab(small.astype(np.float64))
    graph = lab
    if s.edge_texture > 0:  # a smooth sky beside a textured city is an edge even where colours agree
        graph = np.concatenate([lab, local_contrast(lab, s.texture_size) * s.edge_texture], -1)
    prior = None
    if s.fusion > 0 or s.prior_weight > 0:
        prior = appearance_prior(pixel_features(lab, s), seeds, ids, s)
    prob = random_walker(graph, seeds, ids, s.beta, prior, s.prior_weight)
    use_cross = cross is not None and s.cross_fusion > 0
    if s.fusion > 0:
        # the walk knows where edges are, the prior what a region looks like: a pixel the strokes reach
        # only through a region of another look (a cloud across the sky) takes the label it resembles
        prob = prob * np.clip(prior, 1e-6, None) ** (s.joint_fusion if use_cross else s.fusion)
    if use_cross:
        c = torch.from_numpy(np.asarray(cross, np.float32))[None]
        c = F.interpolate(c, size=small.shape[:2], mode="bilinear", align_corners=False)[0].double().numpy()
        prob = prob * np.clip(c, 1e-6, None) ** s.cross_fusion
    prob = prob / prob.sum(0, keepdims=True)
    guide = photo if photo.shape[:2] == shape else io.resize(photo, *shape)
    up = F.interpolate(torch.from_numpy(prob).float()[None], size=shape, mode="bilinear", align_corners=False)
    r = max(1, round(s.refine_radius * max(shape)))
    # reduced fits only where the window is wide against the reduction: on a small photo the
    # reduced copy would average a thin stroke's region away (it is cheap there anyway)
    scale = s.refine_scale if r >= 4 * s.refine_scale else 1
    refined = fast_guided_filter(to_tensor(guide), up, r, s.refine_eps, scale)
    labels = np.asarray(ids)[refined[0].argmax(0).numpy()]
    painted = resize_labels(strokes, *shape)
    keep = painted != UNLABELLED
    labels[keep] = painted[keep]
    return labels.astype(np.int64)


def correct_labels(
    photo: np.ndarray,
    base: np.ndarray,
    strokes: np.ndarray,
    shape: tuple[int, int] | None = None,
    s: StrokeSettings = StrokeSettings(),
) -> np.ndarray:
    """``base`` labels (automatic masks, say) corrected by ``strokes``: a stroke painted over a region
    of another label frees the pixels of *that* label within ``s.reach`` × the long side of it, which
    the completion (:func:`complete_labels`) then gives to the stroke's label or back to theirs along
    the photo's edges and by what they look like (the prior to the power ``s.correct_fusion``), each
    stroke's region then closed within the freed pixels (:func:`close_labels`, ``s.close``); every
    other pixel keeps its ``base`` label.  A stroke that agrees with ``base`` changes nothing.  photo
    (H, W, 3); base and strokes: (h, w) int label maps of any size (``UNLABELLED`` = not painted).
    Returns (H, W) int64, or at ``shape``."""
    shape = tuple(shape) if shape is not None else photo.shape[:2]
    base = resize_labels(np.asarray(base, np.int64), *shape)
    painted = _grow_strokes(np.asarray(strokes, np.int64), shape)
    if not (painted != UNLABELLED).any():
        return base
    reach = s.reach * max(shape)
    free = np.zeros(shape, bool)
    ids = painted_ids(painted)
    for k in ids:
        for under in np.unique(base[painted == k]):
            if under == k:
                continue
            on = (painted == k) & (base == under)  # strokes of k painted over the region ``under``
            free |= (ndimage.distance_transform_edt(~on) <= reach) & (base == under)
    seeds = np.where(free, UNLABELLED, base)
    seeds[painted != UNLABELLED] = painted[painted != UNLABELLED]
    if not free.any() or len(painted_ids(seeds)) < 2:
        return seeds
    labels = complete_labels(photo, seeds, shape, replace(s, fusion=s.correct_fusion))
    return close_labels(labels, free & (painted == UNLABELLED), ids, s.close * max(shape))


def close_labels(labels: np.ndarray, free: np.ndarray, ids: list[int], radius: float) -> np.ndarray:
    """``labels`` (H, W) with each region of ``ids`` closed (dilated, then eroded, by a disk of
    ``radius`` px) where ``free`` (H, W) bool allows: specks and slivers of another label that a
    completion leaves inside a corrected region (the bubbles of a glass, which look like what is behind
    it) take the region's label; pixels outside ``free`` keep theirs.  Measured with the simulated user
    (docs/masks.md, "Corrective strokes"): closed at 2% of the long side, pair 17's glass takes 6
    strokes to reach an IoU of 0.90 instead of over 10 (5 with ``correct_fusion`` at 2)."""
    if radius < 1 or not free.any():
        return labels
    out = labels.copy()
    pad = int(np.ceil(radius)) + 1
    for k in ids:
        region = np.pad(labels == k, pad, mode="edge")  # the border is no edge to close against
        if not region.any():
            continue
        grown = ndimage.distance_transform_edt(~region) <= radius
        if not grown.all():
            grown = ndimage.distance_transform_edt(grown) > radius
        closed = grown[pad:-pad, pad:-pad]
        out[closed & free & (labels != k)] = k
    return out


def correct_pair(
    photos: tuple[np.ndarray, np.ndarray],
    base: tuple[np.ndarray, np.ndarray],
    strokes: tuple[np.ndarray | None, np.ndarray | None],
    shapes: tuple[tuple[int, int], tuple[int, int]] | None = None,
    s: StrokeSettings = StrokeSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Both photos' ``base`` labels (the automatic masks) corrected by their ``strokes`` (None: none
    for that photo), each as :func:`correct_labels` does.  Measured and not kept: each photo's
    strokes also seeding the other photo where the photos correspond (mutual nearest deep cells),
    which lowered the simulated user's IoU on pairs 13 and 17 (docs/masks.md)."""
    shapes = shapes or (photos[0].shape[:2], photos[1].shape[:2])
    fixed = tuple(
        b if st is None else correct_labels(p, b, st, shape, s)
        for p, b, st, shape in zip(photos, base, strokes, shapes)
    )
    return settle_pair(photos, fixed, strokes, s)  # type: ignore[arg-type]


def residue_ids(labels: tuple[np.ndarray, np.ndarray], painted: set[int], share: float) -> list[int]:
    """The labels of a pair that no stroke painted (``painted``) and that cover under ``share`` of
    either photo, none at all included: what strokes left of an automatic region, or a region the
    strokes took from one photo only (a content region without a style counterpart gets no style)."""
    found = sorted(set(np.unique(labels[0]).tolist()) | set(np.unique(labels[1]).tolist()))
    return [
        k
        for k in found
        if k != UNLABELLED and k not in painted and min((x == k).mean() for x in labels) < share
    ]


def settle_pair(
    photos: tuple[np.ndarray, np.ndarray],
    labels: tuple[np.ndarray, np.ndarray],
    strokes: tuple[np.ndarray | None, np.ndarray | None],
    s: StrokeSettings = StrokeSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Corrected labels of both photos with their residue (:func:`residue_ids`) redrawn: those pixels
    are completed from the photo's other labels along its edges (:func:`complete_labels`).  The
    automatic masks keep every region over 5% of both photos; strokes that take most of a region
    away leave slivers whose look is matched to the other photo's slivers, or a region in the content
    that the style no longer has.  A photo all of whose labels are residue keeps them; without a
    stroke in either photo, nothing is residue."""
    painted = {k for st in strokes if st is not None for k in painted_ids(np.asarray(st))}
    if s.residue <= 0 or not painted:
        return labels
    drop = residue_ids(labels, painted, s.residue)
    if not drop:
        return labels
    out = []
    for photo, lab in zip(photos, labels):
        free = np.isin(lab, drop)
        if not free.any() or free.all():
            out.append(lab)
            continue
        seeds = np.where(free, UNLABELLED, lab)
        out.append(complete_labels(photo, seeds, lab.shape, s))
    return out[0], out[1]


def _grow_strokes(strokes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Strokes at ``shape``: reduced keeping thin strokes (:func:`_shrink_strokes`), or enlarged nearest."""
    if strokes.shape[0] >= shape[0] and strokes.shape[1] >= shape[1]:
        return _shrink_strokes(strokes, shape)
    return resize_labels(strokes, *shape)


def painted_ids(strokes: np.ndarray) -> list[int]:
    """The label ids painted in a strokes map, sorted."""
    return sorted(int(k) for k in np.unique(strokes) if k != UNLABELLED)


def cross_priors(
    cells: list[np.ndarray], grids: list[tuple[int, int]], strokes: list[np.ndarray], s: StrokeSettings
) -> list[np.ndarray]:
    """Label probabilities of every cell of both photos from the strokes of **both**: ``cells`` are
    the photos' (N, D) cell features of the automatic masks (:func:`dpst.segment.joint_cells`: VGG-19
    relu3_1/relu4_1, colour, texture, position, standardised per photo, so a night city's lights
    and a day city's walls can be near), ``grids`` their (gh, gw), ``strokes`` the two stroke maps.
    Each cell's probability of label k is a softmax of ``-d_k^2 / T`` with d_k the distance to the
    nearest painted cell of k in either photo.  Returns per photo (K, gh, gw) over that photo's own
    painted ids (sorted)."""
    pts, labs = [], []
    for c, g, st in zip(cells, grids, strokes):
        small = _shrink_strokes(st, g).ravel()
        pts.append(c[small != UNLABELLED])
        labs.append(small[small != UNLABELLED])
    painted = torch.from_numpy(np.concatenate(pts)).float()
    lab = np.concatenate(labs)
    out = []
    for c, g, st in zip(cells, grids, strokes):
        ids = painted_ids(st)
        x = torch.from_numpy(c).float()
        far = torch.full((len(x),), float("inf"))
        near = [painted[torch.from_numpy(lab == k)] for k in ids]
        d2 = torch.stack([torch.cdist(x, p).min(1).values ** 2 if len(p) else far for p in near])
        d2 = d2 / (d2.min(0).values.mean() + 1e-8)
        out.append(torch.softmax(-d2 / s.cross_temperature, 0).reshape(len(ids), *g).numpy())
    return out


def _shrink_strokes(strokes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Strokes at a smaller size: a small pixel is painted with a label when any full-size pixel under
    it is (the label painted most there), so thin strokes survive the reduction."""
    h, w = shape
    ys = (np.arange(strokes.shape[0]) * h // strokes.shape[0]).clip(0, h - 1)
    xs = (np.arange(strokes.shape[1]) * w // strokes.shape[1]).clip(0, w - 1)
    cell = ys[:, None] * w + xs[None, :]
    out = np.full(h * w, UNLABELLED, np.int64)
    painted = strokes != UNLABELLED
    c, lab = cell[painted], strokes[painted]
    if c.size:
        # the most painted label per small pixel: count (cell, label) pairs, keep the largest
        pairs, counts = np.unique(np.stack([c, lab], 1), axis=0, return_counts=True)
        order = np.lexsort((counts, pairs[:, 0]))
        last = np.r_[pairs[order][1:, 0] != pairs[order][:-1, 0], True]
        out[pairs[order][last, 0]] = pairs[order][last, 1]
    return out.reshape(h, w)


def complete_pair(
    net,
    content: np.ndarray,
    style: np.ndarray,
    strokes: tuple[np.ndarray, np.ndarray],
    shapes: tuple[tuple[int, int], tuple[int, int]] | None = None,
    s: StrokeSettings = StrokeSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Both photos' label maps from strokes on both, completed together: each photo as in
    :func:`complete_labels`, with the strokes of the other photo also saying what each label looks
    like (:func:`cross_priors`; net: a :class:`dpst.neural.vgg.VGGFeatures`).  Measured with the proxy of
    docs/masks.md (2 simulated strokes a region, pairs 1-20): style_swd 7.15 -> 6.93 on seed 0, 8.12 ->
    7.94 on seed 1 against completing each photo alone; at the default preset 6.33 -> 5.95."""
    shapes = shapes or (content.shape[:2], style.shape[:2])
    cross: list[np.ndarray | None] = [None, None]
    if s.cross_fusion > 0:
        cells, grids = joint_cells(net, content, style, SegmentSettings())
        cross = cross_priors(cells, grids, list(strokes), s)
    photos = (content, style)
    c_lab, s_lab = (complete_labels(p, st, sh, s, c) for p, st, sh, c in zip(photos, strokes, shapes, cross))
    return c_lab, s_lab
