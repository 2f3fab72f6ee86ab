"""The schedule of a run as data: which stages run, at what size, for how many steps, with which λ.

As pystiche's ``PyramidLevel(edge_size, num_steps)``: :func:`plan` turns the settings and the photo's
size into a list of :class:`Stage`, and one loop (:func:`dpst.neural.run.run_stages`) runs them, each
from the result of the one before carried up to its size.  Nothing here needs a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..config import Config

# Every phase of a run, in the order they first start (``on_phase`` names them, RunReport.timings keys
# them): loading and masks, targets (the style's Grams; later, a result carried up to the next size),
# the stages and their Laplacians, then the finish.  Ctrl-C before the first stage leaves no result.
PHASES = ("prepare", "targets", "stage1", "laplacian", "stage2", "stage3", "upsample", "filter")
# what each stage does, as progress bars and the page show it
TITLES = {1: "style", 2: "photorealism", 3: "full size"}


@dataclass(frozen=True)
class Stage:
    """One L-BFGS run of the objective at one size.

    weights: content, style and tv weights.  ``lam``: λ, the weight of the photorealism term (Luan et
    al. eq. 3), None for no such term; with ``lam_share`` it is a share of the λ the stage before used
    (and there is no term when that comes to 0).  ``balance`` > 0: λ is rescaled for the photo at the
    stage's first evaluation (:func:`balanced_lambda`).  ``gate``: the stage runs only when the stage
    before left at least this much texture (its style term at its end, unweighted); when it does not,
    no later stage runs either."""

    number: int  # 1, 2, 3: as :class:`dpst.Progress` reports it
    size: int  # long side (px) it optimises at
    steps: int
    weights: Mapping[str, float] = field(default_factory=dict)
    lam: float | None = None
    lam_share: bool = False
    balance: float = 0.0
    gate: float | None = None

    @property
    def name(self) -> str:
        """Its phase name: ``stage1``, ``stage2``, ``stage3``."""
        return f"stage{self.number}"


def stage_title(number: int, counted: bool = False) -> str:
    """``stage 2 (photorealism)``; ``counted``: ``stage 2 of 2 (photorealism)`` for the two stages
    every full run has (stage 3 runs on some photos only, so it is never counted)."""
    of = " of 2" if counted and number <= 2 else ""
    return f"stage {number}{of} ({TITLES[number]})"


def plan(config: Config, photo: int, working: int | None = None) -> list[Stage]:
    """The stages a run of ``config`` makes on a photo whose long side is ``photo`` px, worked on at
    ``working`` px (default: ``config.size``, never above the photo's own).

    Stage 1 (content + segmented style) always runs, coarse at ``stage1_size`` when that is below the
    working size; with 0 steps its start is its result.  Stage 2 (+ the photorealism term) at the working
    size, with ``stage2`` and steps.  Stage 3, after stage 2: its objective again at the photo's own size
    (at most ``stage3_size``) when that is larger than the working size, on a photo whose texture
    stage 2 left at least ``stage3_texture`` from the style."""
    cfg = config
    working = min(cfg.size, photo) if working is None else working
    weights = {"content": cfg.content_weight, "style": cfg.style_weight, "tv": cfg.tv_weight}
    first = cfg.stage1_size if 0 < cfg.stage1_size < working else working
    stages = [Stage(1, first, cfg.steps(1), weights)]
    if not cfg.stage2 or cfg.steps(2) <= 0:
        return stages
    stages.append(Stage(2, working, cfg.steps(2), weights, lam=cfg.photo_weight, balance=cfg.photo_balance))
    big = min(cfg.stage3_size, photo)
    if cfg.steps(3) > 0 and big > working:
        # stage 3's λ: a share of stage 2's (0, the default: texture only, no Laplacian to build)
        stages.append(
            Stage(
                3, big, cfg.steps(3), weights, lam=cfg.stage3_lambda, lam_share=True, gate=cfg.stage3_texture
            )
        )
    return stages


# the λ and style weight that --photo-balance's share is stated at (the defaults)
_BALANCE_AT = (Config.photo_weight, Config.style_weight)


def balanced_lambda(style: float, photo: float, cfg: Config) -> float:
    """λ of stage 2 under ``--photo-balance``: ``--lambda`` times a factor for this photo, within ¼..4.
    The factor is 1 when, at the default λ and style weight, the photorealism term is
    ``cfg.photo_balance`` of the weighted style term at the start of stage 2 (``style``, ``photo``: the
    unweighted terms there); so with the defaults, ``λ·photo = photo_balance · style_weight · style``.
    ``--lambda`` and ``--style-weight`` still scale the result as they do without the balance."""
    if photo <= 0 or not np.isfinite(photo) or not np.isfinite(style):
        return cfg.photo_weight
    lam0, sw0 = _BALANCE_AT
    factor = cfg.photo_balance * sw0 * style / (photo * lam0)
    return float(cfg.photo_weight * np.clip(factor, 0.25, 4.0))
