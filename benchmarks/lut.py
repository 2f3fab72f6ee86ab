"""How much of a result a 3D LUT keeps: full result vs its LUT applied to the content photo.

    python benchmarks/lut.py --pairs ../shared/examples --ids 1-20 --runs DIR \
        [--pattern 'out{i}.png'] [--smoothness 1e-5,1e-4,1e-3] [--size 33] [--no-gram] \
        [--json benchmarks/results/lut.json]

DIR holds existing results (``out{i}.png``; ``--runs ../shared/examples/paper_final --pattern
'best{i}_t_1000.png'`` takes the authors').  For each pair and smoothness it fits the LUT of the
result (content -> result, :func:`dpst.fit_lut`) and scores the full result and the content photo
through the LUT with shared/eval/photometrics.py (affine_rms, style_swd, style_gram, hand masks from
the pairs' segmentation folder; lower is better), with the LUT's RMS distance from the result, its
shares of lattice cells and of the photo's pixels in cells that fold over (Jacobian det < -0.1, the
identity's being 1) and the fit's time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import common
import numpy as np
from common import git_commit, pair_files, parse_ids, write_json

from dpst.lut import fit_lut
from dpst.ops.lut import apply_table, jacobian_determinants

# a cell folds over where its Jacobian's det is below this (the identity's is 1): "badly negative";
# a look that squashes colours toward a plane has dets near 0 of either sign, which are harmless
FOLD = -0.1


def metrics(pm, content, style, image, labels: tuple, gram: bool) -> dict[str, float]:
    """photometrics' scores of ``image`` (float64 (H, W, 3) at the content's size)."""
    r = {
        "affine_rms": pm.affine_rms(content, image),
        "style_swd": pm.style_swd(image, style, *labels),
    }
    if gram:
        r["style_gram"] = pm.style_gram(image, style, *labels)
    return r


def run_pair(pm, files: dict, result_path: Path, smoothness: list[float], size: int, gram: bool) -> dict:
    content, style = pm.load_rgb(files["content"]), pm.load_rgb(files["style"])
    h, w = content.shape[:2]
    result = pm.load_rgb(result_path, size=(w, h))
    labels = (
        pm.labels_from_mask(pm.load_rgb(files["content_mask"], size=(w, h), nearest=True)),
        pm.labels_from_mask(pm.load_rgb(files["style_mask"], size=style.shape[1::-1], nearest=True)),
    )
    row = {"result": metrics(pm, content, style, result, labels, gram), "lut": {}}
    # the limit of ever larger smoothness: the prior penalises second derivatives, so what it leaves
    # is the least-squares global affine colour map content -> result
    rows = np.concatenate([content.reshape(-1, 3), np.ones((h * w, 1))], 1)
    fit, *_ = np.linalg.lstsq(rows, result.reshape(-1, 3), rcond=None)
    row["global_affine"] = metrics(
        pm, content, style, np.clip((rows @ fit).reshape(h, w, 3), 0, 1), labels, gram
    )
    corner = np.minimum((content.reshape(-1, 3) * (size - 1)).astype(int), size - 2)
    cells = np.bincount(
        (corner[:, 0] * (size - 1) + corner[:, 1]) * (size - 1) + corner[:, 2], minlength=(size - 1) ** 3
    )
    for s in smoothness:
        t0 = time.perf_counter()
        lut = fit_lut(content.astype(np.float32), result.astype(np.float32), size, s)
        seconds = time.perf_counter() - t0
        image = np.clip(apply_table(lut.table, content), 0, 1).astype(np.float64)
        det = jacobian_determinants(lut.table).ravel()
        row["lut"][f"{s:g}"] = {
            **metrics(pm, content, style, image, labels, gram),
            "rms_from_result": float(np.sqrt(np.mean((image - result) ** 2)) * 255),
            "folded_cells": float((det < FOLD).mean()),
            "folded_pixels": float(cells[det < FOLD].sum() / cells.sum()),
            "fit_s": round(seconds, 2),
        }
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, default=common.EXAMPLES, help="the examples folder")
    ap.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"))
    ap.add_argument("--runs", type=Path, required=True, help="folder of existing results")
    ap.add_argument("--pattern", default="out{i}.png")
    ap.add_argument("--smoothness", default="1e-5,1e-4,1e-3")
    ap.add_argument("--size", type=int, default=33)
    ap.add_argument("--no-gram", action="store_true", help="skip style_gram (needs the VGG weights)")
    ap.add_argument(
        "--eval", type=Path, default=common.ROOT.parent / "shared" / "eval", help="photometrics.py's folder"
    )
    ap.add_argument("--json", type=Path, default=common.RESULTS / "lut.json")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(a.eval))
    import photometrics as pm

    smoothness = [float(v) for v in a.smoothness.split(",")]
    pairs = {}
    for i in a.ids:
        pairs[i] = run_pair(
            pm, pair_files(a.pairs, i), a.runs / a.pattern.format(i=i), smoothness, a.size, not a.no_gram
        )
        line = "  ".join(
            f"{name} " + " ".join(f"{v:.3g}" for v in m.values())
            for name, m in [
                ("result", pairs[i]["result"]),
                ("global affine", pairs[i]["global_affine"]),
                *pairs[i]["lut"].items(),
            ]
        )
        print(f"pair {i}: {line}", flush=True)
    names = pairs[a.ids[0]]["result"].keys()
    mean = {
        name: {k: float(np.mean([p[name][k] for p in pairs.values()])) for k in names}
        for name in ("result", "global_affine")
    }
    for s in pairs[a.ids[0]]["lut"]:
        keys = pairs[a.ids[0]]["lut"][s].keys()
        mean[s] = {k: float(np.mean([p["lut"][s][k] for p in pairs.values()])) for k in keys}
    write_json(
        a.json,
        {
            "command": common.command_line(__file__, sys.argv[1:] if argv is None else argv),
            "runs": str(a.runs),
            "size": a.size,
            "git": git_commit(),
            "mean": mean,
            "pairs": pairs,
        },
    )
    print(f"mean: {mean}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
