from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import torch

from dpst.ops.laplacian import LaplacianTerm, matting_laplacian, photorealism_loss
from tests.ops._reference import matting_laplacian as naive_laplacian


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
