"""The one loop that runs a plan of stages (:mod:`.plan`), and the clock that times its phases."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ..config import Config
from ..ops.tensor import to_image, to_tensor
from ..ops.upsample import affine_upsample
from .lbfgs import Interrupted, Progress, run_lbfgs
from .objective import Objective, Objectives, photorealism_term
from .pair import Pair
from .plan import Stage, balanced_lambda
from .start import initial_image

Callback = Callable[[Progress], None]
PhaseHook = Callable[[str], None]  # called with each phase's name as it starts


class Clock:
    """Seconds spent in each phase of a run (:data:`dpst.neural.plan.PHASES`), in the order they first
    started; ``on_phase`` is called with a phase's name the first time it starts."""

    def __init__(self, device: torch.device, on_phase: PhaseHook | None = None) -> None:
        self.device, self.on_phase = device, on_phase
        self.timings: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self.on_phase is not None and name not in self.timings:
            self.on_phase(name)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0


@dataclass(frozen=True)
class StageRun:
    """One stage as it ran."""

    number: int
    size: int  # long side (px)
    steps: int
    lam: float  # λ of its photorealism term (0: none)
    texture_left: float  # its style term at its end, unweighted: how far the texture still is


@dataclass(frozen=True)
class Done:
    """The stages' result, at the working size or above, with what the finish needs."""

    pair: Pair  # at the size of ``x``
    x: torch.Tensor  # (1, 3, h, w) in [0, 1]
    objective: Objective  # at that size: it judges the finish (--f-pick)
    stages: tuple[StageRun, ...]


def run_stages(
    stages: Sequence[Stage],
    pair: Pair,
    objectives: Objectives,
    cfg: Config,
    clock: Clock,
    callback: Callback | None = None,
) -> Done:
    """Run ``stages`` (:func:`dpst.neural.plan.plan`) on ``pair`` (at the working size): the first from
    ``cfg.init``'s start, each next one from the result before, carried up to its size through a local
    affine model of the content photo.  The result leaves at the working size at least (a coarse
    stage 1 alone is carried up to it).

    Ctrl-C (KeyboardInterrupt, from ``callback`` or ``clock``'s hook too) raises :class:`Interrupted`
    with the current result from stage 1's start on; before it, KeyboardInterrupt goes on."""
    run = _Run(pair, objectives, cfg, clock)
    try:
        for stage in stages:
            if stage.gate is not None and not run.left >= stage.gate:
                break
            run.stage(stage, callback)
        if run.pair.size < pair.size:
            with clock.phase("targets"):
                run.move(pair)
    except KeyboardInterrupt:
        if run.x is None:
            raise
        raise Interrupted(to_image(run.x.clamp(0, 1))) from None
    return Done(run.pair, run.x, run.objective, tuple(run.done))


class _Run:
    """The state of :func:`run_stages` between stages: the current pair, result and objective."""

    def __init__(self, pair: Pair, objectives: Objectives, cfg: Config, clock: Clock) -> None:
        self.working, self.objectives, self.cfg, self.clock = pair, objectives, cfg, clock
        self.device = objectives.device
        self.pair, self.x, self.objective = pair, None, None
        self.done: list[StageRun] = []
        self.left, self.lam = 0.0, 0.0  # the texture left and λ of the stage before

    def move(self, at: Pair) -> None:
        """The result carried up to ``at``'s size (it becomes the current result), and the objective there."""
        dev = self.device
        self.x = affine_upsample(
            to_tensor(at.content, dev), to_tensor(self.pair.content, dev), self.x, self.cfg.carry_radius,
            self.cfg.carry_eps,
        ).clamp(0, 1)  # fmt: skip
        self.pair, self.objective = at, self.objectives(at, self.cfg)

    def stage(self, stage: Stage, callback: Callback | None) -> None:
        cfg, clock = self.cfg, self.clock
        at = self.working if stage.size == self.working.size else self.working.at(stage.size)
        if self.x is None:
            with clock.phase("targets"):
                self.pair, self.objective = at, self.objectives(at, cfg)
                x = to_tensor(initial_image(at, cfg.init, cfg.seed), self.device)
            self.x = x  # from stage 1 on there is a result: at first, the start image
        elif stage.size != self.pair.size:
            with clock.phase("targets"):
                self.move(at)
        weights = dict(stage.weights)
        if stage.lam is not None:
            weights["photo"] = stage.lam * self.lam if stage.lam_share else stage.lam
            if not stage.lam_share or weights["photo"] > 0:
                with clock.phase("laplacian"):
                    self.objective.add_term("photo", photorealism_term(at.content, self.device))

        def balance(start: dict[str, float]) -> None:  # at the stage's first evaluation
            weights["photo"] = balanced_lambda(start["style"], start["photo"], cfg)

        ends: dict[str, float] = {}

        def watch(p: Progress) -> None:  # the stage's last losses: how far the texture still is
            ends.update(p.losses)
            if callback is not None:
                callback(p)

        with clock.phase(stage.name):
            self.x = run_lbfgs(
                self.x, self.objective, weights, stage.steps, history=cfg.history, stage=stage.number,
                callback=watch, reweigh=balance if stage.balance > 0 else None,
            )  # fmt: skip
        self.lam = weights.get("photo", 0.0)
        self.left = ends.get("style", 0.0) / weights["style"] if weights["style"] > 0 else 0.0
        self.done.append(StageRun(stage.number, stage.size, stage.steps, self.lam, self.left))
