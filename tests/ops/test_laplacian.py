"""dpst.ops.laplacian: matting_laplacian, LaplacianTerm and photorealism_loss.

The first tests check the dense per-window reference (eq. 12) at four sizes, symmetry / row sums / PSD
on one image each, the near null space, the loss value and gradient, gradcheck through LaplacianTerm
and most bad inputs.  The battery after them adds Levin's energy (eq. 3, the cost the Laplacian was
derived from) as a second, independent reference, golden values, invariances, and the properties over
random images, flat and quantised ones included.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dpst.ops.laplacian import LaplacianTerm, matting_laplacian, photorealism_loss

from . import _reference as ref
from ._reference import PROPERTY
from ._reference import matting_laplacian as naive_laplacian


def image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3))


@pytest.mark.parametrize(
    ("h", "w", "r", "eps"), [(5, 6, 1, 1e-7), (4, 3, 1, 1e-2), (6, 5, 2, 1e-7), (7, 8, 2, 1e-4)]
)
def test_equals_naive_reference(h: int, w: int, r: int, eps: float) -> None:
    img = image(h, w, seed=h * w)
    ref = naive_laplacian(img, eps, r)
    lap = matting_laplacian(img, eps=eps, radius=r)
    assert isinstance(lap, scipy.sparse.csr_matrix)
    assert lap.shape == (h * w, h * w) and lap.dtype == np.float64
    np.testing.assert_allclose(lap.toarray(), ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    # every pixel pair within Chebyshev distance 2r shares a window: the sparsity is the full band
    assert lap.nnz == np.count_nonzero(ref)


def test_flat_and_quantised_regions_match_reference() -> None:
    # flat patches make Sigma_k ~ 0, where (Sigma_k + eps/n)^-1 ~ 1e8: the cancellation-prone case
    img = np.round(image(6, 7, seed=1) * 4) / 4
    img[:3, :4] = 0.5
    ref = naive_laplacian(img)
    np.testing.assert_allclose(matting_laplacian(img).toarray(), ref, rtol=0, atol=1e-7 * np.abs(ref).max())


def test_symmetric_and_rows_sum_to_zero() -> None:
    lap = matting_laplacian(image(9, 11))
    scale = abs(lap).max()
    assert abs(lap - lap.T).max() <= 1e-12 * scale
    assert np.abs(lap @ np.ones(lap.shape[0])).max() <= 1e-10 * scale


def test_positive_semidefinite() -> None:
    lap = matting_laplacian(image(6, 7)).toarray()
    assert np.linalg.eigvalsh(lap).min() >= -1e-8 * np.abs(lap).max()


def test_image_channels_and_constant_are_near_null_space() -> None:
    img = image(8, 9, seed=3)
    lap = matting_laplacian(img)
    norm = np.linalg.norm(lap.toarray(), 2)
    for v in [np.ones(72), *(img[..., c].reshape(-1) for c in range(3))]:
        # with eps -> 0 these are exactly in the null space; eps = 1e-7 leaves ~ eps / lambda_min(Sigma)
        assert np.linalg.norm(lap @ v) <= 1e-5 * norm * np.linalg.norm(v)
    # a generic image is not: the test above has teeth
    v = image(8, 9, seed=4)[..., 0].reshape(-1)
    assert np.linalg.norm(lap @ v) > 1e-2 * norm * np.linalg.norm(v)


def test_nonzeros_of_a_large_image() -> None:
    h, w = 40, 30
    lap = matting_laplacian(image(h, w))
    # (4r+1)^2 = 25 entries per pixel, minus neighbours outside the image
    assert lap.nnz == (5 * h - 6) * (5 * w - 6)


@pytest.mark.parametrize(
    ("bad", "kwargs", "match"),
    [
        (np.zeros((5, 5)), {}, r"\(H, W, 3\)"),
        (np.zeros((5, 5, 4)), {}, r"\(H, W, 3\)"),
        (np.zeros((5, 5, 3), dtype=np.uint8), {}, "float"),
        (np.full((5, 5, 3), np.nan), {}, "NaN"),
        (np.zeros((2, 5, 3)), {}, "smaller than one 3x3 window"),
        (np.zeros((5, 5, 3)), {"radius": 0}, "radius"),
        (np.zeros((5, 5, 3)), {"eps": 0.0}, "eps"),
    ],
)
def test_bad_input_raises(bad: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        matting_laplacian(bad, **kwargs)


# --- the loss -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, scipy.sparse.csr_matrix]:
    img = image(6, 7, seed=5)
    return img, matting_laplacian(img, eps=1e-4)


@pytest.mark.parametrize("backend", ["scipy", "torch"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_loss_value_and_gradient(small: tuple, backend: str, dtype: torch.dtype) -> None:
    _, lap = small
    x = torch.rand(1, 3, 6, 7, dtype=dtype, generator=torch.Generator().manual_seed(0), requires_grad=True)
    loss = LaplacianTerm(lap, backend=backend)(x, weight=0.3)
    v = x.detach().double().reshape(3, -1).numpy()
    lv = lap @ v.T  # (N, 3)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert loss.ndim == 0 and loss.dtype == dtype
    np.testing.assert_allclose(loss.item(), 0.3 * np.sum(v.T * lv), rtol=tol)
    loss.backward()
    np.testing.assert_allclose(
        x.grad.reshape(3, -1).double().numpy(), 0.6 * lv.T, rtol=tol, atol=tol * np.abs(lv).max()
    )


def test_loss_gradient_matches_autograd_of_dense_quadratic_form(small: tuple) -> None:
    _, lap = small
    dense = torch.from_numpy(lap.toarray())
    x = torch.rand(3, 6, 7, dtype=torch.float64, requires_grad=True)
    photorealism_loss(x, lap, weight=2.0).backward()
    ours = x.grad.clone()
    x.grad = None
    v = x.reshape(3, -1)
    (2.0 * torch.einsum("ci,ij,cj->", v, dense, v)).backward()
    torch.testing.assert_close(ours, x.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["scipy", "torch"])
def test_loss_gradcheck(backend: str) -> None:
    lap = matting_laplacian(image(3, 4, seed=6), eps=1e-3)
    term = LaplacianTerm(lap, backend=backend)
    x = torch.rand(1, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: term(t, weight=0.7), (x,), eps=1e-6, atol=1e-6)


def test_content_photo_has_near_zero_loss(small: tuple) -> None:
    img, lap = small
    x = torch.from_numpy(img).permute(2, 0, 1)
    noise = torch.rand_like(x)
    assert photorealism_loss(x, lap) < 1e-3 * photorealism_loss(noise, lap)


def test_loss_bad_input_raises(small: tuple) -> None:
    _, lap = small
    term = LaplacianTerm(lap)
    with pytest.raises(ValueError, match="at the size of x"):
        term(torch.rand(1, 3, 7, 6 + 1))
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        term(torch.rand(2, 3, 6, 7))
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        term(torch.rand(1, 4, 6, 7))
    with pytest.raises(ValueError, match="float"):
        term(torch.zeros(1, 3, 6, 7, dtype=torch.int64))
    with pytest.raises(ValueError, match="square scipy sparse"):
        LaplacianTerm(lap.toarray())
    with pytest.raises(ValueError, match="backend"):
        LaplacianTerm(lap, backend="cupy")


@st.composite
def laplacian_inputs(draw) -> tuple[np.ndarray, float, int]:
    """``(image, eps, radius)``: images up to 7x7 of arbitrary values in [0, 1], repeats and flat patches
    included (hypothesis likes 0, 1 and repeated values), eps from 1e-7 (the paper's) to 1e-2."""
    radius = draw(st.integers(1, 2))
    side = st.integers(2 * radius + 1, 7)
    shape = (draw(side), draw(side), 3)
    elements = st.floats(0.0, 1.0, allow_subnormal=False) | st.sampled_from([0.0, 0.25, 0.5, 1.0])
    img = draw(hnp.arrays(np.float64, shape, elements=elements))
    return img, draw(st.sampled_from([1e-7, 1e-5, 1e-2])), radius


class TestMattingLaplacian:
    def test_smoke(self) -> None:
        lap = matting_laplacian(image(5, 6))
        assert isinstance(lap, scipy.sparse.csr_matrix)
        assert lap.shape == (30, 30) and lap.dtype == np.float64
        assert lap.has_sorted_indices and np.isfinite(lap.data).all()

    @pytest.mark.parametrize(("h", "w", "r"), [(3, 3, 1), (3, 8, 1), (5, 5, 2), (9, 5, 2)])
    def test_cardinality(self, h: int, w: int, r: int) -> None:
        lap = matting_laplacian(image(h, w), radius=r)
        assert lap.shape == (h * w, h * w)
        # one entry per neighbour at Chebyshev distance <= 2r inside the image
        per_row = [min(y + 2 * r, h - 1) - max(y - 2 * r, 0) + 1 for y in range(h)]
        per_col = [min(x + 2 * r, w - 1) - max(x - 2 * r, 0) + 1 for x in range(w)]
        assert lap.nnz == sum(per_row) * sum(per_col)

    def test_float32_image_gives_the_float64_matrix_of_its_values(self) -> None:
        img = image(5, 6).astype(np.float32)
        lap32, lap64 = matting_laplacian(img, eps=1e-4), matting_laplacian(img.astype(np.float64), eps=1e-4)
        assert lap32.dtype == np.float64
        np.testing.assert_array_equal(lap32.toarray(), lap64.toarray())

    @pytest.mark.parametrize(
        ("bad", "kwargs", "match"),
        [
            (np.zeros(5), {}, r"matting_laplacian expects an \(H, W, 3\) colour image, got shape \(5,\)"),
            (np.zeros((5, 5, 3)), {"eps": -1e-3}, r"eps must be > 0 and finite \(it keeps the window cov"),
            (np.zeros((5, 5, 3)), {"eps": float("nan")}, "eps must be > 0"),
            (np.zeros((5, 5, 3)), {"radius": 1.5}, "radius must be an integer >= 1, got 1.5"),
            (np.full((5, 5, 3), np.inf), {}, "NaN or infinite"),
            (np.zeros((5, 9, 3)), {"radius": 3}, "image of 5x9 px is smaller than one 7x7 window"),
            (np.zeros((5, 5, 3), dtype=np.int64), {}, "float image in"),
        ],
    )
    def test_exception(self, bad: np.ndarray, kwargs: dict, match: str) -> None:
        with pytest.raises(ValueError, match=match):
            matting_laplacian(bad, **kwargs)

    @pytest.mark.filterwarnings("ignore::RuntimeWarning")
    def test_infinite_eps_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="eps"):
            lap = matting_laplacian(image(4, 5), eps=float("inf"))
            assert np.isfinite(lap.data).all()  # (a finite limit would also do; NaN is the bug)

    def test_golden_constant_image(self) -> None:
        # a flat image: every window's colours equal their mean, so each window adds I - 11^T / n
        # whatever eps; a 3x4 image has two 3x3 windows, columns 0-2 and 1-3
        lap = matting_laplacian(np.full((3, 4, 3), 0.3)).toarray()
        expected = np.zeros((12, 12))
        for x0 in (0, 1):
            idx = [y * 4 + x for y in range(3) for x in range(x0, x0 + 3)]
            expected[np.ix_(idx, idx)] += np.eye(9) - 1.0 / 9
        np.testing.assert_allclose(lap, expected, rtol=0, atol=1e-15)

    @pytest.mark.parametrize(("h", "w", "r", "eps"), [(5, 6, 1, 1e-2), (5, 6, 1, 1e-5), (6, 7, 2, 1e-3)])
    def test_quadratic_form_equals_levin_energy(self, h: int, w: int, r: int, eps: float) -> None:
        # Levin et al. 2006, theorem 1: alpha^T L alpha = sum_k min_{a,b} |alpha_k - a^T I - b|^2 + eps |a|^2
        img = image(h, w, seed=h + w)
        lap = matting_laplacian(img, eps=eps, radius=r)
        for seed in range(3):
            alpha = np.random.default_rng(seed).random((h, w))
            want = ref.matting_energy(img, alpha, eps, r)
            np.testing.assert_allclose(alpha.reshape(-1) @ (lap @ alpha.reshape(-1)), want, rtol=1e-9)

    @PROPERTY
    @given(inputs=laplacian_inputs(), seed=st.integers(0, 2**16))
    def test_property_symmetric_psd_with_constants_in_the_null_space(self, inputs: tuple, seed: int) -> None:
        img, eps, radius = inputs
        lap = matting_laplacian(img, eps=eps, radius=radius)
        dense = lap.toarray()
        scale = np.abs(dense).max()
        n = dense.shape[0]
        np.testing.assert_allclose(dense, dense.T, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(lap @ np.ones(n), 0.0, rtol=0, atol=1e-9 * scale)
        x = np.random.default_rng(seed).standard_normal((n, 4))
        assert (np.einsum("ik,ik->k", x, dense @ x) >= -1e-9 * scale * (x * x).sum(0)).all()
        assert np.linalg.eigvalsh(dense).min() >= -1e-9 * scale

    @pytest.mark.parametrize("kind", ["one dark pixel", "random greys"])
    def test_grey_image_equals_dense_reference(self, kind: str) -> None:
        # all channels equal: every window's colour covariance has rank 1, so Sigma + eps/|w| has two
        # eigenvalues of 1e-8; the cofactor inverse lost 3e-3 of its determinant there and moved entries
        # by 1e-2 (found by the property test below on a white 6x6 image with one black pixel)
        if kind == "one dark pixel":
            img = np.ones((6, 6, 3))
            img[5, 4] = 0.0
        else:
            img = np.repeat(np.random.default_rng(3).random((7, 6, 1)), 3, axis=2)
        want = ref.matting_laplacian(img, 1e-7, 1)
        got = matting_laplacian(img, eps=1e-7).toarray()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-7 * np.abs(want).max())

    @PROPERTY
    @given(inputs=laplacian_inputs())
    def test_property_equals_dense_reference(self, inputs: tuple) -> None:
        img, eps, radius = inputs
        want = ref.matting_laplacian(img, eps, radius)
        got = matting_laplacian(img, eps=eps, radius=radius).toarray()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-7 * np.abs(want).max())

    @PROPERTY
    @given(
        seed=st.integers(0, 2**16),
        shift=hnp.arrays(np.float64, 3, elements=st.floats(-1.0, 1.0)),
        scale=st.floats(0.5, 2.0),
    )
    def test_property_invariant_to_rigid_changes_of_colour_space(
        self, seed: int, shift: np.ndarray, scale: float
    ) -> None:
        # (I_i - mu)^T (Sigma + eps/n)^-1 (I_j - mu) is unchanged by I -> s Q I + t when eps -> s^2 eps
        rng = np.random.default_rng(seed)
        img = rng.random((5, 6, 3))
        q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        lap = matting_laplacian(img, eps=1e-3).toarray()
        moved = matting_laplacian(scale * img @ q.T + shift, eps=1e-3 * scale**2).toarray()
        np.testing.assert_allclose(moved, lap, rtol=0, atol=1e-9 * np.abs(lap).max())

    def test_flipped_image_gives_the_permuted_matrix(self) -> None:
        img = image(5, 6, seed=1)
        perm = np.arange(30).reshape(5, 6)[:, ::-1].reshape(-1)  # pixel i of the flip is pixel perm[i]
        lap = matting_laplacian(img, eps=1e-5).toarray()
        flipped = matting_laplacian(img[:, ::-1], eps=1e-5).toarray()
        np.testing.assert_allclose(flipped, lap[np.ix_(perm, perm)], rtol=0, atol=1e-12 * np.abs(lap).max())


# --- the loss -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def content() -> tuple[np.ndarray, scipy.sparse.csr_matrix]:
    img = image(4, 5, seed=2)
    return img, matting_laplacian(img, eps=1e-3)


class TestPhotorealismLoss:
    def test_smoke(self, content: tuple) -> None:
        _, lap = content
        loss = photorealism_loss(torch.rand(1, 3, 4, 5), lap)
        assert isinstance(loss, torch.Tensor)
        assert loss.ndim == 0 and loss.dtype == torch.float32 and loss.item() >= 0

    @pytest.mark.parametrize("shape", [(1, 3, 4, 5), (3, 4, 5)])
    @pytest.mark.parametrize("backend", ["scipy", "torch"])
    def test_module_equals_function(self, content: tuple, shape: tuple, backend: str) -> None:
        _, lap = content
        x = torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        term = LaplacianTerm(lap, backend=backend)
        want = photorealism_loss(x, lap, weight=0.5)
        torch.testing.assert_close(term(x, weight=0.5), want, rtol=1e-12, atol=0)
        torch.testing.assert_close(photorealism_loss(x, term, weight=0.5), want, rtol=1e-12, atol=0)
        torch.testing.assert_close(
            LaplacianTerm(lap.tocoo(), backend=backend)(x, 0.5), want, rtol=1e-12, atol=0
        )
        torch.testing.assert_close(
            photorealism_loss(x.reshape(1, 3, 4, 5), lap, 0.5), want, rtol=1e-12, atol=0
        )

    def test_gradcheck(self, content: tuple) -> None:
        # through photorealism_loss with a scipy matrix (LaplacianTerm built on every call), (3, H, W) input
        _, lap = content
        x = torch.rand(
            3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
        ).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda t: photorealism_loss(t, lap, weight=1.5), (x,), eps=1e-6, atol=1e-6
        )

    def test_equals_levin_energy_of_each_channel(self, content: tuple) -> None:
        # eq. 2 of Luan et al.: sum_c V_c^T L V_c, each term the matting energy of one channel
        img, lap = content
        x = np.random.default_rng(3).random((4, 5, 3))
        want = 0.7 * sum(ref.matting_energy(img, x[..., c], 1e-3, 1) for c in range(3))
        got = photorealism_loss(torch.from_numpy(x).permute(2, 0, 1).contiguous(), lap, weight=0.7)
        np.testing.assert_allclose(got.item(), want, rtol=1e-10)

    @pytest.mark.parametrize(
        ("x", "match"),
        [
            (torch.rand(4, 4, 5), r"expects x of shape \(1, 3, H, W\) or \(3, H, W\), got \(4, 4, 5\)"),
            (torch.rand(3, 4, 6), "x has 4x6 = 24 pixels but the Laplacian is 20x20"),
            (torch.rand(1, 3, 4, 4), "x has 4x4 = 16 pixels but the Laplacian is 20x20"),
            (torch.rand(1, 1, 3, 4, 5), r"got \(1, 1, 3, 4, 5\)"),
        ],
    )
    def test_exception(self, content: tuple, x: torch.Tensor, match: str) -> None:
        _, lap = content
        with pytest.raises(ValueError, match=match):
            photorealism_loss(x, lap)

    @pytest.mark.xfail(
        reason="LaplacianTerm checks only H*W against the matrix size: a transposed (W x H) image with the "
        "same pixel count is accepted and silently paired with the wrong pixels",
        strict=True,
    )
    def test_transposed_image_is_rejected(self, content: tuple) -> None:
        _, lap = content  # the Laplacian of a 4x5 photo
        with pytest.raises(ValueError, match="at the size of x"):
            photorealism_loss(torch.rand(3, 5, 4), lap)

    def test_exception_device_and_matrix(self, content: tuple) -> None:
        _, lap = content
        with pytest.raises(ValueError, match="x is on cpu but this LaplacianTerm was built for meta"):
            LaplacianTerm(lap, device="meta")(torch.rand(3, 4, 5))
        with pytest.raises(ValueError, match="square scipy sparse matrix"):
            LaplacianTerm(scipy.sparse.csr_matrix((20, 21)))
        with pytest.raises(ValueError, match="got list"):
            photorealism_loss(torch.rand(3, 4, 5), [[0.0]])

    @PROPERTY
    @given(
        seed=st.integers(0, 2**16),
        offset=hnp.arrays(np.float64, 3, elements=st.floats(-1.0, 1.0)),
        weight=st.floats(0.0, 10.0),
    )
    def test_property_nonnegative_scaled_and_blind_to_constant_offsets(
        self, content: tuple, seed: int, offset: np.ndarray, weight: float
    ) -> None:
        _, lap = content
        term = LaplacianTerm(lap)
        x = torch.rand(1, 3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        base = term(x).item()
        assert base >= 0
        np.testing.assert_allclose(term(x, weight).item(), weight * base, rtol=1e-12, atol=1e-300)
        shifted = term(x + torch.from_numpy(offset)[:, None, None]).item()  # L 1 = 0
        np.testing.assert_allclose(shifted, base, rtol=1e-8, atol=1e-10)
