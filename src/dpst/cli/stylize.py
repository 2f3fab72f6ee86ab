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

from PIL import Image

from .. import io
from ..api import Stylizer
from ..lut import LutSettings, check_cube_output, fit_lut
from ..neural.lbfgs import Interrupted, Progress
from .common import (
    EXIT_INTERRUPTED,
    ArgumentParser,
    add_config_arguments,
    add_lut_arguments,
    config_from_args,
    lut_settings_from_args,
    non_negative,
)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="dpst",
        description="Deep Photo Style Transfer: repaint CONTENT in the look of STYLE, "
        "keeping it a photograph. Other commands: 'dpst score -h', 'dpst batch -h', 'dpst demo -h', "
        "'dpst lut -h', 'dpst apply -h', 'dpst video -h', 'dpst serve -h'.",
    )
    p.add_argument("content", help="the photo to restyle")
    p.add_argument("style", help="the reference photo whose look to take")
    p.add_argument("-o", "--output", required=True, help="result file (.png, .jpg, .tif, .webp)")
    p.add_argument("--content-mask", help="colour-coded mask of the content photo (PNG)")
    p.add_argument("--style-mask", help="colour-coded mask of the style photo (PNG)")
    p.add_argument(
        "--save-masks",
        metavar="DIR",
        help="without mask files: write the automatic masks to DIR (made if missing) as palette PNGs "
        "(edit them and pass them back with --content-mask/--style-mask)",
    )
    p.add_argument(
        "--save-every", type=non_negative, default=0, metavar="N", help="write a snapshot every N steps"
    )
    p.add_argument(
        "--lut",
        metavar="FILE.cube",
        help="also write the look as a 3D LUT (.cube), fitted to the photo and the result (docs/lut.md)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="name each phase on stderr as it starts")
    add_config_arguments(p)
    add_lut_arguments(p)
    return p


class ProgressBar:
    """Turns the library's Progress callbacks into a tqdm bar per stage, and writes snapshots."""

    def __init__(self, output: Path, quiet: bool, save_every: int) -> None:
        self.output, self.quiet, self.save_every = output, quiet, save_every
        self.bar = None
        self.stage = 0

    def __call__(self, p: Progress) -> None:
        if not self.quiet:
            if p.stage != self.stage:
                from tqdm import tqdm

                self.close()
                self.stage = p.stage
                name = {1: "stage 1 (style)", 2: "stage 2 (photorealism)"}.get(p.stage, "stage 3 (full size)")
                self.bar = tqdm(total=p.total, desc=name, unit="step", dynamic_ncols=True, file=sys.stderr)
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in p.losses.items()}, refresh=False)
            self.bar.update(1)
        if self.save_every and p.step % self.save_every == 0:
            snap = self.output.with_name(f"{self.output.stem}_s{p.stage}_{p.step:04d}{self.output.suffix}")
            io.save_image(p.image(), snap)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class PhaseLines:
    """Phase lines on stderr (``--verbose``), and once, as the masks are known, which masks are used."""

    def __init__(self, stylizer: Stylizer, verbose: bool, quiet: bool) -> None:
        self.stylizer, self.verbose, self.quiet, self.said = stylizer, verbose, quiet, False

    def __call__(self, name: str) -> None:
        if name != "prepare" and not self.said and not self.quiet:
            print(f"dpst: masks: {self.stylizer.masks_used}", file=sys.stderr, flush=True)
            self.said = True
        if self.verbose:
            print(f"dpst: phase {name}", file=sys.stderr, flush=True)


def run_stylize(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    output = io.check_output(args.output, (args.content, args.style, args.content_mask, args.style_mask))
    look = check_cube_output(args.lut) if args.lut else None
    lut_settings = lut_settings_from_args(args)
    config = config_from_args(args)
    stylizer = Stylizer(config)
    if args.save_masks:
        args.content_mask, args.style_mask = save_masks(args, stylizer)
    try:
        image = restyle(stylizer, args, ProgressBar(output, args.quiet, args.save_every))
    except Interrupted as stop:
        io.save_image(stop.image, output)
        print(f"dpst: interrupted; wrote the current result to {output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    io.save_image(image, output)
    if args.verbose and stylizer.chosen():
        print(f"dpst: for this photo: {stylizer.chosen()}", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    if look is not None:
        write_look(args, stylizer, image, look, lut_settings)
    return 0


def restyle(stylizer: Stylizer, args: argparse.Namespace, bar: ProgressBar) -> Image.Image:
    """The stylisation of ``args.content`` in the look of ``args.style``, with its progress bar and
    phase lines (the bar is closed however it ends)."""
    try:
        return stylizer(
            args.content,
            args.style,
            content_mask=args.content_mask,
            style_mask=args.style_mask,
            callback=bar,
            on_phase=PhaseLines(stylizer, args.verbose, args.quiet),
        )
    finally:
        bar.close()


def write_look(
    args: argparse.Namespace, stylizer: Stylizer, image: Image.Image, path: Path, settings: LutSettings
) -> Path:
    """Fit the LUT of the look (the content photo -> ``image``) and write it to ``path`` (.cube)."""
    content, style = Path(args.content).name, Path(args.style).name
    lut = fit_lut(
        args.content,
        image,
        settings.size,
        settings.smoothness,
        settings.anchor,
        title=f"dpst: {content} in the look of {style}",
        comments=(f"content {content}, style {style}, --preset {args.preset}, masks {stylizer.masks_used}",),
    )
    lut.save(path)
    if not args.quiet:
        print(f"wrote {path} ({lut.size}^3 LUT, {lut.fit_rms:.2f}/255 RMS from the result)", file=sys.stderr)
    return path


def save_masks(args: argparse.Namespace, stylizer: Stylizer) -> tuple[str, str]:
    """--save-masks DIR: write the masks of the run as DIR/<photo>_mask.png (automatic ones, or the
    completed masks of given strokes); the run then uses them."""
    given = (args.content_mask, args.style_mask)
    if any(given) and all(m is None or io.load_strokes(m) is None for m in given):
        raise ValueError("--save-masks: masks were given; it saves automatic masks or completed strokes")
    if not any(given) and stylizer.config.masks == "none":
        raise ValueError("--save-masks needs automatic masks (--masks auto, semantic or unsupervised)")
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
