"""A shared server's limits: settings with flags, and uploads refused before they are decoded."""

from __future__ import annotations

import pytest
from PIL import Image

from dpst.web.limits import Limits, check_upload
from tests.conftest import save_photo
from tests.web.conftest import bomb_png


def test_limits_are_settings_checked_by_their_flags():
    limits = Limits()
    assert (limits.session_runs, limits.queued_runs) == (1, 16)
    assert limits.max_pixels == 25_000_000 and limits.upload_bytes == 200_000_000
    with pytest.raises(ValueError, match="--queued-runs 0: must be >= 1"):
        Limits(queued_runs=0)
    with pytest.raises(ValueError, match="--idle-minutes 0"):
        Limits(idle_minutes=0)


def test_a_photo_within_the_limits_passes_with_its_size(tmp_path):
    assert check_upload(save_photo(tmp_path / "cat.png", 48, 64), Limits(), "content photo") == (64, 48)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    assert check_upload(notes, Limits(), "content photo") == (0, 0)  # the loader says what it is


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 1_500_000)
    with pytest.raises(ValueError, match="content photo: 2 MB is over this server's limit of 1 MB"):
        check_upload(big, Limits(upload_mb=1), "content photo")


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path, monkeypatch):
    bomb = bomb_png(tmp_path / "bomb.png", 30_000)  # 900 megapixels in about 100 KB

    def decode(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(Image.Image, "load", decode)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(
        ValueError, match=r"30000×30000 px \(900 megapixels\) is over this server's limit of 25"
    ):
        check_upload(bomb, Limits(), "style photo bomb.png")
    # a server sets PIL's own limit to its own (web/app.start): PIL refuses it at the header then
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 25_000_000)
    with pytest.raises(
        ValueError, match="bomb.png: 900 megapixels is over this server's limit of 25 megapixels"
    ):
        check_upload(bomb, Limits(), "style photo bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError, match=r"image too large \(over 1000 pixels\)"):
        check_upload(bomb, Limits(), "style photo bomb.png")
