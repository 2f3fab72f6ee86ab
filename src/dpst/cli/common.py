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
from dataclasses import fields

from ..config import PRESETS, Config, config_fields, flag_name
from ..errors import WeightsError, first_line
from ..lut import LutSettings
from ..lut import flag_name as lut_flag_name

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
            group.add_argument(flag_name(f), action=argparse.BooleanOptionalAction, **kw)
            continue
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        group.add_argument(flag_name(f), type=type(default), metavar=f.name.upper(), **kw)


def config_from_args(args: argparse.Namespace) -> Config:
    """The preset's settings with every flag the user gave on top."""
    given = {f.name: getattr(args, f.name) for f in config_fields() if hasattr(args, f.name)}
    return Config.preset(getattr(args, "preset", "default"), **given)


def add_lut_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per LutSettings field (``--lut-size``, ...), with the field's default and help."""
    group = parser.add_argument_group("LUT settings (docs/lut.md)")
    for f in fields(LutSettings):
        flag = lut_flag_name(f.name)
        group.add_argument(
            flag,
            dest=f"lut_{f.name}",
            type=type(f.default),
            default=f.default,
            metavar="N" if isinstance(f.default, int) else "X",
            help=f"{f.metadata.get('help', '')} (default: {f.default:g})",
        )


def lut_settings_from_args(args: argparse.Namespace) -> LutSettings:
    return LutSettings(**{f.name: getattr(args, f"lut_{f.name}") for f in fields(LutSettings)})


def non_negative(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return n


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"dpst: warning: {message}", file=sys.stderr)
