from __future__ import annotations

import pytest
import torch

from dpst.neural.lbfgs import LBFGS, run_lbfgs


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


def test_a_blow_up_on_the_last_step_is_caught_and_the_best_point_returned(monkeypatch):
    """The last L-BFGS move used to come back unevaluated; here it lands far uphill."""
    x0 = torch.rand(1, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    steps, calls, seen = 5, [], []
    real = LBFGS.step

    def step(self, closure):
        out = real(self, closure)
        calls.append(1)
        if len(calls) == steps:  # the final move jumps far from the optimum
            with torch.no_grad():
                self.z.add_(8.0)
        return out

    monkeypatch.setattr(LBFGS, "step", step)
    result = run_lbfgs(x0, _quadratic(None, seen), {"fit": 1.0}, steps)
    loss = float((result - 0.3).pow(2).sum())
    best_seen = min(float((x - 0.3).pow(2).sum()) for x in seen[:steps])
    assert len(seen) == steps + 1  # every step evaluated, the last one too
    assert loss == pytest.approx(best_seen, rel=1e-5)
    assert float((seen[-1] - 0.3).pow(2).sum()) > 2 * loss  # the jump was seen and left out


def test_a_good_last_step_is_kept():
    x0 = torch.rand(1, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    seen: list[torch.Tensor] = []
    result = run_lbfgs(x0, _quadratic(None, seen), {"fit": 1.0}, 4)
    assert torch.equal(result, seen[-1])  # the final evaluated point, the best on a convex bowl
    assert float((result - 0.3).pow(2).sum()) <= min(float((x - 0.3).pow(2).sum()) for x in seen)


def test_reweigh_sees_the_start_once_and_its_weights_hold_for_the_run():
    target = torch.full((1, 3, 4, 4), 0.8)
    x0 = torch.full((1, 3, 4, 4), 0.3)
    terms = lambda x: {"a": ((x - target) ** 2).sum(), "b": ((x - 0.2) ** 2).sum()}  # noqa: E731
    seen, weights = [], {"a": 1.0, "b": 1.0}

    def reweigh(start):
        seen.append(start)
        weights["b"] = 0.0  # from the first evaluation on, only "a" counts

    x = run_lbfgs(x0, terms, weights, 20, reweigh=reweigh)
    assert len(seen) == 1 and set(seen[0]) == {"a", "b"}
    assert seen[0]["a"] == pytest.approx(48 * 0.25) and seen[0]["b"] == pytest.approx(48 * 0.01)  # at x0
    # with "b" weighed 0 the result leaves the compromise (0.5, where both weigh 1) toward "a"'s 0.8
    both = run_lbfgs(x0, terms, {"a": 1.0, "b": 1.0}, 20)
    assert float(both.mean()) == pytest.approx(0.5, abs=0.01)
    assert float(x.min()) > 0.7


def _bumpy(z: torch.Tensor) -> torch.Tensor:
    """A smooth non-quadratic function with a coupled quadratic part."""
    a = torch.linspace(0.5, 2.0, z.numel())
    return (a * z.pow(2)).sum() + 0.3 * (z[1:] * z[:-1]).sum() - z.sum() + 0.1 * torch.sin(3 * z).sum()


@pytest.mark.parametrize("history", [3, 50])
def test_same_steps_as_torch_lbfgs_without_line_search(history):
    """Our L-BFGS makes the moves torch.optim.LBFGS(max_iter=1) makes, to the bit (it stands in for
    it to spare every run the import of torch's compiler)."""
    mine = torch.zeros(30, requires_grad=True)
    theirs = torch.zeros(30, requires_grad=True)
    reference = torch.optim.LBFGS(
        [theirs], lr=1.0, max_iter=1, history_size=history, tolerance_grad=0.0, tolerance_change=0.0
    )
    ours = LBFGS(mine, history)

    def closure(z):
        def evaluate():
            z.grad = None
            loss = _bumpy(z)
            loss.backward()
            return loss

        return evaluate

    for _ in range(25):
        reference.step(closure(theirs))
        ours.step(closure(mine))
        assert torch.equal(mine, theirs)
    assert float(_bumpy(mine.detach())) < float(_bumpy(torch.zeros(30))) - 1.0  # and it went downhill


def test_reset_restarts_with_a_short_steepest_descent_step():
    z = torch.zeros(6, requires_grad=True)
    opt = LBFGS(z, 5)

    def evaluate():
        z.grad = None
        loss = _bumpy(z)
        loss.backward()
        return loss

    for _ in range(4):
        opt.step(evaluate)
    opt.reset()
    before = z.detach().clone()
    g = torch.autograd.grad(_bumpy(z), z)[0]
    opt.step(evaluate)
    step = z.detach() - before
    assert opt.pairs == []
    assert torch.allclose(step, -g * min(1.0, 1.0 / float(g.abs().sum())), atol=1e-7)
