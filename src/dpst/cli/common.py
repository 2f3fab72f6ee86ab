"""What every command shares: flags built from :class:`dpst.config.Config`, the progress bar, and the
one policy that turns an exception into a line on stderr and an exit code.

Exit codes: 0 done; 1 the run failed (out of memory, disk full, an internal error), with a line saying
what to try; 2 something the user can fix (input, flags, a missing extra or weights file), with a line
naming the fix; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable, Sequence

from ..config import COMMON, PRESETS, Config
from ..errors import WeightsError, first_line
from ..lut import LutSettings
from ..settings import flag_name, format_setting, setting_fields, text_parser

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


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"dpst: warning: {message}", file=sys.stderr)
