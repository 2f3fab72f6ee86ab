from __future__ import annotations

import torch

from dpst.optimize import run_lbfgs


def _quadratic(spike_at: int | None, seen: list[torch.Tensor]):
    """Σ(x − 0.3)²; on call ``spike_at`` the loss (and gradient) is multiplied by 1e6, as when a bad
    L-BFGS step lands far uphill."""

    def terms(x: torch.Tensor) -> dict[str, torch.Tensor]:
        seen.append(x.detach().clone())
        loss = (x - 0.3).pow(2).sum()
        if len(seen) == spike_at:
            loss = loss * 1e6
        return {"fit": loss}

    return terms


def test_a_blown_up_step_goes_back_to_the_best_point():
    x0 = torch.rand(1, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    seen: list[torch.Tensor] = []
    run_lbfgs(x0, _quadratic(4, seen), {"fit": 1.0}, 8)
    losses = [float((x - 0.3).pow(2).sum()) for x in seen[:3]]
    best = seen[losses.index(min(losses))]
    # the step after the spike is evaluated at the best point seen before it
    assert torch.allclose(seen[4], best, atol=1e-6)


def test_without_the_guard_the_spike_is_followed():
    x0 = torch.rand(1, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    seen: list[torch.Tensor] = []
    run_lbfgs(x0, _quadratic(4, seen), {"fit": 1.0}, 6, blowup=float("inf"))
    assert not any(torch.allclose(seen[4], x, atol=1e-6) for x in seen[:3])
