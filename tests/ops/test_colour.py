import numpy as np
import pytest

from dpst.metrics import sliced_w1
from dpst.ops.colour import distribution_transfer_map, linear_transfer_map, region_colour_transfer


def _cloud(rng: np.random.Generator, n: int, skew: bool) -> np.ndarray:
    """A non-Gaussian colour cloud: two clusters, so mean and covariance do not describe it."""
    a = rng.normal([0.2, 0.3, 0.6], 0.05, size=(n // 2, 3))
    b = rng.normal([0.8, 0.4, 0.1] if skew else [0.5, 0.5, 0.5], 0.08, size=(n - n // 2, 3))
    return np.clip(np.concatenate([a, b]), 0, 1)


def test_distribution_map_matches_the_whole_distribution_better_than_the_linear_map():
    rng = np.random.default_rng(0)
    src, dst = rng.uniform(0, 1, size=(6000, 3)), _cloud(rng, 6000, skew=True)
    a, b = linear_transfer_map(src, dst)
    before = sliced_w1(src, dst)
    linear = sliced_w1(src @ a.T + b, dst)
    dist = sliced_w1(distribution_transfer_map(src, dst)(src), dst)
    assert dist < 0.25 * linear < 0.25 * before


def test_distribution_map_of_a_distribution_onto_itself_barely_moves_it():
    rng = np.random.default_rng(1)
    x = _cloud(rng, 4000, skew=False)
    moved = distribution_transfer_map(x, x)(x)
    assert np.abs(moved - x).mean() < 0.01


def test_distribution_map_is_deterministic_for_a_seed_and_changes_with_it():
    rng = np.random.default_rng(2)
    src, dst = rng.uniform(0, 1, size=(30000, 3)), _cloud(rng, 30000, skew=True)
    probe = rng.uniform(0, 1, size=(100, 3))
    one = distribution_transfer_map(src, dst, seed=3)(probe)
    assert np.array_equal(one, distribution_transfer_map(src, dst, seed=3)(probe))
    assert not np.array_equal(one, distribution_transfer_map(src, dst, seed=4)(probe))


def test_distribution_map_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        distribution_transfer_map(np.zeros((5, 4)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least one"):
        distribution_transfer_map(np.zeros((0, 3)), np.zeros((5, 3)))


def _two_region_pair(rng: np.random.Generator):
    h, w = 40, 60
    labels = np.zeros((h, w), int)
    labels[h // 2 :] = 1
    content = rng.uniform(0.3, 0.7, size=(h, w, 3))
    style = np.empty((h, w, 3))
    style[: h // 2] = _cloud(rng, (h // 2) * w, skew=True).reshape(h // 2, w, 3)
    style[h // 2 :] = rng.uniform(0.0, 0.2, size=(h - h // 2, w, 3))
    return content, style, labels


@pytest.mark.parametrize("method", ["linear", "distribution"])
def test_region_transfer_moves_each_region_towards_its_own_style_region(method):
    rng = np.random.default_rng(5)
    content, style, labels = _two_region_pair(rng)
    out = region_colour_transfer(content, style, labels, labels, [0, 1], blend_sigma=0.01, method=method)
    assert out.shape == content.shape and out.min() >= 0 and out.max() <= 1
    inner = {0: slice(0, 15), 1: slice(25, 40)}  # away from the blended border
    for k, rows in inner.items():
        o, s, c = out[rows].reshape(-1, 3), style[labels == k], content[rows].reshape(-1, 3)
        assert sliced_w1(o, s) < 0.5 * sliced_w1(c, s)


def test_region_transfer_distribution_beats_linear_on_a_two_cluster_style():
    rng = np.random.default_rng(6)
    content, style, labels = _two_region_pair(rng)
    top = slice(0, 15)
    err = {
        m: sliced_w1(
            region_colour_transfer(content, style, labels, labels, [0, 1], method=m)[top].reshape(-1, 3),
            style[labels == 0],
        )
        for m in ("linear", "distribution")
    }
    assert err["distribution"] < 0.5 * err["linear"]


def test_region_transfer_rejects_an_unknown_method():
    rng = np.random.default_rng(7)
    content, style, labels = _two_region_pair(rng)
    with pytest.raises(ValueError, match="unknown colour transfer method"):
        region_colour_transfer(content, style, labels, labels, [0, 1], method="cubic")
