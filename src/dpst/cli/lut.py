"""``dpst lut CONTENT STYLE -o look.cube``: restyle a photo and keep only its look, as a 3D LUT;
``dpst apply look.cube PHOTOS... -o DIR``: put a look (any 3D .cube LUT) on many photos.

A LUT holds a colour-to-colour map, not the full result's local, region-by-region changes: applied
to the content photo it approximates the result; applied to other photos, it gives them the same
grade in a fraction of a second each (docs/lut.md).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from .. import io
from ..api import Stylizer
from ..files.formats import RAW_SUFFIXES
from ..lut import check_cube_output, load_lut
from ..neural.lbfgs import Interrupted
from .common import (
    EXIT_INTERRUPTED,
    ArgumentParser,
    DownloadBar,
    ProgressBar,
    add_config_arguments,
    add_lut_arguments,
    add_pair_arguments,
    add_photo_arguments,
    add_verbosity_arguments,
    config_from_args,
    lut_settings_from_args,
    photo_settings_from_args,
    restyle,
    write_look,
)


def run_lut(argv: Sequence[str]) -> int:
    p = ArgumentParser(
        prog="dpst lut",
        description="Restyle CONTENT in the look of STYLE and write the look as a 3D LUT (.cube) that "
        "graders, editors and ffmpeg can apply; only the .cube file is written.",
    )
    add_pair_arguments(p, "the LUT file to write", "LOOK.cube")
    add_verbosity_arguments(p)
    add_config_arguments(p)
    add_lut_arguments(p)
    args = p.parse_args(argv)
    output = check_cube_output(args.output)
    settings = lut_settings_from_args(args)
    stylizer = Stylizer(config_from_args(args), on_download=DownloadBar(args.quiet))
    try:
        result = restyle(stylizer, args, ProgressBar(output, args.quiet, save_every=0))
    except Interrupted:
        print("dpst: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    write_look(args, result, output, settings)
    return 0


def run_apply(argv: Sequence[str]) -> int:
    p = ArgumentParser(
        prog="dpst apply",
        description="Apply a 3D LUT (.cube, dpst's or another tool's, sRGB in and out) to photos, by "
        "trilinear interpolation; each result is written to DIR under the photo's own file name (a raw "
        "file's as .tif), in the photo's colour space, bit depth and metadata (docs/photographers.md).",
    )
    p.add_argument("lut", metavar="LOOK.cube", help="the 3D LUT")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="photos (.png, .jpg, .tif, .webp)")
    p.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="folder to write to (made if missing)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no line per photo written")
    add_photo_arguments(p)
    args = p.parse_args(argv)
    written = photo_settings_from_args(args)
    lut = load_lut(args.lut)
    jobs = plan_apply(args.photos, Path(args.output), written.bit_depth)
    try:
        Path(args.output).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"-o {args.output}: cannot make the folder ({exc.strerror})") from None
    for path, out in jobs:
        photo = io.read_photo(path)
        io.save_photo(lut.apply(photo.rgb), out, photo, written)
        if not args.quiet:
            print(f"wrote {out}", file=sys.stderr)
    return 0


def plan_apply(photos: Sequence[str], folder: Path, depth: int = 0) -> list[tuple[Path, Path]]:
    """(photo, output) pairs, checked before anything is written: every photo is a file of a type
    dpst writes (at ``depth`` bits, when given), no two share a name, and none would be written over
    itself."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"-o {folder}: is a file, not a folder")
    jobs, seen = [], {}
    for name in photos:
        photo = Path(name)
        if not photo.exists():
            raise FileNotFoundError(f"{photo}: no such file")
        raw = photo.suffix.lower() in RAW_SUFFIXES  # a raw file's result is a TIFF
        if photo.suffix.lower() not in io.WRITABLE and not raw:
            kinds = ", ".join(io.WRITABLE)
            raise ValueError(
                f"{photo}: its result would be a {photo.suffix or 'suffix-less'} file; use {kinds}"
            )
        out = folder / (photo.stem + ".tif" if raw else photo.name)
        if depth == 16 and io.WRITABLE[out.suffix.lower()] not in io.WIDE:
            raise ValueError(
                f"{photo}: --bit-depth 16 is for .png and .tif results; its result is {out.suffix}"
            )
        if out.name in seen:
            raise ValueError(f"{photo} and {seen[out.name]}: the same file name; their results would collide")
        if out.exists() and out.resolve() == photo.resolve():
            raise ValueError(f"{photo}: -o {folder} holds the photo itself; its result would overwrite it")
        seen[out.name] = photo
        jobs.append((photo, out))
    return jobs
