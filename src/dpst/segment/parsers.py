"""The ADE20K scene parsers dpst knows: each one's licence, download size, published mIoU, input and
architecture (:data:`PARSERS`), so that a run can say a checkpoint's licence, ``dpst models`` can
list them, and a benchmark can build each architecture with random weights (:func:`random_parser`)
to time it where the real weights cannot be downloaded.

Any other ADE20K semantic-segmentation checkpoint that ``transformers`` loads works too
(``--segmenter``); it is only not described here.  Where each fact comes from: docs/masks.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch

from ..config import DEFAULT_SEGMENTER
from .semantic import ADE20K_LABELS, Preprocess, SceneParser


@dataclass(frozen=True)
class ParserCard:
    """One checkpoint on the Hugging Face hub, as published."""

    name: str  # its Hugging Face id
    architecture: str  # in words
    licence: str  # of the checkpoint, as its model card and upstream repository give it
    permissive: bool  # may be used commercially
    download_mb: int  # its weights file on the hub (the default branch), MB
    miou: float  # published ADE20K val mIoU, single scale (docs/masks.md: where)
    family: str  # "upernet-convnext", "upernet-swin", "segformer" or "beit"
    hyper: Mapping = field(default_factory=dict)  # the architecture's hyper-parameters (transformers names)
    preprocess: Preprocess = Preprocess()  # what its preprocessor_config.json says

    def note(self) -> str:
        """The licence as a run says it: ``MIT``, or a warning for a licence that forbids commercial use."""
        if self.permissive:
            return self.licence
        return f"its licence, {self.licence}, forbids commercial use"


_CONVNEXT_T = {"depths": [3, 3, 9, 3], "hidden_sizes": [96, 192, 384, 768]}
_SEGFORMER_B0 = {
    "depths": [2, 2, 2, 2],
    "hidden_sizes": [32, 64, 160, 256],
    "num_attention_heads": [1, 2, 5, 8],
    "sr_ratios": [8, 4, 2, 1],
    "decoder_hidden_size": 256,
}
_SEGFORMER = "NVIDIA's SegFormer licence (research and evaluation only)"

PARSERS: Mapping[str, ParserCard] = MappingProxyType(
    {
        card.name: card
        for card in (
            ParserCard(
                "openmmlab/upernet-convnext-tiny", "UperNet + ConvNeXt-T", "MIT", True, 241, 46.11,
                "upernet-convnext", _CONVNEXT_T,
            ),
            ParserCard(
                "openmmlab/upernet-convnext-small", "UperNet + ConvNeXt-S", "MIT", True, 328, 48.56,
                "upernet-convnext", {**_CONVNEXT_T, "depths": [3, 3, 27, 3]},
            ),
            ParserCard(
                "openmmlab/upernet-swin-tiny", "UperNet + Swin-T", "MIT", True, 240, 44.41,
                "upernet-swin", {"embed_dim": 96, "depths": [2, 2, 6, 2], "num_heads": [3, 6, 12, 24]},
            ),
            ParserCard(
                "microsoft/beit-base-finetuned-ade-640-640", "BEiT-B + UperNet", "Apache-2.0", True, 900,
                53.61, "beit",
                {"image_size": 640, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                 "out_indices": [3, 5, 7, 11]},
                Preprocess((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 640, square=True),
            ),
            ParserCard(
                "nvidia/segformer-b0-finetuned-ade-512-512", "SegFormer-B0", _SEGFORMER, False, 15, 37.4,
                "segformer", _SEGFORMER_B0,
            ),
            ParserCard(
                "nvidia/segformer-b2-finetuned-ade-512-512", "SegFormer-B2", _SEGFORMER, False, 110, 46.5,
                "segformer",
                {**_SEGFORMER_B0, "depths": [3, 4, 6, 3], "hidden_sizes": [64, 128, 320, 512],
                 "decoder_hidden_size": 768},
            ),
        )
    }
)  # fmt: skip


def card(name: str) -> ParserCard | None:
    """The card of a known checkpoint, or None."""
    return PARSERS.get(name)


def licence(name: str) -> str:
    """A checkpoint's licence in words, "" when dpst does not know it."""
    known = PARSERS.get(name)
    return known.licence if known else ""


def masks_line(name: str) -> str:
    """What a run says when it uses the scene parser ``name``: ``semantic (scene parser X, MIT)``, its
    licence once, with a warning where that licence forbids commercial use."""
    known = PARSERS.get(name)
    return f"semantic (scene parser {name}" + (f", {known.note()})" if known else ")")


def default_card() -> ParserCard:
    """The card of :data:`dpst.config.DEFAULT_SEGMENTER`."""
    return PARSERS[DEFAULT_SEGMENTER]


def architecture(name: str, id2label: Mapping[int, str] | None = None, **overrides):
    """The ``transformers`` config of the checkpoint ``name``'s architecture (its published
    hyper-parameters, ADE20K's 150 labels unless ``id2label``; ``overrides`` on top, e.g. fewer layers
    for a test; ``head``: a dict for UperNet's head), without the auxiliary head that only trains."""
    import transformers as T

    known = PARSERS[name]
    labels = dict(id2label or enumerate(ADE20K_LABELS))
    common = {"id2label": labels, "label2id": {v: k for k, v in labels.items()}}
    head = {"hidden_size": 512, "use_auxiliary_head": False, **overrides.pop("head", {})}
    hyper = {**known.hyper, **overrides}
    stages = ["stage1", "stage2", "stage3", "stage4"]
    if known.family == "segformer":
        return T.SegformerConfig(**common, **hyper)
    if known.family == "beit":
        beit = {
            "use_relative_position_bias": True,
            "use_absolute_position_embeddings": False,
            "layer_scale_init_value": 0.1,
        }
        return T.BeitConfig(**common, **beit, use_auxiliary_head=False, **hyper)
    if known.family == "upernet-convnext":
        backbone = T.ConvNextConfig(out_features=stages, **hyper)
        third = backbone.hidden_sizes[2]
    else:
        backbone = T.SwinConfig(out_features=stages, window_size=7, **hyper)
        third = backbone.embed_dim * 4
    return T.UperNetConfig(backbone_config=backbone, auxiliary_in_channels=third, **common, **head)


def random_parser(name: str, device: torch.device | str = "cpu", seed: int = 0, **overrides) -> SceneParser:
    """The architecture of the checkpoint ``name`` (:func:`architecture`) with random weights, as a
    :class:`SceneParser` with the checkpoint's preprocessing: to time it, or to test the path."""
    from transformers import AutoModelForSemanticSegmentation

    torch.manual_seed(seed)
    config = architecture(name, **overrides)
    model = AutoModelForSemanticSegmentation.from_config(config)
    return SceneParser(
        model.to(device), config.id2label, f"{name} (random weights)", PARSERS[name].preprocess
    )
