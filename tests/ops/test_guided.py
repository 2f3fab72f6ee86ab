from __future__ import annotations

import numpy as np
import pytest
import torch

from dpst.ops.guided import (
    affine_projection,
    fast_guided_filter,
    guided_coefficients,
    guided_filter,
    refine_detail,
)
from dpst.ops.local_affine import local_affine_filter
from dpst.ops.upsample import affine_upsample
from tests.ops._reference import A, B, global_map, naive_guided_filter, rand


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
