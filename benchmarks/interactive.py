"""Corrective strokes, measured as interactive segmentation is (RITM, Sofiiuk et al. 2022; the DAVIS
interactive robot): a simulated user starts from the automatic masks and corrects them one stroke at a
time, looking each time at the largest error.

    python benchmarks/interactive.py --pairs ../shared/examples --ids 1-20 --write runs/clicks

The simulated user (:func:`next_stroke`), over both photos: for every hand-mask colour, the pixels of
that colour labelled otherwise are an error region; the one whose distance transform (the image border
counting as an edge) has the largest maximum is corrected by one stroke in the hand colour, drawn
through its deepest point along the principal axis of its connected part (an approximation of its
medial axis), at most ``--length`` (8%) of the long side and ``--width`` (1%) wide, kept where it
lies at least half its width inside the region.  dpst then corrects the automatic masks with all the
strokes so far (:func:`dpst.segment.correct_pair`, as ``dpst --content-mask STROKES`` does) and the
user looks again.  The
automatic masks' region colours are first read as the hand colours they overlap most (one-to-one
over both photos), as a person reads a blue region as "the sky".

Per pair: the mean per-colour IoU over both photos against the number of strokes (0-10), and NoS@85 /
NoS@90 (and NoS@95), the strokes needed to reach that IoU (10 when never reached, as RITM counts a
failure).  ``--write DIR`` saves, per pair, the strokes at NoS@90 (or after 10; ``--bar 0.95``: at
NoS@95) as ``in{i}.png``/``tar{i}.png``
(palette colours on a transparent background; none for a photo without strokes) for
``benchmarks/quality.py --run-masks DIR``, whose runs then correct the automatic masks with them
exactly as a user's run would.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import common
import numpy as np
from common import drop_blends, pair_files, parse_ids, strokes_rgba, update_doc, write_json
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from dpst import Config, auto_masks
from dpst.io import load_image, load_mask
from dpst.ops.palette import PALETTE, UNLABELLED, labels_from_colors, resize_labels
from dpst.segment import StrokeSettings, correct_pair

MAX_STROKES = 10
BARS = {"nos85": 0.85, "nos90": 0.9, "nos95": 0.95}  # the IoUs whose NoS each pair and the summary report


def colour_iou(pred: list[np.ndarray], hand: list[np.ndarray]) -> float:
    """Mean IoU over the hand colours, both photos together (pixels the hand masks leave out ignored)."""
    p = np.concatenate([a.ravel() for a in pred])
    g = np.concatenate([a.ravel() for a in hand])
    p, g = p[g >= 0], g[g >= 0]
    return float(np.mean([((p == c) & (g == c)).sum() / ((p == c) | (g == c)).sum() for c in np.unique(g)]))


def read_as_hand(auto: list[np.ndarray], hand: list[np.ndarray]) -> dict[int, int]:
    """How a person reads the automatic masks: each region as the hand colour it overlaps most (the
    best one-to-one matching over both photos by IoU); a region left over as a colour no hand region
    has.  Returns {automatic label: hand colour}."""
    a = np.concatenate([x.ravel() for x in auto])
    g = np.concatenate([x.ravel() for x in hand])
    ka, kg = np.unique(a), np.unique(g[g >= 0])
    inter = np.array([[((a == i) & (g == j)).sum() for j in kg] for i in ka], float)
    union = np.array([[((a == i) | (g == j)).sum() for j in kg] for i in ka], float)
    rows, cols = linear_sum_assignment(-inter / np.maximum(union, 1))
    to = {int(ka[r]): int(kg[c]) for r, c in zip(rows, cols)}
    spare = iter(k for k in range(len(PALETTE)) if k not in set(kg.tolist()))
    for i in ka:
        to.setdefault(int(i), next(spare))
    return to


def recoloured(labels: np.ndarray, to: dict[int, int]) -> np.ndarray:
    """``labels`` with each label ``k`` of ``to`` renamed ``to[k]`` (others kept)."""
    lut = np.arange(max([*to, *to.values(), int(labels.max())]) + 1)
    for a, b in to.items():
        lut[a] = b
    return np.where(labels >= 0, lut[np.maximum(labels, 0)], labels)


def next_stroke(
    preds: list[np.ndarray], hands: list[np.ndarray], length: float, width: float
) -> tuple[int, np.ndarray] | None:
    """The simulated user's next stroke: (photo index, (H, W) bool of the painted pixels) with the
    hand colour to paint in taken from ``hands`` there; None when nothing is wrong."""
    best = None
    for p, (pred, hand) in enumerate(zip(preds, hands)):
        for c in np.unique(hand[hand >= 0]):
            err = (hand == c) & (pred != c)
            if not err.any():
                continue
            depth = ndimage.distance_transform_edt(np.pad(err, 1))[1:-1, 1:-1]
            if best is None or depth.max() > best[0]:
                best = (float(depth.max()), p, err, depth)
    if best is None:
        return None
    _, p, err, depth = best
    h, w = err.shape
    long = max(h, w)
    q = np.unravel_index(depth.argmax(), depth.shape)
    parts, _ = ndimage.label(err)
    ys, xs = np.nonzero(parts == parts[q])
    if len(ys) > 2:  # the part's principal axis
        cov = np.cov(np.stack([ys, xs]).astype(float))
        v = np.linalg.eigh(cov)[1][:, -1]
    else:
        v = np.array([0.0, 1.0])
    half = max(1.0, width * long / 2)
    line = np.zeros_like(err)
    line[q] = True
    for sign in (1, -1):  # walk out from the deepest point while the brush stays inside the region
        for t in range(1, int(length * long / 2) + 1):
            y, x = int(round(q[0] + sign * t * v[0])), int(round(q[1] + sign * t * v[1]))
            if not (0 <= y < h and 0 <= x < w) or depth[y, x] < half:
                break
            line[y, x] = True
    r = int(np.ceil(half))
    disk = np.hypot(*np.mgrid[-r : r + 1, -r : r + 1]) <= half
    return p, ndimage.binary_dilation(line, disk) & err


def nos(curve: list[float], bar: float) -> int:
    """Strokes needed to reach ``bar`` (MAX_STROKES when never)."""
    return next((n for n, v in enumerate(curve) if v >= bar), MAX_STROKES)


def fixed_part(pred: np.ndarray, hand: np.ndarray, brush: np.ndarray, reach: float = 0.0) -> np.ndarray:
    """``pred`` with the connected error region that ``brush`` was drawn in set to its hand colour:
    what a stroke could do at best without touching any other region (``--oracle``); with ``reach``
    (a share of the long side), only those of its pixels that near the stroke (as dpst's correction
    reaches)."""
    c = hand[brush][0]
    wrong = (hand == c) & (pred != c)
    if reach > 0:
        wrong &= ndimage.distance_transform_edt(~brush) <= reach * max(hand.shape)
    parts, _ = ndimage.label(wrong)
    hit = np.unique(parts[brush])
    return np.where(np.isin(parts, hit[hit > 0]), c, pred)


def run_pair(photos, hands, base, settings, length, width, oracle=None, bar=0.9):
    strokes = [np.full(h.shape, UNLABELLED, np.int64) for h in hands]
    preds = list(base)
    curve, saved, seconds = [colour_iou(preds, hands)], None, []
    for n in range(1, MAX_STROKES + 1):
        if saved is None and curve[-1] >= bar:
            saved = [s.copy() for s in strokes]
        found = next_stroke(preds, hands, length, width)
        if found is None:
            curve += [curve[-1]] * (MAX_STROKES + 1 - n)
            break
        p, brush = found
        strokes[p][brush] = hands[p][brush]
        t0 = time.perf_counter()
        if oracle is not None:
            preds[p] = fixed_part(preds[p], hands[p], brush, oracle)
        else:
            preds = list(
                correct_pair((photos[0], photos[1]), (base[0], base[1]), (strokes[0], strokes[1]), s=settings)
            )
        seconds.append(time.perf_counter() - t0)
        curve.append(colour_iou(preds, hands))
    if saved is None and curve[-1] >= bar:
        saved = strokes
    return curve, saved if saved is not None else strokes, seconds, preds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES)
    p.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"))
    p.add_argument("--masks", default="auto", help="the automatic masks to correct (Config.masks)")
    p.add_argument("--length", type=float, default=0.08, help="longest stroke, share of the long side")
    p.add_argument("--width", type=float, default=0.01, help="stroke width, share of the long side")
    p.add_argument("--write", type=Path, default=None, metavar="DIR", help="save the strokes at NoS@BAR")
    p.add_argument("--bar", type=float, default=0.9, help="the IoU at whose NoS --write saves the strokes")
    p.add_argument("--json", type=Path, default=common.RESULTS / "interactive.json")
    p.add_argument("--doc", type=Path, default=common.DOCS / "masks.md")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a StrokeSettings field")
    p.add_argument(
        "--oracle",
        type=float,
        nargs="?",
        const=0.0,
        default=None,
        metavar="REACH",
        help="instead of dpst's correction, each stroke sets exactly the connected error region it was "
        "drawn in to its hand colour: the reach of the protocol itself; with REACH, only its pixels "
        "within that share of the long side of the stroke (default --json interactive_oracle.json, its "
        "own section of --doc)",
    )
    args = p.parse_args(argv)
    if args.oracle is not None and args.json == common.RESULTS / "interactive.json":
        args.json = common.RESULTS / "interactive_oracle.json"
    settings = StrokeSettings(**common.parse_settings(args.set, StrokeSettings))
    config = Config(masks=args.masks)
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
    pairs, seconds = {}, []
    for i in args.ids:
        f = pair_files(args.pairs, i)
        photos = [load_image(f["content"]), load_image(f["style"])]
        hands = drop_blends(
            [
                resize_labels(labels_from_colors(load_mask(f[m])), *ph.shape[:2])
                for m, ph in zip(("content_mask", "style_mask"), photos)
            ]
        )
        found = auto_masks(f["content"], f["style"], config=config)
        auto = [labels_from_colors(np.asarray(m)) for m in found]
        to_hand = read_as_hand(auto, hands)
        base = [recoloured(a, to_hand) for a in auto]
        curve, strokes, secs, preds = run_pair(
            photos, hands, base, settings, args.length, args.width, args.oracle, args.bar
        )
        seconds += secs
        pairs[str(i)] = {"iou": curve, **{key: nos(curve, bar) for key, bar in BARS.items()}}
        if args.write:
            for name, st in zip((f"in{i}.png", f"tar{i}.png"), strokes):
                (args.write / name).unlink(missing_ok=True)
                if (st != UNLABELLED).any():  # no file for a photo without strokes
                    # in the automatic masks' own colours, as the person would paint them: a hand
                    # colour read into an automatic region takes that region's colour, a new one a
                    # colour the automatic masks do not use
                    back = {h: a for a, h in to_hand.items()}
                    free = iter(k for k in range(len(PALETTE)) if k not in to_hand)
                    for c in np.unique(np.concatenate([hands[0].ravel(), hands[1].ravel()])):
                        if c >= 0 and int(c) not in back:
                            back[int(c)] = next(free)
                    strokes_rgba(recoloured(st, back)).save(args.write / name)
        print(f"pair {i:2d}: IoU " + " ".join(f"{v:.2f}" for v in curve) +
              f" | NoS@85 {pairs[str(i)]['nos85']} NoS@90 {pairs[str(i)]['nos90']}", flush=True)  # fmt: skip
    curves = np.array([r["iou"] for r in pairs.values()])
    summary = {
        "mean_iou_by_strokes": [round(float(v), 4) for v in curves.mean(0)],
        **{key: float(np.mean([r[key] for r in pairs.values()])) for key in BARS},
        "correction_s": float(np.mean(seconds)) if seconds else 0.0,
    }
    data = {
        **common.provenance(__file__, argv),
        "oracle": args.oracle is not None,
        "oracle_reach": args.oracle,
        "masks": args.masks,
        "settings": settings.__dict__,
        "summary": summary,
        "pairs": pairs,
    }
    write_json(args.json, data)
    who = ""
    if args.oracle is not None:
        near = f" within {args.oracle:g} of the long side" if args.oracle else ""
        who = f", each fixing exactly the connected error region it is drawn in{near} (`--oracle`)"
    lines = [
        f"Corrective strokes by the simulated user{who}, pairs {args.ids[0]}-{args.ids[-1]}, starting from "
        f"`--masks {args.masks}`; commit {data['commit']['commit'][:7]}, {data['date']}, "
        f"{data['machine']['cpu']}:",
        "",
        f"    {data['command']}",
        "",
        "| strokes | " + " | ".join(str(n) for n in range(MAX_STROKES + 1)) + " |",
        "|---|" + "---|" * (MAX_STROKES + 1),
        "| mean IoU | " + " | ".join(f"{v:.3f}" for v in summary["mean_iou_by_strokes"]) + " |",
        "",
        f"Mean NoS@85 {summary['nos85']:.2f}, NoS@90 {summary['nos90']:.2f}, NoS@95 {summary['nos95']:.2f} "
        "strokes for the pair of photos"
        + ("." if args.oracle is not None else f"; one correction {summary['correction_s']:.2f} s."),
    ]
    update_doc(args.doc, "\n".join(lines), "interactive" if args.oracle is None else "interactive_oracle")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
