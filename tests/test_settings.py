"""dpst.settings: one declaration per setting (default, help, bounds, choices), one check, one parser."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import pytest

from dpst.config import Config
from dpst.lut import LutSettings
from dpst.segment import HybridSettings, SegmentSettings, StrokeSettings
from dpst.settings import (
    check_settings,
    find_setting,
    flag_name,
    format_setting,
    parse_assignments,
    parse_setting,
    setting,
    setting_fields,
)


@dataclass(frozen=True)
class Knobs:
    """A settings class of every kind, for the tests."""

    FLAG_PREFIX: ClassVar[str] = "--k-"

    steps: int = setting(10, "steps", min=1)
    size: int = setting(0, "size; 0 = off", min=32, also=(0,))
    eps: float = setting(0.5, "eps", above=0, max=1)
    crf: int = setting(18, "crf", min=0, max=51)
    radius: float = setting(0.1, "radius", min=0, max=0.5)
    on: bool = setting(True, "on")
    mode: str = setting("a", "mode", choices=("a", "b"))
    name: str = setting("", "any text")
    sizes: tuple = setting((1, 2), "sizes", min=1)
    tags: tuple = setting(("x",), "tags", choices=("x", "y"))
    knob: float = setting(1.0, "its flag is not its name", flag="other")

    def __post_init__(self) -> None:
        check_settings(self)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"steps": 0}, "--k-steps 0: must be >= 1"),
        ({"size": 8}, "--k-size 8: use 0 or at least 32"),
        ({"size": -1}, "--k-size -1: use 0 or at least 32"),
        ({"eps": 0.0}, "--k-eps 0.0: use a number in (0, 1]"),
        ({"eps": 1.5}, "--k-eps 1.5: use a number in (0, 1]"),
        ({"crf": 52}, "--k-crf 52: use 0 to 51"),
        ({"radius": 0.6}, "--k-radius 0.6: use a number in [0, 0.5]"),
        ({"steps": 2.5}, "--k-steps: expected a whole number, got 2.5"),
        ({"steps": True}, "--k-steps: expected a whole number, got True"),
        ({"eps": float("nan")}, "--k-eps: expected a number, got nan"),
        ({"eps": "0.5"}, "--k-eps: expected a number, got '0.5'"),
        ({"on": 1}, "--k-on: expected true or false, got 1"),
        ({"mode": "c"}, "--k-mode 'c': use one of a, b"),
        ({"name": 3}, "--k-name: expected text, got 3"),
        ({"sizes": (1, 0)}, "--k-sizes 0: must be >= 1"),
        ({"sizes": [1, 2]}, "--k-sizes: expected whole numbers separated by commas, got [1, 2]"),
        ({"tags": ("z",)}, "--k-tags 'z': use one of x, y"),
        ({"knob": -float("inf")}, "--k-other: expected a number"),
    ],
)
def test_the_check_names_the_flag_and_says_what_to_use(changes, message):
    with pytest.raises(ValueError) as e:
        Knobs(**changes)
    assert str(e.value).startswith(message)


def test_values_in_bounds_and_the_allowed_extra_pass():
    k = Knobs(steps=1, size=0, eps=1.0, crf=0, radius=0.0, sizes=(3,), tags=("y", "x"), knob=2)
    assert k.size == 0 and k.knob == 2 and isinstance(k.knob, int)  # an int is a number; not converted
    assert Knobs(size=32).size == 32


def test_settings_without_flags_are_named_by_class_and_field():
    assert flag_name(StrokeSettings, fields(StrokeSettings)[0]) == "StrokeSettings.work_size"
    with pytest.raises(ValueError, match=r"^SegmentSettings\.max_regions 0: must be >= 1"):
        SegmentSettings(max_regions=0)
    assert flag_name(Config, find_setting(Config, "photo_weight")) == "--lambda"
    assert flag_name(LutSettings(), fields(LutSettings)[0]) == "--lut-size"


@pytest.mark.parametrize(
    "field, text, value",
    [
        ("steps", "64", 64),
        ("steps", " 64 ", 64),
        ("steps", 64, 64),
        ("eps", "0.25", 0.25),
        ("eps", "1e-3", 1e-3),
        ("eps", 3, 3.0),
        ("on", "yes", True),
        ("on", "Off", False),
        ("on", "1", True),
        ("on", False, False),
        ("mode", "b", "b"),
        ("name", "Some Text", "Some Text"),
        ("sizes", "1, 2,3", (1, 2, 3)),
        ("sizes", [4, 5], (4, 5)),
        ("tags", "y,x", ("y", "x")),
    ],
)
def test_the_parser_reads_text_and_json_values_as_the_fields_type(field, text, value):
    out = parse_setting(find_setting(Knobs, field), text)
    assert out == value and type(out) is type(value)


@pytest.mark.parametrize(
    "field, text, message",
    [
        ("steps", "lots", "steps: 'lots' is not a whole number"),
        ("steps", "2.5", "steps: '2.5' is not a whole number"),
        ("steps", 64.5, "steps: 64.5 is not a whole number"),
        ("steps", True, "steps: True is not a whole number"),
        ("eps", "x", "eps: 'x' is not a number"),
        ("on", "maybe", "on: 'maybe' is not true/false"),
        ("on", 1, "on: 1 is not true/false"),
        ("name", 3, "name: 3 is not text"),
        ("mode", "c", "mode: 'c' is not one of a, b"),
        ("sizes", "1,x", "sizes: '1,x' is not whole numbers separated by commas"),
        ("tags", "x,z", "tags: ('x', 'z') is not one of x, y"),
    ],
)
def test_the_parser_names_the_setting_and_what_it_expects(field, text, message):
    with pytest.raises(ValueError) as e:
        parse_setting(find_setting(Knobs, field), text)
    assert str(e.value) == message


def test_parsed_text_round_trips_through_format():
    k = Knobs(steps=3, eps=0.125, on=False, sizes=(7, 8), tags=("y",))
    for f in setting_fields(Knobs):
        assert parse_setting(f, format_setting(getattr(k, f.name))) == getattr(k, f.name)


def test_assignments_take_field_names_or_flags():
    got = parse_assignments(Config, ["stage3_iterations=6", "lambda=3000", "--f-edge=0.01", "filter=no"])
    assert got == {"stage3_iterations": 6, "photo_weight": 3000.0, "f_edge": 0.01, "filter": False}
    with pytest.raises(
        ValueError, match=r"^--set 'sizee=3': unknown setting 'sizee' \(did you mean 'size'\?\)"
    ):
        parse_assignments(Config, ["sizee=3"])
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_assignments(Config, ["size"])
    with pytest.raises(ValueError, match="'big' is not a whole number"):
        parse_assignments(Config, ["size=big"])


def test_a_default_of_another_type_is_refused():
    with pytest.raises(TypeError, match="list"):
        setting([1], "a list")


@pytest.mark.parametrize("cls", [Config, LutSettings, StrokeSettings, SegmentSettings, HybridSettings])
def test_every_field_is_declared_with_help(cls):
    assert setting_fields(cls) == fields(cls)
    for f in fields(cls):
        assert len(f.metadata["help"]) > 5, f.name
        cls(**{f.name: f.default})  # every default passes its own check


def test_every_config_field_has_a_group_the_cli_lists():
    for f in fields(Config):
        assert f.metadata["group"] in Config.GROUPS, f.name


def test_config_parse_reads_a_field_by_name_or_flag():
    assert Config.parse("lambda", "3000") == 3000.0 and Config.parse("stage2", "no") is False
    with pytest.raises(ValueError, match="init: 'zeros' is not one of"):
        Config.parse("init", "zeros")
