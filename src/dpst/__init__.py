"""dpst: Deep Photo Style Transfer (Luan et al., CVPR 2017) on a laptop CPU or a GPU."""

from __future__ import annotations

from .api import Stylizer, auto_masks, stylize
from .config import Config
from .optimize import Interrupted, Progress

__version__ = "0.1.0"
__all__ = [
    "Config",
    "auto_masks",
    "Interrupted",
    "Progress",
    "Stylizer",
    "stylize",
    "matting_laplacian",
    "__version__",
]


def __getattr__(name: str):
    # The Laplacian module pulls scipy.sparse in; load it on first use only.
    if name == "matting_laplacian":
        from .laplacian import matting_laplacian

        return matting_laplacian
    raise AttributeError(f"module 'dpst' has no attribute {name!r}")
