from __future__ import annotations

import pytest

from dpst.config import PRESETS, Config


def test_default_preset_is_the_dataclass_defaults():
    assert Config.preset() == Config() == Config.preset("default")


def test_presets_order_by_cost():
    fast, default, paper = (Config.preset(n) for n in ("fast", "default", "paper"))
    assert fast.size < default.size < paper.size
    assert fast.steps(1) < default.steps(1) < paper.steps(1) == paper.steps(2) == 1000
    assert paper.stage1_size == 0 and paper.filter and paper.init == "noise"


def test_preset_overrides_win_and_unknown_names_fail():
    assert Config.preset("fast", size=300).size == 300
    assert Config.preset("fast", size=300).stage1_size == PRESETS["fast"]["stage1_size"]
    with pytest.raises(ValueError, match="unknown preset"):
        Config.preset("slow")
