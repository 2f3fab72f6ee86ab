"""The public entry point: :func:`stylize` and the reusable :class:`Stylizer`.

Orchestration only: it wires image I/O, masks, the VGG objective, L-BFGS, the photorealism term and
the final filters together; the math lives in the modules it calls.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from . import io
from .config import Config
from .neural.lbfgs import Interrupted, Progress, run_lbfgs
from .neural.objective import Objective, style_targets
from .neural.vgg import VGGFeatures, compute_dtype, convert_state_dict, load_weights
from .ops.colour import region_colour_transfer
from .ops.guided import affine_projection, guided_filter, refine_detail
from .ops.laplacian import LaplacianTerm, matting_laplacian
from .ops.local_affine import local_affine_filter, local_affine_residual
from .ops.palette import PALETTE_NAMES, colors_from_labels, labels_from_colors, match_labels, resize_labels
from .ops.tensor import to_image, to_tensor
from .ops.upsample import affine_upsample
from .resources import check_memory, output_shape
from .segment import SegmentSettings, StrokeSettings, auto_labels, complete_labels, complete_pair, semantic

Callback = Callable[[Progress], None]
PhaseHook = Callable[[str], None]  # called with each phase's name as it starts
_TARGET_CACHE = 4  # style looks (× sizes) whose Gram matrices a Stylizer keeps


def pick_device(name: str = "auto") -> torch.device:
    """'auto' → CUDA if present, else Apple MPS, else CPU.  An unavailable explicit choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is available here")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("--device mps: Apple MPS is not available here")
    return torch.device(name)


@dataclass
class Pair:
    """A content/style pair prepared at the working size."""

    content_full: np.ndarray  # (H, W, 3) the photo at its own size
    style_full: np.ndarray  # (Hs, Ws, 3) the style photo at its own size
    content: np.ndarray  # (h, w, 3) at the working size
    style: np.ndarray  # (hs, ws, 3) at the working size
    content_labels: np.ndarray  # (h, w) int, -1 = no style guidance
    style_labels: np.ndarray  # (hs, ws) int
    ids: list[int]  # labels taking part in the style loss

    def at(self, size: int) -> Pair:
        """The same pair at another working size (labels resized nearest)."""
        c = io.resize_long_side(self.content_full, size)
        s = io.resize_long_side(self.style_full, size)
        c_lab = resize_labels(self.content_labels, *c.shape[:2])
        s_lab = resize_labels(self.style_labels, *s.shape[:2])
        return Pair(self.content_full, self.style_full, c, s, c_lab, s_lab, self.ids)


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


Segmenter = Callable[[np.ndarray, np.ndarray, tuple], tuple[np.ndarray, np.ndarray]]


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


class Stylizer:
    """Holds the VGG network (loaded once) and runs stylisations with it."""

    def __init__(self, config: Config = Config(), weights: dict | None = None) -> None:
        """weights: a state dict in any layout :func:`dpst.neural.vgg.convert_state_dict` knows; default:
        found by :func:`dpst.neural.vgg.load_weights` from ``config.weights``."""
        self.config = config
        self.device = pick_device(config.device)
        sd = convert_state_dict(weights) if weights is not None else load_weights(config.weights or None)
        self.net = VGGFeatures(sd).to(self.device)
        self._targets: dict[tuple, dict] = {}  # style Gram matrices, by style photo, mask and size
        # seconds spent in each step of the last stylisation (prepare, stage1, laplacian, ...), in order
        self.timings: dict[str, float] = {}
        self._on_phase: PhaseHook | None = None
        self._parsers: dict[str, semantic.SceneParser] = {}
        # which masks the last run or masks() call used: "given", "semantic (...)", "unsupervised", ...
        self.masks_used = ""
        self._current: torch.Tensor | None = None  # the latest result, from stage 1 on (for Ctrl-C)
        self._objective: Objective | None = None  # the last run's objective at the working size
        # what the last run chose per photo: lambda of stage 2, and whether the filter was kept
        self.lambda_used = 0.0
        self.finish_used = ""
        # stage 2's style term at its end (unweighted), and whether stage 3 ran (--stage3-texture)
        self.texture_left = 0.0
        self.stage3_ran = False

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        if self._on_phase is not None and name not in self.timings:
            self._on_phase(name)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def __call__(
        self,
        content: io.ImageLike,
        style: io.ImageLike,
        *,
        content_mask: io.ImageLike | None = None,
        style_mask: io.ImageLike | None = None,
        config: Config | None = None,
        callback: Callback | None = None,
        on_phase: PhaseHook | None = None,
    ) -> Image.Image:
        """Restyle ``content`` in the look of ``style`` (see :func:`stylize`).  ``on_phase`` is called
        with the name of each phase as it starts: prepare, targets, stage1, laplacian, stage2, stage3,
        upsample, filter (those that run)."""
        cfg = config or self.config
        if (cfg.device, cfg.weights) != (self.config.device, self.config.weights):
            raise ValueError(
                f"config asks for --device {cfg.device} and --weights {cfg.weights or '(default)'}, but this "
                f"Stylizer holds the network for --device {self.config.device} and --weights "
                f"{self.config.weights or '(default)'}; make a Stylizer with them"
            )
        self.timings, self._on_phase, self._current = {}, on_phase, None
        self.lambda_used, self.finish_used, self._objective = 0.0, "", None
        self.texture_left, self.stage3_ran = 0.0, False
        if content_mask is None:
            segment, self.masks_used = self.segmenter(cfg)
        else:
            segment, self.masks_used = None, "given"
        try:
            with self._timed("prepare"):
                pair = prepare(content, style, content_mask, style_mask, cfg.size, segment, self.net)
                check_memory(pair.content_full.shape[:2], cfg)
            torch.manual_seed(cfg.seed)
            last, x = self.optimise(pair, cfg, callback)
            return io.to_pil(self.finish(last, x, cfg))
        except (KeyboardInterrupt, Interrupted) as stop:
            # Ctrl-C: before stage 1 there is no result (KeyboardInterrupt goes on); from stage 1 on,
            # hand back the current result at the size asked for, without the slow finish.
            image = stop.image if isinstance(stop, Interrupted) else self._latest()
            if image is None:
                raise KeyboardInterrupt from None
            h, w = _output_shape(pair.content_full, cfg)
            raise Interrupted(io.resize(image, h, w)) from None
        finally:
            self._on_phase = None

    def chosen(self) -> str:
        """What the last run chose for its photo (``--photo-balance``, ``--stage3-texture``,
        ``--f-pick``), in words."""
        parts = []
        if self.lambda_used:
            parts.append(f"lambda {self.lambda_used:.0f}")
        if self.stage3_ran:
            parts.append(f"stage 3 (texture left {self.texture_left:.3f})")
        if self.finish_used:
            parts.append(
                {"filter": "filtered", "no filter": "not filtered (measured better)"}.get(
                    self.finish_used, self.finish_used
                )
            )
        return ", ".join(parts)

    def _latest(self) -> np.ndarray | None:
        return None if self._current is None else to_image(self._current.clamp(0, 1))

    def segmenter(self, cfg: Config | None = None) -> tuple[Segmenter | None, str]:
        """The automatic masks ``cfg.masks`` asks for, and a line saying which were used: the scene
        parser (``semantic``; ``auto`` when it is installed and cached, no network asked), the
        unsupervised matching (:mod:`dpst.segment.auto`, with this Stylizer's network), or none."""
        cfg = cfg or self.config
        if cfg.masks == "none":
            return None, "none (each photo one region)"
        if cfg.masks in ("auto", "semantic"):
            usable = semantic.available() and semantic.is_cached(cfg.segmenter)
            if cfg.masks == "semantic" or usable:
                parser = self._scene_parser(cfg.segmenter, download=cfg.masks == "semantic")
                return (lambda c, s, shapes: semantic.semantic_labels(parser, c, s, shapes)), (
                    f"semantic (scene parser {cfg.segmenter})"
                )
            why = f"{cfg.segmenter} not cached" if semantic.available() else "pip install 'dpst[semantic]'"
            fallback = f"unsupervised (no scene parser: {why}; docs/masks.md)"
        else:
            fallback = "unsupervised"
        settings = SegmentSettings(seed=cfg.seed)
        return (lambda c, s, shapes: auto_labels(self.net, c, s, settings, shapes=shapes)), fallback

    def _scene_parser(self, name: str, download: bool) -> semantic.SceneParser:
        if name not in self._parsers:
            self._parsers[name] = semantic.load_parser(name, self.device, download=download)
        return self._parsers[name]

    def masks(
        self,
        content: io.ImageLike,
        style: io.ImageLike,
        seed: int = 0,
        *,
        content_mask: io.ImageLike | None = None,
        style_mask: io.ImageLike | None = None,
        config: Config | None = None,
    ) -> tuple[Image.Image, Image.Image]:
        """The masks a run would use, at the photos' own sizes, as palette images like the ones users
        draw (matching regions have the same colour), to inspect, edit and pass back: automatic ones
        (``config.masks``), or the given masks with strokes completed."""
        cfg = (config or self.config).updated(seed=seed) if seed else (config or self.config)
        c, s = io.load_image(content, "content"), io.load_image(style, "style")
        if (content_mask is None) != (style_mask is None):
            raise ValueError("give both masks (--content-mask and --style-mask) or neither")
        if content_mask is not None:
            c_lab, s_lab = pair_labels(content_mask, style_mask, c, s, (c.shape[:2], s.shape[:2]), self.net)
            self.masks_used = "given"
        else:
            segment, self.masks_used = self.segmenter(cfg)
            if segment is None:
                c_lab, s_lab = np.zeros(c.shape[:2], np.int64), np.zeros(s.shape[:2], np.int64)
            else:
                c_lab, s_lab = segment(c, s, (c.shape[:2], s.shape[:2]))
        return Image.fromarray(colors_from_labels(c_lab)), Image.fromarray(colors_from_labels(s_lab))

    def optimise(self, pair: Pair, cfg: Config, callback: Callback | None) -> tuple[Pair, torch.Tensor]:
        """Stage 1 (segmented neural style), then stage 2 (+ photorealism term), then, when asked
        (``stage3_iterations``), stage 3: stage 2's objective again at the photo's own size.

        With ``stage1_size`` below the working size, stage 1 runs coarse (cheaper, and it converges
        further in the same steps) and its result is carried up through a local affine model of the
        content photo before stage 2; stage 3's start is carried up the same way.  Returns the pair
        at the size the last stage ran at, and its result."""
        coarse = pair.at(cfg.stage1_size) if 0 < cfg.stage1_size < max(pair.content.shape[:2]) else pair
        weights = {"content": cfg.content_weight, "style": cfg.style_weight, "tv": cfg.tv_weight}
        with self._timed("targets"):
            objective = self.objective(coarse, cfg)
            x = to_tensor(initial_image(coarse, cfg.init, cfg.seed), self.device)
        self._current = x  # from stage 1 on there is a result: at first, the start image
        with self._timed("stage1"):
            x = run_lbfgs(
                x, objective, weights, cfg.steps(1), history=cfg.history, stage=1, callback=callback
            )
        self._current = x
        if coarse is not pair:
            with self._timed("targets"):
                x = self._carry_up(pair, coarse, x, cfg)
                objective = self.objective(pair, cfg)
        self._objective = objective
        if cfg.stage2 and cfg.steps(2) > 0:
            with self._timed("laplacian"):
                objective.add_term("photo", photorealism_term(pair.content, self.device))
            weights["photo"] = cfg.photo_weight

            def balance(start: dict[str, float]) -> None:  # at stage 2's first evaluation
                weights["photo"] = balanced_lambda(start["style"], start["photo"], cfg)

            ends: dict[str, float] = {}

            def watch(p: Progress) -> None:  # stage 2's last losses: how far the texture still is
                ends.update(p.losses)
                if callback is not None:
                    callback(p)

            with self._timed("stage2"):
                x = run_lbfgs(
                    x,
                    objective,
                    weights,
                    cfg.steps(2),
                    history=cfg.history,
                    stage=2,
                    callback=watch,
                    reweigh=balance if cfg.photo_balance > 0 else None,
                )
            self.lambda_used = weights["photo"]
            self.texture_left = ends.get("style", 0.0) / weights["style"] if weights["style"] > 0 else 0.0
            self._current = x
            big = _stage3_size(pair, cfg)
            if big and self.texture_left >= cfg.stage3_texture:
                weights["photo"] *= cfg.stage3_lambda
                pair, x = self._stage3(pair, pair.at(big), x, cfg, weights, callback)
                self.stage3_ran = True
        return pair, x

    def _stage3(
        self, pair: Pair, big: Pair, x: torch.Tensor, cfg: Config, weights: dict, callback: Callback | None
    ) -> tuple[Pair, torch.Tensor]:
        """Stage 2's objective at ``big``'s size, from stage 2's result carried up, its λ already scaled
        by ``--stage3-lambda`` in ``weights`` (0, the default: texture only, no Laplacian).

        Why: Gram statistics change with scale, and the result is judged at the photo's size.  Pair 3
        at 512 px: style_gram 33 for stage 2's result against the style at 512 px, 42 for the same
        result carried to 700 px against the style at 700 px (docs/benchmarks.md, 'Stage 3')."""
        with self._timed("targets"):
            x = self._carry_up(big, pair, x, cfg)
            objective = self.objective(big, cfg)
        if weights.get("photo", 0.0) > 0:  # --stage3-lambda 0: a texture stage, no Laplacian to build
            with self._timed("laplacian"):
                objective.add_term("photo", photorealism_term(big.content, self.device))
        with self._timed("stage3"):
            x = run_lbfgs(
                x, objective, weights, cfg.steps(3), history=cfg.history, stage=3, callback=callback
            )
        self._objective, self._current = objective, x
        return big, x

    def _carry_up(self, big: Pair, small: Pair, x: torch.Tensor, cfg: Config) -> torch.Tensor:
        """``x`` (at ``small``'s size) carried to ``big``'s size through the local affine model of the
        content photo, the start of the next stage; it becomes the current result."""
        dev = self.device
        x = affine_upsample(
            to_tensor(big.content, dev), to_tensor(small.content, dev), x, cfg.carry_radius, cfg.carry_eps
        ).clamp(0, 1)
        self._current = x
        return x

    def objective(self, pair: Pair, cfg: Config | None = None) -> Objective:
        """The objective at the pair's size; the style's Gram matrices come from a small cache, so a
        Stylizer restyling many photos in one look computes them once per size."""
        cfg = cfg or self.config
        content, style = to_tensor(pair.content, self.device), to_tensor(pair.style, self.device)
        dtype = compute_dtype(cfg.precision, self.device)
        key = (
            dtype,
            hashlib.sha1(pair.style.tobytes()).hexdigest(),
            pair.style.shape,
            hashlib.sha1(pair.style_labels.tobytes()).hexdigest(),
            tuple(pair.ids),
        )
        if key not in self._targets:
            if len(self._targets) >= _TARGET_CACHE:
                self._targets.pop(next(iter(self._targets)))
            self._targets[key] = style_targets(self.net, style, pair.style_labels, pair.ids, dtype)
        targets = self._targets[key]
        return Objective(
            self.net,
            content,
            style,
            pair.content_labels,
            pair.style_labels,
            pair.ids,
            targets,
            cfg.layer_weights(),
            dtype,
        )

    def finish(self, pair: Pair, x: torch.Tensor, cfg: Config) -> np.ndarray:
        """The result is carried to the output size through a local affine colour model of the content
        photo (it keeps the output locally affine in the content, so edges stay the photo's own), and
        the reference code's local affine filter runs at the output size, or at ``f_size`` and is
        carried again for larger outputs.

        Measured (pairs 3, 9, 13): the filter at the output's 700 px cost less style than at the
        512 px working size (style_gram 43.2 / 30.2 / 45.2 against 43.8 / 31.9 / 46.7)."""
        guide = to_tensor(pair.content, self.device)
        with self._timed("upsample"):
            h, w = _output_shape(pair.content_full, cfg)
            full = pair.content_full
            full = full if (h, w) == full.shape[:2] else io.resize(full, h, w)
            full_t = to_tensor(full, self.device)
            if not cfg.filter:
                x = _carry(full_t, guide, x, cfg)
            else:
                fh, fw = (h, w) if max(h, w) <= cfg.f_size else io.fit_long_side(h, w, cfg.f_size)
                mid = full_t if (fh, fw) == (h, w) else to_tensor(io.resize(full, fh, fw), self.device)
                x = _carry(mid, guide, x, cfg).clamp(0, 1)
        self.finish_used = "carry" if not cfg.filter else "filter"
        if cfg.filter:
            with self._timed("filter"):
                finishes = {"filter": local_affine_filter(x, mid, radius=cfg.f_radius, edge=cfg.f_edge)}
                if cfg.f_pick and self._objective is not None:
                    finishes["no filter"] = x
                    self.finish_used = self._pick_finish(pair, mid, finishes)
                x = finishes[self.finish_used]
            if mid is not full_t:
                with self._timed("upsample"):
                    x = _carry(full_t, mid, x, cfg)
        if cfg.polish > 0:
            with self._timed("filter"):
                x = affine_projection(x.clamp(0, 1), full_t, cfg.polish)
        if cfg.refine_detail:
            x = refine_detail(x, full_t)
        return to_image(x.clamp(0, 1))

    def _pick_finish(self, pair: Pair, guide: torch.Tensor, candidates: dict[str, torch.Tensor]) -> str:
        """The name of the candidate finish with the lowest :func:`finish_score`: its local-affine
        residual against the photo ``guide`` (at the candidate's size), times its texture distance to
        the style (the run's style term, at the working size)."""
        h, w = pair.content.shape[:2]
        scores = {}
        for name, y in candidates.items():
            y = y.clamp(0, 1)
            small = torch.nn.functional.interpolate(y, size=(h, w), mode="area")
            with torch.no_grad():
                texture = float(self._objective(small)["style"])
            scores[name] = finish_score(local_affine_residual(guide, y), texture)
        return min(scores, key=scores.get)


def finish_score(affine: float, texture: float) -> float:
    """How a finish is judged, lower is better: the local-affine RMS residual squared (photorealism)
    times the relative Gram distance at the working size (texture).  A product, so that each counts by
    its relative change; the residual squared because between the two finishes the working-size
    texture term moves about twice as much as the full-size Gram distance of ``dpst score`` does
    (pairs 1-20, docs/benchmarks.md "Per pair")."""
    return affine * affine * texture


# the λ and style weight that --photo-balance's share is stated at (the defaults)
_BALANCE_AT = (Config.photo_weight, Config.style_weight)


def balanced_lambda(style: float, photo: float, cfg: Config) -> float:
    """λ of stage 2 under ``--photo-balance``: ``--lambda`` times a factor for this photo, within ¼..4.
    The factor is 1 when, at the default λ and style weight, the photorealism term is
    ``cfg.photo_balance`` of the weighted style term at the start of stage 2 (``style``, ``photo``: the
    unweighted terms there); so with the defaults, ``λ·photo = photo_balance · style_weight · style``.
    ``--lambda`` and ``--style-weight`` still scale the result as they do without the balance."""
    if photo <= 0 or not np.isfinite(photo) or not np.isfinite(style):
        return cfg.photo_weight
    lam0, sw0 = _BALANCE_AT
    factor = cfg.photo_balance * sw0 * style / (photo * lam0)
    return float(cfg.photo_weight * np.clip(factor, 0.25, 4.0))


def _carry(target: torch.Tensor, guide: torch.Tensor, x: torch.Tensor, cfg: Config) -> torch.Tensor:
    """``x`` (at ``guide``'s size) taken to ``target``'s size: through the local affine model of the
    content photo (``cfg.carry``; at the same size this still makes it locally affine in the photo),
    else a plain bicubic resize."""
    if cfg.carry:
        return affine_upsample(target, guide, x, radius=cfg.carry_radius, eps=cfg.carry_eps)
    if tuple(target.shape[-2:]) == tuple(x.shape[-2:]):
        return x
    return torch.nn.functional.interpolate(x, size=target.shape[-2:], mode="bicubic", align_corners=False)


# radius and eps of the guided filter that regrains the distribution-transfer start
_REGRAIN = (2, 1e-3)


def initial_image(pair: Pair, init: str, seed: int = 0) -> np.ndarray:
    """Stage 1's start: the content photo, or the content with each region's colours moved to the
    style region's (see :mod:`dpst.ops.colour`): their whole distribution (``distribution``, the default)
    or their mean and covariance (``transfer``)."""
    if init == "content":
        return pair.content
    if init == "noise":  # the paper's start; seeded by torch.manual_seed in Stylizer.__call__
        return torch.rand(pair.content.shape).numpy()
    if init == "transfer":
        return region_colour_transfer(
            pair.content, pair.style, pair.content_labels, pair.style_labels, pair.ids
        )
    if init == "distribution":
        x = region_colour_transfer(
            pair.content,
            pair.style,
            pair.content_labels,
            pair.style_labels,
            pair.ids,
            method="distribution",
            seed=seed,
        )
        # "Regraining" (Pitié et al. 2005 clean the grain that a distribution map leaves): keep only
        # what is locally affine in the content photo.  Measured on pairs 3, 12, 14, 17: affine_rms
        # -0.02..-0.09, style_swd within +-0.4, style_gram -0.65..+0.7 (docs/photorealism.md).
        return to_image(guided_filter(to_tensor(pair.content), to_tensor(x), *_REGRAIN).clamp(0, 1))
    raise ValueError(f"unknown init {init!r}; use distribution, transfer, content or noise")


def photorealism_term(content: np.ndarray, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """The photorealism term (Luan et al. eq. 3) per pixel: Σ_c V_cᵀ M_I V_c / N, with M_I the matting
    Laplacian of the content at the size being optimised (a Laplacian of another size would be wrong).

    Departure: dividing by the pixel count N makes λ mean the same at every working size; our other
    terms are size-free too."""
    term = LaplacianTerm(matting_laplacian(content.astype(np.float64)), device=device)
    per_pixel = 1.0 / (content.shape[0] * content.shape[1])
    return lambda x: term(x, weight=per_pixel)


def _stage3_size(pair: Pair, cfg: Config) -> int:
    """The long side stage 3 runs at: the photo's own, at most ``stage3_size``; 0 when stage 3 is
    off or would not be larger than stage 2's working size."""
    if cfg.steps(3) <= 0:
        return 0
    size = min(cfg.stage3_size, max(pair.content_full.shape[:2]))
    return size if size > max(pair.content.shape[:2]) else 0


def _output_shape(content_full: np.ndarray, cfg: Config) -> tuple[int, int]:
    return output_shape(*content_full.shape[:2], cfg)


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
    :class:`Interrupted` carrying the current result; before it, KeyboardInterrupt."""
    return _shared(config)(
        content,
        style,
        content_mask=content_mask,
        style_mask=style_mask,
        config=config,
        callback=callback,
        on_phase=on_phase,
    )


def auto_masks(
    content: io.ImageLike, style: io.ImageLike, *, config: Config = Config()
) -> tuple[Image.Image, Image.Image]:
    """Matched masks of both photos, found automatically (see :mod:`dpst.segment`), at the photos'
    own sizes in the palette colours of hand-drawn masks: region k has the same colour in both.
    Deterministic for a given ``config.seed``."""
    return _shared(config).masks(content, style, config=config)


def complete_masks(
    photo: io.ImageLike, strokes: io.ImageLike, *, settings: StrokeSettings | None = None
) -> Image.Image:
    """A full mask from strokes: ``strokes`` is an image of the photo's size (any size is resized)
    with a transparent background and a few strokes in the palette colours (alpha >= 128; an (H, W)
    int array of label ids, -1 unpainted, also works).  Returns the completed mask as a palette image
    at the photo's size; its regions follow the photo's edges (:mod:`dpst.segment.strokes`)."""
    rgb = io.load_image(photo, "photo")
    if isinstance(strokes, np.ndarray) and strokes.ndim == 2:
        painted = strokes.astype(np.int64)
    else:
        painted = io.load_strokes(strokes, "strokes")
        if painted is None:
            raise ValueError("strokes: not a strokes image (it needs a transparent background)")
    return Image.fromarray(colors_from_labels(complete_labels(rgb, painted, s=settings or StrokeSettings())))


def _shared(config: Config) -> Stylizer:
    """One Stylizer (network loaded once) per weights file and device, for the module functions."""
    key = (config.weights, config.device)
    if key not in _DEFAULT:
        _DEFAULT[key] = Stylizer(config)
    return _DEFAULT[key]
