"""Timings of the photorealism machinery at the working size (700 px long side).

    python benchmarks/laplacian.py [--image PATH] [--repeats N] [--threads T] [--no-large]

Prints min / median wall-clock seconds of: building the matting Laplacian, one forward+backward of
the photorealism loss with each backend, the local affine filter, refine_detail, and affine_upsample
from the working size to a 4000x3000 photo (with its peak extra memory, Linux only).  On a shared
machine take the min; with other work on the cores, ``--threads 1`` avoids OpenMP oversubscription.
Peak memory is measured in a fresh process per function.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import common
import numpy as np
import torch
import torch.nn.functional as F

from dpst.ops.guided import refine_detail
from dpst.ops.laplacian import LaplacianTerm, matting_laplacian
from dpst.ops.local_affine import local_affine_filter
from dpst.ops.tensor import to_tensor
from dpst.ops.upsample import affine_upsample

DEFAULT_IMAGE = common.EXAMPLES / "input" / "in9.png"


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def load(path: Path | None) -> tuple[np.ndarray, str]:
    if path is not None and path.exists():
        from PIL import Image

        img = Image.open(path).convert("RGB")
        img.thumbnail((700, 700))
        return np.asarray(img, dtype=np.float64) / 255.0, str(path)
    return np.random.default_rng(0).random((467, 700, 3)), "random 700x467"


def peak_extra_mib(fn: Callable[[], object]) -> float | None:
    """Peak resident memory above the current one while ``fn`` runs (Linux ``VmHWM``), in MiB.

    Only meaningful in a fresh process: memory freed earlier stays mapped and gets reused unseen.
    """

    def status(key: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
        raise KeyError(key)

    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = status("VmRSS:")
        fn()
        return (status("VmHWM:") - before) / 1024
    except OSError:
        return None


def memory_probe(name: str, threads: int) -> float | None:
    """Peak extra MiB of one call, run in this (fresh) process; inputs are made beforehand."""
    if threads:
        torch.set_num_threads(threads)
    if name == "local_affine_filter":
        content = torch.rand(1, 3, 467, 700)
        out = torch.rand(1, 3, 467, 700)
        return peak_extra_mib(lambda: local_affine_filter(out, content))
    full = torch.rand(1, 3, 3000, 4000)
    if name == "refine_detail":
        result = torch.rand(1, 3, 3000, 4000)
        return peak_extra_mib(lambda: refine_detail(result, full))
    small = F.interpolate(full, size=(525, 700), mode="area")
    res_small = small.flip(1)
    return peak_extra_mib(lambda: affine_upsample(full, small, res_small))


def probe(name: str, threads: int) -> str:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        mib = pool.apply(memory_probe, (name, threads))
    return "" if mib is None else f"  peak extra {mib:.0f} MiB"


def report(name: str, t: tuple[float, float], extra: str = "") -> None:
    print(f"{name:<46} min {t[0]:8.3f} s   median {t[1]:8.3f} s {extra}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 = torch's default")
    parser.add_argument("--no-large", action="store_true", help="skip the 4000x3000 upsample")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    img, source = load(args.image)
    h, w, _ = img.shape
    print(f"image: {source} ({w}x{h}), torch threads: {torch.get_num_threads()}")

    lap = matting_laplacian(img)
    report("matting_laplacian build", timed(lambda: matting_laplacian(img), args.repeats), f"  nnz {lap.nnz}")

    content = to_tensor(img).contiguous()
    x = (content.flip(1) * 0.8 + 0.1).requires_grad_()
    for backend in ("scipy", "torch"):
        term = LaplacianTerm(lap, backend=backend)

        def step(term: LaplacianTerm = term) -> None:
            x.grad = None
            term(x).backward()

        step()
        report(f"photorealism loss fwd+bwd ({backend} backend)", timed(step, args.repeats))
    sparse = LaplacianTerm(lap, backend="torch")._torch_matrix(torch.float32)

    def plain_autograd() -> None:
        x.grad = None
        v = x.reshape(3, -1).T
        torch.sum(v * (sparse @ v)).backward()

    report("  (torch sparse through plain autograd)", timed(plain_autograd, 2))

    out = x.detach()
    extra = probe("local_affine_filter", args.threads)
    report(
        "local_affine_filter (r 15, edge 0.01)", timed(lambda: local_affine_filter(out, content), 3), extra
    )
    report("refine_detail (r 8, eps 0.01)", timed(lambda: refine_detail(out, content), args.repeats))

    if not args.no_large:
        full = F.interpolate(content, size=(3000, 4000), mode="bilinear", align_corners=False)
        small = F.interpolate(full, size=(525, 700), mode="area")
        res_small = small.flip(1) * 0.8 + 0.1
        up = affine_upsample(full, small, res_small)
        extra = probe("affine_upsample", args.threads) + " (the output alone is 137 MiB)"
        report(
            "affine_upsample 700x525 -> 4000x3000",
            timed(lambda: affine_upsample(full, small, res_small), 3),
            extra,
        )
        extra = probe("refine_detail", args.threads) + " (the output alone is 137 MiB)"
        report("refine_detail at 4000x3000", timed(lambda: refine_detail(up, full), 2), extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
