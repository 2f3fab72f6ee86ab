"""Choosing the masks of a run: given ones, or automatic ones as ``--masks`` asks (the scene parser,
the correspondence masks, the earlier unsupervised clustering, or none), with the line that says
which were used."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import torch

from ..config import Config
from . import semantic
from .auto import SegmentSettings, auto_labels
from .correspond import CorrespondSettings, correspond_labels

# (content_full, style_full, (content_shape, style_shape)) -> matched label maps at those shapes
Segmenter = Callable[[np.ndarray, np.ndarray, tuple], tuple[np.ndarray, np.ndarray]]


class SceneParsers:
    """Scene parsers loaded once each, by name, on one device (safe to share between threads)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._loaded: dict[str, semantic.SceneParser] = {}
        self._lock = threading.Lock()

    def get(self, name: str, download: bool) -> semantic.SceneParser:
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = semantic.load_parser(name, self.device, download=download)
            return self._loaded[name]


def choose_masks(
    cfg: Config, net, parsers: SceneParsers, given: bool = False
) -> tuple[Segmenter | None, str]:
    """The segmenter of a run, and a line saying which masks it uses.  ``given``: the user's masks
    (no segmenter).  Else ``cfg.masks``: ``semantic`` (the scene parser ``cfg.segmenter``, downloaded
    if need be); ``auto``, the scene parser when it is installed and cached (no network asked), else
    the correspondence masks (:mod:`dpst.segment.correspond`, with ``net``, a
    :class:`dpst.neural.vgg.VGGFeatures`); ``correspond``; ``unsupervised``, the earlier joint
    clustering (:mod:`dpst.segment.auto`); or ``none`` (no segmenter)."""
    if given:
        return None, "given"
    if cfg.masks == "none":
        return None, "none (each photo one region)"
    if cfg.masks in ("auto", "semantic"):
        usable = semantic.available() and semantic.is_cached(cfg.segmenter)
        if cfg.masks == "semantic" or usable:
            parser = parsers.get(cfg.segmenter, download=cfg.masks == "semantic")
            return (lambda c, s, shapes: semantic.semantic_labels(parser, c, s, shapes)), (
                f"semantic (scene parser {cfg.segmenter})"
            )
        why = f"{cfg.segmenter} not cached" if semantic.available() else "pip install 'dpst[semantic]'"
        fallback = f"correspondences (no scene parser: {why}; docs/masks.md)"
    elif cfg.masks == "unsupervised":
        settings = SegmentSettings(seed=cfg.seed)
        return (lambda c, s, shapes: auto_labels(net, c, s, settings, shapes=shapes)), "unsupervised"
    else:
        fallback = "correspondences"
    matching = CorrespondSettings(seed=cfg.seed)
    return (lambda c, s, shapes: correspond_labels(net, c, s, matching, shapes)), fallback
