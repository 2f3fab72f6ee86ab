from __future__ import annotations

import pytest

from dpst.config import PRESETS, STYLE_LAYERS, Config


def test_default_preset_is_the_dataclass_defaults():
    assert Config.preset() == Config() == Config.preset("default")


def test_presets_order_by_cost():
    fast, default, paper = (Config.preset(n) for n in ("fast", "default", "paper"))
    assert fast.size < default.size < paper.size
    assert fast.steps(1) < default.steps(1) < paper.steps(1) == paper.steps(2) == 1000
    assert paper.stage1_size == 0 and paper.filter and paper.init == "noise"


def test_quality_preset_works_at_700_px_and_keeps_the_photo():
    quality, default = Config.preset("quality"), Config()
    assert quality.size == 700 > default.size
    assert quality.style_weight > default.style_weight
    assert quality.filter and quality.stage2 and quality.polish > 0 == default.polish


def test_preset_overrides_win_and_unknown_names_fail():
    assert Config.preset("fast", size=300).size == 300
    assert Config.preset("fast", size=300).stage1_size == PRESETS["fast"]["stage1_size"]
    with pytest.raises(ValueError, match="unknown preset"):
        Config.preset("slow")


def test_layer_weights_are_normalised_and_validated():
    w = Config(style_layers="1,1,2,2,4").layer_weights()
    assert list(w) == list(STYLE_LAYERS)
    assert w["relu5_1"] == pytest.approx(0.4) and sum(w.values()) == pytest.approx(1.0)
    for bad in ("1,1,1,1", "1,1,1,1,-1", "0,0,0,0,0", "a,b,c,d,e"):
        with pytest.raises(ValueError, match="style_layers"):
            Config(style_layers=bad).layer_weights()
