"""The schedule of stages, without a network: which stages run, at what size, with which λ rule."""

from __future__ import annotations

import pytest

import dpst
from dpst.neural.plan import PHASES, Stage, balanced_lambda, plan, stage_title

FAST = dpst.Config(size=48, iterations=15, stage2=False, filter=False, style_weight=10.0, masks="none")


def _numbers(stages: list[Stage]) -> list[int]:
    return [s.number for s in stages]


def _stage3_size(cfg: dpst.Config, photo: int, working: int) -> int:
    return next((s.size for s in plan(cfg, photo, working) if s.number == 3), 0)


def test_stage3_only_when_it_would_be_larger_than_stage2():
    # a 48 x 64 photo worked on at 32 px
    assert _stage3_size(dpst.Config(stage3_iterations=4, stage3_size=700), 64, 32) == 64  # the photo's own
    assert _stage3_size(dpst.Config(stage3_iterations=4, stage3_size=48), 64, 32) == 48
    assert _stage3_size(dpst.Config(stage3_iterations=4, stage3_size=32), 64, 32) == 0  # not larger
    assert _stage3_size(dpst.Config(stage3_iterations=0), 64, 32) == 0  # off
    with pytest.raises(ValueError, match="--stage3-iterations -1"):
        dpst.Config(stage3_iterations=-1)
    with pytest.raises(ValueError, match="--stage3-size 8"):
        dpst.Config(stage3_size=8)
    assert dpst.Config(iterations=7, stage3_iterations=2).steps(3) == 2  # --iterations sets stages 1-2
    assert dpst.Config(iterations=7, stage3_iterations=2).stage_steps() == (7, 7, 2)
    assert FAST.stage_steps() == (15,)  # without stage 2, no stage 3 either


def test_default_preset_on_a_large_photo_runs_three_stages_coarse_to_fine():
    cfg = dpst.Config.preset("default")
    stages = plan(cfg, photo=1024)
    assert [(s.name, s.size, s.steps) for s in stages] == [
        ("stage1", 256, 80),
        ("stage2", 512, 30),
        ("stage3", 700, 6),
    ]
    first, second, third = stages
    assert first.lam is None and first.gate is None  # no photorealism term in stage 1
    assert second.lam == cfg.photo_weight and second.balance == cfg.photo_balance and not second.lam_share
    assert third.lam == cfg.stage3_lambda and third.lam_share and third.gate == cfg.stage3_texture
    assert all(s.weights == {"content": 1.0, "style": 30.0, "tv": 0.0} for s in stages)


def test_stage3_only_on_photos_larger_than_the_working_size():
    cfg = dpst.Config.preset("default")
    assert _numbers(plan(cfg, photo=512)) == [1, 2]  # the photo is the working size
    assert _numbers(plan(cfg, photo=400)) == [1, 2]  # smaller: worked on at its own size
    assert [s.size for s in plan(cfg, photo=400)] == [256, 400]
    assert [s.size for s in plan(cfg, photo=600)] == [256, 512, 600]  # stage 3 at the photo's own size


def test_fast_preset_has_no_stage3_and_no_balance():
    stages = plan(dpst.Config.preset("fast"), photo=2000)
    assert [(s.number, s.size, s.steps) for s in stages] == [(1, 128, 15), (2, 224, 8)]
    assert stages[1].balance == 0.0


def test_stage1_at_the_working_size_when_stage1_size_is_not_below_it():
    assert plan(dpst.Config(stage1_size=0), photo=1000)[0].size == 512  # 0 = --size
    assert plan(dpst.Config(stage1_size=600), photo=1000)[0].size == 512
    assert plan(dpst.Config(stage1_size=256), photo=200)[0].size == 200  # a small photo: its own size
    assert plan(dpst.Config.preset("paper"), photo=700)[0].size == 700


def test_iterations_and_stage_switches():
    assert [s.steps for s in plan(dpst.Config(iterations=7), photo=1000)] == [7, 7, 6]
    assert _numbers(plan(dpst.Config(stage2=False), photo=1000)) == [1]  # no stage 2, no stage 3
    assert _numbers(plan(dpst.Config(stage2_iterations=0), photo=1000)) == [1]
    # stage 1 always runs, even with 0 steps (its start is then its result)
    assert [(s.number, s.steps) for s in plan(dpst.Config(stage1_iterations=0), photo=1000)][0] == (1, 0)


def test_working_size_defaults_to_size_capped_by_the_photo():
    cfg = dpst.Config(size=300, stage3_iterations=0)
    assert plan(cfg, photo=1000) == plan(cfg, photo=1000, working=300)
    assert plan(cfg, photo=200)[-1].size == 200


def test_stage_names_and_titles():
    assert PHASES[0] == "prepare" and {s.name for s in plan(dpst.Config(), photo=1000)} <= set(PHASES)
    assert stage_title(1) == "stage 1 (style)" and stage_title(3) == "stage 3 (full size)"
    assert stage_title(2, counted=True) == "stage 2 of 2 (photorealism)"
    assert stage_title(3, counted=True) == "stage 3 (full size)"


def test_balanced_lambda_sets_the_photo_term_to_its_share_of_the_style_term():
    cfg = dpst.Config(photo_balance=0.5)  # the default lambda 9000 and style weight 30
    lam = balanced_lambda(style=0.2, photo=0.0005, cfg=cfg)
    assert lam == pytest.approx(0.5 * 30.0 * 0.2 / 0.0005)  # 6000
    # clipped to 1/4..4x --lambda, and --lambda itself when the photo term is zero or not finite
    assert balanced_lambda(0.2, 1e-9, cfg) == 4 * 9000.0
    assert balanced_lambda(1e-9, 0.1, cfg) == 9000.0 / 4
    assert balanced_lambda(0.2, 0.0, cfg) == 9000.0
    assert balanced_lambda(float("nan"), 0.1, cfg) == 9000.0


def test_lambda_and_style_weight_still_scale_a_balanced_lambda():
    """A user who lowers --lambda (or raises --style-weight) gets less photorealism relative to the
    style, photo by photo, as without the balance: the balance does not undo their setting."""
    cfg = dpst.Config(photo_balance=0.5)
    lam = balanced_lambda(0.2, 0.0005, cfg)
    assert balanced_lambda(0.2, 0.0005, cfg.updated(photo_weight=3000.0)) == pytest.approx(lam / 3)
    assert balanced_lambda(0.2, 0.0005, cfg.updated(style_weight=90.0)) == pytest.approx(lam)
