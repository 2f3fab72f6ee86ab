"""The ``dpst`` command.  Flags are generated from :class:`dpst.config.Config`.

    dpst CONTENT STYLE -o OUT [--content-mask M --style-mask M] [options]
    dpst score CONTENT STYLE OUTPUT [--content-mask M --style-mask M]
    dpst batch MANIFEST -o OUTDIR      (see dpst.batch)
    dpst demo -o OUT                    (scikit-image's bundled photos)

Errors end as one line on stderr and exit code 2; Ctrl-C writes the current result and exits 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .config import PRESETS, Config, config_fields

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _flag(f: dataclasses.Field) -> str:
    return "--" + f.metadata.get("flag", f.name.replace("_", "-"))


def add_config_arguments(parser: argparse.ArgumentParser, defaults: Config = Config()) -> None:
    """``--preset`` plus one flag per Config field, with the field's default and help.

    Flags default to "not given" (argparse.SUPPRESS), so a flag the user types overrides the preset
    and an untyped one keeps the preset's value."""
    group = parser.add_argument_group("settings (defaults are the library's; a flag overrides --preset)")
    group.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="default",
        help="fast (a preview), default, quality (closer colours, about 1.6x the time), "
        "or paper (the reference schedule: 2x1000 steps at 700 px, slow) (default: %(default)s)",
    )
    for f in config_fields():
        default = getattr(defaults, f.name)
        kw: dict = {
            "dest": f.name,
            "default": argparse.SUPPRESS,
            "help": f"{f.metadata.get('help', '')} (default: {default})",
        }
        if isinstance(default, bool):
            group.add_argument(_flag(f), action=argparse.BooleanOptionalAction, **kw)
            continue
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        group.add_argument(_flag(f), type=type(default), metavar=f.name.upper(), **kw)


def config_from_args(args: argparse.Namespace) -> Config:
    """The preset's settings with every flag the user gave on top."""
    given = {f.name: getattr(args, f.name) for f in config_fields() if hasattr(args, f.name)}
    return Config.preset(getattr(args, "preset", "default"), **given)


def _positive(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dpst",
        description="Deep Photo Style Transfer: repaint CONTENT in the look of STYLE, "
        "keeping it a photograph. Other commands: 'dpst score -h', 'dpst batch -h', 'dpst demo -h'.",
    )
    p.add_argument("content", help="the photo to restyle")
    p.add_argument("style", help="the reference photo whose look to take")
    p.add_argument("-o", "--output", required=True, help="result file (.png, .jpg, .tif, .webp)")
    p.add_argument("--content-mask", help="colour-coded mask of the content photo (PNG)")
    p.add_argument("--style-mask", help="colour-coded mask of the style photo (PNG)")
    p.add_argument(
        "--save-masks",
        metavar="DIR",
        help="without mask files: write the automatic masks to DIR as palette PNGs (edit them and "
        "pass them back with --content-mask/--style-mask)",
    )
    p.add_argument(
        "--save-every", type=_positive, default=0, metavar="N", help="write a snapshot every N steps"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(p)
    return p


class ProgressBar:
    """Turns the library's Progress callbacks into a tqdm bar per stage, and writes snapshots."""

    def __init__(self, output: Path, quiet: bool, save_every: int) -> None:
        self.output, self.quiet, self.save_every = output, quiet, save_every
        self.bar = None
        self.stage = 0

    def __call__(self, p) -> None:
        if not self.quiet:
            if p.stage != self.stage:
                from tqdm import tqdm

                self.close()
                self.stage = p.stage
                name = "stage 1 (style)" if p.stage == 1 else "stage 2 (photorealism)"
                self.bar = tqdm(total=p.total, desc=name, unit="step", dynamic_ncols=True, file=sys.stderr)
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in p.losses.items()}, refresh=False)
            self.bar.update(1)
        if self.save_every and p.step % self.save_every == 0:
            from .io import save_image

            snap = self.output.with_name(f"{self.output.stem}_s{p.stage}_{p.step:04d}{self.output.suffix}")
            save_image(p.image(), snap)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"dpst: warning: {message}", file=sys.stderr)


def run_stylize(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from . import io
    from .api import stylize
    from .optimize import Interrupted

    output = io.check_output(args.output, (args.content, args.style, args.content_mask, args.style_mask))
    config = config_from_args(args)
    if args.save_masks:
        args.content_mask, args.style_mask = save_auto_masks(args, config)
    bar = ProgressBar(output, args.quiet, args.save_every)
    try:
        image = stylize(
            args.content,
            args.style,
            content_mask=args.content_mask,
            style_mask=args.style_mask,
            config=config,
            callback=bar,
        )
    except Interrupted as stop:
        bar.close()
        io.save_image(stop.image, output)
        print(f"dpst: interrupted; wrote the current result to {output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    io.save_image(image, output)
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def save_auto_masks(args: argparse.Namespace, config: Config) -> tuple[str, str]:
    """--save-masks DIR: write the automatic masks as DIR/<photo>_mask.png; the run then uses them."""
    from . import io
    from .api import auto_masks

    if args.content_mask or args.style_mask:
        raise ValueError("--save-masks: masks were given; it saves automatic ones")
    if config.masks != "auto":
        raise ValueError("--save-masks needs --masks auto")
    folder = Path(args.save_masks)
    if not folder.is_dir():
        raise ValueError(f"--save-masks {folder}: no such folder")
    paths = [folder / f"{Path(photo).stem}_mask.png" for photo in (args.content, args.style)]
    if paths[0] == paths[1]:
        raise ValueError("--save-masks: the two photos have the same name; their masks would collide")
    for path in paths:
        if path.exists() and any(path.resolve() == Path(p).resolve() for p in (args.content, args.style)):
            raise ValueError(f"--save-masks: {path} would overwrite an input photo")
    masks = auto_masks(args.content, args.style, config=config)
    return tuple(str(io.save_image(m, p)) for m, p in zip(masks, paths))


def run_score(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="dpst score", description="Score a result: photorealism and style match."
    )
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("output", help="the result to score")
    p.add_argument("--content-mask")
    p.add_argument("--style-mask")
    p.add_argument("--no-gram", action="store_true", help="skip style_gram (needs the VGG weights)")
    p.add_argument("--json", action="store_true", help="print JSON")
    args = p.parse_args(argv)
    from .metrics import score

    r = score(
        args.content, args.style, args.output, args.content_mask, args.style_mask, gram=not args.no_gram
    )
    if args.json:
        import json

        print(json.dumps(r))
    else:
        print("  ".join(f"{k} {v:.3f}" for k, v in r.items()))
    return 0


DEMO_PAIR = ("chelsea.png", "rocket.jpg")  # scikit-image's bundled photos: a cat; a launch at dusk


def demo_paths() -> tuple[str, str]:
    """The demo pair from scikit-image's bundled data (pip install scikit-image)."""
    import importlib.resources

    try:
        data = importlib.resources.files("skimage") / "data"
    except ModuleNotFoundError:
        raise ValueError("the demo photos come with scikit-image: pip install scikit-image") from None
    return tuple(str(data / name) for name in DEMO_PAIR)


def run_demo(argv: Sequence[str]) -> int:
    """dpst demo -o OUT [settings]: stylise scikit-image's cat in the look of its rocket launch."""
    if "-h" in argv or "--help" in argv:
        print(
            "usage: dpst demo -o OUT [settings...]\n"
            f"Runs dpst on scikit-image's bundled {DEMO_PAIR[0]} (content) and {DEMO_PAIR[1]} (style)."
        )
        return 0
    return run_stylize([*demo_paths(), *argv])


def run_batch(argv: Sequence[str]) -> int:
    from .batch import main as batch_main

    return batch_main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = {"score": run_score, "batch": run_batch, "demo": run_demo}.get(argv[0] if argv else "", None)
    warnings.showwarning = _show_warning
    try:
        return command(argv[1:]) if command else run_stylize(argv)
    except KeyboardInterrupt:
        print("dpst: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, RuntimeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"dpst: error: {msg}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
