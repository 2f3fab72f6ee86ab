"""What the reference code's local affine filter costs or buys, measured on finished outputs.

    python benchmarks/filter_sweep.py --pairs ../shared/examples --ids 1-20 --run DIR \
        [--variants 15:0.01,15:0.003] [--json OUT.json]

DIR holds outputs ``out{i}.png`` made *without* the filter (``--no-filter``).  Each is scored as it
is, and after the filter at its own (the photo's full) size with each ``radius:edge`` variant, guided
by the content photo: what dpst does when the filter is on.  Prints one line per pair and variant,
then the means.  Lower is better for all three metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dpst.io import load_image  # noqa: E402
from dpst.metrics import default_net, score  # noqa: E402
from dpst.ops.local_affine import local_affine_filter  # noqa: E402
from dpst.ops.tensor import to_image as tensor_to_image  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from quality import METRICS, pair_files, parse_ids  # noqa: E402


def _t(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"))
    ap.add_argument("--run", type=Path, required=True, help="folder of unfiltered outputs out{i}.png")
    ap.add_argument("--variants", default="15:0.01,15:0.003", help="radius:edge,...")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    variants = [None] + [(int(r), float(e)) for r, e in (v.split(":") for v in a.variants.split(","))]
    net = default_net()
    results: dict[str, dict[int, dict[str, float]]] = {}
    for i in a.ids:
        f = pair_files(a.pairs, i)
        files = [f["content"], f["style"], f["content_mask"], f["style_mask"]]
        out, content = load_image(a.run / f"out{i}.png"), load_image(files[0])
        for v in variants:
            name = "unfiltered" if v is None else f"r{v[0]} e{v[1]}"
            y = out
            if v is not None:
                y = tensor_to_image(
                    local_affine_filter(_t(out), _t(content), radius=v[0], edge=v[1]).clamp(0, 1)
                )
            r = score(files[0], files[1], y, files[2], files[3], net=net)
            results.setdefault(name, {})[i] = r
            print(f"pair {i:2d} {name:14s}", "  ".join(f"{k} {r[k]:6.2f}" for k in METRICS), flush=True)
    print("mean over", len(a.ids), "pairs:")
    for name, per in results.items():
        print(
            f"  {name:14s}", "  ".join(f"{k} {np.mean([r[k] for r in per.values()]):6.2f}" for k in METRICS)
        )
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
