from __future__ import annotations

import pytest

from dpst.config import Config
from dpst.errors import TooLarge
from dpst.resources import OUTPUT_PIXEL_BYTES, check_memory, estimate_bytes, working_bytes, working_side
from tests.conftest import photo

GIB = 2**30


def test_estimate_grows_with_the_output_and_the_working_size():
    cfg = Config()
    assert estimate_bytes(700, 467, cfg) < estimate_bytes(3000, 4000, cfg) < estimate_bytes(5773, 8660, cfg)
    flat = cfg.updated(stage3_iterations=0)  # the working size alone
    assert estimate_bytes(700, 467, flat.updated(size=256)) < estimate_bytes(700, 467, flat)
    # --output-size shrinks what is made at full size
    assert estimate_bytes(5773, 8660, cfg.updated(output_size=2000)) < estimate_bytes(5773, 8660, cfg)
    assert estimate_bytes(100, 100, cfg) == working_bytes(cfg) + OUTPUT_PIXEL_BYTES * 100 * 100


def test_stage3_counts_at_its_own_size_when_it_may_run():
    cfg = Config()
    assert working_side(cfg) == cfg.stage3_size > cfg.size
    no_stage3 = (cfg.updated(stage3_iterations=0), cfg.updated(stage2=False))
    assert working_side(no_stage3[0]) == working_side(no_stage3[1]) == cfg.size
    assert working_bytes(cfg.updated(stage3_iterations=0)) < working_bytes(cfg)
    assert working_side(Config.preset("quality")) == 700 and working_side(Config.preset("fast")) == 224
    with pytest.raises(TooLarge, match="smaller --stage3-size"):
        check_memory((700, 467), cfg, available=working_bytes(cfg) // 2)


def test_a_run_that_fits_passes_and_one_that_does_not_names_an_output_size_that_fits():
    cfg = Config()
    check_memory((5773, 8660), cfg, available=16 * GIB)
    available = working_bytes(cfg) + OUTPUT_PIXEL_BYTES * 3000 * 2000
    with pytest.raises(TooLarge, match=r"use --output-size (\d+) or less") as e:
        check_memory((5773, 8660), cfg, available=available)
    fit = int(e.value.args[0].split("--output-size ")[1].split()[0])
    assert 2900 <= fit <= 3000 * 1.01  # the long side of the largest output that fits
    check_memory((5773, 8660), cfg.updated(output_size=fit), available=available)  # and it does fit
    with pytest.raises(TooLarge, match="smaller --size"):
        check_memory((700, 467), cfg.updated(stage3_iterations=0), available=working_bytes(cfg) // 4)


def test_stylize_refuses_up_front_with_one_line(monkeypatch):
    import dpst.resources

    monkeypatch.setattr(dpst.resources, "usable_memory", lambda: 64 * 2**20)
    cfg = Config(size=48, iterations=2, stage2=False, filter=False, masks="none")
    st = dpst.Stylizer(cfg, weights=__import__("dpst.neural.vgg", fromlist=["x"]).random_weights())
    st.optimise = lambda *a: pytest.fail("optimised a run that cannot fit")
    with pytest.raises(TooLarge, match="--size"):
        st(photo(48, 64), photo(40, 40, 1))
