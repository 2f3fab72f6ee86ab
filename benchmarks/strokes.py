"""Strokes to masks, measured as interactive segmentation is: a simulated user paints k strokes inside
every region of the hand-drawn masks of both photos, dpst completes them, and the completed masks are
compared with the hand ones (per-colour IoU over both photos: no label permutation, no dropped region;
colours nowhere more than 2 pixels thick are anti-aliasing blends, not regions, and are left out).

    python benchmarks/strokes.py --pairs ../shared/examples --ids 1-20 --k 1,2,3 --seeds 0,1,2
    python benchmarks/strokes.py --pairs ../shared/examples --ids 1-20 --write runs/strokes_k2 --k 2

The simulated user (``common.simulate_strokes``): each stroke is a straight segment of ``length`` (8% of
the photo's long side) and ``width`` (1%), at a random angle, placed at random where every pixel of
it is at least ``margin`` (2% of the long side) inside its region; a region too small for that gets
the longest stroke that fits (halving length and margin), at worst a dot at its deepest point.
``--write DIR`` saves the strokes of one seed as RGBA PNGs (``in{i}.png``, ``tar{i}.png``: palette
colours on a transparent background), for ``benchmarks/quality.py --run-masks DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import common
import numpy as np
from common import (
    contact_sheet,
    drop_blends,
    pair_files,
    parse_ids,
    simulate_strokes,
    strokes_rgba,
    update_doc,
    write_json,
)
from PIL import Image

from dpst.io import load_image, load_mask
from dpst.metrics import default_net
from dpst.ops.palette import (
    PALETTE,
    UNLABELLED,
    colors_from_labels,
    labels_from_colors,
    resize_labels,
)
from dpst.segment.strokes import StrokeSettings, complete_pair


def colour_iou(pred: list[np.ndarray], hand: list[np.ndarray]) -> dict[int, float]:
    """IoU per hand colour over both photos together (pixels the hand masks leave unlabelled ignored)."""
    p = np.concatenate([a.ravel() for a in pred])
    g = np.concatenate([a.ravel() for a in hand])
    p, g = p[g >= 0], g[g >= 0]
    return {int(c): float(((p == c) & (g == c)).sum() / ((p == c) | (g == c)).sum()) for c in np.unique(g)}


def overlay(photo: np.ndarray, strokes: np.ndarray) -> Image.Image:
    out = (photo * 0.6 * 255).astype(np.uint8)
    painted = strokes != UNLABELLED
    out[painted] = PALETTE[strokes[painted]].astype(np.uint8)
    return Image.fromarray(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES)
    p.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"))
    p.add_argument("--k", default="1,2,3", help="strokes per region, e.g. 1,2,3")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--write", type=Path, default=None, metavar="DIR", help="save the first seed's strokes")
    p.add_argument("--write-k", type=int, default=2, help="of this many strokes a region (with --write)")
    p.add_argument("--json", type=Path, default=common.RESULTS / "strokes.json")
    p.add_argument("--doc", type=Path, default=common.DOCS / "masks.md")
    p.add_argument("--sheet-ids", type=parse_ids, default=parse_ids("1,4,9,14"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a StrokeSettings field")
    args = p.parse_args(argv)
    ks, seeds = [int(v) for v in args.k.split(",")], [int(v) for v in args.seeds.split(",")]
    settings = StrokeSettings(**common.parse_settings(args.set, StrokeSettings))
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
    net = default_net()
    results: dict[str, dict] = {str(k): {} for k in ks}
    times: list[float] = []
    sheet_rows, sheet_names = [], []
    for i in args.ids:
        f = pair_files(args.pairs, i)
        photos = [load_image(f["content"]), load_image(f["style"])]
        hands = [  # the hand masks at their photo's size (a few differ by a pixel or so)
            resize_labels(labels_from_colors(load_mask(f[m])), *ph.shape[:2])
            for m, ph in zip(("content_mask", "style_mask"), photos)
        ]
        hands = drop_blends(hands)
        for k in ks:
            per_seed = []
            for seed in seeds:
                rng = np.random.default_rng(1000 * i + seed)
                strokes = [simulate_strokes(hd, k, rng) for hd in hands]
                t0 = time.perf_counter()  # both photos together, as a run completes them
                preds = list(complete_pair(net, photos[0], photos[1], tuple(strokes), s=settings))
                times.append(time.perf_counter() - t0)
                per_seed.append(colour_iou(preds, hands))
                if args.write and seed == seeds[0] and k == args.write_k:
                    for name, st in zip((f"in{i}.png", f"tar{i}.png"), strokes):
                        strokes_rgba(st).save(args.write / name)
                if i in args.sheet_ids and seed == seeds[0] and k == 2:
                    sheet_rows.append(
                        [
                            Image.fromarray((photos[0] * 255).astype(np.uint8)),
                            overlay(photos[0], strokes[0]),
                            Image.fromarray(colors_from_labels(preds[0])),
                            Image.fromarray(colors_from_labels(np.maximum(hands[0], 0))),
                        ]
                    )
                    sheet_names.append(f"pair {i}")
            mean = float(np.mean([np.mean(list(d.values())) for d in per_seed]))
            results[str(k)][str(i)] = {"mean_iou": mean, "per_seed": per_seed}
            print(f"pair {i:2d} k={k}: IoU {mean:.3f}", flush=True)
    summary = {k: float(np.mean([r["mean_iou"] for r in v.values()])) for k, v in results.items()}
    data = {
        **common.provenance(__file__, argv),
        "settings": settings.__dict__,
        "summary_mean_iou": summary,
        "completion_s": {"mean": float(np.mean(times)), "max": float(np.max(times))},
        "pairs": results,
    }
    write_json(args.json, data)
    lines = [
        f"Simulated strokes on pairs {args.ids[0]}-{args.ids[-1]}, seeds {args.seeds}; commit "
        f"{data['commit']['commit'][:7]}, {data['date']}, {data['machine']['cpu']} "
        f"({data['machine']['cores']} cores):",
        "",
        f"    {data['command']}",
        "",
        "| strokes per region | mean per-colour IoU (both photos) |",
        "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in summary.items()],
        "",
        "Completing the strokes of both photos of a pair together (full size): "
        f"mean {data['completion_s']['mean']:.2f} s, max {data['completion_s']['max']:.2f} s.",
    ]
    if sheet_rows:
        sheet = args.doc.parent / "img" / "strokes.jpg"
        titles = ["content", "2 strokes a region", "completed", "hand"]
        contact_sheet(sheet_rows, titles, sheet, row_labels=sheet_names)
        lines += ["", f"![strokes]({sheet.relative_to(args.doc.parent)})"]
    update_doc(args.doc, "\n".join(lines), "strokes")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
