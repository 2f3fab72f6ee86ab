"""The one list of Chromium switches and the binary the browser tests and screenshots use."""

from __future__ import annotations

from dpst.web.headless import CHROMIUM_ARGS, chromium_path


def test_chromium_path_follows_the_environment(monkeypatch):
    monkeypatch.delenv("DPST_CHROMIUM", raising=False)
    assert chromium_path() == "/usr/bin/chromium"
    monkeypatch.setenv("DPST_CHROMIUM", "/opt/chromium/chrome")
    assert chromium_path() == "/opt/chromium/chrome"


def test_switches_run_headless_without_calling_home():
    assert "--headless" in CHROMIUM_ARGS
    # the switches that stop update, sync and background calls, which time out on a closed network
    for switch in ("--disable-background-networking", "--disable-component-update", "--disable-sync"):
        assert switch in CHROMIUM_ARGS
    assert len(set(CHROMIUM_ARGS)) == len(CHROMIUM_ARGS)
