"""L-BFGS over the image, kept in [0, 1] by construction.

The image is parametrised as x = sigmoid(z) and L-BFGS runs on z.  Why: unconstrained L-BFGS on x
drifts out of range (measured on pair 9: after 300 steps 30% of pixels lay in −1.7..1.1, and clamping
on save threw the style away); the reference code hid that by stretching the image on save.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..ops.tensor import to_image

# Pixels start at most this far inside (0, 1): sigmoid'(logit(0.01)) ≈ 0.01, small enough to
# keep blacks black, large enough for L-BFGS to move them.
_MARGIN = 0.01


@dataclass(frozen=True)
class Progress:
    """What the library reports after each L-BFGS step of each stage."""

    stage: int  # 1 = segmented neural style, 2 = + photorealism term
    step: int  # 1-based step within the stage
    total: int  # steps planned for the stage
    losses: Mapping[str, float]  # weighted value of every term, and "total"
    image: Callable[[], np.ndarray]  # the current image, float (H, W, 3) in [0, 1], on demand


class Interrupted(Exception):
    """Raised when the optimisation is stopped by Ctrl-C; carries the current image (H, W, 3)."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__("interrupted")
        self.image = image


class LBFGS:
    """Limited-memory BFGS on one tensor ``z``, one objective evaluation a step, no line search, unit
    step length (a first step of length 1/|g|₁ at most): the two-loop recursion of Nocedal & Wright
    (Numerical Optimization, algorithm 7.4), with the initial inverse Hessian yᵀs/yᵀy of the latest
    pair and a pair kept only when its curvature yᵀs is over 1e-10.  The same choices as
    ``torch.optim.LBFGS(max_iter=1)``, whose module imports torch's compiler on first use (about 2 s
    of every fresh run here); this one imports nothing."""

    def __init__(self, z: torch.Tensor, history: int = 50) -> None:
        self.z, self.history = z, history
        self.reset()

    def reset(self) -> None:
        """Forget the curvature pairs: the next step is a short steepest-descent step."""
        self.pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (s, y, 1/yᵀs)
        self.scale: torch.Tensor | float = 1.0
        self.move: torch.Tensor | None = None  # the last step taken, s = x_k+1 − x_k
        self.grad: torch.Tensor | None = None  # the gradient where it was taken

    def direction(self, g: torch.Tensor) -> torch.Tensor:
        """−H·g by the two-loop recursion over the kept pairs."""
        q = g.neg()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = s.dot(q) * rho
            q.add_(y, alpha=-a)
            alphas.append(a)
        r = q.mul(self.scale)
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            b = y.dot(r) * rho
            r.add_(s, alpha=a - b)
        return r

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Evaluate ``closure`` (which sets ``z.grad``) at the current point, then move ``z``."""
        with torch.enable_grad():
            loss = closure()
        grad = self.z.grad if self.z.grad is not None else torch.zeros_like(self.z)
        g = grad.reshape(-1).clone()
        if not bool(g.abs().max() > 0):  # a stationary point: nowhere to go
            return loss
        if self.grad is None:  # first step (or after reset): steepest descent, at most 1/|g|₁ long
            d = g.neg()
            length = min(1.0, float(1.0 / g.abs().sum()))
        else:
            y = g - self.grad
            ys = y.dot(self.move)
            if ys > 1e-10:
                if len(self.pairs) == self.history:
                    self.pairs.pop(0)
                self.pairs.append((self.move, y, 1.0 / ys))
                self.scale = ys / y.dot(y)
            d = self.direction(g)
            length = 1.0
        self.grad = g
        if g.dot(d) > 0:  # uphill: stay (and keep no pair from this step)
            self.move = d.mul(0.0)
            return loss
        self.move = d.mul(length)
        self.z.add_(d.view_as(self.z), alpha=length)
        return loss


def to_logits(x: torch.Tensor) -> torch.Tensor:
    return torch.logit(x.clamp(_MARGIN, 1.0 - _MARGIN))


def run_lbfgs(
    x0: torch.Tensor,
    terms: Callable[[torch.Tensor], Mapping[str, torch.Tensor]],
    weights: Mapping[str, float],
    steps: int,
    *,
    history: int = 50,
    stage: int = 1,
    callback: Callable[[Progress], None] | None = None,
    blowup: float = 2.0,
    reweigh: Callable[[dict[str, float]], None] | None = None,
) -> torch.Tensor:
    """Minimise Σ_t weights[t]·terms(x)[t] over x = sigmoid(z), starting from x0 (1, 3, H, W).

    One objective evaluation per step (no line search, as in the reference code; measured on pair 9:
    strong-Wolfe line search doubled the evaluations and stalled after ~20 steps).  When a step's loss
    is over ``blowup`` times the best so far (or not finite), the image goes back to the best point
    and the L-BFGS history is dropped.  Returns the best image evaluated (the last step's
    result is evaluated too, with one extra forward pass).  Ctrl-C raises
    :class:`Interrupted` with the current image.  ``reweigh``, when given, is called once with the
    unweighted terms at ``x0`` (the first evaluation) before they are weighed, and may change
    ``weights`` (a dict) for the whole run: how ``--photo-balance`` sets λ at no extra pass."""
    z = to_logits(x0.detach()).contiguous().requires_grad_(True)
    opt = LBFGS(z, history)
    last: dict[str, float] = {}
    best: dict[str, object] = {"loss": float("inf"), "z": None}

    def closure() -> torch.Tensor:
        nonlocal reweigh
        z.grad = None
        values = terms(torch.sigmoid(z))
        if reweigh is not None:  # the first evaluation only
            reweigh({k: float(v.detach()) for k, v in values.items()})
            reweigh = None
        loss = sum(weights[k] * v for k, v in values.items())
        loss.backward()
        last.clear()
        last.update({k: weights[k] * float(v.detach()) for k, v in values.items()})
        last["total"] = float(loss.detach())
        if last["total"] < best["loss"]:
            best["loss"], best["z"] = last["total"], z.detach().clone()
        return loss

    def diverged() -> bool:
        total = last.get("total", 0.0)
        return not np.isfinite(total) or total > blowup * best["loss"]

    def current() -> np.ndarray:
        return to_image(torch.sigmoid(z))

    try:
        for step in range(1, steps + 1):
            opt.step(closure)
            if diverged() and best["z"] is not None:
                # Without a line search a bad curvature estimate can throw the image far uphill
                # (measured: pair 18, fast preset, an image of coloured noise).  Go back to the best
                # point seen and forget the L-BFGS history, which restarts with a short first step.
                with torch.no_grad():
                    z.copy_(best["z"])
                opt.reset()
            if callback is not None:
                callback(Progress(stage, step, steps, dict(last), current))
        if steps > 0:
            # opt.step evaluates the point it starts from, then moves: the last move has not been
            # evaluated yet.  Evaluate it, so that a blow-up on the final step is seen like any other.
            with torch.no_grad():
                values = terms(torch.sigmoid(z))
                final = float(sum(weights[k] * v for k, v in values.items()))
            if np.isfinite(final) and final < best["loss"]:
                best["loss"], best["z"] = final, z.detach().clone()
    except KeyboardInterrupt:
        raise Interrupted(current()) from None
    # The result is the best point evaluated (the final one included), never an unevaluated step.
    return torch.sigmoid(best["z"] if best["z"] is not None else z).detach()
