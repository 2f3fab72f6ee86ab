from __future__ import annotations

import shlex

import pytest

from dpst.cli.common import config_from_args
from dpst.cli.stylize import build_parser
from dpst.config import Config
from dpst.web.runs import command_line, file_names, make_config, page_words, preset_settings


def test_the_page_shows_each_presets_own_values():
    assert preset_settings("default") == {
        "style_weight": 30.0,
        "photo_weight": 9000.0,
        "output_size": 0,
        "size": 512,
    }
    assert preset_settings("fast")["size"] == 224 and preset_settings("quality")["style_weight"] == 100.0
    assert preset_settings("quality")["photo_weight"] == 3000.0


def test_page_values_become_a_config_on_top_of_the_preset():
    cfg = make_config("fast", {"size": 64.0, "output_size": 160.0, "style_weight": 30, "photo_weight": 2000})
    assert (cfg.size, cfg.output_size, cfg.style_weight, cfg.photo_weight) == (64, 160, 30.0, 2000.0)
    assert cfg.stage1_iterations == Config.preset("fast").stage1_iterations
    assert make_config("default", {}, Config(device="cpu", weights="w.pth")).weights == "w.pth"


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"size": 10}, "Working size 10: must be >= 32"),
        ({"output_size": 12.5}, "Output size 12.5: give a whole number"),
        ({"style_weight": None}, "Style strength: give a number"),
        ({"photo_weight": -1}, "Photorealism λ -1.0: must be >= 0"),
    ],
)
def test_bad_values_are_named_as_the_page_names_them(settings, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        make_config("fast", settings)


def test_messages_name_settings_as_the_page_does():
    assert page_words("use --output-size 900 or less, or a smaller --size") == (
        "use Output size 900 or less, or a smaller Working size"
    )


def test_the_command_line_makes_the_same_config():
    cfg = make_config("fast", {"size": 64, "output_size": 160, "style_weight": 12.5, "photo_weight": 9000})
    line = command_line("my cat.png", "look.jpg", "out.png", "cm.png", "sm.png", "fast", cfg)
    argv = shlex.split(line)
    assert argv[:2] == ["dpst", "my cat.png"] and "--lambda" not in argv  # only what differs
    args = build_parser().parse_args(argv[1:])
    assert config_from_args(args) == cfg
    assert (args.content_mask, args.style_mask, args.output) == ("cm.png", "sm.png", "out.png")


def test_file_names_come_from_the_photos():
    names = file_names("chelsea.png", "rocket.jpg")
    assert names["png"] == "chelsea_restyled.png" and names["style_mask"] == "rocket_mask.png"
    same = file_names("a/photo.jpg", "b/photo.png")
    assert same["content_mask"] != same["style_mask"]
