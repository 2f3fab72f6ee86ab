"""The ``dpst`` command: the only part of dpst that parses flags, prints and picks exit codes.

    dpst CONTENT STYLE -o OUT [--content-mask M --style-mask M] [options]   (:mod:`.stylize`)
    dpst score CONTENT STYLE OUTPUT [--content-mask M --style-mask M]       (:mod:`.score`)
    dpst batch MANIFEST -o OUTDIR                                            (:mod:`.batch`)
    dpst lut CONTENT STYLE -o LOOK.cube                                      (:mod:`.lut`)
    dpst apply LOOK.cube PHOTOS... -o DIR                                    (:mod:`.lut`)
    dpst demo -o OUT                                                         (:mod:`.demo`)
    dpst serve [--host H] [--port P]                                         (:mod:`.serve`)
    dpst video IN STYLE -o OUT                                               (:mod:`.video`)
    dpst models [fetch [NAME]]                                               (:mod:`.models`)

Exit codes (:mod:`.common`): 0 done, 1 the run failed, 2 something to fix in the input or flags,
130 interrupted.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence

from .common import EXIT_USAGE, add_config_arguments, config_from_args, exit_status, run_guarded, show_warning

__all__ = ["main", "add_config_arguments", "config_from_args", "exit_status", "EXIT_USAGE"]


def _command(name: str) -> Callable[[Sequence[str]], int]:
    # Each command's module is imported only when it runs: `dpst score` need not load the batch runners.
    if name == "score":
        from .score import run_score

        return run_score
    if name == "batch":
        from .batch import main as run_batch

        return run_batch
    if name in ("lut", "apply"):
        from .lut import run_apply, run_lut

        return run_lut if name == "lut" else run_apply
    if name == "demo":
        from .demo import run_demo

        return run_demo
    if name == "serve":
        from .serve import run_serve

        return run_serve
    if name == "video":
        from .video import run_video

        return run_video
    if name == "models":
        from .models import run_models

        return run_models
    from .stylize import run_stylize

    return run_stylize


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("score", "batch", "demo", "serve", "lut", "apply", "video", "models")
    name = argv[0] if argv and argv[0] in commands else ""
    warnings.showwarning = show_warning
    return run_guarded(lambda a: _command(name)(a), argv[1:] if name else argv, prog="dpst")


if __name__ == "__main__":
    sys.exit(main())
