"""Strokes to masks, measured as interactive segmentation is: a simulated user paints k strokes inside
every region of the hand-drawn masks of both photos, dpst completes them, and the completed masks are
compared with the hand ones (per-colour IoU over both photos: no label permutation, no dropped region;
colours nowhere more than 2 pixels thick are anti-aliasing blends, not regions, and are left out).

    python benchmarks/strokes.py --pairs ../shared/examples --ids 1-20 --k 1,2,3 --seeds 0,1,2
    python benchmarks/strokes.py --pairs ../shared/examples --ids 1-20 --write runs/strokes_k2 --k 2

The simulated user (:func:`simulate_strokes`): each stroke is a straight segment of ``length`` (8% of
the photo's long side) and ``width`` (1%), at a random angle, placed at random where every pixel of
it is at least ``margin`` (2% of the long side) inside its region; a region too small for that gets
the longest stroke that fits (halving length and margin), at worst a dot at its deepest point.
``--write DIR`` saves the strokes of one seed as RGBA PNGs (``in{i}.png``, ``tar{i}.png``: palette
colours on a transparent background), for ``benchmarks/quality.py --run-masks DIR``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "src" / "dpst").is_dir():
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PIL import Image  # noqa: E402
from quality import git_commit, machine, pair_files, parse_ids, update_doc, write_json  # noqa: E402
from scipy.ndimage import distance_transform_edt  # noqa: E402
from sheets import contact_sheet  # noqa: E402

from dpst.api import _shared  # noqa: E402
from dpst.config import Config  # noqa: E402
from dpst.io import load_image, load_mask  # noqa: E402
from dpst.ops.palette import (  # noqa: E402
    PALETTE,
    UNLABELLED,
    colors_from_labels,
    labels_from_colors,
    resize_labels,
)
from dpst.segment.strokes import StrokeSettings, complete_pair  # noqa: E402


def simulate_strokes(
    labels: np.ndarray,
    k: int,
    rng: np.random.Generator,
    length: float = 0.08,
    width: float = 0.01,
    margin: float = 0.02,
) -> np.ndarray:
    """k strokes inside every region of ``labels`` (H, W) (ids >= 0; -1 ignored).  Returns (H, W) with
    the painted pixels' region id and ``UNLABELLED`` elsewhere."""
    h, w = labels.shape
    long = max(h, w)
    strokes = np.full((h, w), UNLABELLED, np.int64)
    yy, xx = np.mgrid[0:h, 0:w]
    for r in np.unique(labels[labels >= 0]):
        inside = distance_transform_edt(labels == r)
        for _ in range(k):
            _paint(strokes, inside, int(r), rng, length * long, max(1.0, width * long), margin * long, yy, xx)
    return strokes


def _paint(strokes, inside, r, rng, length, width, margin, yy, xx) -> None:
    h, w = inside.shape
    for _ in range(5):  # relax: halve length and margin until a stroke fits
        need = margin + width / 2
        ys, xs = np.nonzero(inside >= need)
        for _ in range(200 if len(ys) else 0):
            j = rng.integers(len(ys))
            angle = rng.uniform(0, np.pi)
            t = np.linspace(-length / 2, length / 2, max(2, int(length)))
            py, px = ys[j] + t * np.sin(angle), xs[j] + t * np.cos(angle)
            iy, ix = np.round(py).astype(int), np.round(px).astype(int)
            if iy.min() < 0 or ix.min() < 0 or iy.max() >= h or ix.max() >= w:
                continue
            if (inside[iy, ix] >= need).all():
                _draw(strokes, py, px, width, r, yy, xx)
                return
        length, margin = length / 2, margin / 2
    y, x = np.unravel_index(np.argmax(inside), inside.shape)  # a dot at the deepest point
    _draw(strokes, np.array([y]), np.array([x]), width, r, yy, xx)


def _draw(strokes, py, px, width, r, yy, xx) -> None:
    rad = width / 2
    y0, y1 = int(max(py.min() - rad - 1, 0)), int(min(py.max() + rad + 2, strokes.shape[0]))
    x0, x1 = int(max(px.min() - rad - 1, 0)), int(min(px.max() + rad + 2, strokes.shape[1]))
    sy, sx = yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
    near = np.zeros(sy.shape, bool)
    for cy, cx in zip(py, px):
        near |= (sy - cy) ** 2 + (sx - cx) ** 2 <= max(rad, 0.5) ** 2
    strokes[y0:y1, x0:x1][near] = r


BLEND_WIDTH = 2  # pixels: a hand colour no thicker than this anywhere is an anti-aliasing blend


def drop_blends(hands: list[np.ndarray], width: int = BLEND_WIDTH) -> list[np.ndarray]:
    """The hand masks with their anti-aliasing blends unlabelled: the authors' masks are anti-aliased,
    and the blend of two colours along an edge often lands nearest to a third (black and white blend
    to grey), leaving an outline one or two pixels wide that is no region.  A colour is a blend when
    fewer than 5% of its pixels (over both photos) lie more than ``width`` pixels inside it; a real
    region, however small (an eye, a lip), is thicker than that."""
    ids = np.unique(np.concatenate([h.ravel() for h in hands]))
    rare = []
    for c in ids[ids >= 0]:
        total = sum(int((h == c).sum()) for h in hands)
        deep = sum(int((distance_transform_edt(h == c) > width).sum()) for h in hands)
        if deep < 0.05 * total:
            rare.append(c)
    return [np.where(np.isin(h, rare), UNLABELLED, h) for h in hands]


def colour_iou(pred: list[np.ndarray], hand: list[np.ndarray]) -> dict[int, float]:
    """IoU per hand colour over both photos together (pixels the hand masks leave unlabelled ignored)."""
    p = np.concatenate([a.ravel() for a in pred])
    g = np.concatenate([a.ravel() for a in hand])
    p, g = p[g >= 0], g[g >= 0]
    return {int(c): float(((p == c) & (g == c)).sum() / ((p == c) | (g == c)).sum()) for c in np.unique(g)}


def strokes_rgba(strokes: np.ndarray) -> Image.Image:
    rgba = np.zeros((*strokes.shape, 4), np.uint8)
    painted = strokes != UNLABELLED
    rgba[painted, :3] = PALETTE[strokes[painted]].astype(np.uint8)
    rgba[painted, 3] = 255
    return Image.fromarray(rgba, "RGBA")


def overlay(photo: np.ndarray, strokes: np.ndarray) -> Image.Image:
    out = (photo * 0.6 * 255).astype(np.uint8)
    painted = strokes != UNLABELLED
    out[painted] = PALETTE[strokes[painted]].astype(np.uint8)
    return Image.fromarray(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=Path, required=True)
    p.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"))
    p.add_argument("--k", default="1,2,3", help="strokes per region, e.g. 1,2,3")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--write", type=Path, default=None, metavar="DIR", help="save the first seed's strokes")
    p.add_argument("--write-k", type=int, default=2, help="of this many strokes a region (with --write)")
    p.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "strokes.json")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "masks.md")
    p.add_argument("--sheet-ids", type=parse_ids, default=parse_ids("1,4,9,14"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a StrokeSettings field")
    args = p.parse_args(argv)
    ks, seeds = [int(v) for v in args.k.split(",")], [int(v) for v in args.seeds.split(",")]
    kinds = {f: type(v) for f, v in StrokeSettings().__dict__.items()}
    settings = StrokeSettings(**{k: kinds[k](float(v)) for k, v in (kv.split("=") for kv in args.set)})
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
    net = _shared(Config()).net
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
    command = "python benchmarks/strokes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    m = machine(Config())
    data = {
        "command": command,
        "commit": git_commit(),
        "machine": m,
        "date": datetime.date.today().isoformat(),
        "settings": settings.__dict__,
        "summary_mean_iou": summary,
        "completion_s": {"mean": float(np.mean(times)), "max": float(np.max(times))},
        "pairs": results,
    }
    write_json(args.json, data)
    lines = [
        f"Simulated strokes on pairs {args.ids[0]}-{args.ids[-1]}, seeds {args.seeds}; commit "
        f"{data['commit']['commit'][:7]}, {data['date']}, {m['cpu']} ({m['cores']} cores):",
        "",
        f"    {command}",
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
