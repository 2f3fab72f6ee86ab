"""Choosing the masks of a run: given ones, or automatic ones as ``--masks`` asks (the scene parser,
fetched on first use; the correspondence masks, also where no parser can be had; the earlier
unsupervised clustering; or none), with the line that says which were used."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import torch

from ..config import Config
from ..errors import DownloadFailed
from . import hub, semantic
from . import parsers as catalogue
from .auto import SegmentSettings, auto_labels
from .correspond import CorrespondSettings, correspond_labels

# (content_full, style_full, (content_shape, style_shape)) -> matched label maps at those shapes
Segmenter = Callable[[np.ndarray, np.ndarray, tuple], tuple[np.ndarray, np.ndarray]]


class SceneParsers:
    """Scene parsers loaded once each, by name, on one device (safe to share between threads); a parser
    that could not be downloaded is not tried again.  ``on_download`` receives the reports of a
    download (:class:`dpst.segment.hub.Download`)."""

    def __init__(self, device: torch.device, on_download: hub.OnDownload | None = None) -> None:
        self.device, self.on_download = device, on_download
        self._loaded: dict[str, semantic.SceneParser] = {}
        self._failed: dict[tuple[str, str], DownloadFailed] = {}
        self._lock = threading.Lock()

    def get(self, name: str, offline: str = "") -> semantic.SceneParser:
        """The parser ``name`` (:func:`dpst.segment.semantic.load_parser`), downloaded if need be unless
        ``offline`` says why not (:func:`dpst.segment.hub.offline_reason`)."""
        with self._lock:
            if name not in self._loaded:
                if (name, offline) in self._failed:
                    raise self._failed[name, offline]
                try:
                    licence = catalogue.licence(name)
                    self._loaded[name] = semantic.load_parser(
                        name, self.device, offline=offline, licence=licence, on_download=self.on_download
                    )
                except DownloadFailed as exc:
                    self._failed[name, offline] = exc
                    raise
            return self._loaded[name]


def choose_masks(
    cfg: Config, net, parsers: SceneParsers, given: bool = False
) -> tuple[Segmenter | None, str]:
    """The segmenter of a run, and a line saying which masks it uses.  ``given``: the user's masks
    (no segmenter).  Else ``cfg.masks``: ``semantic`` (the scene parser ``cfg.segmenter``, downloaded
    if need be, or an error, its unsure and orphan content pixels decided by correspondences with
    ``net``, a :class:`dpst.neural.vgg.VGGFeatures`: :mod:`dpst.segment.hybrid`); ``auto``, the same
    when the ``semantic`` extra is installed, else (or offline, or when the download fails) the
    correspondence masks (:mod:`dpst.segment.correspond`, with ``net``); ``correspond``;
    ``unsupervised``, the earlier joint clustering (:mod:`dpst.segment.auto`); or ``none`` (no
    segmenter).  The line names the parser and its licence, or why none was used."""
    if given:
        return None, "given"
    if cfg.masks == "none":
        return None, "none (each photo one region)"
    if cfg.masks in ("auto", "semantic"):
        if cfg.masks == "semantic" or semantic.available():
            try:
                parser = parsers.get(cfg.segmenter, hub.offline_reason(cfg.offline))
            except DownloadFailed as exc:
                if cfg.masks == "semantic":
                    raise
                why = f"{cfg.segmenter} {exc.reason}"
            else:
                segment = lambda c, s, shapes: semantic.semantic_labels(parser, c, s, shapes, net)  # noqa: E731
                return segment, catalogue.masks_line(cfg.segmenter)
        else:
            why = "pip install 'dpst[semantic]'"
        fallback = f"correspondences (no scene parser: {why}; docs/masks.md)"
    elif cfg.masks == "unsupervised":
        settings = SegmentSettings(seed=cfg.seed)
        return (lambda c, s, shapes: auto_labels(net, c, s, settings, shapes=shapes)), "unsupervised"
    else:
        fallback = "correspondences"
    matching = CorrespondSettings(seed=cfg.seed)
    return (lambda c, s, shapes: correspond_labels(net, c, s, matching, shapes)), fallback
