"""Pure array and tensor math: no I/O, no printing, nothing else of dpst imported.

One algorithm per module: the matting Laplacian (:mod:`.laplacian`), the guided filter and its uses
(:mod:`.guided`), DPST's local affine filter (:mod:`.local_affine`), affine upsampling
(:mod:`.upsample`), per-region colour transfer (:mod:`.colour`), sRGB to CIELAB (:mod:`.lab`), palette
masks as label maps (:mod:`.palette`) and the array/tensor conversion (:mod:`.tensor`).
"""

from __future__ import annotations

from .colour import distribution_transfer_map, linear_transfer_map, region_colour_transfer
from .guided import affine_projection, guided_coefficients, guided_filter, refine_detail
from .lab import srgb_to_lab
from .laplacian import LaplacianTerm, matting_laplacian, photorealism_loss
from .local_affine import local_affine_filter
from .palette import colors_from_labels, labels_from_colors, match_labels, resize_labels
from .tensor import to_image, to_tensor
from .upsample import affine_upsample

__all__ = [
    "LaplacianTerm",
    "affine_projection",
    "affine_upsample",
    "colors_from_labels",
    "distribution_transfer_map",
    "guided_coefficients",
    "guided_filter",
    "labels_from_colors",
    "linear_transfer_map",
    "local_affine_filter",
    "match_labels",
    "matting_laplacian",
    "photorealism_loss",
    "refine_detail",
    "region_colour_transfer",
    "resize_labels",
    "srgb_to_lab",
    "to_image",
    "to_tensor",
]
