"""One exit-code policy for every command: 2 the user can fix it, 1 the run failed, 130 interrupted.

Errors are injected where they would really arise (Linux often kills a process that runs out of
memory rather than raising, so out of memory is raised by hand inside the optimisation)."""

from __future__ import annotations

import errno

import pytest
import torch

import dpst.api
import dpst.io
from dpst.cli import main
from dpst.cli.common import exit_status
from dpst.errors import MissingExtra, WeightsError
from tests.conftest import save_photo

FAST = ["--size", "48", "--iterations", "2", "--no-stage2", "--no-filter", "--masks", "none", "-q"]


@pytest.fixture
def argv(tmp_path, tiny_weights_file):
    c, s = save_photo(tmp_path / "c.png", 48, 64, 0), save_photo(tmp_path / "s.png", 40, 40, 1)
    return [str(c), str(s), "-o", str(tmp_path / "out.png"), *FAST, "--weights", str(tiny_weights_file)]


def _fail_in_optimise(monkeypatch, exc: BaseException) -> None:
    def run_stages(*a, **k):
        raise exc

    monkeypatch.setattr(dpst.api, "run_stages", run_stages)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "exc, words",
    [
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), ("out of memory", "--size")),
        (MemoryError(), ("out of memory", "--output-size")),
        (RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate"), ("out of memory",)),
        (RuntimeError("expected scalar type Float but found Half"), ("internal error", "--device cpu")),
    ],
)
def test_a_failed_run_exits_1_with_what_to_try(monkeypatch, argv, capsys, tmp_path, exc, words):
    _fail_in_optimise(monkeypatch, exc)
    assert main(argv) == 1
    line = _one_line(capsys)
    assert line.startswith("dpst: error: ") and all(w in line for w in words), line
    assert not (tmp_path / "out.png").exists()


def test_disk_full_exits_1(monkeypatch, argv, capsys, tmp_path):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dpst.io, "write_atomic", full)
    assert main(argv) == 1
    assert "disk full" in _one_line(capsys)
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "exc, code",
    [
        (ValueError("--size 10: must be >= 32"), 2),
        (FileNotFoundError("x.png: no such file"), 2),
        (WeightsError("weights file not found: w.pth"), 2),
        (MissingExtra("semantic", "--masks semantic"), 2),
        (KeyboardInterrupt(), 130),
        (RuntimeError("boom"), 1),
        (OSError(errno.EIO, "Input/output error"), 1),
    ],
)
def test_exit_status_policy(exc, code):
    got, line = exit_status(exc)
    assert got == code and "\n" not in line and line
    if isinstance(exc, MissingExtra):
        assert "pip install 'dpst[semantic]'" in line


def test_missing_weights_file_is_the_users_to_fix(argv, capsys, tmp_path):
    argv = [a if a.endswith(".png") or not a.endswith(".pth") else str(tmp_path / "nope.pth") for a in argv]
    assert main(argv) == 2
    assert "nope.pth" in _one_line(capsys)


def test_bad_flag_value_exits_2_before_any_work(monkeypatch, argv, capsys):
    _fail_in_optimise(monkeypatch, AssertionError("should not run"))
    assert main([*argv, "--masks", "Auto"]) == 2  # argparse's own choices
    capsys.readouterr()
    assert main([*argv, "--f-edge", "0"]) == 2  # Config's validation
    assert "--f-edge" in _one_line(capsys)


def test_interrupt_before_stage_1_exits_130_and_writes_nothing(monkeypatch, argv, capsys, tmp_path):
    _fail_in_optimise(monkeypatch, KeyboardInterrupt())
    assert main(argv) == 130
    assert "interrupted" in _one_line(capsys)
    assert not (tmp_path / "out.png").exists()
