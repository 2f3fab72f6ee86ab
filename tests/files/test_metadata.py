from __future__ import annotations

from io import BytesIO

from PIL import Image

from dpst.files.metadata import Metadata, for_result, read_metadata, software
from tests.files.media import XMP, camera_exif


def _jpeg_metadata() -> Metadata:
    buf = BytesIO()
    Image.new("RGB", (40, 30)).save(buf, "JPEG", exif=camera_exif(6), xmp=XMP)
    with Image.open(buf) as im:
        return read_metadata(im)


def _parsed(meta: Metadata) -> Image.Exif:
    ex = Image.Exif()
    ex.load(meta.exif)
    return ex


def test_read_metadata_finds_exif_and_xmp():
    meta = _jpeg_metadata()
    assert _parsed(meta)[0x010F] == "Canon" and b"A. Photographer" in meta.xmp


def test_for_result_updates_orientation_software_and_size_and_drops_gps():
    out = for_result(_jpeg_metadata(), (300, 200), keep_gps=False, srgb=True)
    ex = _parsed(out)
    assert (ex[0x0112], ex[0x0131], ex[0x010F], ex[0x0110]) == (1, software(), "Canon", "EOS R5")
    assert ex[0x8298] == "(c) A. Photographer" and software().startswith("dpst")
    sub = ex.get_ifd(0x8769)
    assert (sub[0xA002], sub[0xA003], sub[0xA001]) == (300, 200, 1)
    assert sub[0x9003] == "2024:05:01 09:59:58" and 0x927C not in sub  # the maker note is dropped
    assert 0x8825 not in ex and not ex.get_ifd(0x8825)
    text = out.xmp.decode()
    assert "GPS" not in text and "A. Photographer" in text
    assert 'tiff:Orientation="1"' in text and 'exif:PixelXDimension="300"' in text


def test_keep_gps_keeps_it_in_both():
    out = for_result(_jpeg_metadata(), (30, 40), keep_gps=True, srgb=False)
    gps = _parsed(out).get_ifd(0x8825)
    assert gps[1] == "N" and float(gps[2][0]) == 52
    assert 0xA001 not in _parsed(out).get_ifd(0x8769)  # not written in sRGB: ColorSpace left as it was
    assert b"exif:GPSLatitude" in out.xmp and b"<exif:GPSLongitude>" in out.xmp


def test_a_photo_without_metadata_gets_only_dpst_s():
    out = for_result(Metadata(), (10, 20), keep_gps=False, srgb=True)
    ex = _parsed(out)
    assert ex[0x0131] == software() and 0x010F not in ex and out.xmp is None
