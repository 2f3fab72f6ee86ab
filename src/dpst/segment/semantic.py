"""Scene parsing: a pretrained ADE20K semantic-segmentation network (UperNet, SegFormer, BEiT: any that
``transformers``' ``AutoModelForSemanticSegmentation`` loads; the optional extra ``dpst[semantic]``),
its classes merged into the palette's nine groups.  Which checkpoints, their licences and
architectures: :mod:`dpst.segment.parsers`; fetching them: :mod:`dpst.segment.hub`.

This is how the paper made its masks (a scene-parsing network on both photos, input labels limited to
the style's).  Pure functions apart from :class:`SceneParser`, which runs the network:

- :func:`group_table`: each class of a checkpoint, by its own label name (``id2label``), to a group of
  :data:`GROUPS`; a label the table does not know is an error listing them all.
- :func:`group_logits`: class logits summed into group logits (log-sum-exp over a group's classes).
- :func:`restricted_labels`: the argmax over the groups the style has, so a content region whose group
  the style lacks goes to its most likely shared group (the paper restricts input labels to the
  style's), never dropped.
- :func:`semantic_labels`: both photos, with the group probabilities refined edge-aware at full size;
  given the VGG network, the content's unsure and orphan pixels are decided by correspondences
  (:mod:`dpst.segment.hybrid`).
- :class:`Preprocess`: the input a checkpoint expects (its ``preprocessor_config.json``).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import io
from ..config import DEFAULT_SEGMENTER
from ..errors import MissingExtra, first_line
from ..ops.guided import guided_filter
from ..ops.tensor import to_tensor
from . import hub
from .hybrid import HybridSettings, content_probabilities

PARSE_SIZE = 512  # long side the parser sees unless its preprocessor_config.json says (512 px crops)
MIN_STYLE_SHARE = 0.01  # a group covering less of the style photo is not offered to the content
REFINE_RADIUS = 0.01  # guided-filter radius at full size, as a share of the long side

# The nine groups, each with its palette colour index (dpst.ops.palette: blue, green, black, white,
# red, yellow, grey, light blue, purple) and the ADE20K class names merged into it.
GROUPS: dict[str, tuple[int, tuple[str, ...]]] = {
    "sky": (0, ("sky",)),
    "tree, plant, grass": (1, ("tree", "grass", "plant", "field", "flower", "palm")),
    "building, structure": (
        6,
        (
            "wall", "building", "ceiling", "windowpane", "door", "house", "fence", "railing", "column",
            "skyscraper", "stairs", "stairway", "bridge", "tower", "awning", "booth", "hovel", "pier",
            "grandstand", "step", "canopy", "bannister", "pole", "streetlight", "signboard", "screen door",
            "escalator", "tent", "traffic light", "sculpture",
        ),
    ),  # fmt: skip
    "water, sea, river, lake": (
        7,
        ("water", "sea", "river", "lake", "waterfall", "swimming pool", "fountain"),
    ),
    "ground, road, floor": (
        5,
        ("floor", "road", "sidewalk", "earth", "path", "sand", "runway", "dirt track", "land", "rug",
         "stage"),  # fmt: skip
    ),
    "mountain, hill, rock": (8, ("mountain", "hill", "rock")),
    "person": (4, ("person",)),
    "vehicle": (3, ("car", "bus", "truck", "van", "boat", "ship", "airplane", "bicycle", "minibike")),
    "the rest": (
        2,
        (
            "bed", "cabinet", "table", "curtain", "chair", "painting", "sofa", "shelf", "mirror", "armchair",
            "seat", "desk", "wardrobe", "lamp", "bathtub", "cushion", "base", "box", "chest of drawers",
            "counter", "sink", "fireplace", "refrigerator", "case", "pool table", "pillow", "bookcase",
            "blind", "coffee table", "toilet", "book", "bench", "countertop", "stove", "kitchen island",
            "computer", "swivel chair", "bar", "arcade machine", "towel", "light", "chandelier",
            "television receiver", "apparel", "ottoman", "bottle", "buffet", "poster", "conveyer belt",
            "washer", "plaything", "stool", "barrel", "basket", "bag", "cradle", "oven", "ball", "food",
            "tank", "trade name", "microwave", "pot", "animal", "dishwasher", "screen", "blanket", "hood",
            "sconce", "vase", "tray", "ashcan", "fan", "crt screen", "plate", "monitor", "bulletin board",
            "shower", "radiator", "glass", "clock", "flag",
        ),
    ),  # fmt: skip
}
_BY_NAME = {name: g for g, (_, names) in enumerate(GROUPS.values()) for name in names}
GROUP_COLOURS = np.array([colour for colour, _ in GROUPS.values()])  # group index -> palette index

# The 150 ADE20K scene-parsing classes in the order of the ADE20K SegFormer checkpoints' id2label.
ADE20K_LABELS = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
    "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
    "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence",
    "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column",
    "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator",
    "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway",
    "river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench",
    "countertop", "stove", "palm", "kitchen island", "computer", "swivel chair", "boat", "bar",
    "arcade machine", "hovel", "bus", "towel", "light", "truck", "tower", "chandelier", "awning",
    "streetlight", "booth", "television receiver", "airplane", "dirt track", "apparel", "pole", "land",
    "bannister", "escalator", "ottoman", "bottle", "buffet", "poster", "stage", "van", "ship", "fountain",
    "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool", "barrel", "basket",
    "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank", "trade name",
    "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket", "sculpture", "hood",
    "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor",
    "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)  # fmt: skip

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # what UperNet and SegFormer checkpoints normalise with
IMAGENET_STD = (0.229, 0.224, 0.225)
# models on a fixed grid of patches (relative position bias learnt at one size): fed a square, as their
# own image processors do; the others see the photo's aspect kept
FIXED_GRID = ("beit", "data2vec-vision")


@dataclass(frozen=True)
class Preprocess:
    """What a checkpoint's input must be: RGB in [0, 1], normalised by ``mean``/``std``, resized to a
    long side of ``size`` (aspect kept), or to a ``size`` x ``size`` square for a fixed-grid model."""

    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    size: int = PARSE_SIZE
    square: bool = False

    def __post_init__(self) -> None:
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0 or self.size < 16:
            raise ValueError(f"a scene parser's preprocessing needs 3 means, 3 stds > 0, size >= 16: {self}")

    @classmethod
    def from_config(cls, cfg: Mapping, model_type: str = "") -> Preprocess:
        """From a ``preprocessor_config.json``'s fields (``image_mean``, ``image_std``, ``size`` as a
        number, ``{"height", "width"}`` or ``{"shortest_edge"}``, ``do_normalize``)."""
        mean, std = cfg.get("image_mean", IMAGENET_MEAN), cfg.get("image_std", IMAGENET_STD)
        if cfg.get("do_normalize", True) is False:
            mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        if max(mean) > 1:  # statistics of 0..255 pixels (mmsegmentation's img_norm_cfg)
            mean, std = [m / 255 for m in mean], [s / 255 for s in std]
        size = cfg.get("size", PARSE_SIZE)
        if isinstance(size, Mapping):
            size = max(size.get("height", 0), size.get("width", 0)) or size.get("shortest_edge") or PARSE_SIZE
        return cls(tuple(map(float, mean)), tuple(map(float, std)), int(size), model_type in FIXED_GRID)

    @classmethod
    def of_folder(cls, folder: Path, model_type: str = "") -> Preprocess:
        """The preprocessing of a checkpoint folder: its ``preprocessor_config.json``, else ImageNet
        statistics at :data:`PARSE_SIZE`."""
        try:
            cfg = json.loads((Path(folder) / hub.PREPROCESSOR).read_text())
        except FileNotFoundError:
            cfg = {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{folder}: unreadable {hub.PREPROCESSOR} ({first_line(exc)})") from None
        return cls.from_config(cfg, model_type)


def _group_of(label: str) -> int | None:
    name = label.strip().lower()
    for part in [name, *name.replace(";", ",").split(",")]:
        if part.strip() in _BY_NAME:
            return _BY_NAME[part.strip()]
    return None


def group_table(id2label: Mapping[int, str]) -> np.ndarray:
    """(C,) group index of each class id 0..C-1, from the checkpoint's own label names."""
    n = max(int(k) for k in id2label) + 1
    table = np.full(n, -1, np.int64)
    unknown = []
    for k, label in id2label.items():
        g = _group_of(str(label))
        if g is None:
            unknown.append(str(label))
        else:
            table[int(k)] = g
    if unknown or (table < 0).any():
        raise ValueError(
            f"the scene parser's labels are not in dpst's merge table: {', '.join(sorted(unknown)) or 'gaps'}"
            " (dpst.segment.semantic.GROUPS); use an ADE20K checkpoint"
        )
    return table


def group_logits(logits: torch.Tensor, table: np.ndarray) -> torch.Tensor:
    """(C, h, w) class logits -> (G, h, w) group logits: log Σ exp over each group's classes
    (``-inf`` for a group with no class), so a group's softmax is the sum of its classes' softmax."""
    out = torch.full((len(GROUPS), *logits.shape[1:]), float("-inf"), dtype=logits.dtype)
    for g in range(len(GROUPS)):
        idx = torch.from_numpy(np.flatnonzero(table == g))
        if len(idx):
            out[g] = torch.logsumexp(logits[idx], 0)
    return out


def restricted_labels(logits: torch.Tensor, allowed: list[int]) -> torch.Tensor:
    """(G, h, w) group logits -> (h, w) group index, the argmax over ``allowed`` groups only."""
    if not allowed:
        raise ValueError("restricted_labels: no group allowed")
    keep = torch.tensor(allowed)
    return keep[logits[keep].argmax(0)]


def style_groups(labels: torch.Tensor, min_share: float = MIN_STYLE_SHARE) -> list[int]:
    """The groups covering at least ``min_share`` of a (h, w) group map (at least the largest one)."""
    counts = torch.bincount(labels.reshape(-1), minlength=len(GROUPS)).float()
    share = counts / counts.sum()
    keep = [g for g in range(len(GROUPS)) if share[g] >= min_share]
    return keep or [int(share.argmax())]


class SceneParser:
    """A semantic-segmentation model, its merge table and its preprocessing; ``logits(rgb)`` gives
    group logits."""

    def __init__(
        self,
        model: torch.nn.Module,
        id2label: Mapping[int, str],
        name: str = "",
        preprocess: Preprocess | None = None,
    ) -> None:
        self.model = model.eval()
        self.table = group_table(id2label)
        self.name = name
        self.preprocess = preprocess or Preprocess()
        self.device = next(model.parameters()).device

    @torch.no_grad()
    def logits(self, rgb: np.ndarray, size: int = 0) -> torch.Tensor:
        """(G, h, w) group logits of an (H, W, 3) photo, at a long side of ``size`` (default: the
        checkpoint's own, :class:`Preprocess`)."""
        p = self.preprocess
        small = io.resize_long_side(rgb, size or p.size)
        h, w = small.shape[:2]
        fed = io.resize(small, size or p.size, size or p.size) if p.square else small
        x = (to_tensor(fed)[0] - torch.tensor(p.mean)[:, None, None]) / torch.tensor(p.std)[:, None, None]
        out = self.model(pixel_values=x[None].to(self.device)).logits[0].float().cpu()
        grouped = group_logits(out, self.table)
        if p.square:  # the square's logits back to the photo's aspect
            grouped = F.interpolate(grouped[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        return grouped

    def labels(self, content: np.ndarray, style: np.ndarray, shapes=None) -> tuple[np.ndarray, np.ndarray]:
        return semantic_labels(self, content, style, shapes)


def semantic_labels(
    parser: SceneParser,
    content: np.ndarray,
    style: np.ndarray,
    shapes: tuple[tuple[int, int], tuple[int, int]] | None = None,
    net=None,
    hybrid: HybridSettings | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Matched label maps of both photos, as palette indices (sky blue, vegetation green, ...).  The
    content may only take groups the style has.  With ``net`` (a :class:`dpst.neural.vgg.VGGFeatures`),
    it keeps the parser's groups where the parser is sure of them and the style has them, and takes the
    groups its deep nearest neighbours in the style vote for elsewhere (:mod:`dpst.segment.hybrid`,
    knobs ``hybrid``, default :class:`HybridSettings`); without, the parser's most likely group that the
    style has (as :func:`restricted_labels`).  Group probabilities are upsampled and guided-filtered
    with each photo as guide before the argmax, so boundaries follow the photos' edges.  shapes: the
    (H, W) of the maps to return (default: the photos' own)."""
    lg_c, lg_s = parser.logits(content), parser.logits(style)
    allowed = style_groups(lg_s.argmax(0))
    shapes = shapes or (content.shape[:2], style.shape[:2])
    probs = [torch.softmax(lg[allowed], 0) for lg in (lg_c, lg_s)]  # (A, h, w) over the style's groups
    if net is not None:
        s = hybrid or HybridSettings()
        probs[0] = content_probabilities(net, content, style, (lg_c, lg_s), allowed, s)
    out = []
    for rgb, prob, shape in zip((content, style), probs, shapes):
        photo = rgb if rgb.shape[:2] == tuple(shape) else io.resize(rgb, *shape)
        up = F.interpolate(prob[None], size=tuple(shape), mode="bilinear", align_corners=False)
        r = max(1, round(REFINE_RADIUS * max(shape)))
        g = guided_filter(to_tensor(photo), up, r, 1e-3)[0].argmax(0).numpy()
        out.append(GROUP_COLOURS[np.asarray(allowed)[g]].astype(np.int64))
    return out[0], out[1]


def available() -> bool:
    """Is the ``semantic`` extra (transformers) installed?  Looks without importing it."""
    return importlib.util.find_spec("transformers") is not None


def load_parser(
    name: str = DEFAULT_SEGMENTER,
    device: torch.device | str = "cpu",
    *,
    offline: str = "",
    licence: str = "",
    on_download: hub.OnDownload | None = None,
) -> SceneParser:
    """The scene parser ``name``: a local checkpoint folder, or a Hugging Face model id, downloaded on
    first use into the standard Hugging Face cache (:func:`dpst.segment.hub.fetch`: ``offline`` forbids
    it, ``licence`` and ``on_download`` report it).  MissingExtra without the extra,
    DownloadFailed when it cannot be had, ValueError when it is not a usable parser."""
    if not available():
        raise MissingExtra("semantic", f"--masks semantic (the scene parser {name})")
    local = Path(name).is_dir()
    folder = Path(name) if local else hub.fetch(name, on_download, licence=licence, offline=offline)
    return load_folder(folder, device, name)


def load_folder(folder: Path, device: torch.device | str = "cpu", name: str = "") -> SceneParser:
    """The scene parser in a checkpoint folder (``config.json``, weights, ``preprocessor_config.json``),
    loaded by ``transformers``' AutoModelForSemanticSegmentation without its auxiliary head."""
    from transformers import AutoConfig, AutoModelForSemanticSegmentation

    name = name or str(folder)
    with _quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(folder)
            # the auxiliary head only trains; transformers would still run it on every forward pass
            extra = {"use_auxiliary_head": False} if hasattr(config, "use_auxiliary_head") else {}
            model, info = AutoModelForSemanticSegmentation.from_pretrained(
                folder, output_loading_info=True, **extra
            )
        except Exception as exc:  # not a checkpoint, not a segmentation model, a damaged file
            raise ValueError(
                f"the scene parser {name} cannot be loaded ({first_line(exc)[:120]}); give --segmenter an "
                "ADE20K semantic-segmentation checkpoint (a Hugging Face id or a folder)"
            ) from None
    if info["missing_keys"]:
        missing = sorted(info["missing_keys"])
        raise ValueError(f"the scene parser {name} lacks {len(missing)} of its weights ({missing[0]}, ...)")
    preprocess = Preprocess.of_folder(folder, config.model_type)
    return SceneParser(model.to(device), model.config.id2label, name, preprocess)


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers' load report and progress bars would print; dpst raises one line instead."""
    from transformers.utils import logging

    level, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()
