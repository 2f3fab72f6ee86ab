"""Colour-coded masks as label maps: palette decoding and encoding, resizing, label matching.

The authors' release draws masks with nine flat colours.  Their PNGs are anti-aliased, so a pixel is
given the nearest palette colour and pixels far from every colour (blends on edges) get no label.
"""

from __future__ import annotations

import numpy as np

# The nine colours of the DPST release, in the order of its README (index = label id).
PALETTE = np.array(
    [
        [0, 0, 255],  # blue
        [0, 255, 0],  # green
        [0, 0, 0],  # black
        [255, 255, 255],  # white
        [255, 0, 0],  # red
        [255, 255, 0],  # yellow
        [128, 128, 128],  # grey
        [0, 255, 255],  # light blue
        [255, 0, 255],  # purple
    ],
    dtype=np.float32,
)
PALETTE_NAMES = ("blue", "green", "black", "white", "red", "yellow", "grey", "lightblue", "purple")
UNLABELLED = -1


def labels_from_colors(rgb: np.ndarray, tol: float = 0.25) -> np.ndarray:
    """Label map (H, W) of int64 from a colour-coded mask (H, W, 3), uint8 or float in [0, 1].

    Each pixel takes the index of the nearest palette colour; pixels whose distance to it exceeds
    ``tol`` (in units of 255, Euclidean in RGB) are ``UNLABELLED`` (-1)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a mask must be an H×W×3 colour image, got shape {rgb.shape}")
    x = rgb.astype(np.float32) * (1.0 if rgb.dtype == np.uint8 else 255.0)
    # Squared distances via |x|² − 2x·p + |p|²: no (H, W, 9, 3) temporary.
    d2 = (x**2).sum(-1, keepdims=True) - 2.0 * x @ PALETTE.T + (PALETTE**2).sum(-1)
    labels = d2.argmin(-1).astype(np.int64)
    dmin = np.sqrt(np.maximum(np.take_along_axis(d2, labels[..., None], -1)[..., 0], 0.0)) / 255.0
    labels[dmin > tol] = UNLABELLED
    return labels


def colors_from_labels(labels: np.ndarray) -> np.ndarray:
    """The inverse of :func:`labels_from_colors`: a label map (H, W) of ids 0..8 as a mask image
    (H, W, 3) uint8 in the palette colours."""
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(PALETTE):
        raise ValueError(f"label ids must lie in 0..{len(PALETTE) - 1}")
    return PALETTE[labels].astype(np.uint8)


def resize_labels(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of a label map to (height, width)."""
    if labels.shape == (height, width):
        return labels
    ys = np.minimum(
        ((np.arange(height) + 0.5) * labels.shape[0] / height).astype(np.int64), labels.shape[0] - 1
    )
    xs = np.minimum(
        ((np.arange(width) + 0.5) * labels.shape[1] / width).astype(np.int64), labels.shape[1] - 1
    )
    return labels[ys[:, None], xs[None, :]]


def match_labels(content: np.ndarray, style: np.ndarray, min_pixels: int = 1) -> tuple[list[int], list[int]]:
    """Split the labels of the content map into those the style map has and those it lacks.

    Returns ``(used, missing)``.  A missing label must not take part in the style loss: the
    reference code compared its region with an all-zero style Gram, pulling it toward black."""
    c_ids, c_counts = np.unique(content[content >= 0], return_counts=True)
    s_ids, s_counts = np.unique(style[style >= 0], return_counts=True)
    present = set(s_ids[s_counts >= min_pixels].tolist())
    ids = [int(k) for k, n in zip(c_ids, c_counts) if n >= min_pixels]
    return [k for k in ids if k in present], [k for k in ids if k not in present]
