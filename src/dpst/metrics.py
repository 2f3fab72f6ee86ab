"""Quality metrics of a photorealistic style transfer result (all lower-is-better).

The definitions are those of the project's scoring script ``shared/eval/photometrics.py``, so that
numbers computed here and there can be compared directly:

``affine_rms``
    Photorealism.  RMS residual, in 8-bit grey levels, of the best affine colour map
    ``output ≈ A·content + b`` fitted in every 3×3 window: the local affine model behind the
    matting Laplacian of Levin et al., which the paper's photorealism term (Eq. 2-3) enforces.
``style_swd``
    Colour match per region.  Sliced Wasserstein-1 distance in CIELAB between the output's pixels
    under each content label and the style's pixels under the same label, area-weighted, ×2.55 so
    that it reads in 8-bit-like units.
``style_gram``
    Texture match per region, as the paper's augmented style loss (Eq. 4) sees it.  Relative
    Frobenius distance between masked Gram matrices of output and style at relu1_1..relu5_1,
    averaged over the layers, area-weighted over labels, ×100.

Labels come from the colour-coded masks of the DPST release (see :mod:`dpst.ops.palette`); without masks the
whole image is one region.  Images are float arrays (H, W, 3) with values in [0, 1].
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.ndimage import uniform_filter
from scipy.optimize import linear_sum_assignment

from . import io
from .neural.vgg import VGGFeatures, load_weights
from .ops.lab import srgb_to_lab
from .ops.palette import labels_from_colors
from .ops.tensor import to_tensor

ImageLike = str | os.PathLike | Image.Image | np.ndarray
GRAM_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
MIN_PIXELS = 200  # a label smaller than this (in output or style) is left out of the style metrics


# ---------------------------------------------------------------------------------------------------
# affine_rms


def _box(x: np.ndarray, size: int) -> np.ndarray:
    """Mean over a size×size window of each channel of (H, W, ...), reflecting at the borders."""
    return uniform_filter(x, size=(size, size) + (1,) * (x.ndim - 2), mode="reflect")


def affine_rms(content: np.ndarray, output: np.ndarray, radius: int = 1, eps: float = 1e-4) -> float:
    """RMS residual (0..255) of the best local affine fit ``output ≈ A·content + b``.

    In each (2r+1)² window the fit is ridge-regularised least squares (``eps`` on the diagonal of the
    content covariance, as in the matting Laplacian); the residual variance per pixel and channel is
    ``var_p − cov_Ipᵀ (cov_I + eps·Id)⁻¹ cov_Ip``, clipped at 0, averaged over pixels and channels.

    Args:
        content: (H, W, 3) float in [0, 1].
        output: (H, W, 3) float in [0, 1], same size as ``content``.
    """
    I, p = _check_rgb(content, "content"), _check_rgb(output, "output")  # noqa: E741 (the paper's names)
    if I.shape != p.shape:
        raise ValueError(
            f"content {I.shape} and output {p.shape} must have the same shape; resize the output first"
        )
    size = 2 * radius + 1
    h, w = I.shape[:2]
    mean_I, mean_p = _box(I, size), _box(p, size)  # H, W, 3
    cov_I = _box((I[..., :, None] * I[..., None, :]).reshape(h, w, 9), size).reshape(h, w, 3, 3)
    cov_I -= mean_I[..., :, None] * mean_I[..., None, :]  # H, W, 3, 3
    cov_Ip = _box((I[..., :, None] * p[..., None, :]).reshape(h, w, 9), size).reshape(h, w, 3, 3)
    cov_Ip -= mean_I[..., :, None] * mean_p[..., None, :]  # H, W, 3 (content), 3 (output)
    var_p = _box(p * p, size) - mean_p * mean_p  # H, W, 3
    a = np.linalg.solve(cov_I + eps * np.eye(3), cov_Ip)  # H, W, 3, 3: the affine map per window
    explained = (cov_Ip * a).sum(-2)  # H, W, 3
    residual = np.clip(var_p - explained, 0.0, None).mean(axis=(0, 1))  # per channel
    return float(np.sqrt(residual.mean()) * 255.0)


# ---------------------------------------------------------------------------------------------------
# style_swd


def sliced_w1(a: np.ndarray, b: np.ndarray, n_proj: int = 64, n_pts: int = 4096, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between point sets a (N, D) and b (M, D).

    Sets larger than ``n_pts`` are subsampled (with replacement); each of ``n_proj`` random unit
    directions compares 256 evenly spaced quantiles of the projections.  The random draws (a's sample,
    b's sample, the directions, in that order, from one generator seeded with ``seed``) are part of
    the definition: they make the number reproducible and equal to photometrics.py's."""
    rng = np.random.default_rng(seed)
    if len(a) > n_pts:
        a = a[rng.choice(len(a), n_pts)]
    if len(b) > n_pts:
        b = b[rng.choice(len(b), n_pts)]
    dirs = rng.normal(size=(n_proj, a.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    levels = np.linspace(0.0, 1.0, 256)
    qa = np.quantile(a @ dirs.T, levels, axis=0)  # 256, n_proj
    qb = np.quantile(b @ dirs.T, levels, axis=0)
    return float(np.abs(qa - qb).mean())


def _shared_labels(out_labels: np.ndarray, style_labels: np.ndarray, min_px: int) -> list[int]:
    """Labels (≥ 0, ascending) with at least ``min_px`` pixels in both label maps."""
    ids, counts = np.unique(out_labels[out_labels >= 0], return_counts=True)
    return [
        int(k)
        for k, n in zip(ids, counts, strict=True)
        if n >= min_px and (style_labels == k).sum() >= min_px
    ]


def style_swd(
    output: np.ndarray,
    style: np.ndarray,
    out_labels: np.ndarray,
    style_labels: np.ndarray,
    min_px: int = MIN_PIXELS,
) -> float:
    """Per-region colour distance: sliced W1 in CIELAB, area-weighted over shared labels, ×2.55.

    Args:
        output: (H, W, 3) float in [0, 1]; out_labels: (H, W) int, -1 = unlabelled.
        style: (Hs, Ws, 3) float in [0, 1]; style_labels: (Hs, Ws) int.
        min_px: labels with fewer pixels in either image are ignored.  If no label is left the whole
            images are compared.
    """
    output, style = _check_rgb(output, "output"), _check_rgb(style, "style")
    _check_labels(out_labels, output, "out_labels")
    _check_labels(style_labels, style, "style_labels")
    lab_o, lab_s = srgb_to_lab(output), srgb_to_lab(style)
    ids = _shared_labels(out_labels, style_labels, min_px)
    if not ids:
        # Departure: photometrics.py drops the ×2.55 in this fallback (no shared label), which puts
        # the number on another scale; we keep one unit everywhere.  Never reached on pairs with masks
        # that share a label, nor without masks.
        return sliced_w1(lab_o.reshape(-1, 3), lab_s.reshape(-1, 3)) * 2.55
    areas = np.array([(out_labels == k).sum() for k in ids], dtype=np.float64)
    dists = np.array([sliced_w1(lab_o[out_labels == k], lab_s[style_labels == k]) for k in ids])
    # 100 Lab units span the lightness range; ×2.55 reads like 8-bit grey levels.
    return float((areas * dists).sum() / areas.sum() * 2.55)


# ---------------------------------------------------------------------------------------------------
# style_gram


@functools.lru_cache(maxsize=1)
def default_net() -> VGGFeatures:
    """The VGG-19 of :func:`dpst.neural.vgg.load_weights`, built once on first use.

    Raises :class:`dpst.errors.WeightsError` when no weights are installed."""
    return VGGFeatures(load_weights())


def masked_grams(
    image: np.ndarray, labels: np.ndarray, ids: list[int], net: VGGFeatures
) -> dict[int, list[torch.Tensor]]:
    """Gram matrices of the features under each label, one (C, C) per layer of ``GRAM_LAYERS``.

    ``G = (F·m)(F·m)ᵀ / Σm`` with the label's mask ``m`` shrunk to the layer's size by area
    averaging (Eq. 4's masked Gram, normalised by the mask's mass instead of the pixel count)."""
    device = net.input.weight.device
    x = to_tensor(image, device)
    lab = torch.from_numpy(np.ascontiguousarray(labels)).to(device)
    masks = torch.stack([(lab == k).float() for k in ids])[None]  # 1, K, H, W
    grams: dict[int, list[torch.Tensor]] = {k: [] for k in ids}
    with torch.no_grad():
        feats = net(x, GRAM_LAYERS)
        for layer in GRAM_LAYERS:
            f = feats[layer][0]  # C, h, w
            m = F.interpolate(masks, size=f.shape[1:], mode="area")[0]  # K, h, w
            for k, mk in zip(ids, m, strict=True):
                fm = (f * mk).flatten(1)  # C, h*w
                grams[k].append(fm @ fm.T / mk.sum().clamp_min(1e-6))
    return grams


def _relative_distance(grams: list[torch.Tensor], targets: list[torch.Tensor]) -> float:
    """Mean over layers of ``‖G − T‖_F / ‖T‖_F``."""
    return float(
        np.mean(
            [
                float(torch.linalg.norm(g - t) / torch.linalg.norm(t).clamp_min(1e-9))
                for g, t in zip(grams, targets, strict=True)
            ]
        )
    )


def style_gram(
    output: np.ndarray,
    style: np.ndarray,
    out_labels: np.ndarray,
    style_labels: np.ndarray,
    net: VGGFeatures | None = None,
    min_px: int = MIN_PIXELS,
) -> float:
    """Per-region texture distance: ``‖G_out − G_style‖_F / ‖G_style‖_F`` averaged over relu1_1..
    relu5_1, area-weighted over shared labels, ×100.

    Args: as :func:`style_swd`; ``net`` a :class:`dpst.neural.vgg.VGGFeatures` (default: :func:`default_net`).
    If no label is shared by both images (with ``min_px`` pixels) the whole images are compared.
    """
    output, style = _check_rgb(output, "output"), _check_rgb(style, "style")
    _check_labels(out_labels, output, "out_labels")
    _check_labels(style_labels, style, "style_labels")
    net = default_net() if net is None else net
    ids = _shared_labels(out_labels, style_labels, min_px)
    if not ids:
        out_labels, style_labels, ids = np.zeros(output.shape[:2], int), np.zeros(style.shape[:2], int), [0]
    g_out = masked_grams(output, out_labels, ids, net)
    g_sty = masked_grams(style, style_labels, ids, net)
    areas = np.array([(out_labels == k).sum() for k in ids], dtype=np.float64)
    dists = np.array([_relative_distance(g_out[k], g_sty[k]) for k in ids])
    return float((areas * dists).sum() / areas.sum() * 100)


# ---------------------------------------------------------------------------------------------------
# score: files in, numbers out


def score(
    content: ImageLike,
    style: ImageLike,
    output: ImageLike,
    content_mask: ImageLike | None = None,
    style_mask: ImageLike | None = None,
    gram: bool = True,
    net: VGGFeatures | None = None,
) -> dict[str, float]:
    """All metrics of one result, from paths, PIL images or (H, W, 3) arrays (uint8, or float in [0, 1]).

    As in photometrics.py, the output is resized to the content's size (bicubic) when they differ and
    the masks to their photo's size (nearest).  Masks are colour-coded like the DPST release; give both
    or neither.  Files and PIL images are read as ``dpst`` reads them (:func:`dpst.io.read_photo`: EXIF
    orientation, the pixel limit, alpha on white, 16-bit at full precision, an embedded colour profile
    converted to sRGB), so for 8-bit RGB files without EXIF orientation, tagged or not, the numbers are
    photometrics.py's.
    Returns ``{"affine_rms", "style_swd"[, "style_gram"]}``."""
    if (content_mask is None) != (style_mask is None):
        raise ValueError("give both content_mask and style_mask, or neither (then each image is one region)")
    c, s = _to_float(_open_any(content, "content")), _to_float(_open_any(style, "style"))
    size, style_size = c.shape[1::-1], s.shape[1::-1]  # (W, H) as PIL wants them
    o = _to_float(_open_any(output, "output"), size=size, resample=Image.Resampling.BICUBIC)
    if content_mask is not None and style_mask is not None:
        out_labels = labels_from_colors(_to_uint8(content_mask, size, "content_mask"))
        style_labels = labels_from_colors(_to_uint8(style_mask, style_size, "style_mask"))
    else:
        out_labels, style_labels = np.zeros(c.shape[:2], np.int64), np.zeros(s.shape[:2], np.int64)
    result = {"affine_rms": affine_rms(c, o), "style_swd": style_swd(o, s, out_labels, style_labels)}
    if gram:
        result["style_gram"] = style_gram(o, s, out_labels, style_labels, net=net)
    return result


def ratios(ours: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """ours / reference per metric both have (lower is better, so a ratio above 1 loses)."""
    return {m: ours[m] / max(reference[m], 1e-12) for m in ours if m in reference}


def losing(ours: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """The metrics on which ``ours`` is worse than ``reference``, with their ratio, worst first."""
    worse = {m: r for m, r in ratios(ours, reference).items() if r > 1}
    return dict(sorted(worse.items(), key=lambda kv: -kv[1]))


def verdict(ours: dict[str, float], reference: dict[str, float], name: str = "the reference") -> str:
    """One line: which metrics lose to ``reference`` and by how much, or that none does."""
    worse = losing(ours, reference)
    if not worse:
        return f"no worse than {name} on all {len(ratios(ours, reference))} metrics"
    return f"worse than {name} on " + ", ".join(f"{m} ({r:.2f}x)" for m, r in worse.items())


# ---------------------------------------------------------------------------------------------------
# input handling


def _check_rgb(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"{what}: expected an H×W×3 image array, got shape {x.shape}")
    return x.astype(np.float64, copy=False)


def _check_labels(labels: np.ndarray, image: np.ndarray, what: str) -> None:
    if np.shape(labels) != image.shape[:2]:
        raise ValueError(
            f"{what}: label map of shape {np.shape(labels)} does not match its image {image.shape[:2]}"
        )


def _open_any(src: ImageLike, what: str) -> Image.Image | np.ndarray:
    """A photo read as ``dpst`` reads it (:func:`dpst.io.read_photo`: EXIF orientation, the pixel limit,
    mode conversions, alpha on white, an embedded colour profile converted to sRGB): an 8-bit PIL RGB
    image for an 8-bit file, so that it is resized in 8 bits exactly as photometrics.py does (which also
    converts a tagged photo to sRGB, at 8 bits, with LittleCMS); or a float64 (H, W, 3) array kept at
    full precision (16-bit and float files, raw files, float arrays)."""
    if isinstance(src, np.ndarray):
        if src.ndim != 3 or src.shape[2] != 3:
            raise ValueError(f"{what}: expected an H×W×3 array, got shape {src.shape}")
        if src.dtype == np.uint8:
            return Image.fromarray(src, "RGB")
        if not np.isfinite(src).all() or src.min() < 0 or src.max() > 1:
            raise ValueError(f"{what}: a float image array must hold values in [0, 1]")
        return src.astype(np.float64)
    if not isinstance(src, (str, os.PathLike, Image.Image, io.Photo)):
        raise ValueError(f"{what}: expected a path, a PIL image or an array, got {type(src).__name__}")
    photo = io.read_photo(src, what)
    if photo.info.depth == 8:  # read from 8 bits: exactly k / 255, so this is the 8-bit image itself
        return io.to_pil(photo.rgb)
    return photo.rgb.astype(np.float64)


def _to_float(
    im: Image.Image | np.ndarray,
    size: tuple[int, int] | None = None,
    resample: int = Image.Resampling.BICUBIC,
) -> np.ndarray:
    """(H, W, 3) float64 in [0, 1], resized to ``size`` = (W, H) when given and different."""
    if isinstance(im, Image.Image):
        if size is not None and im.size != size:
            im = im.resize(size, resample)
        return np.asarray(im, dtype=np.float64) / 255.0
    if size is not None and im.shape[1::-1] != size:
        # float arrays are resized per channel in PIL's 32-bit float mode, so they are not rounded
        chans = [
            np.asarray(Image.fromarray(im[..., k].astype(np.float32)).resize(size, resample))
            for k in range(3)
        ]
        im = np.clip(np.stack(chans, -1), 0.0, 1.0)
    return im.astype(np.float64)


def _to_uint8(src: ImageLike, size: tuple[int, int], what: str) -> np.ndarray:
    """A colour mask read by :func:`dpst.io.load_mask`, as uint8 (H, W, 3) resized to ``size`` = (W, H)
    by nearest neighbour."""
    mask = io.load_mask(src, what)
    if mask.shape[1::-1] != size:
        mask = np.asarray(Image.fromarray(mask, "RGB").resize(size, Image.Resampling.NEAREST))
    return mask


# ---------------------------------------------------------------------------------------------------
# matched_iou: automatic masks against hand-drawn ones


def matched_iou(auto: np.ndarray, hand: np.ndarray, min_share: float = 0.01) -> float:
    """Agreement of automatic labels with hand-drawn ones: the mean IoU over the hand-drawn regions
    after the best one-to-one matching of labels (Hungarian).  Hand regions under ``min_share`` of the
    pixels and unlabelled pixels (< 0) are ignored; a hand region left without a partner counts as
    IoU 0.  Pass the two photos' maps concatenated (flattened) to score one matching for the pair."""
    hand = hand.reshape(-1)
    kh, counts = np.unique(hand[hand >= 0], return_counts=True)
    kh = kh[counts >= min_share * hand.size]
    keep = np.isin(hand, kh)
    a, h = auto.reshape(-1)[keep], hand[keep]
    ka = np.unique(a)
    inter = np.zeros((len(ka), len(kh)))
    np.add.at(inter, (np.searchsorted(ka, a), np.searchsorted(kh, h)), 1.0)
    union = inter.sum(1, keepdims=True) + inter.sum(0, keepdims=True) - inter
    iou = inter / np.maximum(union, 1.0)
    rows, cols = linear_sum_assignment(-iou)
    return float(iou[rows, cols].sum() / len(kh))
