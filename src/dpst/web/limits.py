"""What one shared ``dpst serve`` lets its pages use: the settings (flags of ``dpst serve``, built from
:class:`Limits`) and the upload check made before a file is decoded.

Every limit is said in the page when it is hit; the words are here so that tests and docs share them.
Nothing here needs the web framework.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from PIL import Image, UnidentifiedImageError

from ..settings import check_settings, setting

GROUP = "limits of a shared server"


@dataclass(frozen=True)
class Limits:
    """How much the pages of one server may use, together and each.  Every field is a flag of
    ``dpst serve`` (``--upload-mb``, ...); docs/web.md says how the defaults were chosen."""

    GROUPS: ClassVar[tuple[str, ...]] = (GROUP,)

    upload_mb: int = setting(
        200, "largest file a page may upload, in MB: refused while it arrives, before it is stored",
        min=1, group=GROUP,
    )  # fmt: skip
    megapixels: float = setting(
        25.0, "largest photo or mask a page may upload, in megapixels: refused from its header, before "
        "it is decoded", above=0, group=GROUP,
    )  # fmt: skip
    session_runs: int = setting(1, "runs one page may have queued or running at once", min=1, group=GROUP)
    queued_runs: int = setting(16, "runs all pages together may have queued or running", min=1, group=GROUP)
    idle_minutes: float = setting(
        30.0, "a page with no action for this long is ended and its files deleted", above=0, group=GROUP
    )
    disk_mb: int = setting(
        2000, "disk the pages' files may use, in MB; the oldest finished results are deleted first",
        min=10, group=GROUP,
    )  # fmt: skip

    def __post_init__(self) -> None:
        check_settings(self)

    @property
    def upload_bytes(self) -> int:
        return self.upload_mb * 1_000_000

    @property
    def max_pixels(self) -> int:
        return int(self.megapixels * 1_000_000)

    @property
    def disk_bytes(self) -> int:
        return self.disk_mb * 1_000_000


def check_upload(path: str | Path, limits: Limits, what: str) -> tuple[int, int]:
    """The (width, height) of the image file at ``path``, read from its header only.  ValueError
    naming ``what`` when the file is over ``limits.upload_mb`` or the image over
    ``limits.megapixels``; files PIL cannot identify pass (the loader says what is wrong with them)."""
    path = Path(path)
    size = path.stat().st_size
    if size > limits.upload_bytes:
        raise ValueError(f"{what}: {size / 1e6:.0f} MB is over this server's limit of {limits.upload_mb} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # reads the header; nothing is decoded
                w, h = im.size
    except Image.DecompressionBombError as exc:  # over twice PIL's own limit, also read from the header
        if 2 * (Image.MAX_IMAGE_PIXELS or 0) >= limits.max_pixels:
            found = re.search(r"\((\d+) pixels\)", str(exc))  # PIL: "Image size (N pixels) exceeds ..."
            size = f"{int(found[1]) / 1e6:.0f} megapixels " if found else ""
            raise ValueError(f"{what}: {size}{_over(limits)}") from None
        raise ValueError(f"{what}: image too large (over {Image.MAX_IMAGE_PIXELS} pixels)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return 0, 0
    if w * h > limits.max_pixels:
        raise ValueError(f"{what}: {w}×{h} px ({w * h / 1e6:.0f} megapixels) {_over(limits)}")
    return w, h


def _over(limits: Limits) -> str:
    return f"is over this server's limit of {limits.megapixels:g} megapixels"
