"""The scene parsers dpst knows: the default is permissive, each architecture is the published one
(built from a config, never downloaded), and a run's line says each licence."""

from __future__ import annotations

import pytest

from dpst.config import DEFAULT_SEGMENTER
from dpst.segment import parsers
from dpst.segment.semantic import GROUPS
from tests.conftest import photo
from tests.segment.conftest import TINY


def test_the_default_is_a_permissive_candidate_and_segformer_is_not():
    assert parsers.default_card().name == DEFAULT_SEGMENTER == "openmmlab/upernet-convnext-tiny"
    assert {n: (c.licence, c.permissive) for n, c in parsers.PARSERS.items()} == {
        "openmmlab/upernet-convnext-tiny": ("MIT", True),
        "openmmlab/upernet-convnext-small": ("MIT", True),
        "openmmlab/upernet-swin-tiny": ("MIT", True),
        "microsoft/beit-base-finetuned-ade-640-640": ("Apache-2.0", True),
        "nvidia/segformer-b0-finetuned-ade-512-512": (
            "NVIDIA's SegFormer licence (research and evaluation only)",
            False,
        ),
        "nvidia/segformer-b2-finetuned-ade-512-512": (
            "NVIDIA's SegFormer licence (research and evaluation only)",
            False,
        ),
    }


def test_the_line_says_the_licence_and_warns_where_it_forbids_commercial_use():
    assert parsers.masks_line(DEFAULT_SEGMENTER) == f"semantic (scene parser {DEFAULT_SEGMENTER}, MIT)"
    assert parsers.masks_line("nvidia/segformer-b2-finetuned-ade-512-512").endswith("forbids commercial use)")
    assert parsers.masks_line("/some/folder") == "semantic (scene parser /some/folder)"
    assert parsers.licence("/some/folder") == ""


def test_each_architecture_has_its_published_hyper_parameters_and_150_labels():
    pytest.importorskip("transformers")
    tiny = parsers.architecture("openmmlab/upernet-convnext-tiny")
    small = parsers.architecture("openmmlab/upernet-convnext-small")
    swin = parsers.architecture("openmmlab/upernet-swin-tiny")
    beit = parsers.architecture("microsoft/beit-base-finetuned-ade-640-640")
    b0 = parsers.architecture("nvidia/segformer-b0-finetuned-ade-512-512")
    assert tiny.backbone_config.depths == [3, 3, 9, 3] and small.backbone_config.depths == [3, 3, 27, 3]
    assert tiny.backbone_config.hidden_sizes == [96, 192, 384, 768] and tiny.hidden_size == 512
    assert swin.backbone_config.embed_dim == 96 and swin.backbone_config.num_heads == [3, 6, 12, 24]
    assert beit.image_size == 640 and beit.out_indices == [3, 5, 7, 11] and beit.use_relative_position_bias
    assert b0.hidden_sizes == [32, 64, 160, 256]
    for config in (tiny, small, swin, beit, b0):
        assert (
            len(config.id2label) == 150
            and config.id2label[2] == "sky"
            and not getattr(config, "use_auxiliary_head", False)
        )


@pytest.mark.parametrize("name", list(TINY))
def test_a_random_parser_of_each_family_gives_group_logits(name):
    pytest.importorskip("transformers")
    overrides = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY[name].items()}
    parser = parsers.random_parser(name, **overrides)
    assert parser.preprocess == parsers.PARSERS[name].preprocess
    lg = parser.logits(photo(40, 60), 64)
    assert lg.shape[0] == len(GROUPS) and lg.shape[2] in (16, 64)
