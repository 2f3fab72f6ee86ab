from __future__ import annotations

import importlib.util
import os
import signal
import threading

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


@pytest.fixture
def no_binding(monkeypatch):
    """Fail the test if anything is bound or the server is started."""
    import socket

    def bind(self, address):
        raise AssertionError(f"bound {address}")

    monkeypatch.setattr(socket.socket, "bind", bind)
    monkeypatch.delenv("DPST_AUTH", raising=False)


def test_the_network_without_a_login_exits_2_in_one_line_before_binding(no_binding, capsys):
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--host 0.0.0.0 opens the page to the network" in err[0]
    assert "--auth-file" in err[0] and "--no-auth" in err[0]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--auth", "ann-s3cret"], "--auth: expected USER:PASSWORD"),
        (["--auth", "ann:s3cret", "--no-auth"], "contradict"),
        (["--idle-minutes", "0"], "--idle-minutes 0"),
    ],
)
def test_bad_logins_and_limits_exit_2_without_showing_a_password(no_binding, capsys, argv, words):
    assert main(["serve", "--host", "0.0.0.0", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "s3cret" not in err


def test_a_login_from_the_environment_opens_the_network_and_limits_reach_the_server(monkeypatch, capsys):
    pytest.importorskip("gradio")
    import dpst.web.app

    got = {}

    class Demo:
        is_running = False

    def start(host, port, config, limits, logins):
        got.update(host=host, limits=limits, logins=logins)
        return Demo()

    monkeypatch.setattr(dpst.web.app, "start", start)
    monkeypatch.setattr(dpst.web.app, "shutdown", lambda demo: None)
    monkeypatch.setattr(dpst.cli.serve.signal, "signal", lambda *args: None)  # keep pytest's SIGTERM
    monkeypatch.setenv("DPST_AUTH", "ann:s3cret")
    assert main(["serve", "--host", "0.0.0.0", "--queued-runs", "4", "--megapixels", "12"]) == 0
    assert got["logins"] == [("ann", "s3cret")] and got["host"] == "0.0.0.0"
    assert (got["limits"].queued_runs, got["limits"].megapixels) == (4, 12.0)
    err = capsys.readouterr().err
    assert "login required, 1 user" in err and "s3cret" not in err


def test_a_stop_asked_for_while_the_server_starts_waits_for_it_and_deletes_its_files(monkeypatch, capsys):
    # The server answers before `start` returns; a SIGTERM then must not kill it with its files left.
    pytest.importorskip("gradio")
    import dpst.web.app

    class Early(Exception):
        pass

    def too_early(signum, frame):
        raise Early  # what the old handler order let happen (or worse: the default handler, a kill)

    asked = []

    class Demo:
        @property
        def is_running(self):
            asked.append(1)
            return len(asked) < 50

    def start(host, port, config, limits, logins):
        os.kill(os.getpid(), signal.SIGTERM)
        return Demo()

    stopped = []
    before = signal.signal(signal.SIGTERM, too_early)
    try:
        monkeypatch.setattr(dpst.web.app, "start", start)
        monkeypatch.setattr(dpst.web.app, "shutdown", stopped.append)
        monkeypatch.setattr(dpst.cli.serve.time, "sleep", lambda s: None)
        assert main(["serve"]) == 0
    finally:
        signal.signal(signal.SIGTERM, before)
    assert len(stopped) == 1 and len(asked) <= 1  # stopped at once, not after the loop ran out
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, set())  # nothing left held
    assert "sessions' files are deleted" in capsys.readouterr().err


def test_a_port_in_use_exits_2_in_one_line_and_leaves_no_signal_held(monkeypatch, capsys):
    pytest.importorskip("gradio")
    import dpst.web.app

    def start(host, port, config, limits, logins):
        raise OSError("Cannot find empty port in range: 7860-7860")

    before = signal.getsignal(signal.SIGTERM)
    try:
        monkeypatch.setattr(dpst.web.app, "start", start)
        assert main(["serve", "--port", "7860"]) == 2
    finally:
        signal.signal(signal.SIGTERM, before)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--port 7860: cannot listen on 127.0.0.1:7860" in err[0]
    assert not {signal.SIGTERM, signal.SIGINT} & signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_a_stop_that_another_thread_receives_while_the_server_starts_is_kept_for_after(monkeypatch, capsys):
    # A signal mask holds a signal for the thread that set it only: the kernel may hand a `kill` to any
    # other thread (torch's, the server's), and Python then runs its handler in the main thread.
    pytest.importorskip("gradio")
    import dpst.web.app

    idle = threading.Event()
    other = threading.Thread(target=idle.wait, daemon=True)
    other.start()

    class Demo:
        is_running = True

    def start(host, port, config, limits, logins):
        signal.pthread_kill(other.ident, signal.SIGTERM)
        for _ in range(10_000):  # Python runs a pending handler between these steps
            pass
        return Demo()

    stopped = []
    before = signal.getsignal(signal.SIGTERM)
    try:
        monkeypatch.setattr(dpst.web.app, "start", start)
        monkeypatch.setattr(dpst.web.app, "shutdown", stopped.append)
        assert main(["serve"]) == 0
    finally:
        signal.signal(signal.SIGTERM, before)
        idle.set()
    assert len(stopped) == 1 and "sessions' files are deleted" in capsys.readouterr().err
