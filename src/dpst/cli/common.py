"""What every command shares: flags built from the settings' fields (:mod:`dpst.settings`), the
arguments of a command that restyles one pair, its progress bar and phase lines, and the one policy
that turns an exception into a line on stderr and an exit code.

Exit codes: 0 done; 1 the run failed (out of memory, disk full, an internal error), with a line saying
what to try; 2 something the user can fix (input, flags, a missing extra or weights file), with a line
naming the fix; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import io
from ..config import COMMON, PRESETS, Config
from ..errors import DownloadFailed, WeightsError, first_line
from ..lut import LutSettings, fit_lut
from ..neural.plan import PHASES, stage_title
from ..segment import hub, parsers, semantic
from ..settings import flag_name, format_setting, setting_fields, text_parser

if TYPE_CHECKING:
    from ..api import Stylizer
    from ..neural.lbfgs import Progress
    from ..report import Result
    from ..segment.hub import Download

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_OOM_WORDS = ("out of memory", "not enough memory")  # torch's CUDA and CPU allocators
_RETRY = "try a smaller --size or --output-size, or --device cpu"


def exit_status(exc: BaseException) -> tuple[int, str]:
    """(exit code, one line for stderr) of an exception that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return EXIT_FAILED, f"out of memory ({first_line(exc)}); {_RETRY}"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return EXIT_FAILED, f"disk full ({first_line(exc)}); free some space or write elsewhere"
    if isinstance(exc, (ValueError, WeightsError, ImportError, FileNotFoundError, NotADirectoryError)):
        return EXIT_USAGE, first_line(exc)
    if isinstance(exc, RuntimeError) and any(w in str(exc).lower() for w in _OOM_WORDS):
        return EXIT_FAILED, f"out of memory ({first_line(exc)}); {_RETRY}"
    if isinstance(exc, OSError):
        return EXIT_FAILED, f"{first_line(exc)}; check the disk and the paths, then run it again"
    return EXIT_FAILED, f"internal error: {type(exc).__name__}: {first_line(exc)}; {_RETRY}"


def run_guarded(command: Callable[[Sequence[str]], int], argv: Sequence[str], prog: str = "dpst") -> int:
    """``command(argv)``, with any exception turned into its line on stderr and exit code."""
    try:
        return command(argv)
    except Exception as exc:
        code, line = exit_status(exc)
    except KeyboardInterrupt as exc:
        code, line = exit_status(exc)
    print(f"{prog}: {'error: ' if code != EXIT_INTERRUPTED else ''}{line}", file=sys.stderr)
    return code


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (through :func:`run_guarded`, exit 2), not the usage
    text followed by the error."""

    def error(self, message: str):
        raise ValueError(f"{message} (see '{self.prog} --help')")


def add_settings_arguments(
    parser: argparse.ArgumentParser,
    cls: type,
    defaults: object = None,
    *,
    dest_prefix: str = "",
    given_only: bool = False,
    groups: dict[str, argparse._ArgumentGroup] | None = None,
) -> dict[str, argparse._ArgumentGroup]:
    """One flag per :func:`dpst.settings.setting` field of the settings class ``cls``, with its help,
    default (``defaults``' value, else the field's), choices and parser, under its group's heading
    (groups in the order of ``cls.GROUPS`` where it has one); booleans as ``--x``/``--no-x``.  Values
    land in ``args.<dest_prefix><field>``; with ``given_only`` only where the user gave the flag
    (argparse.SUPPRESS), so that a preset can fill the rest.  ``groups``: groups already made, by
    title.  Returns the groups by title."""
    order = getattr(cls, "GROUPS", ())
    titles = [*order, *(f.metadata["group"] for f in setting_fields(cls) if f.metadata["group"] not in order)]
    groups = dict(groups or {})
    for title in titles:
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
    for f in setting_fields(cls):
        default = getattr(defaults, f.name) if defaults is not None else f.default
        kw: dict = {
            "dest": dest_prefix + f.name,
            "default": argparse.SUPPRESS if given_only else default,
            "help": f"{f.metadata['help']} (default: {format_setting(default)})",
        }
        where = groups[f.metadata["group"]]
        if f.metadata["kind"] is bool:
            where.add_argument(flag_name(cls, f), action=argparse.BooleanOptionalAction, **kw)
            continue
        if f.metadata["choices"]:
            kw["choices"] = f.metadata["choices"]
        where.add_argument(flag_name(cls, f), type=text_parser(f), metavar=_metavar(f), **kw)
    return groups


def _metavar(f) -> str:
    kind = f.metadata["kind"]
    return {int: "N", float: "X", tuple: "A,B,..."}.get(kind) or f.name.upper()


def settings_from_args(args: argparse.Namespace, cls: type, dest_prefix: str = "") -> dict[str, object]:
    """The values of ``cls``'s flags in ``args`` (those given, with ``given_only``), by field name."""
    return {
        f.name: getattr(args, dest_prefix + f.name)
        for f in setting_fields(cls)
        if hasattr(args, dest_prefix + f.name)
    }


def add_config_arguments(parser: argparse.ArgumentParser, defaults: Config = Config()) -> None:
    """``--preset`` plus one flag per Config field, with the field's default and help, grouped: first
    the settings most runs touch, then those of each stage (:data:`dpst.config.Config.GROUPS`).

    Flags default to "not given" (argparse.SUPPRESS), so a flag the user types overrides the preset
    and an untyped one keeps the preset's value."""
    common = parser.add_argument_group(COMMON)
    common.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="default",
        help="fast (a preview), default, quality (stage 2 at 700 px: closer colours, slower), "
        "or paper (the reference schedule: 2x1000 steps at 700 px, slow) (default: %(default)s)",
    )
    add_settings_arguments(parser, Config, defaults, given_only=True, groups={COMMON: common})


def config_from_args(args: argparse.Namespace) -> Config:
    """The preset's settings with every flag the user gave on top."""
    return Config.preset(getattr(args, "preset", "default"), **settings_from_args(args, Config))


def add_photo_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`dpst.io.PhotoSettings` field (``--output-profile``, ``--bit-depth``, ...)."""
    add_settings_arguments(parser, io.PhotoSettings)


def photo_settings_from_args(args: argparse.Namespace) -> io.PhotoSettings:
    return io.PhotoSettings(**settings_from_args(args, io.PhotoSettings))


def add_lut_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per LutSettings field (``--lut-size``, ...), with the field's default and help."""
    add_settings_arguments(parser, LutSettings, dest_prefix="lut_")


def lut_settings_from_args(args: argparse.Namespace) -> LutSettings:
    return LutSettings(**settings_from_args(args, LutSettings, "lut_"))


def non_negative(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return n


def add_pair_arguments(
    parser: argparse.ArgumentParser, output_help: str, output_metavar: str | None = None
) -> None:
    """``CONTENT STYLE -o OUT [--content-mask M --style-mask M]``: a command that restyles one pair."""
    parser.add_argument("content", help="the photo to restyle")
    parser.add_argument("style", help="the reference photo whose look to take")
    parser.add_argument("-o", "--output", required=True, metavar=output_metavar, help=output_help)
    parser.add_argument("--content-mask", help="colour-coded mask of the content photo (PNG)")
    parser.add_argument("--style-mask", help="colour-coded mask of the style photo (PNG)")


def add_verbosity_arguments(parser: argparse.ArgumentParser, quiet: str = "no progress bar") -> None:
    """``-q`` (help ``quiet``) and ``-v`` (name each phase)."""
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet)
    parser.add_argument("-v", "--verbose", action="store_true", help="name each phase on stderr as it starts")


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
                self.bar = tqdm(
                    total=p.total, desc=stage_title(p.stage), unit="step", dynamic_ncols=True, file=sys.stderr
                )
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in p.losses.items()}, refresh=False)
            self.bar.update(1)
        if self.save_every and p.step % self.save_every == 0:
            snap = self.output.with_name(f"{self.output.stem}_s{p.stage}_{p.step:04d}{self.output.suffix}")
            io.save_image(p.image(), snap)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class DownloadBar:
    """Turns the library's Download reports (a scene parser fetched on first use) into its size line
    and a byte progress bar on stderr; nothing with ``quiet``."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.bar = quiet, None

    def __call__(self, d: Download) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            print(f"dpst: {d.line()}", file=sys.stderr, flush=True)
            self.bar = tqdm(
                total=d.total or None, unit="B", unit_scale=True, desc="scene parser", dynamic_ncols=True,
                file=sys.stderr,
            )  # fmt: skip
        self.bar.update(d.done - self.bar.n)
        if d.finished:
            self.bar.close()
            self.bar = None


def fetch_parser(name: str, quiet: bool = False, offline: bool = False) -> Path:
    """The folder of the scene parser ``name``: cached, else downloaded with its size line and bar
    (:func:`dpst.segment.hub.fetch`; DownloadFailed when it cannot be had, ``offline``: --offline)."""
    reason = hub.offline_reason(offline)
    return hub.fetch(name, DownloadBar(quiet), licence=parsers.licence(name), offline=reason)


def fetch_parser_first(config: Config, quiet: bool = False) -> None:
    """Before runs in other processes (``dpst batch``'s workers), which would fetch the scene parser
    that ``--masks auto``/``semantic`` asks for silently: fetch it here, with its size line and bar.
    A parser that cannot be had is left to the runs (``auto`` falls back there, with its line)."""
    if config.masks not in ("auto", "semantic") or not semantic.available():
        return
    try:
        fetch_parser(config.segmenter, quiet, config.offline)
    except DownloadFailed:
        pass


class PhaseLines:
    """Phase lines on stderr (``--verbose``), and once, as the masks are known (after the first phase),
    which masks are used: the line ``masks()`` gives (:meth:`dpst.Stylizer.segmenter`'s).  A phase
    starts between stages only, so the stage ``bar`` open then has ended: it is closed, and its time
    is its steps' alone (not the finish's, nor the next stage's set-up)."""

    def __init__(
        self, masks: Callable[[], str], verbose: bool, quiet: bool, bar: ProgressBar | None = None
    ) -> None:
        self.masks, self.verbose, self.quiet, self.said, self.bar = masks, verbose, quiet, False, bar

    def __call__(self, name: str) -> None:
        if self.bar is not None:
            self.bar.close()
        if name != PHASES[0] and not self.said and not self.quiet:
            print(f"dpst: masks: {self.masks()}", file=sys.stderr, flush=True)
            self.said = True
        if self.verbose:
            print(f"dpst: phase {name}", file=sys.stderr, flush=True)


def restyle(
    stylizer: Stylizer,
    args: argparse.Namespace,
    bar: ProgressBar,
    content: io.Photo | None = None,
    config: Config | None = None,
) -> Result:
    """The stylisation of ``args.content`` (or of ``content``, the photo already read) in the look of
    ``args.style``, with its progress bar and phase lines (the bar is closed however it ends): the image
    and its report.  ``config``: the run's settings, when not the Stylizer's own."""
    given = args.content_mask is not None
    try:
        return stylizer.run(
            args.content if content is None else content,
            args.style,
            content_mask=args.content_mask,
            style_mask=args.style_mask,
            config=config,
            callback=bar,
            on_phase=PhaseLines(lambda: stylizer.segmenter(given=given)[1], args.verbose, args.quiet, bar),
        )
    finally:
        bar.close()


def write_look(args: argparse.Namespace, result: Result, path: Path, settings: LutSettings) -> Path:
    """Fit the LUT of the look (the content photo -> ``result.image``) and write it to ``path`` (.cube)."""
    content, style = Path(args.content).name, Path(args.style).name
    lut = fit_lut(
        args.content,
        result.image,
        settings.size,
        settings.smoothness,
        settings.anchor,
        title=f"dpst: {content} in the look of {style}",
        comments=(f"content {content}, style {style}, --preset {args.preset}, masks {result.report.masks}",),
    )
    lut.save(path)
    if not args.quiet:
        print(f"wrote {path} ({lut.size}^3 LUT, {lut.fit_rms:.2f}/255 RMS from the result)", file=sys.stderr)
    return path


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"dpst: warning: {message}", file=sys.stderr)
