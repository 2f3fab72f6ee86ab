"""Speed benchmark: wall time per pipeline step, L-BFGS steps/s and peak memory of dpst's presets,
of the faithful schedule (the reference's 2 x 1000 steps at 700 px) and of a 12-megapixel photo.

    python benchmarks/speed.py --pairs ../shared/examples --ids 3,9 --paper-steps 5 --big

Every run is a fresh subprocess, so its peak resident memory (ru_maxrss) is its own; the times are
the run report's ``timings`` plus loading the network and saving the result, measured inside that process.
The faithful schedule takes hours here, so it runs ``--paper-steps`` steps per stage and its stage
times are extrapolated linearly to 1000 steps (the table says so); everything else is measured.
``--big`` also runs the default preset on the first pair's photo resized to 4000 x 3000 (12 MP).
Writes ``--json`` and the section between ``<!-- speed:begin/end -->`` of ``--doc``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from common import git_commit, machine, pair_files, parse_ids, update_doc, write_json

PAPER_STEPS = 1000
STEPS = ("prepare", "targets", "stage1", "laplacian", "stage2", "stage3", "filter", "upsample", "save")
STAGES = ("stage1", "stage2", "stage3")


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One stylisation, timed step by step (runs in its own process)."""
    import dpst
    from dpst.io import save_image

    t0 = time.perf_counter()
    cfg = dpst.Config.preset(spec["preset"], **spec.get("overrides", {}))
    stylizer = dpst.Stylizer(cfg)
    load = time.perf_counter() - t0
    image, report = stylizer.run(
        spec["content"], spec["style"], content_mask=spec["content_mask"], style_mask=spec["style_mask"]
    )
    t1 = time.perf_counter()
    save_image(image, spec["output"])
    timings = {"load": load, **report.timings, "save": time.perf_counter() - t1}
    return {
        "timings": timings,
        "wall_s": time.perf_counter() - t0,
        "steps": {
            "stage1": cfg.steps(1),
            "stage2": cfg.steps(2) if cfg.stage2 else 0,
            "stage3": cfg.steps(3) if report.stage(3) else 0,  # only where texture was left
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "output_px": list(image.size),
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise RuntimeError(f"worker failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def extrapolate(rec: dict[str, Any], steps: int) -> dict[str, Any]:
    """The faithful schedule's time, from a run of ``rec['steps']`` steps per stage: stage times scale
    linearly with the steps (every step costs one forward+backward pass at a fixed size)."""
    t = dict(rec["timings"])
    for stage in ("stage1", "stage2"):
        done = rec["steps"][stage]
        if done:
            t[stage] = t[stage] / done * steps
    return {
        **rec,
        "timings": t,
        "wall_s": sum(t.values()),
        "steps": {"stage1": steps, "stage2": steps, "stage3": 0},
        "extrapolated_from": rec["steps"],
    }


def big_pair(files: dict[str, Path], folder: Path, shape: tuple[int, int] = (3000, 4000)) -> dict[str, Path]:
    """The pair with its content photo (and mask) resized to 4000 x 3000."""
    from PIL import Image

    out = dict(files)
    for key, resample in (("content", Image.BICUBIC), ("content_mask", Image.NEAREST)):
        path = folder / f"big_{key}.png"
        Image.open(files[key]).convert("RGB").resize(shape[::-1], resample).save(path)
        out[key] = path
    return out


def table(records: list[dict[str, Any]]) -> str:
    head = f"| run | pair | load | {' | '.join(STEPS)} | total s | steps/s (stage 1, 2, 3) | peak RSS MB |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in records:
        t = r["timings"]
        rate = [f"{r['steps'][s] / t[s]:.2f}" if r["steps"].get(s) and t.get(s) else "–" for s in STAGES]
        name = r["name"] + (" (extrapolated)" if "extrapolated_from" in r else "")
        cells = " | ".join(f"{t[k]:.1f}" if k in t else "–" for k in ("load", *STEPS))
        total, rss = f"{r['wall_s']:.1f}", f"{r['peak_rss_mb']:.0f}"
        lines.append(f"| {name} | {r['pair']} | {cells} | {total} | {', '.join(rate)} | {rss} |")
    return "\n".join(lines)


def summary(records: list[dict[str, Any]]) -> list[str]:
    """Speed-ups against the faithful schedule, and the 12 MP run against the same pair at 700 px."""
    by = {(r["name"], r["pair"]): r for r in records}
    out = []
    for (name, pair), r in by.items():
        paper = by.get(("paper", pair))
        if name != "paper" and paper:
            ratio = paper["wall_s"] / r["wall_s"]
            out.append(f"- pair {pair}: `{name}` is {ratio:.0f}x faster than the faithful schedule")
    for (_, pair), r in by.items():
        small = by.get(("default", pair.removesuffix(" 12MP")))
        if pair.endswith("12MP") and small:
            w, h = r["output_px"]
            out.append(
                f"- 12 MP ({w}x{h}): {r['wall_s']:.0f} s, {r['wall_s'] / small['wall_s']:.2f}x the "
                f"700 px run; peak RSS {r['peak_rss_mb'] / 1024:.2f} GB"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES)
    p.add_argument("--ids", type=parse_ids, default=parse_ids("3,9"))
    p.add_argument("--presets", default="fast,default", help="presets to time in full")
    p.add_argument("--paper-steps", type=int, default=5, help="steps per stage of the faithful run (0: skip)")
    p.add_argument("--big", action="store_true", help="also a 12-megapixel photo (default preset)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|mps (Config.device), every run")
    p.add_argument("--precision", default="auto", help="auto|float32|bfloat16 (Config.precision), every run")
    p.add_argument("--json", type=Path, default=common.RESULTS / "speed.json")
    p.add_argument("--doc", type=Path, default=common.DOCS / "benchmarks.md")
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    from dpst.config import Config

    base = {"device": args.device, "precision": args.precision}
    Config(**base)  # a bad --device or --precision ends here, before any run
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in args.ids:
            files = pair_files(args.pairs, i)
            jobs = [(name, dict(base)) for name in args.presets.split(",")]
            if args.paper_steps:
                jobs.append(("paper", {**base, "iterations": args.paper_steps}))
            for name, overrides in jobs:
                spec = {k: str(v) for k, v in files.items() if k != "authors"}
                spec.update(preset=name, overrides=overrides, output=f"{tmp}/{name}{i}.png")
                rec = {"name": name, "pair": str(i), **run(spec)}
                if name == "paper":
                    rec = extrapolate(rec, PAPER_STEPS)
                records.append(rec)
                print(table(records[-1:]).splitlines()[-1], flush=True)
        if args.big:
            i = args.ids[0]
            files = big_pair(pair_files(args.pairs, i), Path(tmp))
            spec = {k: str(v) for k, v in files.items() if k != "authors"}
            spec.update(preset="default", overrides=dict(base), output=f"{tmp}/big.png")
            records.append({"name": "default", "pair": f"{i} 12MP", **run(spec)})
            print(table(records[-1:]).splitlines()[-1], flush=True)
    command = common.command_line(__file__, argv)
    result = {
        "records": records,
        "machine": {**machine(args.device), "precision": args.precision},
        "git": git_commit(),
        "command": command,
        "date": datetime.date.today().isoformat(),
    }
    write_json(args.json, result)
    m = result["machine"]
    doc = [
        "## Speed",
        "",
        f"Measured {result['date']} on {m['cpu']} ({m['cores']} cores, torch {m['torch']}, "
        f"{m['torch_threads']} threads, device {m['device']}, precision {m['precision']}), "
        f"commit `{result['git']['commit'][:10]}`, by",
        "",
        f"    {command}",
        "",
        "Seconds per step of the pipeline, each run in a fresh process (peak RSS is that process's).",
        f"The faithful schedule (`--preset paper`: 2 x {PAPER_STEPS} steps at 700 px, from noise, with "
        f"the reference filter) ran {args.paper_steps} steps per stage; its stage times are extrapolated "
        "linearly.",
        "",
        table(records),
        "",
        *summary(records),
    ]
    update_doc(args.doc, "\n".join(doc), name="speed")
    print("\n".join(summary(records)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
