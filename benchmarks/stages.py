"""Scores after every stage of one run, to see what each stage costs or buys.

    python benchmarks/stages.py --pair 9 [--preset fast] [--masks hand|auto|none] [--set KEY=VALUE ...]

One stylisation through the public API (``dpst.Stylizer.run``), its progress callback keeping the
image each stage ends with (at that stage's working size).  Prints affine_rms / style_swd /
style_gram (:func:`dpst.metrics.score` with the hand-drawn masks, at the content photo's full size: an
image at working size is resized bicubic first, which inflates its affine_rms) and the seconds from
the start to the end of each stage, then the same for the finished result (carried to full size,
filtered or not as the run chose), and what the run's report says it chose and where the time
went.  To see what one step buys, compare runs: ``--set filter=false``, ``--set stage2=false``,
``--set stage3_iterations=0``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import common
import numpy as np
from common import METRICS, pair_files

from dpst import Config, Stylizer
from dpst.errors import WeightsError
from dpst.metrics import score


class StageEnds:
    """A progress callback that keeps each stage's latest image and the time it was reached."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.images: dict[int, np.ndarray] = {}
        self.seconds: dict[int, float] = {}

    def __call__(self, p) -> None:
        self.images[p.stage] = p.image()
        self.seconds[p.stage] = time.perf_counter() - self.t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES, help="the examples folder")
    p.add_argument("--pair", type=int, default=9, help="the pair's id")
    p.add_argument("--preset", default="default", help="a dpst preset (fast, default, quality, paper)")
    p.add_argument("--masks", choices=("hand", "auto", "none"), default="hand", help="what dpst is given")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a Config field")
    p.add_argument("--no-gram", action="store_true", help="skip style_gram (it needs the VGG-19 weights)")
    args = p.parse_args(argv)
    try:
        settings = common.parse_settings(args.set)
        if args.masks != "hand":
            settings["masks"] = args.masks
        cfg = Config.preset(args.preset, **settings)
        f = pair_files(args.pairs, args.pair)
        hand = (f["content_mask"], f["style_mask"])
        given = hand if args.masks == "hand" else (None, None)
        ends = StageEnds()
        stylizer = Stylizer(cfg)
        image, report = stylizer.run(
            f["content"], f["style"], content_mask=given[0], style_mask=given[1], callback=ends
        )
        total = time.perf_counter() - ends.t0
        rows = [(f"stage {k}", ends.images[k], ends.seconds[k]) for k in sorted(ends.images)]
        rows.append(("result", np.asarray(image), total))
        for name, picture, seconds in rows:
            r = score(f["content"], f["style"], picture, *hand, gram=not args.no_gram)
            cells = "  ".join(f"{m} {r[m]:6.2f}" for m in METRICS if m in r)
            print(f"pair {args.pair} {name:8s} {cells}  t {seconds:6.1f}s", flush=True)
        print(f"pair {args.pair} masks: {report.masks}; chose: {report.chosen() or 'nothing'}")
        print(f"pair {args.pair} seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items()))
    except (ValueError, FileNotFoundError, WeightsError) as exc:
        print(f"stages.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
