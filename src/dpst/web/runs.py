"""A run from the page: its settings, its progress, its result files and the equivalent command line.

The page shows a preset and the settings a photographer would touch (:data:`CONTROLS`, which the page's
widgets and the run's values both follow), with the library's values for the preset; everything else
is the preset's.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..config import Config, flag_name, preset_flags
from ..settings import kind_words, parse_setting

PAGE_PRESETS = ("fast", "default", "quality")
_FIELDS = {f.name: f for f in fields(Config)}


@dataclass(frozen=True)
class Control:
    """One setting on the page: its Config field, its label, a line on what it does, and its widget: a
    slider (``low``, ``high``, ``step``) or, without one, a number box whose lowest value is the
    field's; ``advanced`` ones are folded away."""

    field: str
    label: str
    info: str
    slider: tuple[float, float, float] | None = None
    advanced: bool = False

    @property
    def elem_id(self) -> str:
        return self.field.replace("_", "-")

    @property
    def whole(self) -> bool:
        return _FIELDS[self.field].metadata["kind"] is int

    @property
    def minimum(self) -> float | None:
        m = _FIELDS[self.field].metadata
        lows = [v for v in (*m["also"], m["min"], m["above"]) if v is not None]
        return min(lows) if lows else None


# The page's settings, in the order of its controls (and of the run handler's values).
CONTROLS = (
    Control("style_weight", "Style strength", "how far the look goes", slider=(0, 300, 1)),
    Control(
        "photo_weight",
        "Photorealism λ",
        "keeps it a photograph: higher, fewer painterly artefacts",
        slider=(0, 20000, 100),
    ),
    Control("output_size", "Output size", "long side in px; 0 = the photo's own"),
    Control(
        "size", "Working size", "long side (px) the optimisation works at; smaller is faster", advanced=True
    ),
)
# Config field -> its name in the page
SETTINGS = {c.field: c.label for c in CONTROLS}


def preset_settings(name: str) -> dict[str, Any]:
    """The page's settings as the preset ``name`` has them, in the order of :data:`CONTROLS`."""
    cfg = Config.preset(name)
    return {k: getattr(cfg, k) for k in SETTINGS}


def make_config(preset: str, settings: dict[str, Any], base: Config = Config()) -> Config:
    """The preset with the page's settings on top (numbers from the page may come as floats), and
    ``base``'s device and weights.  Bad values raise ValueError naming the setting as the page does."""
    if preset not in PAGE_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; use one of {', '.join(PAGE_PRESETS)}")
    given: dict[str, Any] = {"device": base.device, "weights": base.weights}
    for name, value in settings.items():
        if name not in SETTINGS:
            raise ValueError(f"unknown setting {name!r}")
        if value is None or value == "":
            raise ValueError(f"{SETTINGS[name]}: give a number")
        f = _FIELDS[name]
        if f.metadata["kind"] is int and isinstance(value, float) and value.is_integer():
            value = int(value)  # the page's sliders and number boxes give floats
        try:
            given[name] = parse_setting(f, value)
        except ValueError:
            raise ValueError(f"{SETTINGS[name]} {value}: give {kind_words(f)}") from None
    try:
        return Config.preset(preset, **given)
    except ValueError as exc:
        raise ValueError(page_words(str(exc))) from None


def page_words(message: str) -> str:
    """A library message with the CLI's flags named as the page names them (``--output-size`` →
    ``Output size``)."""
    by_flag = {flag_name(f): SETTINGS[f.name] for f in fields(Config) if f.name in SETTINGS}
    for flag in sorted(by_flag, key=len, reverse=True):  # --output-size before --size
        message = message.replace(flag, by_flag[flag])
    return message


def command_line(
    content: str, style: str, output: str, content_mask: str, style_mask: str, preset: str, config: Config
) -> str:
    """The ``dpst`` command that makes the same result from the same files: the preset, then every
    setting that differs from it (device and weights left to the machine it runs on)."""
    args = ["dpst", content, style, "-o", output, "--content-mask", content_mask, "--style-mask", style_mask]
    args += ["--preset", preset, *preset_flags(config, preset, skip=("device", "weights"))]
    return shlex.join(args)


def file_names(content: str, style: str) -> dict[str, str]:
    """Names of the files a run hands out, from the photos' names: the result (PNG, JPEG), both masks
    and the command line.  Photos of the same name get ``content_``/``style_`` masks."""
    c, s = Path(content).stem, Path(style).stem
    cm, sm = (f"{c}_mask.png", f"{s}_mask.png") if c != s else ("content_mask.png", "style_mask.png")
    return {
        "png": f"{c}_restyled.png",
        "jpeg": f"{c}_restyled.jpg",
        "content_mask": cm,
        "style_mask": sm,
        "command": f"{c}_restyled.sh",
    }


@dataclass(frozen=True)
class Result:
    """The files of a finished (or stopped) run, all in the run's own folder."""

    png: Path
    jpeg: Path
    before: Path  # the content photo at the result's size, for the before/after slider
    content_mask: Path
    style_mask: Path
    command: Path
    command_text: str
    stopped: bool  # Stop was pressed: the result so far, without the finishing steps
    size: tuple[int, int]  # (width, height)

    def downloads(self) -> list[str]:
        return [str(p) for p in (self.png, self.jpeg, self.content_mask, self.style_mask, self.command)]


@dataclass(frozen=True)
class Update:
    """What the page shows of a run, each time something changes."""

    ahead: int | None = None  # runs ahead of this one in the queue; None once it has started
    phase: str = ""  # the library's phase (prepare, stage1, ...)
    stage: int = 0  # 0 before the first step
    step: int = 0
    total: int = 0
    preview: Path | None = None  # the latest intermediate image
    result: Result | None = None  # set on the last update of a run that has a result
    message: str = ""  # an error, or why there is no result
    done: bool = False  # the last update of the run

    def fraction(self, config: Config) -> float:
        """How far the run is, 0..1, counting the steps of every stage."""
        steps = config.stage_steps()
        if self.result is not None:
            return 1.0
        if self.stage == 0 or sum(steps) == 0:
            return 0.0
        return min(1.0, (self.step + sum(steps[: self.stage - 1])) / sum(steps))
