"""The finish: the stages' result carried to the output size, filtered (or not, when that measures
better), polished; the pure parts are in :mod:`dpst.ops` (:func:`dpst.ops.upsample.carry`, the filters)."""

from __future__ import annotations

import numpy as np
import torch

from .. import io
from ..config import Config
from ..ops.guided import affine_projection, refine_detail
from ..ops.local_affine import local_affine_filter, local_affine_residual
from ..ops.tensor import to_image, to_tensor
from ..ops.upsample import carry
from ..resources import output_shape
from .objective import Objective
from .pair import Pair
from .run import Clock

FINISHES = ("carry", "filter", "no filter", "fine carry")  # what :func:`finish` reports it kept
FINE_POWER = 4  # the power of the residual in the score that weighs the finer carry (:func:`finish`)


def finish(
    pair: Pair, x: torch.Tensor, cfg: Config, objective: Objective | None, clock: Clock
) -> tuple[np.ndarray, str]:
    """The result ``x`` (at ``pair``'s working size) at the output size, (H, W, 3) in [0, 1], and which
    finish it got (:data:`FINISHES`).

    It is carried to the output size through a local affine colour model of the content photo (it
    keeps the output locally affine in the content, so edges stay the photo's own), and the reference
    code's local affine filter runs at the output size, or at ``f_size`` and is carried again for larger
    outputs.  With ``f_pick`` (and ``objective``, the run's at ``pair``'s size) the unfiltered result is
    kept where it scores better (:func:`finish_score`); with ``f_pick_carry`` too, the stages' result
    carried at that radius, unfiltered ("fine carry"), is kept where it scores better than that, its
    residual counting to the power :data:`FINE_POWER`: a finer carry keeps more of stage 3's texture
    and raises the residual on every photo, and pairs 1-20 kept both the residual and the texture
    under the authors' only with a power of 3.3-5.5 (docs/masks.md, "The finish's choice of carry").

    Measured (pairs 3, 9, 13): the filter at the output's 700 px cost less style than at the
    512 px working size (style_gram 43.2 / 30.2 / 45.2 against 43.8 / 31.9 / 46.7)."""
    dev = clock.device
    guide, result = to_tensor(pair.content, dev), x
    with clock.phase("upsample"):
        h, w = output_shape(*pair.content_full.shape[:2], cfg)
        full = pair.content_full
        full = full if (h, w) == full.shape[:2] else io.resize(full, h, w)
        full_t = to_tensor(full, dev)
        if not cfg.filter:
            x = _carry(full_t, guide, x, cfg)
        else:
            fh, fw = (h, w) if max(h, w) <= cfg.f_size else io.fit_long_side(h, w, cfg.f_size)
            mid = full_t if (fh, fw) == (h, w) else to_tensor(io.resize(full, fh, fw), dev)
            x = _carry(mid, guide, x, cfg).clamp(0, 1)
    used = "carry" if not cfg.filter else "filter"
    if cfg.filter:
        with clock.phase("filter"):
            finishes = {"filter": local_affine_filter(x, mid, radius=cfg.f_radius, edge=cfg.f_edge)}
            if cfg.f_pick and objective is not None:
                finishes["no filter"] = x
                if cfg.f_pick_carry:
                    finishes["fine carry"] = _carry(mid, guide, result, cfg, cfg.f_pick_carry).clamp(0, 1)
                used = pick_finish(objective, pair.content.shape[:2], mid, finishes)
            x = finishes[used]
        if mid is not full_t:
            with clock.phase("upsample"):
                x = _carry(full_t, mid, x, cfg)
    if cfg.polish > 0:
        with clock.phase("filter"):
            x = affine_projection(x.clamp(0, 1), full_t, cfg.polish)
    if cfg.refine_detail:
        x = refine_detail(x, full_t)
    return to_image(x.clamp(0, 1)), used


def pick_finish(
    objective: Objective, working: tuple[int, int], guide: torch.Tensor, candidates: dict[str, torch.Tensor]
) -> str:
    """The name of the candidate finish kept: of "filter" and "no filter", the one with the lowest
    :func:`finish_score`, its local-affine residual against the photo ``guide`` (at the candidate's
    size) with its texture distance to the style (``objective``'s style term, at the ``working``
    (h, w) size); then "fine carry", where given, if it scores lower than that one with the residual
    to the power :data:`FINE_POWER`."""
    parts = {}
    for name, y in candidates.items():
        y = y.clamp(0, 1)
        small = torch.nn.functional.interpolate(y, size=working, mode="area")
        with torch.no_grad():
            texture = float(objective(small)["style"])
        parts[name] = (local_affine_residual(guide, y), texture)
    kept = min((n for n in parts if n != "fine carry"), key=lambda n: finish_score(*parts[n]))
    if "fine carry" in parts:
        kept = min((kept, "fine carry"), key=lambda n: finish_score(*parts[n], power=FINE_POWER))
    return kept


def finish_score(affine: float, texture: float, power: float = 2) -> float:
    """How a finish is judged, lower is better: the local-affine RMS residual squared (photorealism)
    times the relative Gram distance at the working size (texture).  A product, so that each counts by
    its relative change; the residual squared because between the two finishes the working-size
    texture term moves about twice as much as the full-size Gram distance of ``dpst score`` does
    (pairs 1-20, docs/benchmarks.md "Per pair").  ``power``: of the residual, where another choice
    needs it (:data:`FINE_POWER`)."""
    return affine**power * texture


def _carry(
    target: torch.Tensor, guide: torch.Tensor, x: torch.Tensor, cfg: Config, radius: int = 0
) -> torch.Tensor:
    """``x`` carried to ``target``'s size as ``cfg`` says, at ``radius`` (default: ``carry_radius``)."""
    return carry(target, guide, x, radius or cfg.carry_radius, cfg.carry_eps, affine=cfg.carry)
