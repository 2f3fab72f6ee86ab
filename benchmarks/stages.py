"""Scores after every step of dpst's pipeline, to see what each step costs or buys.

    python benchmarks/stages.py PAIR SIZE STAGE1_STEPS STAGE2_STEPS [field=value ...]

Prints affine_rms / style_swd / style_gram (dpst.metrics, at the content photo's full size; outputs
at working size are resized bicubic, which inflates their affine_rms) and elapsed seconds after:
the colour-transfer start, stage 1, stage 2, the reference filter, and the final local affine carry to
full size with and without the filter (and of stage 1 alone).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dpst.api import Stylizer, _tensor, initial_image, photorealism_term, prepare  # noqa: E402
from dpst.config import Config  # noqa: E402
from dpst.metrics import score  # noqa: E402
from dpst.neural.lbfgs import run_lbfgs  # noqa: E402
from dpst.neural.objective import Objective  # noqa: E402
from dpst.ops.local_affine import local_affine_filter  # noqa: E402
from dpst.ops.tensor import to_image as tensor_to_image  # noqa: E402
from dpst.ops.upsample import affine_upsample  # noqa: E402

EXAMPLES = ROOT.parent / "shared" / "examples"


def main(argv: list[str]) -> None:
    i, size, n1, n2 = (int(a) for a in argv[:4])
    cfg = Config(size=size, **{k: type(getattr(Config, k))(v) for k, v in (a.split("=") for a in argv[4:])})
    files = [
        EXAMPLES / f"{d}/{n}{i}.png"
        for d, n in [("input", "in"), ("style", "tar"), ("segmentation", "in"), ("segmentation", "tar")]
    ]
    t0 = time.perf_counter()

    def report(name: str, x: torch.Tensor) -> None:
        r = score(files[0], files[1], np.clip(tensor_to_image(x), 0, 1), files[2], files[3])
        print(
            f"pair {i} {name:12s}",
            "  ".join(f"{k} {v:6.2f}" for k, v in r.items()),
            f"  t {time.perf_counter() - t0:6.1f}s",
            flush=True,
        )

    net = Stylizer(cfg).net
    pair = prepare(*files, size)
    c, s = _tensor(pair.content, "cpu"), _tensor(pair.style, "cpu")
    obj = Objective(net, c, s, pair.content_labels, pair.style_labels, pair.ids)
    x0 = _tensor(initial_image(pair, cfg.init, cfg.seed), "cpu")
    report("start", x0)
    w = {"content": cfg.content_weight, "style": cfg.style_weight, "tv": cfg.tv_weight}
    x1 = run_lbfgs(x0, obj, w, n1)
    report("stage1", x1)
    obj.add_term("photo", photorealism_term(pair.content, "cpu"))
    x2 = run_lbfgs(x1, obj, {**w, "photo": cfg.photo_weight}, n2)
    report("stage2", x2)
    f = local_affine_filter(x2, c, radius=cfg.f_radius, edge=cfg.f_edge)
    report("filter", f)
    full = _tensor(pair.content_full, "cpu")
    report("carry+filter", affine_upsample(full, c, f))
    report("carry", affine_upsample(full, c, x2))
    report("carry stage1", affine_upsample(full, c, x1))


if __name__ == "__main__":
    main(sys.argv[1:])
