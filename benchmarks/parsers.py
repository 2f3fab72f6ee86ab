"""Scene-parser candidates on this machine's CPU: each published checkpoint's architecture
(``dpst.segment.parsers``: UperNet with ConvNeXt-T/S or Swin-T, BEiT-B, SegFormer-B0/B2, 150 ADE20K
labels) built from its config with random weights (the real weights cannot be downloaded here) and
timed parsing one photo at the size the checkpoint parses at (a long side of 512, BEiT a 640 px
square): the median of ``--repeats`` after ``--warmup`` passes, beside its parameters, fp32 size,
download size, licence and published mIoU.  Quality needs the real weights and is not measured here.

    python benchmarks/parsers.py

Writes ``--json`` and the section between ``<!-- parsers:begin/end -->`` of ``--doc``.  Run it alone:
timings taken beside other work are wrong.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import common
import numpy as np
import torch
from common import git_commit, machine, update_doc, write_json

from dpst.io import load_image
from dpst.segment.parsers import PARSERS, default_card, random_parser


def photo(path: Path | None) -> np.ndarray:
    """The photo to parse: ``path``, or a smooth synthetic 700 x 467 one (timing does not depend on it)."""
    if path is not None:
        return load_image(path)
    y, x = np.mgrid[0:467, 0:700] / 700
    return np.clip(np.stack([0.5 + 0.4 * np.sin(5 * x), 0.5 + 0.4 * np.cos(3 * y), x * y], -1), 0, 1).astype(
        np.float32
    )


def measure(name: str, rgb: np.ndarray, size: int, warmup: int, repeats: int) -> dict:
    """Parameters, fp32 MB and the median seconds of one parse of ``rgb`` by ``name``'s architecture."""
    parser = random_parser(name)
    params = sum(t.numel() for t in parser.model.parameters())
    seconds = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            parser.logits(rgb, size)
            if i >= warmup:
                seconds.append(time.perf_counter() - t0)
    card = PARSERS[name]
    return {
        "architecture": card.architecture, "licence": card.licence, "permissive": card.permissive,
        "download_mb": card.download_mb, "miou": card.miou, "params_m": params / 1e6,
        "fp32_mb": params * 4 / 1e6, "parse_size": size or card.preprocess.size,
        "square": card.preprocess.square, "seconds": statistics.median(seconds), "all_seconds": seconds,
    }  # fmt: skip


def table(rows: dict[str, dict]) -> list[str]:
    default = default_card().name
    out = [
        "| parser | licence | download | parameters (inference) | fp32 | ADE20K mIoU (published) | input "
        "| s a photo |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        shape = f"{r['parse_size']} px square" if r["square"] else f"{r['parse_size']} px long side"
        mark = " (default)" if name == default else ""
        out.append(
            f"| {name}{mark} | {r['licence']} | {r['download_mb']} MB | {r['params_m']:.1f} M | "
            f"{r['fp32_mb']:.0f} MB | {r['miou']} | {shape} | {r['seconds']:.2f} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--parsers", default=",".join(PARSERS), help="Hugging Face ids, comma-separated (default: all)"
    )
    p.add_argument("--photo", type=Path, help="the photo to parse (default: a synthetic 700 x 467 one)")
    p.add_argument(
        "--size", type=int, default=0, help="parse at this long side instead of each checkpoint's own"
    )
    p.add_argument("--warmup", type=int, default=1, help="untimed passes first (default: %(default)s)")
    p.add_argument(
        "--repeats", type=int, default=5, help="timed passes; the median is kept (default: %(default)s)"
    )
    p.add_argument("--json", type=Path, default=common.RESULTS / "parsers.json")
    p.add_argument("--doc", type=Path, default=common.DOCS / "masks.md")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.parsers.split(",") if n.strip()]
    unknown = [n for n in names if n not in PARSERS]
    if unknown or args.repeats < 1 or args.warmup < 0 or (args.size and args.size < 16):
        p.error(
            f"unknown parser(s) {', '.join(unknown)}"
            if unknown
            else "--repeats >= 1, --warmup >= 0, --size >= 16"
        )
    rgb = photo(args.photo)
    rows = {}
    for name in names:
        rows[name] = r = measure(name, rgb, args.size, args.warmup, args.repeats)
        print(
            f"{name}: {r['params_m']:.1f} M parameters, {r['fp32_mb']:.0f} MB fp32, {r['seconds']:.3f} s",
            flush=True,
        )
    command = common.command_line(__file__, sys.argv[1:] if argv is None else argv)
    m, commit, today = machine("cpu"), git_commit(), datetime.date.today().isoformat()
    photo_name = str(args.photo or "synthetic 700x467")
    write_json(args.json, {"command": command, "commit": commit, "machine": m, "date": today, "rows": rows,
                           "photo": photo_name, "repeats": args.repeats})  # fmt: skip
    lines = [
        f"Random weights, one {rgb.shape[1]} x {rgb.shape[0]} photo ({photo_name}), median of {args.repeats} "
        f"after {args.warmup} warm-up, {m['cpu']} ({m['cores']} cores, {m['torch_threads']} threads, torch "
        f"{m['torch']}), run alone; commit {commit['commit'][:7]}, {today}:",
        "",
        f"    {command}",
        "",
        *table(rows),
    ]
    update_doc(args.doc, "\n".join(lines), "parsers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
