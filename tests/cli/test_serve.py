from __future__ import annotations

import importlib.util

import pytest

import dpst.cli.serve
from dpst.cli import main


def test_without_the_web_extra_serve_exits_2_naming_it(monkeypatch, capsys):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "gradio" else real(name, *args)

    monkeypatch.setattr(dpst.cli.serve.importlib.util, "find_spec", find_spec)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dpst[web]" in err[0] and err[0].startswith("dpst: error: dpst serve needs")


@pytest.mark.parametrize("argv", [["--port", "0"], ["--port", "70000"], ["--bogus"]])
def test_bad_flags_exit_2_in_one_line(argv, capsys):
    assert main(["serve", *argv]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_help(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--help"])
    assert stop.value.code == 0 and "127.0.0.1" in capsys.readouterr().out
