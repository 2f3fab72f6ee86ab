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
        with pytest.raises(ValueError, match="--style-layers"):
            Config(style_layers=bad)


@pytest.mark.parametrize(
    "field, value, flag",
    [
        ("masks", "Auto", "--masks"),  # once silently acted as none
        ("init", "gaussian", "--init"),  # once failed only after the style targets were computed
        ("device", "gpu", "--device"),
        ("size", 16, "--size"),
        ("stage1_size", 8, "--stage1-size"),
        ("output_size", -1, "--output-size"),
        ("iterations", -5, "--iterations"),
        ("stage2_iterations", 2.5, "--stage2-iterations"),
        ("history", 0, "--history"),
        ("style_weight", -1.0, "--style-weight"),
        ("photo_weight", float("nan"), "--lambda"),
        ("f_edge", 0.0, "--f-edge"),
        ("f_radius", -1, "--f-radius"),
        ("f_size", 10, "--f-size"),
        ("carry_radius", 0, "--carry-radius"),
        ("carry_eps", 0, "--carry-eps"),
        ("polish", -1, "--polish"),
        ("filter", "yes", "--filter"),
        ("seed", "0", "--seed"),
        ("weights", 3, "--weights"),
    ],
)
def test_every_field_is_validated_where_the_config_is_made(field, value, flag):
    with pytest.raises(ValueError, match=f"^{flag}"):
        Config(**{field: value})
    with pytest.raises(ValueError, match=f"^{flag}"):
        Config().updated(**{field: value})
    with pytest.raises(ValueError, match=f"^{flag}"):
        Config.preset("fast", **{field: value})


def test_good_values_pass_and_integers_are_numbers():
    cfg = Config(size=32, stage1_size=0, output_size=0, style_weight=5, f_edge=1e-4, device="cpu")
    assert cfg.style_weight == 5 and cfg.size == 32
    for name in PRESETS:
        Config.preset(name)  # every preset is valid


def test_preset_flags_are_what_differs_from_the_preset_and_parse_back():
    from dpst.cli.common import config_from_args
    from dpst.cli.stylize import build_parser
    from dpst.config import preset_flags

    cfg = Config.preset("fast", style_weight=12.5, filter=True, device="cpu")
    flags = preset_flags(cfg, "fast")
    assert flags == ["--style-weight", "12.5", "--filter", "--device", "cpu"]
    assert preset_flags(cfg, "fast", skip=("device",)) == flags[:-2]
    assert preset_flags(Config.preset("fast"), "fast") == []
    args = build_parser().parse_args(["c.png", "s.png", "-o", "o.png", "--preset", "fast", *flags])
    assert config_from_args(args) == cfg
