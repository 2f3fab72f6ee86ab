"""The public entry point: :func:`stylize` and the reusable :class:`Stylizer`.

A facade: masks are chosen in :mod:`dpst.segment.choose`, the pair prepared in
:mod:`dpst.segment.labelled`, the stages planned in :mod:`dpst.neural.plan` and run by
:func:`dpst.neural.run.run_stages`, the result finished in :mod:`dpst.neural.finish`; what a run chose
and measured comes back with its image (:class:`dpst.report.RunReport`).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from PIL import Image

from . import io
from .config import Config
from .neural.finish import finish, finish_score
from .neural.lbfgs import Interrupted, Progress
from .neural.objective import Objective, Objectives, photorealism_term
from .neural.pair import Pair
from .neural.plan import balanced_lambda, plan
from .neural.run import Callback, Clock, PhaseHook, run_stages
from .neural.start import initial_image
from .neural.vgg import VGGFeatures, convert_state_dict, load_weights
from .ops.palette import colors_from_labels, labels_from_colors
from .ops.tensor import to_image
from .report import Masks, Result, RunReport
from .resources import check_memory, output_shape, pick_device
from .segment import StrokeSettings, complete_labels, correct_labels
from .segment.choose import SceneParsers, Segmenter, choose_masks
from .segment.hub import Download, OnDownload
from .segment.labelled import given_masks, photo_labels, prepare

__all__ = [
    "Callback", "Download", "Interrupted", "Masks", "Pair", "PhaseHook", "Progress", "Result", "RunReport",
    "Segmenter",
    "Stylizer", "auto_masks", "balanced_lambda", "complete_masks", "finish_score", "initial_image",
    "photorealism_term", "pick_device", "prepare", "stylize",
]  # fmt: skip


class Stylizer:
    """Holds the VGG network (loaded once) and runs stylisations with it.  A run keeps nothing on the
    Stylizer but the style's Gram matrices and loaded scene parsers (caches), so one Stylizer may make
    masks in one thread while it runs in another."""

    def __init__(
        self, config: Config = Config(), weights: dict | None = None, *, on_download: OnDownload | None = None
    ) -> None:
        """weights: a state dict in any layout :func:`dpst.neural.vgg.convert_state_dict` knows; default:
        found by :func:`dpst.neural.vgg.load_weights` from ``config.weights``.  ``on_download`` receives
        a :class:`dpst.segment.hub.Download` as a scene parser is downloaded on first use."""
        self.config = config
        self.device = pick_device(config.device)
        sd = convert_state_dict(weights) if weights is not None else load_weights(config.weights or None)
        self.net = VGGFeatures(sd).to(self.device)
        self._objectives = Objectives(self.net, self.device)
        self._parsers = SceneParsers(self.device, on_download)

    def run(
        self,
        content: io.ImageLike,
        style: io.ImageLike,
        *,
        content_mask: io.ImageLike | None = None,
        style_mask: io.ImageLike | None = None,
        config: Config | None = None,
        callback: Callback | None = None,
        on_phase: PhaseHook | None = None,
    ) -> Result:
        """Restyle ``content`` in the look of ``style`` (see :func:`stylize`): the image and its
        :class:`RunReport`.  ``on_phase`` is called with the name of each phase as it starts
        (:data:`dpst.neural.plan.PHASES`, those that run)."""
        cfg = self._checked(config)
        segment, masks = self._segmenter(cfg, content_mask, style_mask)
        if segment is not None:  # dpst makes the masks
            cfg = cfg.for_automatic_masks()
        clock = Clock(self.device, on_phase)
        try:
            with clock.phase("prepare"):
                pair = prepare(content, style, content_mask, style_mask, cfg.size, segment, self.net)
                check_memory(pair.content_full.shape[:2], cfg)
            torch.manual_seed(cfg.seed)
            stages = plan(cfg, photo=max(pair.content_full.shape[:2]), working=pair.size)
            done = run_stages(stages, pair, self._objectives, cfg, clock, callback)
            try:  # Ctrl-C in the finish: the stages' result, without it
                rgb, used = finish(done.pair, done.x, cfg, done.objective, clock)
            except KeyboardInterrupt:
                raise Interrupted(to_image(done.x.clamp(0, 1))) from None
        except Interrupted as stop:  # from stage 1 on: the current result at the size asked for
            h, w = output_shape(*pair.content_full.shape[:2], cfg)
            raise Interrupted(io.resize(stop.image, h, w)) from None
        report = RunReport(masks, done.stages, used, MappingProxyType(clock.timings))
        return Result(io.to_pil(rgb), report, rgb)

    def __call__(self, content: io.ImageLike, style: io.ImageLike, **kwargs: Any) -> Image.Image:
        """:meth:`run`'s image alone; the same keyword arguments."""
        return self.run(content, style, **kwargs).image

    def _checked(self, config: Config | None) -> Config:
        cfg = config or self.config
        if (cfg.device, cfg.weights) != (self.config.device, self.config.weights):
            raise ValueError(
                f"config asks for --device {cfg.device} and --weights {cfg.weights or '(default)'}, but this "
                f"Stylizer holds the network for --device {self.config.device} and --weights "
                f"{self.config.weights or '(default)'}; make a Stylizer with them"
            )
        return cfg

    def segmenter(self, cfg: Config | None = None, given: bool = False) -> tuple[Segmenter | None, str]:
        """The segmenter ``cfg.masks`` asks for and a line saying which masks are used
        (:func:`dpst.segment.choose.choose_masks`, with this Stylizer's network and parsers)."""
        return choose_masks(cfg or self.config, self.net, self._parsers, given)

    def _segmenter(self, cfg: Config, content_mask, style_mask) -> tuple[Segmenter | None, str]:
        """:meth:`segmenter` for masks given as these (strokes alone correct the automatic masks)."""
        strokes_only = content_mask is not None or style_mask is not None
        if given_masks(content_mask, style_mask):
            return self.segmenter(cfg, given=True)
        segment, used = self.segmenter(cfg)
        if strokes_only and segment is not None:
            used += ", corrected by the strokes given"
        return segment, used

    def objective(self, pair: Pair, cfg: Config | None = None) -> Objective:
        """The objective at the pair's size (the style's Gram matrices cached per look and size)."""
        return self._objectives(pair, cfg or self.config)

    def masks(
        self,
        content: io.ImageLike,
        style: io.ImageLike,
        seed: int = 0,
        *,
        content_mask: io.ImageLike | None = None,
        style_mask: io.ImageLike | None = None,
        config: Config | None = None,
    ) -> Masks:
        """The masks a run would use, at the photos' own sizes, as palette images like the ones users
        draw (matching regions have the same colour), to inspect, edit and pass back: automatic ones
        (``config.masks``), or the given masks with strokes completed."""
        cfg = (config or self.config).updated(seed=seed) if seed else (config or self.config)
        c, s = io.load_image(content, "content"), io.load_image(style, "style")
        segment, used = self._segmenter(cfg, content_mask, style_mask)
        c_lab, s_lab = photo_labels(c, s, content_mask, style_mask, segment, self.net)
        return Masks(
            Image.fromarray(colors_from_labels(c_lab)), Image.fromarray(colors_from_labels(s_lab)), used
        )


_DEFAULT: dict[tuple[str, str], Stylizer] = {}


def stylize(
    content: io.ImageLike,
    style: io.ImageLike,
    *,
    content_mask: io.ImageLike | None = None,
    style_mask: io.ImageLike | None = None,
    config: Config = Config(),
    callback: Callback | None = None,
    on_phase: PhaseHook | None = None,
) -> Image.Image:
    """Repaint ``content`` in the look of ``style`` and return the result as an RGB PIL image.

    content, style, masks: paths, PIL images or arrays.  Masks are colour-coded PNGs (the nine colours
    of the DPST release); give both or neither.  ``callback`` receives a :class:`Progress` after every
    step, ``on_phase`` the name of each phase as it starts.  Ctrl-C from stage 1 on raises
    :class:`Interrupted` carrying the current result; before it, KeyboardInterrupt.  The run's report:
    :meth:`Stylizer.run`."""
    return _shared(config)(
        content, style, content_mask=content_mask, style_mask=style_mask, config=config, callback=callback,
        on_phase=on_phase,
    )  # fmt: skip


def auto_masks(
    content: io.ImageLike, style: io.ImageLike, *, config: Config = Config()
) -> tuple[Image.Image, Image.Image]:
    """Matched masks of both photos, found automatically (see :mod:`dpst.segment`), at the photos'
    own sizes in the palette colours of hand-drawn masks: region k has the same colour in both.
    Deterministic for a given ``config.seed``."""
    found = _shared(config).masks(content, style, config=config)
    return found.content, found.style


def complete_masks(
    photo: io.ImageLike,
    strokes: io.ImageLike,
    *,
    base: io.ImageLike | None = None,
    settings: StrokeSettings | None = None,
) -> Image.Image:
    """A full mask from strokes: ``strokes`` is an image of the photo's size (any size is resized)
    with a transparent background and a few strokes in the palette colours (alpha >= 128; an (H, W)
    int array of label ids, -1 unpainted, also works).  Without ``base``, the strokes are completed
    from scratch; with ``base`` (a mask, automatic ones say), they correct it: pixels near a stroke
    and alike to it follow it, the rest keep their label (:func:`dpst.segment.correct_labels`).  One
    photo at a time: a run (and the web page) then also redraws, over the pair, what the strokes left
    of an automatic region (:func:`dpst.segment.settle_pair`), which needs both photos.
    Returns the mask as a palette image at the photo's size; its regions follow the photo's edges."""
    rgb = io.load_image(photo, "photo")
    if isinstance(strokes, np.ndarray) and strokes.ndim == 2:
        painted = strokes.astype(np.int64)
    else:
        painted = io.load_strokes(strokes, "strokes")
        if painted is None:
            raise ValueError("strokes: not a strokes image (it needs a transparent background)")
    s = settings or StrokeSettings()
    if base is None:
        labels = complete_labels(rgb, painted, s=s)
    else:
        under = (
            base
            if isinstance(base, np.ndarray) and base.ndim == 2
            else labels_from_colors(io.load_mask(base, "mask"))
        )
        labels = correct_labels(rgb, under, painted, s=s)
    return Image.fromarray(colors_from_labels(labels))


def _shared(config: Config) -> Stylizer:
    """One Stylizer (network loaded once) per weights file and device, for the module functions."""
    key = (config.weights, config.device)
    if key not in _DEFAULT:
        _DEFAULT[key] = Stylizer(config)
    return _DEFAULT[key]
