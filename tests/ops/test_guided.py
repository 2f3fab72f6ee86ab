"""dpst.ops.guided: smoke, shapes, exception messages, gradcheck, naive reference, properties.

The first tests check the 4x4 golden against the naive filter (B = 1, r = 1), a global colour map, one
constant image and one tiling; the battery after them adds batches, larger radii, the coefficients on
their own, gradients, and properties over random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dpst.ops.guided import (
    affine_projection,
    fast_guided_filter,
    guided_coefficients,
    guided_filter,
    refine_detail,
)
from dpst.ops.local_affine import local_affine_filter
from dpst.ops.upsample import affine_upsample

from . import _reference as ref
from ._reference import PROPERTY, A, B, global_map, naive_guided_filter, rand


@pytest.mark.parametrize("guide_channels", [3, 1])
def test_guided_filter_golden_4x4(guide_channels: int) -> None:
    guide, src = rand(1, guide_channels, 4, 4, seed=1), rand(1, 2, 4, 4, seed=2)
    expected = naive_guided_filter(guide[0].numpy(), src[0].numpy(), 1, 0.01)
    np.testing.assert_allclose(guided_filter(guide, src, 1, 0.01)[0].numpy(), expected, rtol=0, atol=1e-12)
    out32 = guided_filter(guide.float(), src.float(), 1, 0.01)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32[0].numpy(), expected, rtol=0, atol=1e-4)


def test_guided_filter_shapes_constant_and_tiling() -> None:
    guide, src = rand(2, 3, 13, 9, seed=3), rand(2, 5, 13, 9, seed=4)
    out = guided_filter(guide, src, 2, 1e-3)
    assert out.shape == src.shape and out.dtype == src.dtype
    # each output row depends on rows within 2r: tiles with that halo give the same result
    torch.testing.assert_close(guided_filter(guide, src, 2, 1e-3, tile_rows=3), out, rtol=0, atol=1e-14)
    const = torch.full_like(src, 0.3)
    torch.testing.assert_close(guided_filter(guide, const, 2, 1e-3), const, rtol=0, atol=1e-12)


def test_guided_coefficients_rebuild_the_filter_and_find_a_global_map() -> None:
    guide = rand(1, 3, 10, 11, seed=5)
    src = global_map(guide)
    a, b = guided_coefficients(guide, src, 2, 1e-3)
    assert a.shape == (1, 3, 3, 10, 11) and b.shape == (1, 3, 10, 11)
    torch.testing.assert_close((a * guide[:, None]).sum(2) + b, guided_filter(guide, src, 2, 1e-3))
    a, b = guided_coefficients(guide, src, 2, 1e-9)
    torch.testing.assert_close(a, A[None, :, :, None, None].expand_as(a), rtol=0, atol=1e-5)
    torch.testing.assert_close(b, B[None, :, None, None].expand_as(b), rtol=0, atol=1e-5)


def test_fast_guided_filter_keeps_global_maps_and_full_size_edges() -> None:
    guide, src = rand(1, 3, 24, 20, seed=6), rand(1, 2, 24, 20, seed=7)
    torch.testing.assert_close(fast_guided_filter(guide, src, 2, 1e-3, 1), guided_filter(guide, src, 2, 1e-3))
    # a global affine map of the guide is fitted exactly by every reduced window and comes back as is
    mapped = global_map(guide)
    torch.testing.assert_close(fast_guided_filter(guide, mapped, 4, 1e-9, 4), mapped, rtol=0, atol=1e-4)
    # row tiles give the coefficients carried up in one piece (F.interpolate, bilinear)
    whole = fast_guided_filter(guide, src, 4, 1e-3, 3, tile_rows=1000)
    tiled = fast_guided_filter(guide, src, 4, 1e-3, 3, tile_rows=5)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-12)
    a, b = guided_coefficients(
        *(torch.nn.functional.interpolate(t, size=(8, 7), mode="area") for t in (guide, src)), 1, 1e-3
    )
    a, b = (
        torch.nn.functional.interpolate(t.flatten(1, -3), size=(24, 20), mode="bilinear") for t in (a, b)
    )
    rebuilt = (a.unflatten(1, (2, 3)) * guide[:, None]).sum(2) + b
    torch.testing.assert_close(whole, rebuilt, rtol=0, atol=1e-10)
    # a label edge that follows the guide's edge between two pixel columns of a reduced cell: the
    # coefficients come from the reduced copy, the edge from the full-size guide, so it stays sharp
    guide = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    guide[..., 17:] = 1.0
    label = guide.clone()
    out = fast_guided_filter(guide, label, 4, 1e-4, 4)
    assert out.shape == label.shape
    assert ((out > 0.5) == (label > 0.5)).all()
    assert (out[..., 16] < 0.1).all() and (out[..., 17] > 0.9).all()
    smooth = guided_filter(guide, label, 1, 1e-4).clamp(0, 1)  # the same edge through a 4x smaller grid,
    up = torch.nn.functional.interpolate(  # upsampled without the guide, blurs over a cell
        torch.nn.functional.interpolate(smooth, size=(8, 8), mode="area"), size=(32, 32), mode="bilinear"
    )
    assert (up[..., 16] > 0.2).all()


def test_refine_detail() -> None:
    content, result = rand(1, 3, 15, 14, seed=12), rand(1, 3, 15, 14, seed=13)
    got = refine_detail(result, content, radius=2, eps=0.01)
    assert got.shape == result.shape and got.min() >= 0 and got.max() <= 1
    base = torch.cat(
        [guided_filter(content[:, c : c + 1], content[:, c : c + 1], 2, 0.01) for c in range(3)], 1
    )
    torch.testing.assert_close(got, (result + content - base).clamp(0, 1))
    flat = torch.full_like(content, 0.25)  # a flat photo has no detail to add
    torch.testing.assert_close(refine_detail(result, flat), result, rtol=0, atol=1e-12)


def test_affine_projection_keeps_a_global_map_and_lowers_what_is_not_locally_affine() -> None:
    from dpst.metrics import affine_rms

    content = rand(1, 3, 32, 40, seed=3)  # local variance ~1/12 >> eps: the ridge bias is ~0.1%
    mapped = global_map(content)
    assert torch.equal(affine_projection(mapped, content, 0), mapped)
    assert torch.allclose(affine_projection(mapped, content, 2), mapped.clamp(0, 1), atol=5e-3)
    noisy = (mapped + 0.1 * rand(1, 3, 32, 40, seed=4)).clamp(0, 1)
    as_np = lambda t: t[0].permute(1, 2, 0).numpy()  # noqa: E731
    rms = [affine_rms(as_np(content), as_np(affine_projection(noisy, content, n))) for n in (0, 1, 2)]
    assert rms[0] > rms[1] > rms[2]
    assert rms[2] < 0.5 * rms[0]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: guided_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 6, 5), 1, 0.1),
            "same batch size and H x W",
        ),
        (
            lambda: guided_filter(torch.rand(1, 2, 5, 5), torch.rand(1, 3, 5, 5), 1, 0.1),
            "guide must have 1 or 3",
        ),
        (lambda: guided_filter(torch.rand(3, 5, 5), torch.rand(1, 3, 5, 5), 1, 0.1), r"\(B, C, H, W\)"),
        (
            lambda: guided_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5).double(), 1, 0.1),
            "share dtype",
        ),
        (lambda: guided_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5), 0, 0.1), "radius must be"),
        (lambda: guided_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5), 1, 0.0), "eps must be"),
        (
            lambda: guided_filter(torch.rand(1, 3, 5, 5), torch.ones(1, 3, 5, 5, dtype=torch.int64), 1, 0.1),
            "float32",
        ),
        (lambda: guided_filter(np.zeros((1, 3, 5, 5)), torch.rand(1, 3, 5, 5), 1, 0.1), "torch.Tensor"),
        (lambda: guided_coefficients(torch.rand(1, 3, 5, 5), torch.rand(2, 3, 5, 5), 1, 0.1), "batch size"),
        (lambda: fast_guided_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5), 1, 0.1, 0), "scale"),
        (lambda: fast_guided_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 4), 1, 0.1, 2), "H x W"),
        (lambda: local_affine_filter(torch.rand(1, 1, 5, 5), torch.rand(1, 3, 5, 5)), "output must have 3"),
        (lambda: local_affine_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5), edge=0), "edge must be"),
        (
            lambda: local_affine_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5), radius=-1),
            "radius must be",
        ),
        (
            lambda: local_affine_filter(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5), tile_rows=0),
            "tile_rows",
        ),
        (lambda: refine_detail(torch.rand(1, 3, 5, 5), torch.rand(1, 1, 5, 5)), "channels"),
        (lambda: affine_projection(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5), -1), "passes"),
        (lambda: affine_projection(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 6), 1), "H x W"),
        (
            lambda: affine_upsample(torch.rand(1, 1, 9, 9), torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5)),
            "content_full",
        ),
        (
            lambda: affine_upsample(torch.rand(2, 3, 9, 9), torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5)),
            "batch size",
        ),
        (
            lambda: affine_upsample(torch.rand(1, 3, 9, 9), torch.rand(1, 3, 5, 5), torch.rand(1, 3, 4, 5)),
            "result_small",
        ),
    ],
)
def test_bad_input_raises(call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def _batch_reference(fn, *tensors: torch.Tensor, **kwargs) -> np.ndarray:
    """A naive reference over ``(C, H, W)`` arrays applied to each item of a batch."""
    return np.stack([fn(*(t[i].numpy() for t in tensors), **kwargs) for i in range(tensors[0].shape[0])])


@st.composite
def guided_inputs(draw, max_side: int = 7) -> tuple[torch.Tensor, torch.Tensor, int, float]:
    """A random ``(guide, src, radius, eps)``: B in 1..2, G in {1, 3}, C in 1..3, H, W in 1..max_side."""
    b, g, c = draw(st.integers(1, 2)), draw(st.sampled_from([1, 3])), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**16))
    levels = draw(st.sampled_from([0, 2, 4]))  # 0: continuous; else quantised, with flat patches
    guide = rand(b, g, h, w, seed=seed)
    if levels:
        guide = torch.round(guide * levels) / levels
    src = rand(b, c, h, w, seed=seed + 1)
    return guide, src, draw(st.integers(1, 3)), draw(st.sampled_from([1e-4, 1e-2, 0.3]))


# --- guided_filter ----------------------------------------------------------------------------------


class TestGuidedFilter:
    def test_smoke(self) -> None:
        guide, src = rand(1, 3, 5, 6, seed=0), rand(1, 2, 5, 6, seed=1)
        out = guided_filter(guide, src, 1, 1e-2)
        assert isinstance(out, torch.Tensor)
        assert out.shape == src.shape and out.dtype == src.dtype
        assert torch.isfinite(out).all()

    @pytest.mark.parametrize(
        ("b", "g", "c", "h", "w"), [(1, 1, 1, 5, 6), (2, 3, 1, 4, 7), (3, 1, 4, 6, 5), (2, 3, 3, 1, 8)]
    )
    def test_cardinality(self, b: int, g: int, c: int, h: int, w: int) -> None:
        out = guided_filter(rand(b, g, h, w, seed=2), rand(b, c, h, w, seed=3), 2, 1e-2)
        assert out.shape == (b, c, h, w)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"tile_rows": 0}, "tile_rows must be an integer >= 1"),
            ({"radius": True}, "radius must be an integer >= 1, got True"),
            ({"radius": 1.5}, "radius must be an integer >= 1"),
            ({"eps": float("nan")}, "eps must be a finite number > 0"),
            ({"eps": float("inf")}, "eps must be a finite number > 0"),
            ({"eps": -1e-3}, "eps must be a finite number > 0"),
            ({"src": torch.rand(1, 2, 5, 0)}, "src is empty"),
            ({"src": [[0.0]]}, "src must be a torch.Tensor, got list"),
            ({"guide": torch.ones(1, 3, 5, 6, dtype=torch.float16)}, "guide must be float32 or float64"),
            ({"guide": torch.rand(1, 4, 5, 6)}, r"guide must have 1 or 3 channels, got shape \(1, 4, 5, 6\)"),
            (
                {"guide": torch.rand(2, 3, 5, 6)},
                r"guided_filter: guide \(2, 3, 5, 6\) and src \(1, 2, 5, 6\)",
            ),
        ],
    )
    def test_exception(self, kwargs: dict, match: str) -> None:
        args = {"guide": torch.rand(1, 3, 5, 6), "src": torch.rand(1, 2, 5, 6), "radius": 1, "eps": 0.1}
        with pytest.raises(ValueError, match=match):
            guided_filter(**{**args, **kwargs})

    @pytest.mark.parametrize(("g", "tile_rows"), [(1, 256), (3, 256), (3, 2)])
    def test_gradcheck(self, g: int, tile_rows: int) -> None:
        guide = rand(1, g, 4, 5, seed=4).requires_grad_()
        src = rand(1, 2, 4, 5, seed=5).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda i, p: guided_filter(i, p, 1, 0.05, tile_rows=tile_rows), (guide, src), eps=1e-6, atol=1e-5
        )

    @pytest.mark.parametrize(
        ("g", "radius", "tile_rows"), [(3, 1, 2), (1, 2, 1), (3, 2, 256), (3, 7, 2), (1, 7, 3)]
    )
    def test_equals_naive_reference(self, g: int, radius: int, tile_rows: int) -> None:
        # B = 2, 5x6, radii up to past the image (radius 7: every window is the whole image)
        guide, src = rand(2, g, 5, 6, seed=6), rand(2, 2, 5, 6, seed=7)
        expected = _batch_reference(ref.guided_filter, guide, src, r=radius, eps=1e-2)
        got = guided_filter(guide, src, radius, 1e-2, tile_rows=tile_rows)
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-11)

    def test_constant_guide_is_a_double_box_mean(self) -> None:
        # var_I = 0 and cov_Ip = 0: a = 0, b = mean(p), q = mean(mean(p)), with windows clipped at borders
        src = rand(2, 3, 5, 6, seed=8)
        got = guided_filter(torch.full((2, 3, 5, 6), 0.4, dtype=torch.float64), src, 2, 1e-3)
        np.testing.assert_allclose(
            got.numpy(), ref.box_mean(ref.box_mean(src.numpy(), 2), 2), rtol=0, atol=1e-12
        )

    @PROPERTY
    @given(inputs=guided_inputs(), value=st.floats(0.0, 1.0), tile_rows=st.integers(1, 8))
    def test_property_constant_src_is_unchanged(self, inputs: tuple, value: float, tile_rows: int) -> None:
        guide, src, radius, eps = inputs
        const = torch.full_like(src, value)
        got = guided_filter(guide, const, radius, eps, tile_rows=tile_rows)
        torch.testing.assert_close(got, const, rtol=0, atol=1e-9)

    @PROPERTY
    @given(inputs=guided_inputs(), alpha=st.floats(-2.0, 2.0), beta=st.floats(-2.0, 2.0))
    def test_property_linear_in_src(self, inputs: tuple, alpha: float, beta: float) -> None:
        guide, src, radius, eps = inputs
        other = src.flip(-1).flip(-2)
        lhs = guided_filter(guide, alpha * src + beta * other, radius, eps)
        rhs = alpha * guided_filter(guide, src, radius, eps) + beta * guided_filter(guide, other, radius, eps)
        torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-8)

    @PROPERTY
    @given(inputs=guided_inputs(), tile_rows=st.integers(1, 8))
    def test_property_tiling_and_flips(self, inputs: tuple, tile_rows: int) -> None:
        guide, src, radius, eps = inputs
        out = guided_filter(guide, src, radius, eps)
        torch.testing.assert_close(guided_filter(guide, src, radius, eps, tile_rows=tile_rows), out)
        # clipped windows are symmetric: the filter commutes with flips and with transposition
        for dims in ([-1], [-2]):
            torch.testing.assert_close(
                guided_filter(guide.flip(dims), src.flip(dims), radius, eps), out.flip(dims)
            )
        t = lambda x: x.transpose(-1, -2)  # noqa: E731
        torch.testing.assert_close(guided_filter(t(guide), t(src), radius, eps), t(out))

    @PROPERTY
    @given(inputs=guided_inputs(), scale=st.floats(0.2, 5.0), shift=st.floats(-1.0, 1.0))
    def test_property_affine_change_of_guide_units(self, inputs: tuple, scale: float, shift: float) -> None:
        # the fit is invariant to I -> s I + t when eps is measured in the same units (eps -> s^2 eps)
        guide, src, radius, eps = inputs
        got = guided_filter(scale * guide + shift, src, radius, eps * scale**2)
        torch.testing.assert_close(got, guided_filter(guide, src, radius, eps), rtol=1e-6, atol=1e-8)


# --- guided_coefficients ----------------------------------------------------------------------------


class TestGuidedCoefficients:
    def test_smoke(self) -> None:
        a, b = guided_coefficients(rand(1, 3, 5, 6), rand(1, 2, 5, 6, seed=1), 1, 1e-2)
        assert a.shape == (1, 2, 3, 5, 6) and b.shape == (1, 2, 5, 6)
        assert a.dtype == b.dtype == torch.float64

    @pytest.mark.parametrize(("b", "g", "c"), [(2, 1, 1), (3, 1, 4), (2, 3, 2)])
    def test_cardinality_and_rebuild(self, b: int, g: int, c: int) -> None:
        guide, src = rand(b, g, 6, 5, seed=2), rand(b, c, 6, 5, seed=3)
        a, bias = guided_coefficients(guide, src, 2, 1e-2)
        assert a.shape == (b, c, g, 6, 5) and bias.shape == (b, c, 6, 5)
        torch.testing.assert_close((a * guide[:, None]).sum(2) + bias, guided_filter(guide, src, 2, 1e-2))

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"radius": 0}, "radius must be an integer >= 1, got 0"),
            ({"eps": 0}, "eps must be a finite number > 0, got 0"),
            ({"guide": torch.rand(1, 2, 5, 6)}, "guided_coefficients: guide must have 1 or 3 channels"),
            (
                {"src": torch.rand(1, 2, 6, 6)},
                "guided_coefficients: .* must have the same batch size and H x W",
            ),
            ({"src": torch.rand(1, 2, 5, 6, dtype=torch.float64)}, "must share dtype and device"),
            ({"src": torch.rand(2, 5, 6)}, r"src must have shape \(B, C, H, W\), got \(2, 5, 6\)"),
        ],
    )
    def test_exception(self, kwargs: dict, match: str) -> None:
        args = {"guide": torch.rand(1, 3, 5, 6), "src": torch.rand(1, 2, 5, 6), "radius": 1, "eps": 0.1}
        with pytest.raises(ValueError, match=match):
            guided_coefficients(**{**args, **kwargs})

    @pytest.mark.parametrize("g", [1, 3])
    def test_gradcheck(self, g: int) -> None:
        guide = rand(1, g, 4, 5, seed=4).requires_grad_()
        src = rand(1, 2, 4, 5, seed=5).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda i, p: guided_coefficients(i, p, 1, 0.05), (guide, src), eps=1e-6, atol=1e-5
        )

    @pytest.mark.parametrize(("g", "radius"), [(3, 1), (1, 1), (3, 2), (1, 4)])
    def test_equals_naive_reference(self, g: int, radius: int) -> None:
        guide, src = rand(2, g, 5, 6, seed=6), rand(2, 2, 5, 6, seed=7)
        a, b = guided_coefficients(guide, src, radius, 1e-2)
        for i in range(2):
            ea, eb = ref.guided_coefficients(guide[i].numpy(), src[i].numpy(), radius, 1e-2)
            np.testing.assert_allclose(a[i].numpy(), ea, rtol=0, atol=1e-10)
            np.testing.assert_allclose(b[i].numpy(), eb, rtol=0, atol=1e-10)

    def test_gray_guide_recovers_a_global_linear_map(self) -> None:
        guide = rand(1, 1, 8, 9, seed=8)
        a, b = guided_coefficients(guide, torch.cat([0.7 * guide + 0.2, -0.3 * guide + 0.9], 1), 2, 1e-10)
        torch.testing.assert_close(
            a[0, :, 0],
            torch.tensor([0.7, -0.3], dtype=torch.float64)[:, None, None].expand(2, 8, 9),
            rtol=0,
            atol=1e-6,
        )
        torch.testing.assert_close(
            b[0],
            torch.tensor([0.2, 0.9], dtype=torch.float64)[:, None, None].expand(2, 8, 9),
            rtol=0,
            atol=1e-6,
        )


# --- affine_projection ------------------------------------------------------------------------------


class TestAffineProjection:
    def test_smoke(self) -> None:
        content, result = rand(1, 3, 5, 6, seed=0), rand(1, 3, 5, 6, seed=1)
        out = affine_projection(result, content, 2)
        assert out.shape == result.shape and out.dtype == result.dtype
        assert out.min() >= 0 and out.max() <= 1

    @pytest.mark.parametrize(("b", "g", "c"), [(2, 3, 1), (1, 1, 2), (3, 3, 3)])
    def test_cardinality(self, b: int, g: int, c: int) -> None:
        out = affine_projection(rand(b, c, 5, 6, seed=2), rand(b, g, 5, 6, seed=3), 1)
        assert out.shape == (b, c, 5, 6)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"radius": 0}, "radius must be an integer >= 1"),
            ({"eps": float("inf")}, "eps must be a finite number > 0"),
            ({"passes": -2}, "affine_projection: passes must be >= 0, got -2"),
            ({"content": torch.rand(1, 2, 5, 6)}, "affine_projection: content must have 1 or 3 channels"),
            ({"result": torch.rand(1, 3, 5, 6).double()}, r"content \(torch.float32, cpu\) and result"),
            ({"result": np.zeros((1, 3, 5, 6))}, "result must be a torch.Tensor, got ndarray"),
        ],
    )
    def test_exception(self, kwargs: dict, match: str) -> None:
        args = {"result": torch.rand(1, 3, 5, 6), "content": torch.rand(1, 3, 5, 6), "passes": 1}
        with pytest.raises(ValueError, match=match):
            affine_projection(**{**args, **kwargs})

    def test_gradcheck(self) -> None:
        # results kept well inside (0, 1): the clamp is inactive, so the map is smooth there
        content = rand(1, 3, 4, 5, seed=4).requires_grad_()
        result = (0.3 + 0.4 * rand(1, 3, 4, 5, seed=5)).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda r, c: affine_projection(r, c, 2, 1, 0.05), (result, content), eps=1e-6, atol=1e-5
        )

    @pytest.mark.parametrize(("passes", "radius"), [(1, 1), (3, 1), (2, 2)])
    def test_equals_naive_reference(self, passes: int, radius: int) -> None:
        content, result = rand(2, 3, 5, 6, seed=6), 1.2 * rand(2, 3, 5, 6, seed=7) - 0.1  # some clipping
        expected = result.numpy()
        for _ in range(passes):
            expected = np.stack(
                [
                    np.clip(ref.guided_filter(content[i].numpy(), expected[i], radius, 1e-3), 0, 1)
                    for i in range(2)
                ]
            )
        got = affine_projection(result, content, passes, radius, 1e-3)
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-10)

    @PROPERTY
    @given(inputs=guided_inputs(), value=st.floats(0.0, 1.0), passes=st.integers(0, 3))
    def test_property_constant_result_is_unchanged(self, inputs: tuple, value: float, passes: int) -> None:
        content, src, radius, eps = inputs
        const = torch.full_like(src, value)
        torch.testing.assert_close(
            affine_projection(const, content, passes, radius, eps), const, rtol=0, atol=1e-9
        )


# --- refine_detail ----------------------------------------------------------------------------------


class TestRefineDetail:
    def test_smoke(self) -> None:
        content, result = rand(1, 3, 5, 6, seed=0), rand(1, 3, 5, 6, seed=1)
        out = refine_detail(result, content, radius=1, eps=1e-2)
        assert out.shape == result.shape and out.dtype == result.dtype
        assert out.min() >= 0 and out.max() <= 1

    @pytest.mark.parametrize(("b", "c"), [(2, 1), (1, 2), (3, 3)])
    def test_cardinality(self, b: int, c: int) -> None:
        assert refine_detail(rand(b, c, 7, 4, seed=2), rand(b, c, 7, 4, seed=3), 2).shape == (b, c, 7, 4)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"radius": 0}, "radius must be an integer >= 1"),
            ({"eps": float("nan")}, "eps must be a finite number > 0"),
            (
                {"content": torch.rand(2, 3, 5, 6)},
                "refine_detail: .* must have the same batch size, channels and H x W",
            ),
            ({"content": torch.rand(1, 3, 5, 7)}, "same batch size, channels and H x W"),
            ({"content": torch.rand(1, 3, 5, 6).double()}, "must share dtype and device"),
            ({"content": torch.ones(1, 3, 5, 6, dtype=torch.int32)}, "content must be float32 or float64"),
        ],
    )
    def test_exception(self, kwargs: dict, match: str) -> None:
        args = {"result": torch.rand(1, 3, 5, 6), "content": torch.rand(1, 3, 5, 6)}
        with pytest.raises(ValueError, match=match):
            refine_detail(**{**args, **kwargs})

    def test_gradcheck(self) -> None:
        # mid-grey inputs with small detail: result + detail stays inside (0, 1), the clamp is inactive
        content = (0.4 + 0.2 * rand(1, 2, 4, 5, seed=4)).requires_grad_()
        result = (0.4 + 0.2 * rand(1, 2, 4, 5, seed=5)).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda r, c: refine_detail(r, c, 1, 0.01), (result, content), eps=1e-6, atol=1e-5
        )

    @pytest.mark.parametrize(("radius", "eps"), [(1, 1e-2), (2, 1e-3), (6, 0.1)])
    def test_equals_naive_reference(self, radius: int, eps: float) -> None:
        content, result = rand(2, 2, 5, 6, seed=6), rand(2, 2, 5, 6, seed=7)
        c = content.numpy()
        base = np.stack(
            [
                np.concatenate(
                    [ref.guided_filter(c[i, k : k + 1], c[i, k : k + 1], radius, eps) for k in range(2)]
                )
                for i in range(2)
            ]
        )
        got = refine_detail(result, content, radius, eps)
        np.testing.assert_allclose(got.numpy(), np.clip(result.numpy() + c - base, 0, 1), rtol=0, atol=1e-11)

    @PROPERTY
    @given(inputs=guided_inputs(), shift=st.floats(-0.5, 0.5))
    def test_property_detail_ignores_a_brightness_shift(self, inputs: tuple, shift: float) -> None:
        # the self-guided filter commutes with p -> p + t, so content - smooth(content) does not change
        content, _, radius, eps = inputs
        result = rand(*content.shape, seed=9)
        torch.testing.assert_close(
            refine_detail(result, content + shift, radius, eps),
            refine_detail(result, content, radius, eps),
            rtol=0,
            atol=1e-9,
        )
