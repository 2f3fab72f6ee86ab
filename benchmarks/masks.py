"""Automatic masks against the hand-drawn ones: agreement, time, and what they do to the results.

    python benchmarks/masks.py --pairs ../shared/examples --ids 1-20 [--set masks=unsupervised] \\
        [--runs hand=results/a.json auto=results/b.json none=results/c.json] [--results DIR]

For each pair: ``dpst.auto_masks`` of both photos at their own size (timed; ``--set`` overrides
``Config`` fields, e.g. which automatic design), the mean IoU with the hand-drawn masks after the best
matching of labels (``dpst.metrics.matched_iou``, one matching for both photos of a pair), and a
contact sheet content | auto | hand for both photos; with ``--results DIR`` (a quality-benchmark run
without masks, ``DIR/out{i}.png``) the sheet is content | style | both automatic masks | that result |
the authors' result instead.  ``--runs`` names
quality-benchmark JSON files (``benchmarks/quality.py --masks hand|auto|none``, all scored with the
hand-drawn masks) whose means are compared in a table.  Writes ``--json`` and the section between
``<!-- masks:begin/end -->`` of ``--doc``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

import common
import numpy as np
from common import METRICS, contact_sheet, git_commit, pair_files, parse_ids, update_doc, write_json

ROWS = 10


def agreement(
    ids: list[int], root: Path, img_dir: Path, stem: str, config=None, results: Path | None = None
) -> tuple[dict, list[Path]]:
    """Auto masks of every pair (``config``: a :class:`dpst.Config`, default the defaults): time,
    number of regions, IoU with the hand masks; contact sheets (with ``results``, see the module)."""
    import dpst
    from dpst import io
    from dpst.metrics import matched_iou
    from dpst.ops.palette import labels_from_colors, resize_labels

    per_pair, rows, sheets = {}, [], []
    config = config or dpst.Config()
    dpst.auto_masks(*(pair_files(root, ids[0])[k] for k in ("content", "style")), config=config)  # warm-up
    for i in ids:
        f = pair_files(root, i)
        t0 = time.perf_counter()
        c_auto, s_auto = dpst.auto_masks(f["content"], f["style"], config=config)
        wall = time.perf_counter() - t0
        auto = [labels_from_colors(np.asarray(m)) for m in (c_auto, s_auto)]
        hand = [  # some drawn masks are a few pixels off their photo's size
            resize_labels(labels_from_colors(io.load_mask(f[k])), *a.shape)
            for k, a in zip(("content_mask", "style_mask"), auto)
        ]
        iou = matched_iou(
            np.concatenate([a.ravel() for a in auto]), np.concatenate([h.ravel() for h in hand])
        )
        per_pair[str(i)] = {"iou": iou, "regions": int(auto[0].max()) + 1, "seconds": wall}
        if results is None:
            rows.append([f["content"], c_auto, f["content_mask"], f["style"], s_auto, f["style_mask"]])
        else:
            rows.append([f["content"], f["style"], c_auto, s_auto, results / f"out{i}.png", f["authors"]])
    labels = ["content", "auto", "hand", "style", "auto", "hand"]
    if results is not None:
        labels = ["content", "style", "content mask", "style mask", "result", "authors"]
    for start in range(0, len(ids), ROWS):
        chunk = ids[start : start + ROWS]
        out = img_dir / f"{stem}_{chunk[0]}-{chunk[-1]}.jpg"
        part = rows[start : start + ROWS]
        sheets.append(contact_sheet(part, labels, out, height=110, row_labels=[f"pair {i}" for i in chunk]))
    return per_pair, sheets


def run_means(spec: list[str]) -> dict[str, dict]:
    """name=quality.json → that run's mean metrics, settings and pair count."""
    out = {}
    for item in spec:
        name, _, path = item.partition("=")
        data = json.loads(Path(path).read_text())
        pairs = data["pairs"].values()
        out[name] = {
            "means": {m: float(np.mean([p["ours"][m] for p in pairs])) for m in METRICS},
            "n": len(data["pairs"]),
            "settings": data.get("settings", {}),
            "json": path,
            "command": data.get("command", ""),
        }
    return out


def markdown(result: dict, sheets: list[Path], doc_dir: Path) -> str:
    per = result["pairs"]
    lines = [
        "## Automatic masks",
        "",
        f"Measured {result['date']}, commit `{result['git']['commit'][:10]}`, by",
        "",
        f"    {result['command']}",
        "",
        f"Agreement with the hand-drawn masks (mean IoU over the hand-drawn regions after the best "
        f"matching of labels): **{result['mean_iou']:.2f}** over {len(per)} pairs; "
        f"{result['mean_seconds']:.1f} s per pair for both photos at 700 px (network loaded).",
        "",
        "| pair | " + " | ".join(per) + " |",
        "|---|" + "---|" * len(per),
        "| IoU | " + " | ".join(f"{p['iou']:.2f}" for p in per.values()) + " |",
        "| regions | " + " | ".join(str(p["regions"]) for p in per.values()) + " |",
        "",
    ]
    if result["runs"]:
        lines += [
            "Results with each kind of mask (all scored with the hand-drawn masks; means over the pairs):",
            "",
            "| masks | pairs | " + " | ".join(METRICS) + " | run |",
            "|---|---|" + "---|" * len(METRICS) + "---|",
        ]
        for name, r in result["runs"].items():
            cells = " | ".join(f"{r['means'][m]:.2f}" for m in METRICS)
            lines.append(f"| {name} | {r['n']} | {cells} | `{r['command']}` |")
        lines.append("")
    lines += [f"![masks]({os.path.relpath(p, doc_dir)})" for p in sheets]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES)
    p.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"))
    p.add_argument("--runs", nargs="*", default=[], metavar="NAME=QUALITY_JSON")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a Config field: masks=unsupervised"
    )
    p.add_argument("--results", type=Path, default=None, metavar="DIR", help="results DIR/out{i}.png to show")
    p.add_argument("--json", type=Path, default=common.RESULTS / "masks.json")
    p.add_argument("--doc", type=Path, default=common.DOCS / "masks.md")
    args = p.parse_args(argv)
    from dpst import Config

    config = Config(**common.parse_settings(args.set))
    per_pair, sheets = agreement(
        args.ids, args.pairs, args.doc.parent / "img", args.doc.stem, config, args.results
    )
    result = {
        "pairs": per_pair,
        "mean_iou": float(np.mean([v["iou"] for v in per_pair.values()])),
        "mean_seconds": float(np.mean([v["seconds"] for v in per_pair.values()])),
        "runs": run_means(args.runs),
        "settings": common.parse_settings(args.set),
        "git": git_commit(),
        "command": common.command_line(__file__, argv),
        "date": datetime.date.today().isoformat(),
    }
    write_json(args.json, result)
    update_doc(args.doc, markdown(result, sheets, args.doc.parent), name="masks")
    print(f"mean IoU {result['mean_iou']:.3f}; {result['mean_seconds']:.2f} s per pair; wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
