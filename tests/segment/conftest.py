"""Fixtures of the scene-parser tests (tests/segment and tests/cli/test_models.py): tiny checkpoints of
each architecture family, saved as checkpoint folders, and a local stand-in hub serving them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dpst.segment import parsers
from tests.segment.standin_hub import StandinHub

DEFAULT = parsers.default_card().name  # openmmlab/upernet-convnext-tiny
SEGFORMER = "nvidia/segformer-b0-finetuned-ade-512-512"
# each family's architecture (dpst.segment.parsers.architecture) made tiny: a few channels, one block
TINY = {
    DEFAULT: {"depths": [1, 1, 1, 1], "hidden_sizes": [8, 8, 8, 8], "head": {"hidden_size": 8}},
    "openmmlab/upernet-swin-tiny": {
        "embed_dim": 8, "depths": [1, 1, 1, 1], "num_heads": [1, 1, 1, 1], "head": {"hidden_size": 8},
    },
    "microsoft/beit-base-finetuned-ade-640-640": {
        "image_size": 64, "hidden_size": 16, "num_hidden_layers": 4, "num_attention_heads": 2,
        "intermediate_size": 32, "out_indices": [0, 1, 2, 3],
    },
    SEGFORMER: {
        "depths": [1, 1, 1, 1], "hidden_sizes": [8, 16, 16, 16], "num_attention_heads": [1, 1, 1, 1],
        "decoder_hidden_size": 16,
    },
}  # fmt: skip
# what each checkpoint's preprocessor_config.json holds, at 64 px (BEiT's in its older format)
PREPROCESSOR = {
    "beit": {"do_normalize": True, "image_mean": [0.5] * 3, "image_std": [0.5] * 3, "size": 64},
    "other": {
        "do_normalize": True, "do_rescale": True, "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225], "size": {"height": 64, "width": 64},
    },
}  # fmt: skip


def tiny_checkpoint(name: str, folder: Path, bin_weights: bool = False) -> Path:
    """The architecture of ``name`` made tiny, random weights, saved as a checkpoint folder
    (``pytorch_model.bin`` as the UperNet checkpoints have on the hub, else ``model.safetensors``)."""
    from transformers import AutoModelForSemanticSegmentation

    torch.manual_seed(0)
    config = parsers.architecture(
        name, **{k: dict(v) if isinstance(v, dict) else v for k, v in TINY[name].items()}
    )
    model = AutoModelForSemanticSegmentation.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    if bin_weights:
        model.config.architectures = [type(model).__name__]
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    else:
        model.save_pretrained(folder)
    pre = PREPROCESSOR["beit" if parsers.PARSERS[name].family == "beit" else "other"]
    (folder / "preprocessor_config.json").write_text(json.dumps(pre))
    return folder


@pytest.fixture(scope="session")
def tiny_parsers(tmp_path_factory) -> dict[str, Path]:
    """{name: folder} of a tiny checkpoint of each family (UperNet-ConvNeXt, UperNet-Swin, BEiT,
    SegFormer) with the ADE20K labels."""
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("parsers")
    return {name: tiny_checkpoint(name, root / name.split("/")[1], name == DEFAULT) for name in TINY}


@pytest.fixture
def standin(tmp_path, monkeypatch, tiny_parsers):
    """A local stand-in hub serving the tiny default parser and SegFormer-B0 under their real names,
    and an empty Hugging Face cache; downloads allowed (tests/conftest.py forbids them elsewhere).
    ``standin.env``: the environment of a ``dpst`` subprocess using it."""
    import huggingface_hub.constants

    hub = StandinHub().start()
    hub.add(DEFAULT, tiny_parsers[DEFAULT], "mit")
    hub.add(SEGFORMER, tiny_parsers[SEGFORMER], "other")
    hub.env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"}
    for key, value in hub.env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # read at its import
    yield hub
    hub.stop()
