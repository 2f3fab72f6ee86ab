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
from .strokes import complete_labels, complete_pair, correct_pair


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
    """Label maps of both photos at their own sizes (see :func:`labels_at`)."""
    return labels_at(
        content, style, content_mask, style_mask, segment, (content.shape[:2], style.shape[:2]), net
    )


def labels_at(
    content: np.ndarray,
    style: np.ndarray,
    content_mask,
    style_mask,
    segment: Segmenter | None,
    shapes,
    net=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Label maps of both photos at ``shapes``.  With automatic masks (``segment``) and strokes given
    for one photo or both, the strokes *correct* the automatic masks
    (:func:`dpst.segment.correct_labels`); else the given masks (strokes completed from scratch, see
    :func:`pair_labels`), else found by ``segment``, else each photo one region (label 0)."""
    given = (content_mask, style_mask)
    if segment is not None and any(m is not None for m in given):
        strokes = [None if m is None else io.load_strokes(m, what) for m, what in zip(given, _WHATS)]
        if all(st is not None or m is None for st, m in zip(strokes, given)):
            base = segment(content, style, shapes)
            return correct_pair((content, style), base, (strokes[0], strokes[1]), shapes)
    if (content_mask is None) != (style_mask is None):
        raise ValueError(
            "give both masks (--content-mask and --style-mask) or neither; strokes alone correct the "
            "automatic masks, which --masks none turns off"
        )
    if content_mask is not None:
        return pair_labels(content_mask, style_mask, content, style, shapes, net)
    if segment is None:
        return np.zeros(shapes[0], np.int64), np.zeros(shapes[1], np.int64)
    return segment(content, style, shapes)


def given_masks(content_mask, style_mask) -> bool:
    """Do the given masks stand on their own (no automatic masks needed)?  Not when there are none,
    nor when all given are strokes: strokes correct the automatic masks."""
    given = [(m, what) for m, what in zip((content_mask, style_mask), _WHATS) if m is not None]
    return bool(given) and any(io.load_strokes(m, what) is None for m, what in given)


_WHATS = ("content mask", "style mask")


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
    returns matched label maps at the working sizes (see :func:`dpst.segment.auto_labels`); strokes
    given with it correct them (:func:`labels_at`).  Without ``segment``, strokes on both photos are
    completed together when ``net`` is given (:func:`pair_labels`)."""
    if size < 32:
        raise ValueError(f"--size {size}: too small; use at least 32")
    c_full = io.load_image(content, "content")
    s_full = io.load_image(style, "style")
    # Never work above the content photo's own resolution: upsampling adds cost, not detail.
    size = min(size, max(c_full.shape[:2]))
    c = io.resize_long_side(c_full, size)
    s = io.resize_long_side(s_full, size)
    if content_mask is None and style_mask is None and segment is None:
        return Pair(
            c_full, s_full, c, s, np.zeros(c.shape[:2], np.int64), np.zeros(s.shape[:2], np.int64), [0]
        )
    c_lab, s_lab = labels_at(
        c_full, s_full, content_mask, style_mask, segment, (c.shape[:2], s.shape[:2]), net
    )
    ids, missing = match_labels(c_lab, s_lab)
    if missing and (content_mask is not None or style_mask is not None):  # the user painted it
        names = ", ".join(PALETTE_NAMES[k] for k in missing)
        warnings.warn(f"content-mask regions absent from the style mask get no style: {names}", stacklevel=3)
    if not ids:
        warnings.warn("the masks share no region; using the whole images as one region", stacklevel=3)
        return Pair(
            c_full, s_full, c, s, np.zeros(c.shape[:2], np.int64), np.zeros(s.shape[:2], np.int64), [0]
        )
    return Pair(c_full, s_full, c, s, c_lab, s_lab, ids)
