"""dpst.ops.colour: linear_transfer_map, distribution_transfer_map, region_colour_transfer.

The first tests compare the two maps by sliced Wasserstein distance, check determinism per seed, two
bad inputs and that regions move towards their style regions; the battery after them checks the maps
against what defines them (the Monge-Kantorovich equation, per-axis moments) over random clouds, and
region_colour_transfer against the maps it blends.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from dpst.metrics import sliced_w1
from dpst.ops.colour import (
    DistributionMap,
    distribution_transfer_map,
    linear_transfer_map,
    region_colour_transfer,
)

from ._reference import PROPERTY


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


def cloud(seed: int, n: int = 400, spread: tuple = (0.03, 0.2), centre: tuple = (0.2, 0.8)) -> np.ndarray:
    """A random correlated Gaussian colour cloud ``(n, 3)``: random mean, axis lengths and orientation."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    return rng.uniform(*centre, 3) + (rng.standard_normal((n, 3)) * rng.uniform(*spread, 3)) @ q.T


def cov(x: np.ndarray) -> np.ndarray:
    return np.cov(x, rowvar=False)


class TestLinearTransferMap:
    def test_smoke(self) -> None:
        a, b = linear_transfer_map(cloud(0), cloud(1, n=300))
        assert a.shape == (3, 3) and b.shape == (3,)
        assert np.isfinite(a).all() and np.isfinite(b).all()

    def test_a_distribution_onto_itself_is_the_identity(self) -> None:
        x = cloud(2)
        a, b = linear_transfer_map(x, x)
        np.testing.assert_allclose(a, np.eye(3), rtol=0, atol=1e-10)
        np.testing.assert_allclose(b, 0.0, rtol=0, atol=1e-10)

    @pytest.mark.parametrize(
        ("src", "dst"),
        [
            (np.zeros((5, 4)), np.zeros((5, 3))),
            (np.zeros((5, 3)), np.zeros(3)),
            (np.zeros(3), np.zeros((5, 3))),
        ],
    )
    def test_exception(self, src: np.ndarray, dst: np.ndarray) -> None:
        with pytest.raises(ValueError, match=r"linear_transfer_map expects colour lists of shape \(N, 3\)"):
            linear_transfer_map(src, dst)

    @pytest.mark.filterwarnings("ignore::RuntimeWarning")
    @pytest.mark.parametrize("n", [0, 1])
    def test_fewer_than_two_colours(self, n: int) -> None:
        # either a ValueError that says what is wrong, or (for one colour) a finite map
        try:
            a, b = linear_transfer_map(cloud(3, n=n), cloud(4))
        except ValueError as e:
            assert "colour" in str(e)
            return
        assert np.isfinite(a).all() and np.isfinite(b).all()

    @pytest.mark.xfail(
        reason="_sqrtm_psd floors eigenvalues at an absolute 1e-8: with reg < 1e-4 and thin colour clouds "
        "(a direction of std ~0.003, under one 8-bit level) the eigenvalues of S_s^1/2 S_d S_s^1/2 fall "
        "below it and the map inflates that direction's variance ~100x",
        strict=True,
    )
    def test_small_reg_still_solves_the_monge_kantorovich_equation(self) -> None:
        rng = np.random.default_rng(0)
        src = rng.uniform(0.2, 0.8, 3) + rng.standard_normal((500, 3)) * [0.2, 0.05, 0.003]
        dst = rng.uniform(0.2, 0.8, 3) + rng.standard_normal((500, 3)) * [0.2, 0.05, 0.003]
        a, _ = linear_transfer_map(src, dst, reg=1e-6)
        s_s, s_d = cov(src) + 1e-6 * np.eye(3), cov(dst) + 1e-6 * np.eye(3)
        np.testing.assert_allclose(a @ s_s @ a, s_d, rtol=0, atol=1e-9 * np.abs(s_d).max())

    @PROPERTY
    @given(seed=st.integers(0, 2**16), reg=st.sampled_from([1e-4, 1e-3, 1e-2]), flat=st.booleans())
    def test_property_solves_the_monge_kantorovich_equation(self, seed: int, reg: float, flat: bool) -> None:
        # the Gaussian optimal transport map is the unique symmetric positive definite A with
        # A S_s A = S_d (here on the regularised covariances S = Sigma + reg I), b = mu_d - A mu_s;
        # reg >= 1e-4 (the default): below it see test_small_reg_still_solves_the_monge_kantorovich_equation
        src = cloud(seed, spread=(0.0, 0.0) if flat else (0.01, 0.3))  # flat: one colour, Sigma_s = 0
        dst = cloud(seed + 1, n=250, spread=(0.01, 0.3))
        a, b = linear_transfer_map(src, dst, reg=reg)
        s_s, s_d = cov(src) + reg * np.eye(3), cov(dst) + reg * np.eye(3)
        np.testing.assert_allclose(a, a.T, rtol=0, atol=1e-8 * np.abs(a).max())
        assert np.linalg.eigvalsh(a).min() > 0
        np.testing.assert_allclose(a @ s_s @ a, s_d, rtol=0, atol=1e-9 * np.abs(s_d).max())
        np.testing.assert_allclose(a @ src.mean(0) + b, dst.mean(0), rtol=0, atol=1e-10)

    @PROPERTY
    @given(seed=st.integers(0, 2**16))
    def test_property_maps_a_cloud_onto_the_target_mean_and_covariance(self, seed: int) -> None:
        src, dst = cloud(seed, spread=(0.02, 0.3)), cloud(seed + 1, n=250, spread=(0.02, 0.3))
        a, b = linear_transfer_map(src, dst, reg=1e-12)
        mapped = src @ a.T + b
        np.testing.assert_allclose(mapped.mean(0), dst.mean(0), rtol=0, atol=1e-10)
        np.testing.assert_allclose(cov(mapped), cov(dst), rtol=0, atol=1e-9)

    @PROPERTY
    @given(seed=st.integers(0, 2**16))
    def test_property_the_reverse_map_is_the_inverse(self, seed: int) -> None:
        src, dst = cloud(seed), cloud(seed + 1, n=250)
        a, b = linear_transfer_map(src, dst)
        a_back, b_back = linear_transfer_map(dst, src)
        np.testing.assert_allclose(a_back @ a, np.eye(3), rtol=0, atol=1e-8)
        np.testing.assert_allclose(a_back @ b + b_back, 0.0, rtol=0, atol=1e-8)


class TestDistributionTransferMap:
    def test_smoke(self) -> None:
        fitted = distribution_transfer_map(cloud(0), cloud(1, n=300), iterations=5, quantiles=16)
        assert isinstance(fitted, DistributionMap)
        assert len(fitted.rotations) == len(fitted.knots) == 5
        for r, k in zip(fitted.rotations, fitted.knots):
            np.testing.assert_allclose(r.T @ r, np.eye(3), rtol=0, atol=1e-12)
            assert k.shape == (2, 3, 16)
            assert (np.diff(k[0], axis=1) > 0).all()  # source knots strictly increasing: np.interp needs it
        out = fitted(cloud(2, n=7))
        assert out.shape == (7, 3) and out.dtype == np.float64

    def test_no_iterations_is_the_identity(self) -> None:
        x = cloud(3)
        np.testing.assert_array_equal(distribution_transfer_map(x, cloud(4), iterations=0)(x), x)

    @pytest.mark.parametrize(
        ("src", "dst", "match"),
        [
            (
                np.zeros((5, 3)),
                np.zeros((5, 2)),
                r"distribution_transfer_map expects colour lists of shape \(N, 3\)",
            ),
            (np.zeros((5, 3)), np.zeros(3), r"shape \(N, 3\)"),
            (np.zeros((5, 3)), np.zeros((0, 3)), "needs at least one colour on each side"),
        ],
    )
    def test_exception(self, src: np.ndarray, dst: np.ndarray, match: str) -> None:
        with pytest.raises(ValueError, match=match):
            distribution_transfer_map(src, dst)

    def test_a_single_target_colour_takes_every_colour(self) -> None:
        dst = np.tile([[0.2, 0.5, 0.7]], (50, 1))
        np.testing.assert_allclose(
            distribution_transfer_map(cloud(5), dst)(cloud(6)), dst[:1].repeat(400, 0), atol=1e-9
        )

    def test_subsampling_is_deterministic_and_close_to_the_full_fit(self) -> None:
        src, dst = cloud(7, n=3000), cloud(8, n=3000)
        one = distribution_transfer_map(src, dst, samples=1000)(src)
        np.testing.assert_array_equal(one, distribution_transfer_map(src, dst, samples=1000)(src))
        np.testing.assert_allclose(one.mean(0), distribution_transfer_map(src, dst)(src).mean(0), atol=0.01)

    @PROPERTY
    @given(seed=st.integers(0, 2**16), uniform=st.booleans())
    @example(seed=9954, uniform=False)  # the two worst of 7004 examples searched: std off by 5.6%
    @example(seed=11445, uniform=False)
    def test_property_matches_per_axis_moments(self, seed: int, uniform: bool) -> None:
        # 30 iterations: with 12 (the default) anisotropic clouds are not always converged
        # (per-axis std off by up to 12%, measured over 40 seeds); with 30, under 3% on those 40, but
        # at most 5.6% over 7004 examples (every 7th seed of 0..24507, both kinds): the random
        # rotations leave a finite-sample error that more iterations do not shrink steadily (seed
        # 9954: 5.6% at 30, 1.4% at 60, 4.6% at 100), hence 8%
        src = cloud(seed, n=1000)
        dst = np.random.default_rng(seed + 1).random((1000, 3)) ** 2 if uniform else cloud(seed + 1, n=1000)
        mapped = distribution_transfer_map(src, dst, iterations=30)(src)
        np.testing.assert_allclose(mapped.mean(0), dst.mean(0), rtol=0, atol=5e-3)
        np.testing.assert_allclose(mapped.std(0), dst.std(0), rtol=0.08, atol=0)
        # and more than the first two: each axis's sorted values (its 1-D distribution) come close
        w1 = np.abs(np.sort(mapped, 0) - np.sort(dst, 0)).mean(0)
        assert (w1 < 0.1 * np.abs(np.sort(src, 0) - np.sort(dst, 0)).mean(0) + 5e-3).all()


def _labelled_pair(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """8x10 content and 6x9 style, each with two regions (scattered pixels) of mid-range colour clouds."""

    def side(h: int, w: int, s: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.random.default_rng(s).permutation(np.repeat([0, 1], h * w // 2)).reshape(h, w)
        img = np.empty((h, w, 3))
        for k in (0, 1):
            img[labels == k] = np.clip(cloud(s + 1 + k, h * w // 2, (0.06, 0.1), centre=(0.35, 0.65)), 0, 1)
        return img, labels

    (content, c_labels), (style, s_labels) = side(8, 10, seed), side(6, 9, seed + 10)
    return content, style, c_labels, s_labels


class TestRegionColourTransfer:
    def test_smoke(self) -> None:
        content, style, cl, sl = _labelled_pair(0)
        out = region_colour_transfer(content.astype(np.float32), style, cl, sl, [0, 1], min_pixels=4)
        assert out.shape == content.shape and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1

    def test_exception(self) -> None:
        content, style, cl, sl = _labelled_pair(1)
        with pytest.raises(
            ValueError, match="unknown colour transfer method 'Linear'; use linear or distribution"
        ):
            region_colour_transfer(content, style, cl, sl, [0], method="Linear")

    @pytest.mark.parametrize("method", ["linear", "distribution"])
    @pytest.mark.parametrize(("ids", "min_pixels"), [([], 16), ([0, 1, 5], 41)])
    def test_no_usable_region_is_the_whole_image_map(self, method: str, ids: list, min_pixels: int) -> None:
        # no id given, or every region below min_pixels (and id 5 absent): only the whole-image map is left
        content, style, cl, sl = _labelled_pair(2)
        out = region_colour_transfer(
            content, style, cl, sl, ids, min_pixels=min_pixels, method=method, seed=3
        )
        flat_c, flat_s = content.reshape(-1, 3), style.reshape(-1, 3)
        if method == "linear":
            a, b = linear_transfer_map(flat_c, flat_s)
            want = flat_c @ a.T + b
        else:
            want = distribution_transfer_map(flat_c, flat_s, seed=3)(flat_c)
        np.testing.assert_allclose(out, np.clip(want, 0, 1).reshape(content.shape), rtol=0, atol=1e-12)

    @PROPERTY
    @given(seed=st.integers(0, 2**16))
    def test_property_linear_maps_each_region_onto_its_style_region(self, seed: int) -> None:
        # blend_sigma 0: each region gets its own map plus the faint (1e-3) whole-image fallback; the
        # ridge reg = 1e-4 moves the covariance to S_d + reg (I - A^2), a few % of these small clouds',
        # and the fallback by ~2e-3 (|A_0| / |A_k| + 1): measured up to 0.4% of max |S_d|
        content, style, cl, sl = _labelled_pair(seed)
        out = region_colour_transfer(content, style, cl, sl, [0, 1], blend_sigma=0.0, min_pixels=4)
        for k in (0, 1):
            o, s = out[cl == k], style[sl == k]
            assume(o.min() > 0 and o.max() < 1)  # not clipped: the moments are the map's
            np.testing.assert_allclose(o.mean(0), s.mean(0), rtol=0, atol=2e-3)
            a, _ = linear_transfer_map(content[cl == k], s)
            ridge = 1e-4 * (np.eye(3) - a @ a)
            np.testing.assert_allclose(cov(o), cov(s) + ridge, rtol=0, atol=1e-2 * np.abs(cov(s)).max())
            assert np.abs(ridge).max() < 0.05 * np.abs(cov(s)).max()  # and the ridge is small
