"""A cheap proxy for trying segmentation designs: the colour of stage 1's start, scored by hand masks.

    python benchmarks/masks_proxy.py --pairs ../shared/examples --ids 1-20 \\
        hand none auto auto:max_regions=4 transfer:regions=4

For each pair and each design, the photos are segmented (or the hand masks used), stage 1's start is
made at 256 px (``initial_image(pair, "distribution")``: each region's colours moved to its matched
style region's), resized to the photo's size and scored by ``style_swd`` with the **hand-drawn**
masks; also the mean IoU of the labels with the hand masks.  No L-BFGS step runs, so a design costs
about 10 s per pair instead of 30 s (fast preset).  Measured 2026-11-27: the proxy's means over pairs
1-20 (hand 5.30, auto 14.2) track the fast preset's final results (hand 5.42, auto 13.53).

Designs: ``hand``; ``none`` (each photo one region); ``auto[:key=value,...]`` (``dpst.segment.
auto_labels`` with those ``SegmentSettings``: the unsupervised design); ``correspond[:key=value,...]``
(``dpst.segment.correspond_labels`` with those ``CorrespondSettings``: the default without a parser);
``strokes[:k=2,seed=0,key=value,...]``: the simulated
user of ``benchmarks/strokes.py`` paints k strokes a region, completed with those ``StrokeSettings``
(both photos together, as a run does: ``cross_fusion=0`` completes each alone);
``transfer[:regions=K,knn=N]``: an experiment, not in
dpst: the style photo alone is clustered (k-means, same features as ``auto``) and each cell of the
content photo takes the label most of its N nearest style cells have, by VGG-19 relu4_1 + relu5_1
(L2-normalised per cell) and vertical position.

``--reverse`` runs every pair the other way round (the style photo as the content, scored with its
hand mask against the content photo's): twenty more cases for checking that a design picked on the
pairs as given is not picked for them alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import common
import numpy as np
import torch
import torch.nn.functional as F
from common import pair_files, parse_ids, write_json

from dpst import io, segment
from dpst.metrics import default_net, matched_iou, style_swd
from dpst.neural.start import initial_image
from dpst.ops.palette import labels_from_colors, resize_labels
from dpst.ops.tensor import to_tensor
from dpst.segment.labelled import prepare


def _match_cells(net, rgb: np.ndarray, s: segment.SegmentSettings, grid: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour features of the cells on ``grid``: relu4_1 + relu5_1, L2-normalised per
    cell, and vertical position."""
    small = io.resize_long_side(rgb, s.analysis_size)
    x = to_tensor(small.astype(np.float32))
    with torch.no_grad():
        feats = net(x, ("relu4_1", "relu5_1"))
    match = []
    for name in ("relu4_1", "relu5_1"):
        t = F.interpolate(feats[name].float(), size=grid, mode="bilinear", align_corners=False)[0]
        t = t / t.norm(dim=0, keepdim=True).clamp_min(1e-8)
        match.append(t.reshape(t.shape[0], -1).T.numpy())
    match.append(np.repeat((np.arange(grid[0]) + 0.5) / grid[0], grid[1])[:, None])
    return np.concatenate(match, 1)


def transfer_labels(net, content, style, s, shapes, regions: int = 4, knn: int = 5):
    """Style-only k-means; content cells labelled by a vote of their nearest style cells."""
    (_, style_x), (gc, gs) = segment.joint_cells(net, content, style, s)
    mc, ms = _match_cells(net, content, s, gc), _match_cells(net, style, s, gs)
    centres, style_lab = segment.auto.kmeans(style_x, regions, np.random.default_rng(s.seed))
    sq_dist = (mc**2).sum(1)[:, None] - 2.0 * mc @ ms.T + (ms**2).sum(1)[None]
    nn = np.argsort(sq_dist, 1)[:, :knn]
    votes = np.zeros((len(mc), regions))
    np.add.at(votes, (np.repeat(np.arange(len(mc)), knn), style_lab[nn].ravel()), 1.0)
    soft_c = torch.from_numpy((votes / knn).T.reshape(regions, *gc)).float()
    soft_s = segment.auto.memberships(style_x, centres, gs, s.temperature)
    out = []
    for rgb, soft, shape in zip((content, style), (soft_c, soft_s), shapes):
        photo = rgb if rgb.shape[:2] == tuple(shape) else io.resize(rgb, *shape)
        out.append(segment.auto.refine_labels(soft, photo, s.refine_radius))
    return out[0], out[1]


def _parse(design: str) -> tuple[str, list[str]]:
    """'auto:max_regions=4,seed=1' → ('auto', ['max_regions=4', 'seed=1'])."""
    name, _, rest = design.partition(":")
    if name not in ("hand", "none", "auto", "correspond", "transfer", "strokes"):
        raise ValueError(f"unknown design {design!r}: use hand, none, auto, correspond, transfer or strokes")
    return name, [item for item in rest.split(",") if item]


def _take_ints(items: list[str], names: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    """The design's own integer options (``names``: their defaults) and the rest of ``items``."""
    own, rest = dict(names), []
    for item in items:
        key, _, value = item.partition("=")
        if key in own:
            own[key] = int(value)
        else:
            rest.append(item)
    return own, rest


def swap(files: dict[str, Path]) -> dict[str, Path]:
    """A pair's files the other way round: the style photo and its mask as the content's."""
    out = dict(files)
    out["content"], out["style"] = files["style"], files["content"]
    out["content_mask"], out["style_mask"] = files["style_mask"], files["content_mask"]
    return out


def proxy(
    design: str, ids: list[int], root: Path, size: int = 256, reverse: bool = False
) -> dict[int, dict[str, float]]:
    name, items = _parse(design)
    if name == "transfer":
        st = segment.SegmentSettings()
        kv, _ = _take_ints(items, {"regions": 4, "knn": 5})
        seg = lambda a, b, shapes: transfer_labels(net, a, b, st, shapes, **kv)  # noqa: E731
    elif name == "correspond":
        cs = segment.CorrespondSettings(**common.parse_settings(items, segment.CorrespondSettings))
        seg = lambda a, b, shapes: segment.correspond_labels(net, a, b, cs, shapes=shapes)  # noqa: E731
    else:
        auto = common.parse_settings(items, segment.SegmentSettings) if name == "auto" else {}
        st = segment.SegmentSettings(**auto) if name == "auto" else segment.SegmentSettings(max_regions=1)
        seg = lambda a, b, shapes: segment.auto_labels(net, a, b, st, shapes=shapes)  # noqa: E731
    net = default_net()  # after the settings are read: a bad one fails at once
    rows = {}
    if name == "strokes":  # simulated strokes (benchmarks/strokes.py), completed by dpst
        from common import drop_blends, simulate_strokes

        from dpst.ops.palette import colors_from_labels
        from dpst.segment.strokes import StrokeSettings, complete_pair

        own, items = _take_ints(items, {"k": 2, "seed": 0})
        k, seed = own["k"], own["seed"]
        settings = StrokeSettings(**common.parse_settings(items, StrokeSettings))
    for i in ids:
        f = swap(pair_files(root, i)) if reverse else pair_files(root, i)
        c, s = io.load_image(f["content"], "content"), io.load_image(f["style"], "style")
        hc = resize_labels(labels_from_colors(io.load_mask(f["content_mask"])), *c.shape[:2])
        hs = resize_labels(labels_from_colors(io.load_mask(f["style_mask"])), *s.shape[:2])
        t0 = time.perf_counter()
        if name == "hand":
            pair = prepare(c, s, f["content_mask"], f["style_mask"], size=size)
        elif name == "strokes":
            rng = np.random.default_rng(1000 * i + seed)
            painted = tuple(simulate_strokes(hd, k, rng) for hd in drop_blends([hc, hs]))
            done = [colors_from_labels(x) for x in complete_pair(net, c, s, painted, s=settings)]
            pair = prepare(c, s, done[0], done[1], size=size)
        else:
            pair = prepare(c, s, size=size, segment=seg)
        seconds = time.perf_counter() - t0
        start = io.resize(initial_image(pair, "distribution"), *c.shape[:2])
        auto = [
            resize_labels(pair.content_labels, *c.shape[:2]),
            resize_labels(pair.style_labels, *s.shape[:2]),
        ]
        iou = matched_iou(np.concatenate([a.ravel() for a in auto]), np.concatenate([hc.ravel(), hs.ravel()]))
        swd = style_swd(start, s, hc, hs)
        rows[i] = {"style_swd": swd, "iou": iou, "regions": len(pair.ids), "s": seconds}
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "designs",
        nargs="+",
        help="hand | none | auto[:k=v,...] | correspond[:k=v,...] | transfer[:regions=K,knn=N] | "
        "strokes[:k=2,seed=0,key=v,...]",
    )
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES, help="the examples folder")
    p.add_argument("--ids", default="1-20")
    p.add_argument("--json", type=Path, help="write every pair's numbers here")
    p.add_argument("--reverse", action="store_true", help="every pair the other way round (style as content)")
    a = p.parse_args(argv)
    ids = parse_ids(a.ids)
    out = {}
    for design in a.designs:
        try:
            rows = proxy(design, ids, a.pairs, reverse=a.reverse)
        except (ValueError, FileNotFoundError) as exc:
            print(f"masks_proxy.py: {exc}", file=sys.stderr)
            return 2
        out[design] = {str(i): r for i, r in rows.items()}
        mean = {k: float(np.mean([r[k] for r in rows.values()])) for k in ("style_swd", "iou")}
        per_pair = " ".join(f"{i}:{r['style_swd']:.1f}" for i, r in rows.items())
        print(f"{design}: style_swd {mean['style_swd']:.2f}  IoU {mean['iou']:.3f}  ({per_pair})", flush=True)
    if a.json:
        write_json(a.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
