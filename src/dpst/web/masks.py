"""Masks in the page: corrective strokes on an automatic (or uploaded) mask, and translucent overlays.

A stroke corrects the mask around it, as ``dpst --content-mask STROKES`` and :func:`dpst.complete_masks`
do (:func:`dpst.segment.correct_labels`): the pixels of the region it is painted over, within
``StrokeSettings.reach`` of the photo's long side of it, are redrawn by the completion (a random walker
along the photo's edges), seeded by the strokes and by the mask beyond; the rest keeps its label.  A
stroke of a new colour on the sky makes the sky around it that colour, up to the sky's edges; a
stroke along a wrong border moves the border to the photo's nearest strong edge.  Where strokes
correct the automatic masks, what they leave of an automatic region (under 5% of either photo, or in
one photo only) is then redrawn from the others over the pair (:func:`dpst.segment.settle_pair`), as a
run from the command line does.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage

from .. import io
from ..api import Stylizer, complete_masks
from ..config import Config
from ..ops.palette import (
    PALETTE,
    PALETTE_NAMES,
    UNLABELLED,
    colors_from_labels,
    labels_from_colors,
    resize_labels,
)
from ..segment import settle_pair

if TYPE_CHECKING:
    from .sessions import Photo

OVERLAY_ALPHA = 0.45  # share of the mask colour in an overlay
DISPLAY = 1024  # long side (px) of the photos and overlays shown for painting
_MASK_CACHE = 8  # photo pairs whose automatic masks are kept (a re-upload costs nothing)


class AutoMasks:
    """The automatic masks of photo pairs, as label maps, with the line saying which masks they are;
    made one pair at a time, and kept for the last few pairs."""

    def __init__(self, stylizer: Stylizer, config: Config) -> None:
        self.stylizer, self.config = stylizer, config
        self._lock = threading.Lock()
        self._auto: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray, str]] = OrderedDict()

    def __call__(self, content: np.ndarray, style: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        key = (_digest(content), _digest(style))
        if key not in self._auto:
            with self._lock:
                found = self.stylizer.masks(content, style, config=self.config)
            labels = (
                labels_from_colors(np.asarray(found.content)),
                labels_from_colors(np.asarray(found.style)),
            )
            self._auto[key] = (*labels, found.used)
            while len(self._auto) > _MASK_CACHE:
                self._auto.popitem(last=False)
        return self._auto[key]


def _digest(rgb: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).hexdigest() + str(rgb.shape)


def brush_colours() -> list[str]:
    """The nine palette colours as CSS hex, in the palette's order (label id = index)."""
    return ["#{:02x}{:02x}{:02x}".format(*(int(v) for v in c)) for c in PALETTE]


def colour_names() -> str:
    return ", ".join(PALETTE_NAMES)


def overlay(
    rgb: np.ndarray, labels: np.ndarray | None, alpha: float = OVERLAY_ALPHA, long_side: int = DISPLAY
) -> Image.Image:
    """The photo (H, W, 3) float in [0, 1] with its mask's colours over it at ``alpha`` (unlabelled
    pixels, -1, stay the photo), at most ``long_side`` px (it is for the screen)."""
    if max(rgb.shape[:2]) > long_side:
        rgb = io.resize_long_side(rgb, long_side)
    if labels is None:
        return io.to_pil(rgb)
    if labels.shape != rgb.shape[:2]:
        labels = resize_labels(labels, *rgb.shape[:2])
    colours = PALETTE[np.clip(labels, 0, None)] / 255.0
    a = np.where(labels[..., None] >= 0, alpha, 0.0)
    return io.to_pil(rgb * (1 - a) + colours * a)


def strokes_from_layers(layers: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray | None:
    """Painted label ids (H, W) at ``shape`` from the editor's drawing layers, each (h, w, 4) uint8
    RGBA with a transparent background (later layers on top), or None when nothing is painted.
    A painted pixel (alpha >= 128) takes its nearest palette colour (:func:`dpst.io.load_strokes`)."""
    out: np.ndarray | None = None
    for layer in layers:
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] != 4 or not (layer[..., 3] >= io.STROKE_ALPHA).any():
            continue
        if layer[..., 3].min() > 0:  # painted all over: no transparent pixel left to mark the strokes
            layer = layer.copy()
            layer[0, 0, 3] = 0
        labels = resize_labels(io.load_strokes(layer.astype(np.uint8), "strokes"), *shape)
        out = labels if out is None else np.where(labels != UNLABELLED, labels, out)
    return out


def corrected(rgb: np.ndarray, base: np.ndarray | None, strokes: np.ndarray | None) -> np.ndarray:
    """The mask a run uses, (H, W) int labels: ``base`` (automatic or uploaded; None = one region)
    corrected by ``strokes`` (None = none) as the CLI and the API correct them
    (:func:`dpst.complete_masks` with ``base``), or completed from scratch without ``base``."""
    h, w = rgb.shape[:2]
    if strokes is None:
        return base if base is not None else np.zeros((h, w), np.int64)
    return labels_from_colors(np.asarray(complete_masks(rgb, strokes, base=base)))


def settled(content: Photo, style: Photo) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The pair's masks as a run uses them: each photo's own (``Photo.own``, its base corrected by its
    strokes); where strokes correct both photos' automatic masks, what they left of an automatic
    region redrawn over the pair, as :func:`dpst.segment.correct_pair` does for a run of the CLI."""
    automatic = content.auto is not None and style.auto is not None
    uploaded = content.given is not None or style.given is not None
    if not automatic or uploaded:
        return content.own, style.own
    return settle_pair((content.rgb, style.rgb), (content.own, style.own), (content.strokes, style.strokes))


def mask_image(labels: np.ndarray) -> Image.Image:
    """A label map as the palette PNG that ``dpst --content-mask`` reads."""
    return Image.fromarray(colors_from_labels(labels))


def read_mask(path: str, rgb: np.ndarray, what: str) -> np.ndarray:
    """Labels (H, W) of a mask file the user uploaded for the photo ``rgb`` (H, W, 3): a colour-coded
    mask (pixels of no palette colour take the nearest labelled pixel's) or a strokes image
    (completed along the photo's edges).  It must be the photo's size."""
    im = io.open_image(path)
    h, w = rgb.shape[:2]
    if im.size != (w, h):
        raise ValueError(
            f"{what} is {im.size[0]}×{im.size[1]} px but its photo is {w}×{h} px; "
            "a mask must be the size of its photo"
        )
    strokes = io.load_strokes(im, what)
    if strokes is not None:
        return corrected(rgb, None, strokes)
    labels = labels_from_colors(io.load_mask(im, what))
    off = labels == UNLABELLED
    if off.any():
        nearest = ndimage.distance_transform_edt(off, return_distances=False, return_indices=True)
        labels = labels[tuple(nearest)]
    return labels
