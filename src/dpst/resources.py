"""This machine's device, memory and cores, and what a run will need of them.

The estimate is a benchmark fitted to measured peak RSS (docs/benchmarks.md, "Large photos"), with a
margin: the optimisation at the working size (the network, the L-BFGS history, the Laplacian) plus a
cost per pixel of the output (the photo, the result and the carry/filter/polish buffers at full size).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .config import Config
from .errors import TooLarge
from .io import fit_long_side

# Optimisation at the working size: measured peak RSS with the real VGG-19, one thread, pair 1, at
# 256/512/700 px: 0.53/1.01/1.49 GiB (stage 1), 1.65 GiB at 700 px with stage 2 and the filter, plus the
# L-BFGS history (50 pairs of image-sized vectors, 0.44 GiB at 700 px).  Rounded up: 0.5 GiB + 4 KiB a
# working pixel.
BASE_BYTES, WORKING_PIXEL_BYTES = 2**29, 4096
# Full-size work, per output pixel.  Measured peak RSS, default preset (benchmarks/large.py, pair 9
# upscaled): 1.87 GiB at 12 MP, 3.49 GiB at 50 MP, i.e. 46 bytes a pixel more; 64 keeps a margin.
OUTPUT_PIXEL_BYTES = 64


def pick_device(name: str = "auto") -> torch.device:
    """'auto' → CUDA if present, else Apple MPS, else CPU.  An unavailable explicit choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is available here")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("--device mps: Apple MPS is not available here")
    return torch.device(name)


def usable_memory() -> int:
    """MemAvailable on Linux, else the physical memory, else (unknown) no limit."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def working_side(cfg: Config) -> int:
    """The long side of the largest image the optimisation may work on: ``--size``, or stage 3's
    ``--stage3-size`` when stage 3 may run (only on photos with texture left, and never above the
    photo's own size: an upper bound).  Measured: the default preset on pair 3 (700 px, stage 3 ran)
    peaked at 2.19 GB, over the 1.6 GB of a 512 px working size alone (benchmarks/speed.py)."""
    return max(cfg.size, cfg.stage3_size if cfg.stage2 and cfg.steps(3) > 0 else 0)


def working_bytes(cfg: Config) -> int:
    """Peak memory of the optimisation at the working size (the same for every photo size)."""
    return BASE_BYTES + WORKING_PIXEL_BYTES * working_side(cfg) ** 2


def output_shape(height: int, width: int, cfg: Config) -> tuple[int, int]:
    """(H, W) of the written result for a photo of (height, width)."""
    return (height, width) if cfg.output_size <= 0 else fit_long_side(height, width, cfg.output_size)


def estimate_bytes(height: int, width: int, cfg: Config) -> int:
    """Estimated peak memory of one run on a (height, width) photo with ``cfg``."""
    h, w = output_shape(height, width, cfg)
    return working_bytes(cfg) + OUTPUT_PIXEL_BYTES * h * w


def check_memory(shape: tuple[int, int], cfg: Config, available: int | None = None) -> None:
    """Raise :class:`TooLarge` when the estimate says the run cannot fit in ``available`` bytes
    (default: this machine's available memory), naming the ``--output-size`` that would."""
    available = usable_memory() if available is None else available
    h, w = shape
    need = estimate_bytes(h, w, cfg)
    if need <= available:
        return
    room = available - working_bytes(cfg)
    oh, ow = output_shape(h, w, cfg)
    fit = int(max(oh, ow) * (max(room, 0) / (OUTPUT_PIXEL_BYTES * oh * ow)) ** 0.5) if room > 0 else 0
    gib = 2**30
    smaller = "--size" if working_side(cfg) == cfg.size else "--stage3-size (or --stage3-iterations 0)"
    hint = f"use --output-size {fit} or less" if fit >= 32 else f"use a smaller {smaller}"
    raise TooLarge(
        f"a {ow}x{oh} result needs about {need / gib:.1f} GiB but {available / gib:.1f} GiB is free; {hint}"
    )
