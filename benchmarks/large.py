"""Large photos: wall time and peak memory of one fresh ``dpst`` process at full resolution.

    python benchmarks/large.py --pairs ../shared/examples --id 9 --sizes 4000x3000,8660x5773

For each size, the pair's content photo is upscaled (bicubic) to WIDTHxHEIGHT and restyled with the
default preset and the default automatic masks, as a new user would run it: ``dpst IN STYLE -o OUT``
in a subprocess, whose peak resident memory (``ru_maxrss`` of the child) and wall time are recorded
beside dpst's own memory estimate (:func:`dpst.resources.estimate_bytes`).  Writes ``--json`` and
the section between ``<!-- large:begin/end -->`` of ``--doc``.  Run it alone: other jobs on the
cores change the times (not the memory).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from common import ROOT, git_commit, machine, pair_files, update_doc, write_json
from PIL import Image

from dpst.config import Config
from dpst.resources import estimate_bytes

GIB = 2**30


def upscaled(content: Path, size: tuple[int, int], folder: Path) -> Path:
    path = folder / f"content_{size[0]}x{size[1]}.png"
    with Image.open(content) as im:
        im.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(path, compress_level=1)
    return path


def run_one(content: Path, style: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, "-m", "dpst", str(content), str(style), "-o", str(out), "-q"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise RuntimeError(f"dpst failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    if peak <= before:  # ru_maxrss of children is the largest so far: runs go smallest first
        raise RuntimeError("runs must go from the smallest photo to the largest")
    with Image.open(out) as im:
        got = im.size
    return {"wall_s": wall, "peak_rss_gib": peak * 1024 / GIB, "output_px": list(got)}


def table(records: list[dict]) -> str:
    lines = [
        "| photo | megapixels | wall s | peak RSS GiB | estimate GiB |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        w, h = r["size"]
        lines.append(
            f"| {w}x{h} | {w * h / 1e6:.1f} | {r['wall_s']:.0f} | {r['peak_rss_gib']:.2f} "
            f"| {r['estimate_gib']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES)
    p.add_argument("--id", type=int, default=9)
    p.add_argument("--sizes", default="4000x3000,8660x5773", help="WIDTHxHEIGHT,... smallest first")
    p.add_argument("--json", type=Path, default=common.RESULTS / "large.json")
    p.add_argument("--doc", type=Path, default=common.DOCS / "benchmarks.md")
    args = p.parse_args(argv)
    files = pair_files(args.pairs, args.id)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            content = upscaled(files["content"], size, Path(tmp))
            rec = run_one(content, files["style"], Path(tmp) / "out.png")
            rec |= {"size": list(size), "estimate_gib": estimate_bytes(size[1], size[0], Config()) / GIB}
            print(f"{size}: {rec['wall_s']:.0f} s, {rec['peak_rss_gib']:.2f} GiB peak", flush=True)
            records.append(rec)
            content.unlink()
    command = common.command_line(__file__, sys.argv[1:] if argv is None else argv)
    meta = {
        "command": command,
        "commit": git_commit(),
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
        "pair": args.id,
    }
    write_json(args.json, {**meta, "runs": records})
    m = meta["machine"]
    body = (
        f"Pair {args.id}'s content photo upscaled (bicubic), default preset with automatic masks, one "
        f"fresh `dpst` process each, run alone on {m['cpu']} ({m['cores']} cores, {m['device']}); commit "
        f"{meta['commit']['commit'][:7]}, {meta['date']}:\n\n    {command}\n\n{table(records)}\n"
    )
    update_doc(args.doc, body, "large")
    print(json.dumps(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
