"""A corpus of awkward and broken inputs, through ``dpst.cli.main`` with a tiny random network.

Each input either works correctly (what "correct" is is said beside it) or is refused the way
:mod:`dpst.cli.common` refuses what a user can fix: exit 2, exactly one line on stderr starting
``dpst: error:``, nothing written (no output, no temporary left behind), every input's bytes untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from dpst import io
from tests.conftest import photo
from tests.files import media

FAST = ["--size", "48", "--iterations", "2", "--no-stage2", "--no-filter", "--masks", "none", "-q"]
H, W = 48, 64  # the content photo


def _u8(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(a * 255).astype(np.uint8))


def _mask(h: int, w: int) -> Image.Image:
    """Blue left half, green right half (two of the nine palette colours)."""
    m = np.zeros((h, w, 3), np.uint8)
    m[:, : w // 2] = (0, 0, 255)
    m[:, w // 2 :] = (0, 255, 0)
    return Image.fromarray(m)


@pytest.fixture
def d(tmp_path) -> Path:
    """A folder with a good content photo c.png, style photo s.png and matching masks."""
    _u8(photo(H, W, 0)).save(tmp_path / "c.png")
    _u8(photo(40, 40, 1)).save(tmp_path / "s.png")
    _mask(H, W).save(tmp_path / "cm.png")
    _mask(40, 40).save(tmp_path / "sm.png")
    return tmp_path


pytestmark = pytest.mark.usefixtures("one_thread")


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- refused: exit 2, one line, nothing written, inputs untouched ---------------------------------


def _png_bytes(a: np.ndarray) -> bytes:
    buf = BytesIO()
    _u8(a).save(buf, format="PNG")
    return buf.getvalue()


def _write(name: str, data: bytes | str):
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(data) if isinstance(data, bytes) else p.write_text(data)
        return p

    return make


def _folder(d: Path) -> Path:
    (d / "photo.png").mkdir()
    return d / "photo.png"


def _tiny(d: Path) -> Path:
    Image.new("RGB", (1, 1), (200, 100, 50)).save(d / "dot.png")
    return d / "dot.png"


def _off_palette_mask(d: Path) -> Path:
    # a photo given as a mask: no pixel near any of the nine mask colours, so it would guide nothing
    Image.new("RGB", (W, H), (200, 120, 40)).save(d / "m.png")
    return d / "m.png"


MASKS = ["--content-mask", "cm.png", "--style-mask", "sm.png"]


def _under_file(d: Path) -> Path:
    (d / "somefile.txt").write_text("notes")
    return d / "somefile.txt" / "out.png"


def _tagged(name: str, icc) -> Callable[[Path], Path]:
    """A photo whose embedded ICC profile is ``icc()``'s (tests/files/media.py)."""

    def make(d: Path) -> Path:
        _u8(photo(H, W)).save(d / name, icc_profile=icc())
        return d / name

    return make


def _truncated_heic(d: Path) -> Path:
    pytest.importorskip("pillow_heif")
    from dpst.files.formats import open_heif

    open_heif()
    buf = BytesIO()
    _u8(photo(H, W)).save(buf, "HEIF", quality=90)
    (d / "cut.heic").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return d / "cut.heic"


def _unknown_raw(d: Path) -> Path:
    pytest.importorskip("rawpy")
    (d / "odd.nef").write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    return d / "odd.nef"


# case: (make the bad file in the folder, what the error line says); each is tried as content and style
REFUSED = {
    "corrupt ICC profile": (
        _tagged("badicc.png", lambda: b"not a profile" * 20),
        "ICC colour profile is corrupt",
    ),
    "device-link profile": (
        _tagged("link.jpg", lambda: media.with_class(media.srgb_icc(), device_class=b"link")),
        "is a device link",
    ),
    "CMYK profile on RGB pixels": (
        _tagged("cmyk.png", lambda: media.with_class(media.srgb_icc(), space=b"CMYK")),
        "for CMYK colours but its pixels are RGB",
    ),
    "Lab profile": (
        _tagged("lab.png", lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()),
        "abstract profile",
    ),
    "truncated HEIC": (_truncated_heic, "cannot read image"),
    "raw file LibRaw does not know": (_unknown_raw, "not a raw file LibRaw"),
    "missing file": (lambda d: d / "nope.png", "no such file"),
    "a folder": (_folder, "is a folder, not an image"),
    "zero-byte file": (_write("empty.png", b""), "empty file"),
    "truncated PNG": (_write("cut.png", _png_bytes(photo(H, W))[:300]), "cannot read image"),
    "text named .png": (_write("notes.png", "this is not a picture\n"), "not an image file"),
    "1x1 image": (_tiny, "too small"),
}


@pytest.mark.parametrize("slot", ["content", "style"])
@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_photo_is_refused(d, run, case, slot):
    make, message = REFUSED[case]
    bad = make(d)
    before = _files(d)
    photos = [bad, d / "s.png"] if slot == "content" else [d / "c.png", bad]
    code, err = run(*photos, "-o", d / "o.png")
    _assert_refused(code, err, message, str(bad))
    assert _files(d) == before  # no output, no temporary, inputs byte for byte as they were


@pytest.mark.parametrize(
    "argv, message",
    [
        # a mask in no palette colour at all is refused rather than run unguided: it is surely the
        # wrong file.  (One only partly off the palette runs with a warning, below.)
        (
            lambda d: ["c.png", "s.png", "--content-mask", _off_palette_mask(d), "--style-mask", "sm.png"],
            "no pixel of the mask is one of the nine mask colours",
        ),
        # -o under a regular file: the machine runs as root, so this is the unwritable output to test
        (lambda d: ["c.png", "s.png", "-o", _under_file(d)], "somefile.txt is a file, not a folder"),
        (lambda d: ["c.png", "s.png", "-o", d / "c.png"], "overwrite an input"),
        (lambda d: ["c.png", "s.png", "-o", d / "." / "s.png"], "overwrite an input"),  # another spelling
        (lambda d: ["c.png", "s.png", *MASKS, "-o", "cm.png"], "overwrite an input"),
    ],
    ids=[
        "mask in no palette colour",
        "output under a file",
        "output is the input",
        "output is the style",
        "output is a mask",
    ],
)
def test_bad_mask_or_output_is_refused(d, run, argv, message):
    args = [d / a if isinstance(a, str) and a.endswith(".png") else a for a in argv(d)]
    if "-o" not in args:
        args += ["-o", d / "o.png"]
    before = _files(d)
    code, err = run(*args)
    _assert_refused(code, err, message)
    assert _files(d) == before


def _assert_refused(code: int, err: str, message: str, name: str = "") -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("dpst: error: "), err
    assert message in lines[0] and name in lines[0]


# --- works: the result is what it should be -------------------------------------------------------


def _works(run, d: Path, content: Path, *extra) -> np.ndarray:
    """Run on (content, s.png); the inputs stay untouched; the result as uint8 (h, w, 3)."""
    out = d / "out.png"
    before = {p: b for p, b in _files(d).items() if p != out}
    code, err = run(content, d / "s.png", "-o", out, *extra)
    assert code == 0, err
    assert {p: b for p, b in _files(d).items() if p != out} == before
    with Image.open(out) as im:
        return np.asarray(im.convert("RGB"))


def _save(d: Path, name: str, im: Image.Image, **kw) -> Path:
    im.save(d / name, **kw)
    return d / name


def test_cmyk_jpeg(d, run):
    # CMYK (as print workflows save JPEGs) is converted to RGB: the same picture, not inverted.
    p = _save(d, "k.jpg", _u8(photo(H, W)).convert("CMYK"), quality=95)
    assert np.abs(io.load_image(p) - photo(H, W)).mean() < 0.02
    assert _works(run, d, p).shape == (H, W, 3)


def test_16bit_png_full_precision(d, run):
    # A 16-bit (grey) PNG is read at full precision, scaled by 65535 whatever its range, and the
    # result has the content's size.  (Pillow reads 16-bit *colour* PNGs as 8-bit RGB: a Pillow limit.)
    a = (photo(H, W)[..., 0] * 65535).astype(np.uint16)
    p = _save(d, "g16.png", Image.fromarray(a))
    seen = io.load_image(p)
    np.testing.assert_allclose(seen[..., 1], a / 65535.0, rtol=1e-6)
    assert len(np.unique(seen)) > 256  # more levels than 8 bits hold
    assert _works(run, d, p).shape == (H, W, 3)


def test_palette_png(d, run):
    # a palette ("P") PNG is its palette colours in RGB
    p = _save(d, "p.png", _u8(photo(H, W)).convert("P"))
    assert _works(run, d, p).shape == (H, W, 3)


def test_alpha_png(d, run):
    # alpha is composited on white: a fully transparent left half reads as white, not as the colour
    # hidden under it
    rgba = _u8(photo(H, W)).convert("RGBA")
    alpha = np.full((H, W), 255, np.uint8)
    alpha[:, : W // 2] = 0
    rgba.putalpha(Image.fromarray(alpha))
    p = _save(d, "a.png", rgba)
    assert (io.load_image(p)[:, : W // 2] == 1.0).all()
    assert _works(run, d, p).shape == (H, W, 3)


def test_grayscale(d, run):
    # grey is repeated into the three channels
    p = _save(d, "l.png", _u8(photo(H, W)).convert("L"))
    assert _works(run, d, p).shape == (H, W, 3)


def test_exif_rotated_jpeg(d, run):
    # A phone photo stored sideways (W×H = 64×48) with "rotate 90° for display": the result is
    # upright, 48 wide and 64 tall, like the photo as everyone sees it.
    exif = Image.Exif()
    exif[0x0112] = 6
    p = _save(d, "phone.jpg", _u8(photo(H, W)), exif=exif, quality=95)
    assert _works(run, d, p).shape == (W, H, 3)


def test_animated_gif_uses_first_frame(d, run):
    # the first frame is the photo (as every viewer shows it before it plays); later frames are ignored
    first, second = _u8(photo(H, W, 0)), _u8(1 - photo(H, W, 0)[::-1])
    p = d / "anim.gif"
    first.save(p, save_all=True, append_images=[second], duration=100, loop=0)
    out = _works(run, d, p, "--init", "content") / 255.0
    with Image.open(p) as im:
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB")) / 255.0)
    assert np.abs(out - frames[0]).mean() < 0.5 * np.abs(out - frames[1]).mean()


def test_mask_of_another_size_is_resized_nearest(d, run):
    # As dpst.api.prepare does for every mask (it resizes labels, nearest, to the working size anyway),
    # a half-size mask is scaled up nearest: same regions, same result as the full-size mask.
    _mask(H // 2, W // 2).save(d / "cm_half.png")
    masks = ["--masks", "none", "--style-mask", d / "sm.png", "--content-mask"]
    full = _works(run, d, d / "c.png", *masks, d / "cm.png")
    half = _works(run, d, d / "c.png", *masks, d / "cm_half.png")
    assert (half == full).all()


def test_mask_partly_off_palette_warns_and_runs(d, run):
    # Over 10% of the pixels in no palette colour: those get no style guidance, and the user is told
    # (one warning line); the palette regions still guide.
    m = np.asarray(_mask(H, W)).copy()
    m[: H // 2] = (200, 120, 40)
    Image.fromarray(m).save(d / "m.png")
    before = _files(d)
    code, err = run(
        d / "c.png",
        d / "s.png",
        "--content-mask",
        d / "m.png",
        "--style-mask",
        d / "sm.png",
        "-o",
        d / "out.png",
    )
    assert code == 0, err
    assert err.strip().splitlines() == [
        f"dpst: warning: {d / 'm.png'}: 50% of the mask's pixels are none of the nine mask colours "
        "(blue, green, black, white, red, yellow, grey, lightblue, purple); they get no style guidance"
    ]
    assert Image.open(d / "out.png").size == (W, H)
    assert {p: b for p, b in _files(d).items() if p.name != "out.png"} == before
