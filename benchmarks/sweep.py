"""The photorealism/style trade-off: the quality benchmark over a sweep of one setting (λ by default).

    python benchmarks/sweep.py --pairs ../shared/examples --ids 3,5,9,14 --preset fast \\
        --values 300,1000,3000,10000 --out benchmarks/runs/sweep

Runs ``benchmarks/quality.py`` once per value (resumable: each value has its own output folder and
JSON), then plots the mean affine_rms against the mean style_swd and style_gram, one point per value,
with the authors' published results on the same pairs for reference.  Writes ``--json`` and the
section between ``<!-- sweep:begin/end -->`` of ``--doc``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402

METRICS = quality.METRICS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=Path, default=ROOT.parent / "shared" / "examples")
    p.add_argument("--ids", default="3,5,9,14")
    p.add_argument("--preset", default="default")
    p.add_argument("--key", default="photo_weight", help="the Config field to sweep (default: λ)")
    p.add_argument("--values", default="300,1000,3000,10000")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/runs/sweep")
    p.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/sweep.json")
    p.add_argument("--doc", type=Path, default=ROOT / "docs/benchmarks.md")
    args = p.parse_args(argv)
    points = []
    for value in args.values.split(","):
        tag = f"{args.preset}_{args.key}_{value}"
        run_json = args.out / f"{tag}.json"
        code = quality.main(
            [
                "--pairs",
                str(args.pairs),
                "--ids",
                args.ids,
                "--preset",
                args.preset,
                "--set",
                f"{args.key}={value}",
            ]
            + ["--out", str(args.out / tag), "--json", str(run_json), "--doc", str(args.out / f"{tag}.md")]
            + ["--no-sheets"]
        )
        if code:
            return code
        pairs = quality.read_json(run_json)["pairs"]
        ours = {m: float(np.mean([r["ours"][m] for r in pairs.values()])) for m in METRICS}
        theirs = {m: float(np.mean([r["authors"][m] for r in pairs.values()])) for m in METRICS}
        wall = float(np.mean([r["wall_s"] for r in pairs.values() if r["wall_s"] is not None]))
        points.append({"value": float(value), "ours": ours, "authors": theirs, "wall_s": wall})
    command = shlex.join(["python", os.path.relpath(__file__, ROOT), *argv])
    result = {
        "key": args.key,
        "preset": args.preset,
        "ids": args.ids,
        "points": points,
        "command": command,
        "git": quality.git_commit(),
        "date": datetime.date.today().isoformat(),
    }
    quality.write_json(args.json, result)
    image = plot(result, args.doc.parent / "img" / f"{args.doc.stem}_sweep.png")
    quality.update_doc(args.doc, markdown(result, image, args.doc.parent), name="sweep")
    return 0


def plot(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    pts = result["points"]
    for ax, metric in zip(axes, METRICS[1:]):
        x = [p["ours"]["affine_rms"] for p in pts]
        y = [p["ours"][metric] for p in pts]
        ax.plot(x, y, "o-", color="tab:blue", label=f"dpst, {result['preset']} preset")
        for p, xi, yi in zip(pts, x, y):
            ax.annotate(f"λ={p['value']:g}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=8)
        a = pts[0]["authors"]
        ax.plot([a["affine_rms"]], [a[metric]], "s", color="tab:red", label="authors (published)")
        ax.set_xlabel("mean affine_rms (lower = more photorealistic)")
        ax.set_ylabel(f"mean {metric} (lower = closer style)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{result['key']} sweep, pairs {result['ids']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(result: dict, image: Path, doc_dir: Path) -> str:
    lines = [
        f"## Trade-off: {result['key']} sweep",
        "",
        f"Pairs {result['ids']}, `--preset {result['preset']}`, measured {result['date']} "
        f"(commit `{result['git']['commit'][:10]}`) by",
        "",
        f"    {result['command']}",
        "",
        f"| {result['key']} | " + " | ".join(METRICS) + " | wall s per pair |",
        "|---|" + "---|" * (len(METRICS) + 1),
    ]
    for p in result["points"]:
        cells = " | ".join(f"{p['ours'][m]:.2f}" for m in METRICS)
        lines.append(f"| {p['value']:g} | {cells} | {p['wall_s']:.0f} |")
    a = result["points"][0]["authors"]
    lines.append("| authors | " + " | ".join(f"{a[m]:.2f}" for m in METRICS) + " | |")
    lines += ["", f"![sweep]({os.path.relpath(image, doc_dir)})"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
