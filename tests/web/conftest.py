"""The browser tests' server and browser: ``dpst serve`` in a subprocess, Debian's headless Chromium
driven by Playwright (no browser download), scikit-image's bundled photos.

Without Chromium, Playwright, Gradio, scikit-image or the real weights the browser tests skip; with
``CI=true`` a skipped browser test is a failure (:func:`pytest_runtest_makereport`), so CI cannot
pass them by not running them.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from dpst.web.headless import CHROMIUM_ARGS, chromium_path

CHROMIUM = chromium_path()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("browser") and os.environ.get("CI") == "true":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"a browser test may not skip under CI=true: {reason}"


def missing_for_browser_tests() -> str | None:
    """What the browser tests lack here, or None."""
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set DPST_CHROMIUM)"
    for module, extra in (("playwright", "test"), ("gradio", "web"), ("skimage", "demo")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[{extra}]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A ``dpst serve`` subprocess, and the folder its web framework keeps files in (each server keeps
    its own files in a ``dpst-*`` folder there).  ``args``: more flags; ``env``: more variables."""

    def __init__(self, files: Path, args: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self.files = files
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        # A closed page is noticed within a second, so its session's files go at once.  One thread:
        # the runs are tiny, and on a busy CPU torch's threads mostly wait for each other (measured:
        # a 32 px fast run 8 s with one thread, 86 s with two, beside another 2-core job).
        env = {
            **os.environ,
            "GRADIO_TEMP_DIR": str(files),
            "GRADIO_HEARTBEAT_INTERVAL": "1",
            "OMP_NUM_THREADS": "1",
            **(env or {}),
        }
        self.log = files.parent / f"serve-{self.port}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dpst", "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dpst serve exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except urllib.error.HTTPError:  # it answers (401 behind a login)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"dpst serve did not answer in 120 s: {self.log.read_text()}")

    def folders(self) -> list[Path]:
        """The servers' own folders that exist now (this server's, and any a killed one left)."""
        return [p for p in self.files.glob("dpst-*") if p.is_dir()]

    def sessions(self) -> list[Path]:
        """The session folders that exist now."""
        return [p for root in self.files.glob("dpst-*/sessions") for p in root.iterdir() if p.is_dir()]

    def rss(self) -> int:
        """The server's resident memory, in bytes (Linux)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu(self) -> float:
        """CPU seconds the server has used (Linux)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory, real_weights):
    missing = missing_for_browser_tests()
    if missing:
        pytest.skip(missing)
    files = tmp_path_factory.mktemp("serve") / "files"
    files.mkdir()
    srv = Server(files)
    yield srv
    code = srv.stop()
    assert code == 0, srv.log.read_text()
    # after the server stops, nothing of any session is left, only empty files the framework leaves
    left = [p for p in files.rglob("*") if p.is_file() and p.stat().st_size > 0]
    assert left == [], left


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield b
        b.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """scikit-image's bundled photos (a fresh clone has them through the demo extra)."""
    if importlib.util.find_spec("skimage") is None:
        pytest.skip("scikit-image is not installed (pip install -e '.[demo]')")
    data = importlib.resources.files("skimage") / "data"
    folder = tmp_path_factory.mktemp("photos")
    out = {}
    for name in ("chelsea.png", "rocket.jpg", "coffee.png"):
        out[name] = folder / name
        shutil.copyfile(str(data / name), out[name])
    return out


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, side: int) -> Path:
    """A valid black 1-bit PNG of ``side``×``side`` pixels that is a few hundred KB on disk (a
    decompression bomb: decoded, it takes ``side``² bytes and more)."""
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte, then the packed bits
    z = zlib.compressobj(9)
    rows = [z.compress(row * 1000) for _ in range(side // 1000)] + [z.compress(row * (side % 1000))]
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    data = b"".join(rows) + z.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
    )
    return path
