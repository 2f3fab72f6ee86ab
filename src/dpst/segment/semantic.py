"""Scene parsing: a pretrained SegFormer (Xie et al. 2021) fine-tuned on ADE20K, through ``transformers``
(the optional extra ``dpst[semantic]``), its classes merged into the palette's nine groups.

This is how the paper made its masks (a scene-parsing network on both photos, input labels limited to
the style's).  Pure functions apart from :class:`SceneParser`, which runs the network:

- :func:`group_table`: each class of a checkpoint, by its own label name (``id2label``), to a group of
  :data:`GROUPS`; a label the table does not know is an error listing them all.
- :func:`group_logits`: class logits summed into group logits (log-sum-exp over a group's classes).
- :func:`restricted_labels`: the argmax over the groups the style has, so a content region whose group
  the style lacks goes to its most likely shared group (the paper restricts input labels to the
  style's), never dropped.
- :func:`semantic_labels`: both photos, with the group probabilities refined edge-aware at full size.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import io
from ..config import DEFAULT_SEGMENTER
from ..errors import MissingExtra, first_line
from ..ops.guided import guided_filter
from ..ops.tensor import to_tensor

PARSE_SIZE = 512  # long side the parser sees (the checkpoints were trained on 512 px crops)
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

# SegFormer-B0's architecture (Xie et al. 2021, table 6), for timing it here with random weights.
B0_CONFIG = {
    "num_channels": 3,
    "num_encoder_blocks": 4,
    "depths": [2, 2, 2, 2],
    "sr_ratios": [8, 4, 2, 1],
    "hidden_sizes": [32, 64, 160, 256],
    "patch_sizes": [7, 3, 3, 3],
    "strides": [4, 2, 2, 2],
    "num_attention_heads": [1, 2, 5, 8],
    "mlp_ratios": [4, 4, 4, 4],
    "decoder_hidden_size": 256,
}
B2_CONFIG = {**B0_CONFIG, "depths": [3, 4, 6, 3], "hidden_sizes": [64, 128, 320, 512]}
B2_CONFIG["decoder_hidden_size"] = 768

_MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]  # ImageNet statistics, as the checkpoints use
_STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


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
    """A SegFormer semantic-segmentation model and its merge table; ``logits(rgb)`` gives group logits."""

    def __init__(self, model: torch.nn.Module, id2label: Mapping[int, str], name: str = "") -> None:
        self.model = model.eval()
        self.table = group_table(id2label)
        self.name = name
        self.device = next(model.parameters()).device

    @torch.no_grad()
    def logits(self, rgb: np.ndarray, size: int = PARSE_SIZE) -> torch.Tensor:
        """(G, h, w) group logits of an (H, W, 3) photo, computed at a long side of ``size``."""
        small = io.resize_long_side(rgb, size)
        x = (to_tensor(small)[0] - _MEAN) / _STD
        out = self.model(pixel_values=x[None].to(self.device)).logits[0].float().cpu()
        return group_logits(out, self.table)

    def labels(self, content: np.ndarray, style: np.ndarray, shapes=None) -> tuple[np.ndarray, np.ndarray]:
        return semantic_labels(self, content, style, shapes)


def semantic_labels(
    parser: SceneParser,
    content: np.ndarray,
    style: np.ndarray,
    shapes: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Matched label maps of both photos, as palette indices (sky blue, vegetation green, ...).  The
    content may only take groups the style has (see :func:`restricted_labels`).  Group probabilities
    are upsampled and guided-filtered with each photo as guide before the argmax, so boundaries follow
    the photos' edges.  shapes: the (H, W) of the maps to return (default: the photos' own)."""
    lg_c, lg_s = parser.logits(content), parser.logits(style)
    allowed = style_groups(lg_s.argmax(0))
    shapes = shapes or (content.shape[:2], style.shape[:2])
    out = []
    for rgb, lg, shape in zip((content, style), (lg_c, lg_s), shapes):
        prob = torch.softmax(lg[allowed], 0)  # (A, h, w) over the style's groups only
        photo = rgb if rgb.shape[:2] == tuple(shape) else io.resize(rgb, *shape)
        up = F.interpolate(prob[None], size=tuple(shape), mode="bilinear", align_corners=False)
        r = max(1, round(REFINE_RADIUS * max(shape)))
        g = guided_filter(to_tensor(photo), up, r, 1e-3)[0].argmax(0).numpy()
        out.append(GROUP_COLOURS[np.asarray(allowed)[g]].astype(np.int64))
    return out[0], out[1]


def available() -> bool:
    """Is the ``semantic`` extra (transformers) installed?  Looks without importing it."""
    return importlib.util.find_spec("transformers") is not None


def is_cached(name: str) -> bool:
    """Are the checkpoint's files on this machine (a local folder, or the Hugging Face cache)?  Never
    touches the network."""
    if Path(name).is_dir():
        return (Path(name) / "config.json").is_file()
    if importlib.util.find_spec("huggingface_hub") is None:
        return False
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        return isinstance(try_to_load_from_cache(name, filename), str)

    try:
        return cached("config.json") and (cached("model.safetensors") or cached("pytorch_model.bin"))
    except Exception:  # a name that is not a valid repo id, say
        return False


def load_parser(name: str = DEFAULT_SEGMENTER, device: torch.device | str = "cpu", download: bool = True):
    """The SegFormer checkpoint ``name`` (a Hugging Face model id or a local folder), downloaded on first
    use into the standard Hugging Face cache unless ``download`` is False."""
    if not available():
        raise MissingExtra("semantic", f"--masks semantic (the scene parser {name})")
    import transformers
    from transformers import SegformerForSemanticSegmentation

    transformers.logging.set_verbosity_error()  # its retries and hints would print; we raise one line
    try:
        model = SegformerForSemanticSegmentation.from_pretrained(name, local_files_only=not download)
    except Exception as exc:  # offline, not found, not a SegFormer: the user's to fix
        raise ValueError(
            f"the scene parser {name} of dpst[semantic] cannot be loaded ({first_line(exc)[:120]}); it is "
            "downloaded once into the Hugging Face cache (needs the network), or give --segmenter a folder"
        ) from None
    return SceneParser(model.to(device), model.config.id2label, name)
