"""``dpst CONTENT STYLE -o OUT``: restyle one photo.

What Ctrl-C writes depends on the phase it lands in (``--verbose`` names each phase on stderr):
before stage 1 (``prepare``, ``targets``) there is no result yet, so nothing is written; from stage 1
on (``stage1``, ``laplacian``, ``stage2``, ``stage3``, ``upsample``, ``filter``) the current result,
resized to the output size without the finishing filters, is written to OUT.  Either way the exit code is 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import io
from ..api import Stylizer
from ..config import changed_flags
from ..lut import check_cube_output
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
    non_negative,
    photo_settings_from_args,
    restyle,
    write_look,
)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="dpst",
        description="Deep Photo Style Transfer: repaint CONTENT in the look of STYLE, "
        "keeping it a photograph. Other commands: 'dpst score -h', 'dpst batch -h', 'dpst demo -h', "
        "'dpst lut -h', 'dpst apply -h', 'dpst video -h', 'dpst serve -h', 'dpst models -h'.",
    )
    add_pair_arguments(
        p,
        "result file (.png, .jpg, .tif, .webp; .heic, .avif with dpst[photo]): in the content photo's "
        "colour space, bit depth and metadata (docs/photographers.md)",
    )
    p.add_argument(
        "--save-masks",
        metavar="DIR",
        help="without mask files: write the automatic masks to DIR (made if missing) as palette PNGs "
        "(edit them and pass them back with --content-mask/--style-mask, and the flags its line names "
        "for the settings of dpst's own masks)",
    )
    p.add_argument(
        "--save-every", type=non_negative, default=0, metavar="N", help="write a snapshot every N steps"
    )
    p.add_argument(
        "--lut",
        metavar="FILE.cube",
        help="also write the look as a 3D LUT (.cube), fitted to the photo and the result (docs/lut.md)",
    )
    add_verbosity_arguments(p)
    add_config_arguments(p)
    add_photo_arguments(p)
    add_lut_arguments(p)
    return p


def run_stylize(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    written = photo_settings_from_args(args)
    inputs = (args.content, args.style, args.content_mask, args.style_mask)
    output = io.check_output(args.output, inputs, depth=written.bit_depth)
    look = check_cube_output(args.lut) if args.lut else None
    lut_settings = lut_settings_from_args(args)
    config = config_from_args(args)
    content = io.read_photo(args.content, "content")  # read once: its pixels, profile and metadata
    stylizer = Stylizer(config, on_download=DownloadBar(args.quiet))
    run_config = None
    if args.save_masks:
        args.content_mask, args.style_mask = save_masks(args, stylizer)
        if config.masks != "none":  # dpst made them: the run goes on as it would without --save-masks
            run_config = config.for_automatic_masks()
            again = changed_flags(config, run_config)
            if again and not args.quiet:
                print(
                    f"dpst: wrote {args.content_mask} and {args.style_mask}; passed back they count as "
                    f"given masks: add {' '.join(again)} for the settings of dpst's own",
                    file=sys.stderr,
                )
    try:
        bar = ProgressBar(output, args.quiet, args.save_every)
        result = restyle(stylizer, args, bar, content, run_config)
    except Interrupted as stop:
        io.save_photo(stop.image, output, content, written)
        print(f"dpst: interrupted; wrote the current result to {output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    io.save_photo(result.pixels(), output, content, written)
    if args.verbose and result.report.chosen():
        print(f"dpst: for this photo: {result.report.chosen()}", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    if look is not None:
        write_look(args, result, look, lut_settings)
    return 0


def save_masks(args: argparse.Namespace, stylizer: Stylizer) -> tuple[str, str]:
    """--save-masks DIR: write the masks of the run as DIR/<photo>_mask.png (automatic ones, or the
    completed masks of given strokes); the run then uses them."""
    given = (args.content_mask, args.style_mask)
    if any(given) and all(m is None or io.load_strokes(m) is None for m in given):
        raise ValueError("--save-masks: masks were given; it saves automatic masks or completed strokes")
    if not any(given) and stylizer.config.masks == "none":
        raise ValueError(
            "--save-masks needs automatic masks (--masks auto, semantic, correspond or unsupervised)"
        )
    folder = Path(args.save_masks)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--save-masks {folder}: is a file, not a folder")
    paths = [folder / f"{Path(photo).stem}_mask.png" for photo in (args.content, args.style)]
    if paths[0] == paths[1]:
        raise ValueError("--save-masks: the two photos have the same name; their masks would collide")
    for path in paths:
        if path.exists() and any(path.resolve() == Path(p).resolve() for p in (args.content, args.style)):
            raise ValueError(f"--save-masks: {path} would overwrite an input photo")
    masks = stylizer.masks(args.content, args.style, content_mask=given[0], style_mask=given[1])
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--save-masks {folder}: cannot make the folder ({exc.strerror})") from None
    return tuple(str(io.save_image(m, p)) for m, p in zip(masks, paths))
