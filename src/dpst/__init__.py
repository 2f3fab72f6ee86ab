"""dpst: Deep Photo Style Transfer (Luan et al., CVPR 2017) on a laptop CPU or a GPU.

The pipeline, by folder: :mod:`dpst.ops` (pure math: matting Laplacian, guided and local affine
filters, colour transfer), :mod:`dpst.neural` (VGG-19, region Gram losses, L-BFGS, the plan of
stages), :mod:`dpst.segment` (masks, and choosing them), :mod:`dpst.api` (the facade behind
:func:`stylize`), :mod:`dpst.batch` (many jobs) and :mod:`dpst.cli` (the ``dpst`` command).
"""

from __future__ import annotations

from .api import Stylizer, auto_masks, complete_masks, stylize
from .config import Config
from .errors import DownloadFailed, MissingExtra, TooLarge, WeightsError
from .lut import Lut, LutSettings, fit_lut, load_lut
from .metrics import matched_iou, score
from .neural.lbfgs import Interrupted, Progress
from .ops.laplacian import matting_laplacian
from .segment.hub import Download

__version__ = "0.1.0"
__all__ = [
    "Config",
    "Download",
    "DownloadFailed",
    "Interrupted",
    "Lut",
    "LutSettings",
    "MissingExtra",
    "Progress",
    "Stylizer",
    "TooLarge",
    "WeightsError",
    "__version__",
    "auto_masks",
    "complete_masks",
    "fit_lut",
    "load_lut",
    "matched_iou",
    "matting_laplacian",
    "score",
    "stylize",
]
