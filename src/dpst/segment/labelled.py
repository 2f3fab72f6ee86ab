"""A pair labelled for a run: both photos at the working size with the label maps of their masks
(given, completed from strokes, or found by a :data:`dpst.segment.choose.Segmenter`)."""

from __future__ import annotations

import warnings

import numpy as np

from .. import io
from ..config import Config
from ..neural.pair import Pair
from ..ops.palette import PALETTE_NAMES, labels_from_colors, match_labels, resize_labels
from .choose import Segmenter
from .strokes import complete_labels, complete_pair


def pair_labels(
    content_mask, style_mask, content: np.ndarray, style: np.ndarray, shapes: tuple, net=None
) -> tuple[np.ndarray, np.ndarray]:
    """Label maps at ``shapes`` of both given masks.  A strokes image (transparent background, see
    :func:`dpst.io.load_strokes`) is completed into a full mask along its photo's edges
    (:func:`dpst.segment.complete_labels`); an ordinary mask is decoded and resized nearest.  When
    both are strokes and ``net`` (a :class:`dpst.neural.vgg.VGGFeatures`) is given, they are completed
    together, each photo's strokes also telling the other what its regions look like
    (:func:`dpst.segment.complete_pair`)."""
    masks, photos, whats = (content_mask, style_mask), (content, style), ("content mask", "style mask")
    strokes = [io.load_strokes(m, what) for m, what in zip(masks, whats)]
    if net is not None and strokes[0] is not None and strokes[1] is not None:
        return complete_pair(net, content, style, (strokes[0], strokes[1]), shapes)
    c_lab, s_lab = (
        complete_labels(photo, st, shape)
        if st is not None
        else resize_labels(labels_from_colors(io.load_mask(m, what)), *shape)
        for m, photo, st, shape, what in zip(masks, photos, strokes, shapes, whats)
    )
    return c_lab, s_lab


def photo_labels(
    content: np.ndarray, style: np.ndarray, content_mask, style_mask, segment: Segmenter | None, net=None
) -> tuple[np.ndarray, np.ndarray]:
    """Label maps of both photos at their own sizes: of the given masks (strokes completed, see
    :func:`pair_labels`), else found by ``segment``, else each photo one region (label 0)."""
    shapes = (content.shape[:2], style.shape[:2])
    if content_mask is not None:
        return pair_labels(content_mask, style_mask, content, style, shapes, net)
    if segment is None:
        return np.zeros(shapes[0], np.int64), np.zeros(shapes[1], np.int64)
    return segment(content, style, shapes)


def prepare(
    content,
    style,
    content_mask=None,
    style_mask=None,
    size: int = Config.size,
    segment: Segmenter | None = None,
    net=None,
) -> Pair:
    """Load and resize a pair and its masks; decide which labels take part.

    Without masks, ``segment(content_full, style_full, (content_shape, style_shape))`` (when given)
    returns matched label maps at the working sizes (see :func:`dpst.segment.auto_labels`).  With
    ``net``, strokes on both photos are completed together (:func:`pair_labels`)."""
    if (content_mask is None) != (style_mask is None):
        raise ValueError("give both masks (--content-mask and --style-mask) or neither")
    if size < 32:
        raise ValueError(f"--size {size}: too small; use at least 32")
    c_full = io.load_image(content, "content")
    s_full = io.load_image(style, "style")
    # Never work above the content photo's own resolution: upsampling adds cost, not detail.
    size = min(size, max(c_full.shape[:2]))
    c = io.resize_long_side(c_full, size)
    s = io.resize_long_side(s_full, size)
    if content_mask is None and segment is None:
        return Pair(
            c_full, s_full, c, s, np.zeros(c.shape[:2], np.int64), np.zeros(s.shape[:2], np.int64), [0]
        )
    if content_mask is None:
        c_lab, s_lab = segment(c_full, s_full, (c.shape[:2], s.shape[:2]))
    else:
        c_lab, s_lab = pair_labels(content_mask, style_mask, c_full, s_full, (c.shape[:2], s.shape[:2]), net)
    ids, missing = match_labels(c_lab, s_lab)
    if missing and content_mask is not None:
        names = ", ".join(PALETTE_NAMES[k] for k in missing)
        warnings.warn(f"content-mask regions absent from the style mask get no style: {names}", stacklevel=3)
    if not ids:
        warnings.warn("the masks share no region; using the whole images as one region", stacklevel=3)
        return Pair(
            c_full, s_full, c, s, np.zeros(c.shape[:2], np.int64), np.zeros(s.shape[:2], np.int64), [0]
        )
    return Pair(c_full, s_full, c, s, c_lab, s_lab, ids)
