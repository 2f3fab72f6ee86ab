"""The scene parser and the photos' correspondences together: the parser's labels where it is sure, the
content's deep nearest neighbours in the style where it is not, and for content regions whose group
the style lacks.

Luan et al. restrict the content's labels to the style's, so that no content region is left without a
style region to take its look from ("orphan semantic labels"); :func:`dpst.segment.semantic.restricted_labels`
does so by the parser's next guess.  Here what the orphan *looks like deep down* picks it instead, as
the correspondence masks (:mod:`dpst.segment.correspond`) match regions.  Per content cell (a pixel
of the parser's output grid):

1. **Sure**: its most likely group (over all nine) has at least ``sure`` probability and the style has
   that group: it keeps the parser's probabilities over the style's groups, as without the hybrid.
2. **Unsure, or orphan** (its most likely group is absent from the style): the ``k`` style cells most
   similar to the VGG cell it lies in (cosine of relu4_1 + relu5_1 descriptors on the relu4_1 grid of an
   ``analysis_size`` copy, :func:`dpst.segment.correspond.deep_cells` and
   :func:`dpst.segment.correspond.nearest`) vote for their own parser labels, each weighted by its
   cosine; the vote's shares are the cell's probabilities.  Votes are made on the VGG grid and carried
   to the parser's grid bilinearly.
3. The style's labels stay the parser's, over the groups covering enough of it (as without the hybrid).

The content's probabilities are then refined along the photo's edges as the parser's alone are (a
guided filter at the working size, then the argmax: :func:`dpst.segment.semantic.semantic_labels`),
not by the strokes' random walker seeded with the sure cells.  Why: (a) where the parser is sure
everywhere and the style has every content group, the masks are then exactly the parser's: the hybrid
changes only what the parser left undecided; (b) the walker would fill the unsure cells from colour
edges and its appearance prior, overruling the correspondences unless fused with them, for a sparse
solve per photo.  The cost: a voted region's outline is that of the VGG grid (cells of 1/32 of the
long side at 256 px), which the filter (radius 1% of the long side) pulls onto the photo's edges only
near them.

Pure functions apart from :func:`content_probabilities`, which runs the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..settings import check_settings, setting
from .correspond import deep_cells, nearest


@dataclass(frozen=True)
class HybridSettings:
    """Knobs of the parser-and-correspondences masks (not tuned: the real checkpoints could not be had
    here, docs/masks.md).  No flags: messages name a knob ``HybridSettings.sure``."""

    FLAG_PREFIX: ClassVar[None] = None

    sure: float = setting(
        0.65,
        "a content pixel keeps the parser's group when the parser gives it at least this probability "
        "and the style has it; else the style cells its deep features match vote",
        min=0,
        max=1,
    )
    k: int = setting(5, "most similar style cells that vote for an unsure content cell", min=1)
    analysis_size: int = setting(256, "long side the deep features are computed at", min=32)

    def __post_init__(self) -> None:
        check_settings(self)


def cell_groups(logits: torch.Tensor, grid: tuple[int, int], allowed: list[int]) -> torch.Tensor:
    """(M,) group of each cell of a (gh, gw) grid (row-major) from (G, h, w) group logits: the
    probabilities over the ``allowed`` groups averaged over the cell, their argmax."""
    if not allowed:
        raise ValueError("cell_groups: no group allowed")
    prob = torch.softmax(logits[allowed].float(), 0)
    pooled = F.adaptive_avg_pool2d(prob[None], grid)[0]
    return torch.tensor(allowed)[pooled.argmax(0).reshape(-1)]


def vote(style_labels: torch.Tensor, sims: torch.Tensor, idx: torch.Tensor, n_groups: int) -> torch.Tensor:
    """(G, N) shares of each group in the vote of each content cell: its nearest style cells ``idx``
    (N, k) vote for their groups ``style_labels`` (M,), each weighted by its similarity ``sims`` (N, k)
    (cosines; negative ones count as nothing, and a cell whose neighbours all score 0 gets an equal
    vote).  Columns sum to 1; a group no style cell has gets 0."""
    if sims.shape != idx.shape or sims.ndim != 2:
        raise ValueError(f"vote: sims {tuple(sims.shape)} and idx {tuple(idx.shape)} must both be (N, k)")
    w = sims.float().clamp(min=0) + 1e-6  # (N, k)
    out = torch.zeros(len(idx), n_groups)
    out.scatter_add_(1, style_labels[idx].long(), w)
    return (out / out.sum(1, keepdim=True)).T


def sure_cells(logits: torch.Tensor, allowed: list[int], sure: float) -> torch.Tensor:
    """(...) bool: the cells of (G, ...) group logits whose most likely group (over all G) has at least
    ``sure`` probability and is one of ``allowed``."""
    top, group = torch.softmax(logits, 0).max(0)
    return (top >= sure) & torch.isin(group, torch.tensor(allowed))


def hybrid_probabilities(
    logits: torch.Tensor, votes: torch.Tensor, allowed: list[int], sure: float
) -> torch.Tensor:
    """(A, ...) probabilities of the ``allowed`` groups for content cells from their (G, ...) group
    ``logits`` and (G, ...) ``votes`` (:func:`vote`, on the same cells): the parser's softmax over
    ``allowed`` where it is sure (:func:`sure_cells`), the vote's shares elsewhere."""
    if logits.shape != votes.shape:
        raise ValueError(f"hybrid_probabilities: logits {tuple(logits.shape)} but votes {tuple(votes.shape)}")
    parser = torch.softmax(logits[allowed], 0)
    return torch.where(sure_cells(logits, allowed, sure), parser, votes[allowed].to(parser.dtype))


def content_probabilities(
    net,
    content: np.ndarray,
    style: np.ndarray,
    logits: tuple[torch.Tensor, torch.Tensor],
    allowed: list[int],
    s: HybridSettings = HybridSettings(),
) -> torch.Tensor:
    """(A, h, w) probabilities of the ``allowed`` groups for the content on the grid of its (G, h, w)
    group logits, ``logits`` being the content's and the style's (:meth:`SceneParser.logits
    <dpst.segment.semantic.SceneParser.logits>`).  content, style: (H, W, 3) float in [0, 1]; net: a
    :class:`dpst.neural.vgg.VGGFeatures`."""
    lg_c, lg_s = logits
    dc, _, grid_c = deep_cells(net, content, s.analysis_size)
    ds, _, grid_s = deep_cells(net, style, s.analysis_size)
    sims, idx = nearest(dc, ds, s.k)
    votes = vote(cell_groups(lg_s, grid_s, allowed), sims.cpu(), idx.cpu(), len(lg_c))
    up = F.interpolate(
        votes.reshape(1, len(lg_c), *grid_c), size=lg_c.shape[1:], mode="bilinear", align_corners=False
    )
    return hybrid_probabilities(lg_c, up[0], allowed, s.sure)
