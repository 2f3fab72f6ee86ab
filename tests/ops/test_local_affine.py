"""dpst.ops.local_affine: smoke, shapes, exceptions, gradcheck, naive reference, properties.

The first tests check the naive reference on one 7x8 image (B = 1, reg 1e-3), one constant image, a
global colour map, batch/tile/dtype agreement and a step edge; the battery after them adds batches
against the reference, radii past the image, gradients and properties over random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dpst.ops.local_affine import local_affine_filter

from . import _reference as ref
from ._reference import PROPERTY, global_map, naive_local_affine, rand


@pytest.mark.parametrize(
    ("radius", "edge", "fit_radius", "tile_rows"), [(3, 0.1, 1, 64), (2, 0.3, 1, 2), (0, 0.1, 2, 3)]
)
def test_local_affine_filter_equals_naive_reference(
    radius: int, edge: float, fit_radius: int, tile_rows: int
) -> None:
    guide, out = rand(1, 3, 7, 8, seed=6), rand(1, 3, 7, 8, seed=7)
    expected = naive_local_affine(out[0].numpy(), guide[0].numpy(), radius, edge, fit_radius, 1e-3)
    got = local_affine_filter(out, guide, radius, edge, fit_radius, 1e-3, tile_rows=tile_rows)
    np.testing.assert_allclose(got[0].numpy(), expected, rtol=0, atol=1e-10)


def test_local_affine_filter_constant_image_is_unchanged() -> None:
    guide = rand(1, 3, 24, 20, seed=8)
    const = torch.full_like(guide, 0.4)
    torch.testing.assert_close(local_affine_filter(const, guide), const, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_local_affine_filter_keeps_a_global_colour_map(dtype: torch.dtype) -> None:
    # uniform noise: every 3x3 window has a well-conditioned colour covariance (typ. ~0.08 per channel)
    guide = rand(1, 3, 24, 20, seed=9, dtype=dtype)
    target = global_map(guide)
    err = (local_affine_filter(target, guide) - target).abs()
    # the ridge reg/n = 1.1e-4 shrinks each fit by ~reg/(n lambda_min) (~1e-3 here, up to ~2e-2 in
    # the worst-conditioned windows); measured max 6.4e-3, mean 3.8e-4
    assert err.max() < 1.5e-2 and err.mean() < 1.5e-3
    # and the residue is that ridge: with a tiny one the map comes back almost exactly
    err = (local_affine_filter(target, guide, reg=1e-8) - target).abs()
    assert err.max() < (1e-4 if dtype == torch.float32 else 2e-6)  # measured 3e-5 and 5e-7


def test_local_affine_filter_batch_tiles_and_dtypes_agree() -> None:
    guide, out = rand(2, 3, 19, 17, seed=10), rand(2, 3, 19, 17, seed=11)
    ref = local_affine_filter(out, guide, radius=4, edge=0.2)
    assert ref.shape == out.shape
    torch.testing.assert_close(local_affine_filter(out[1:], guide[1:], radius=4, edge=0.2), ref[1:])
    torch.testing.assert_close(local_affine_filter(out, guide, radius=4, edge=0.2, tile_rows=5), ref)
    got32 = local_affine_filter(out.float(), guide.float(), radius=4, edge=0.2)
    assert got32.dtype == torch.float32
    torch.testing.assert_close(got32.double(), ref, rtol=0, atol=1e-4)


def test_local_affine_filter_preserves_a_step_edge() -> None:
    # two flat halves of the guide; the output is a smooth ramp: the filter must not blur across
    guide = torch.zeros(1, 3, 12, 12, dtype=torch.float64)
    guide[..., 6:] = 1.0
    out = torch.linspace(0, 1, 12, dtype=torch.float64).expand(1, 3, 12, 12).contiguous()
    res = local_affine_filter(out, guide, radius=4, edge=0.05)
    assert (res[..., :6].amax() < res[..., 6:].amin()).item()


def test_local_affine_residual_is_the_metric_on_tensors() -> None:
    """Same numbers as dpst.metrics.affine_rms up to the border (clipped windows against reflected)."""
    from dpst.metrics import affine_rms
    from dpst.ops.local_affine import local_affine_residual

    rng = np.random.default_rng(0)
    content = rng.random((40, 50, 3))
    y = np.clip(content @ rng.random((3, 3)) * 0.7 + 0.1 + 0.05 * rng.random((40, 50, 3)), 0, 1)
    t = lambda a: torch.from_numpy(a.transpose(2, 0, 1)[None].copy())  # noqa: E731
    ours = local_affine_residual(t(content), t(y))
    assert ours == pytest.approx(affine_rms(content, y), rel=0.03)
    # a global affine map of the photo leaves only the ridge's bias (eps), far below the noisy map's
    mapped = content @ np.diag([0.5, 0.8, 0.6]) + 0.1
    clean = local_affine_residual(t(content), t(mapped))
    assert clean == pytest.approx(affine_rms(content, mapped), rel=0.03)
    assert clean < 0.25 * ours


@st.composite
def filter_inputs(draw) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """A random ``(output, guide, kwargs)`` on images of at most 6x6, guide possibly quantised (flat)."""
    b, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**16))
    guide = rand(b, 3, h, w, seed=seed)
    levels = draw(st.sampled_from([0, 1, 3]))  # 0: continuous; 1: two flat levels per channel
    if levels:
        guide = torch.round(guide * levels) / levels
    kwargs = {
        "radius": draw(st.integers(0, 3)),
        "edge": draw(st.sampled_from([0.05, 0.2, 1.0])),
        "fit_radius": draw(st.integers(1, 2)),
        "reg": draw(st.sampled_from([1e-4, 1e-2])),
        "tile_rows": draw(st.integers(1, 7)),
    }
    return rand(b, 3, h, w, seed=seed + 1), guide, kwargs


class TestLocalAffineFilter:
    def test_smoke(self) -> None:
        guide, out = rand(1, 3, 5, 6, seed=0), rand(1, 3, 5, 6, seed=1)
        res = local_affine_filter(out, guide, radius=2, edge=0.1)
        assert isinstance(res, torch.Tensor)
        assert res.shape == out.shape and res.dtype == out.dtype
        assert torch.isfinite(res).all()

    @pytest.mark.parametrize(("b", "h", "w"), [(1, 1, 6), (2, 5, 1), (3, 4, 7)])
    def test_cardinality(self, b: int, h: int, w: int) -> None:
        res = local_affine_filter(rand(b, 3, h, w, seed=2), rand(b, 3, h, w, seed=3), radius=2, edge=0.1)
        assert res.shape == (b, 3, h, w)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"guide": torch.rand(1, 1, 5, 6)}, r"local_affine_filter: guide must have 3 channels"),
            ({"fit_radius": 0}, "fit_radius must be an integer >= 1, got 0"),
            ({"reg": 0.0}, "reg must be a finite number > 0, got 0.0"),
            ({"radius": 1.0}, "radius must be an integer >= 0, got 1.0"),
            ({"edge": float("inf")}, "edge must be a finite number > 0"),
            ({"tile_rows": -3}, "tile_rows must be an integer >= 1, got -3"),
            ({"output": torch.rand(2, 3, 5, 6)}, r"guide \(1, 3, 5, 6\) and output \(2, 3, 5, 6\) must have"),
            ({"output": torch.rand(1, 3, 5, 6).double()}, "must share dtype and device"),
            ({"guide": "photo.png"}, "guide must be a torch.Tensor, got str"),
        ],
    )
    def test_exception(self, kwargs: dict, match: str) -> None:
        args = {"output": torch.rand(1, 3, 5, 6), "guide": torch.rand(1, 3, 5, 6)}
        with pytest.raises(ValueError, match=match):
            local_affine_filter(**{**args, **kwargs})

    @pytest.mark.parametrize("tile_rows", [128, 2])
    def test_gradcheck(self, tile_rows: int) -> None:
        guide = rand(1, 3, 4, 5, seed=4).requires_grad_()
        out = rand(1, 3, 4, 5, seed=5).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda o, g: local_affine_filter(o, g, 1, 0.5, 1, 1e-2, tile_rows=tile_rows),
            (out, guide),
            eps=1e-6,
            atol=1e-5,
        )

    @pytest.mark.parametrize(
        ("radius", "edge", "fit_radius", "reg", "tile_rows"),
        [(2, 0.2, 1, 1e-2, 1), (6, 0.5, 1, 1e-3, 2), (1, 0.05, 2, 1e-1, 128), (0, 0.1, 4, 1e-2, 3)],
    )
    def test_equals_naive_reference(
        self, radius: int, edge: float, fit_radius: int, reg: float, tile_rows: int
    ) -> None:
        # B = 2 (items filtered separately), radii and fit windows up to past the 5x6 image
        guide, out = rand(2, 3, 5, 6, seed=6), rand(2, 3, 5, 6, seed=7)
        got = local_affine_filter(out, guide, radius, edge, fit_radius, reg, tile_rows=tile_rows)
        for i in range(2):
            expected = ref.local_affine(out[i].numpy(), guide[i].numpy(), radius, edge, fit_radius, reg)
            np.testing.assert_allclose(got[i].numpy(), expected, rtol=0, atol=1e-10)

    @PROPERTY
    @given(inputs=filter_inputs(), value=st.floats(0.0, 1.0))
    def test_property_constant_output_is_unchanged(self, inputs: tuple, value: float) -> None:
        _, guide, kwargs = inputs
        const = torch.full_like(guide, value)
        torch.testing.assert_close(local_affine_filter(const, guide, **kwargs), const, rtol=0, atol=1e-9)

    @PROPERTY
    @given(inputs=filter_inputs(), alpha=st.floats(-2.0, 2.0), beta=st.floats(-2.0, 2.0))
    def test_property_linear_in_output(self, inputs: tuple, alpha: float, beta: float) -> None:
        # the fits are linear in O and the bilateral weights depend on the guide only
        out, guide, kwargs = inputs
        other = out.roll(1, -1)
        lhs = local_affine_filter(alpha * out + beta * other, guide, **kwargs)
        rhs = alpha * local_affine_filter(out, guide, **kwargs) + beta * local_affine_filter(
            other, guide, **kwargs
        )
        torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-8)

    @PROPERTY
    @given(inputs=filter_inputs())
    def test_property_flips_and_transpose(self, inputs: tuple) -> None:
        # square windows, clipped symmetrically, and an isotropic spatial kernel
        out, guide, kwargs = inputs
        res = local_affine_filter(out, guide, **kwargs)
        for dims in ([-1], [-2]):
            torch.testing.assert_close(
                local_affine_filter(out.flip(dims), guide.flip(dims), **kwargs), res.flip(dims)
            )
        t = lambda x: x.transpose(-1, -2)  # noqa: E731
        torch.testing.assert_close(local_affine_filter(t(out), t(guide), **kwargs), t(res))
