"""The run report, without a run: what it says the run chose."""

from __future__ import annotations

from dpst.neural.run import StageRun
from dpst.report import RunReport

ONE = StageRun(1, 256, 80, 0.0, 0.3)
TWO = StageRun(2, 512, 30, 5012.3, 0.153)
THREE = StageRun(3, 700, 6, 0.0, 0.1)


def test_lambda_and_texture_are_stage_2s():
    report = RunReport("given", (ONE, TWO, THREE), "no filter", {})
    assert report.lam == 5012.3 and report.texture_left == 0.153
    assert report.stage(3) is THREE and report.stage(4) is None
    assert report.chosen() == "lambda 5012, stage 3 (texture left 0.153), not filtered (measured better)"


def test_without_stage_2_nothing_was_chosen_but_the_finish():
    report = RunReport("none (each photo one region)", (ONE,), "carry", {"prepare": 0.1})
    assert report.lam == 0.0 and report.texture_left == 0.0 and report.stage(2) is None
    assert report.chosen() == "carry"
    assert RunReport("given", (ONE, TWO), "filter", {}).chosen() == "lambda 5012, filtered"
