"""The flags every command shares, generated from the settings' fields (dpst.cli.common)."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from dpst.cli.common import add_settings_arguments, config_from_args, settings_from_args
from dpst.config import COMMON, Config
from dpst.io import OUTPUT, PhotoSettings
from dpst.lut import LUT_GROUP, LutSettings
from dpst.settings import flag_name

STYLIZE_OWN = {"-h", "--help", "-o", "--output", "--content-mask", "--style-mask", "--save-masks"}
STYLIZE_OWN |= {"--save-every", "--lut", "-q", "--quiet", "-v", "--verbose", "--preset"}


def _flags(*classes) -> set[str]:
    """Every flag of the settings classes' fields: ``--x`` and, for a boolean, ``--no-x``."""
    out = set()
    for cls in classes:
        for f in fields(cls):
            flag = flag_name(cls, f)
            out |= {flag, "--no-" + flag[2:]} if f.metadata["kind"] is bool else {flag}
    return out


def _offered(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def test_the_flags_of_dpst_are_the_fields_flags():
    from dpst.cli.stylize import build_parser

    p = build_parser()
    assert _offered(p) == STYLIZE_OWN | _flags(Config, PhotoSettings, LutSettings)
    assert len(_flags(Config)) == 45  # the 39 fields, 6 booleans with their --no-


def test_dpst_help_lists_first_what_most_runs_touch_then_each_stage():
    from dpst.cli.stylize import build_parser

    p = build_parser()
    titles = [g.title for g in p._action_groups]
    assert titles[2:] == [*Config.GROUPS, OUTPUT, LUT_GROUP]
    common = next(g for g in p._action_groups if g.title == COMMON)
    first = [a.option_strings[0] for a in common._group_actions]
    assert first == ["--preset", "--size", "--output-size", "--masks", "--device"]
    by_dest = {f.name: f for f in (*fields(Config), *fields(PhotoSettings))}
    by_dest |= {"lut_" + f.name: f for f in fields(LutSettings)}
    for group in p._action_groups[2:]:
        for action in group._group_actions[1 if group.title == COMMON else 0 :]:
            assert by_dest[action.dest].metadata["group"] == group.title


def test_each_flag_has_its_fields_help_default_choices_and_type():
    from dpst.cli.stylize import build_parser

    by_flag = {o: a for a in build_parser()._actions for o in a.option_strings}
    for f in fields(Config):
        a = by_flag[flag_name(Config, f)]
        assert a.dest == f.name and a.default == argparse.SUPPRESS
        assert a.help == f"{f.metadata['help']} (default: {f.default})"
        assert a.choices == f.metadata["choices"]
        if f.metadata["kind"] is not bool:
            assert a.type.__name__ == f.metadata["kind"].__name__
    for f in fields(LutSettings):
        a = by_flag[flag_name(LutSettings, f)]
        assert (a.dest, a.default) == ("lut_" + f.name, f.default)


def test_flags_parse_back_to_the_settings():
    from dpst.cli.stylize import build_parser

    argv = ["c.png", "s.png", "-o", "o.png", "--lambda", "3000", "--masks", "none", "--no-carry"]
    args = build_parser().parse_args([*argv, "--lut-size", "17"])
    assert config_from_args(args) == Config(photo_weight=3000.0, masks="none", carry=False)
    assert settings_from_args(args, LutSettings, "lut_") == {"size": 17, "smoothness": 1e-4, "anchor": 0.1}
    with pytest.raises(ValueError, match="--size: invalid int value: '2.5'"):
        build_parser().parse_args([*argv, "--size", "2.5"])
    with pytest.raises(ValueError, match="--device: invalid choice: 'gpu'"):
        build_parser().parse_args([*argv, "--device", "gpu"])


def test_any_settings_class_gets_its_flags():
    p = argparse.ArgumentParser()
    groups = add_settings_arguments(p, LutSettings, dest_prefix="x_")
    assert list(groups) == [LUT_GROUP]
    args = p.parse_args(["--lut-anchor", "0.5"])
    assert LutSettings(**settings_from_args(args, LutSettings, "x_")) == LutSettings(anchor=0.5)


def test_the_flags_of_dpst_video_are_the_fields_flags():
    pytest.importorskip("cv2")
    from dpst.cli.video import build_parser
    from dpst.video.pipeline import VIDEO_GROUP, VideoSettings

    p = build_parser()
    own = {"-h", "--help", "-o", "--output", "--content-mask", "--style-mask", "--save-keyframes"}
    own |= {"-q", "--quiet", "-v", "--verbose", "--preset"}
    assert _offered(p) == own | _flags(Config, LutSettings, VideoSettings)
    assert [g.title for g in p._action_groups][2:] == [VIDEO_GROUP, *Config.GROUPS, LUT_GROUP]


def test_fetch_parser_first_says_the_size_shows_a_bar_then_asks_nothing(standin, capsys):
    """``dpst batch`` fetches the parser of automatic masks before its workers start (they would
    download it silently): the size line and a bar; then, cached, nothing is asked again."""
    pytest.importorskip("transformers")
    from dpst import Config
    from dpst.cli.common import fetch_parser_first
    from dpst.segment import hub
    from tests.segment.conftest import DEFAULT

    fetch_parser_first(Config(masks="none"))
    fetch_parser_first(Config(masks="auto", offline=True))
    assert standin.requests == [] and hub.snapshot(DEFAULT) is None  # neither may fetch
    fetch_parser_first(Config(masks="auto"))
    err = capsys.readouterr().err
    assert err.startswith(f"dpst: downloading the scene parser {DEFAULT} (0.1 MB, MIT) once into ")
    assert "scene parser: 100%" in err and hub.snapshot(DEFAULT) is not None
    asked = len(standin.requests)
    fetch_parser_first(Config(masks="auto"))
    assert len(standin.requests) == asked and capsys.readouterr().err == ""


def test_batch_fetches_the_parser_before_its_workers_start(album, tmp_path, monkeypatch):
    from dpst.cli import batch

    seen = []

    def run(*args, **kwargs):
        seen.append("run")
        raise KeyboardInterrupt

    monkeypatch.setattr(
        batch, "fetch_parser_first", lambda config, quiet: seen.append(("fetch", config.masks))
    )
    monkeypatch.setattr(batch, "run_batch", run)
    argv = ["--content", str(album), "--style", str(album / "look.png"), "-o", str(tmp_path / "o")]
    assert batch.main(argv) == 130
    assert seen == [("fetch", "auto"), "run"]


def test_a_stages_bar_ends_when_the_next_phase_starts(tmp_path, capsys):
    """The finish (and the next stage's set-up) is not counted in the last stage's bar: a phase
    closes the bar that is open, and the next stage opens its own."""
    from dpst.cli.common import PhaseLines, ProgressBar
    from dpst.neural.lbfgs import Progress

    bar = ProgressBar(tmp_path / "out.png", quiet=False, save_every=0)
    phases = PhaseLines(lambda: "given", verbose=False, quiet=True, bar=bar)
    step = lambda stage, i: Progress(stage, i, 2, {"total": 1.0}, lambda: None)  # noqa: E731
    bar(step(2, 1))
    bar(step(2, 2))
    shown = bar.bar
    assert shown is not None and shown.n == 2
    phases("stage3")
    assert bar.bar is None and shown.disable is True  # tqdm marks a closed bar disabled
    bar(step(3, 1))
    assert bar.bar is not None and bar.bar is not shown and bar.bar.n == 1
    phases("upsample")
    assert bar.bar is None
    phases("filter")  # nothing open: nothing to close
    assert "stage 3" in capsys.readouterr().err
