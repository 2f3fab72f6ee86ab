"""Screenshots of ``dpst serve`` before, during and after a run: docs/img/web_{before,during,after}.png.

Drives the page with the browser of the tests (Debian's ``chromium``, headless, through Playwright;
no browser download) on scikit-image's bundled cat and rocket launch:

    python docs/make_screenshots.py                 # needs: pip install -e ".[weights,web,test]"

It starts its own ``dpst serve`` on a free port, with its files in a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib.resources
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

from dpst.web.headless import CHROMIUM_ARGS, chromium_path

HERE = Path(__file__).resolve().parent
VIEW = {"width": 1280, "height": 900}


def start_server(files: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_TEMP_DIR": str(files)}
    proc = subprocess.Popen([sys.executable, "-m", "dpst", "serve", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("dpst serve did not start")


def shoot(page, path: Path, top: str) -> None:
    """A viewport-sized screenshot with the element ``top`` at its top."""
    page.locator(top).scroll_into_view_if_needed()
    page.evaluate("(s) => document.querySelector(s).scrollIntoView({block: 'start'})", top)
    time.sleep(0.5)
    page.screenshot(path=str(path))
    Image.open(path).save(path, optimize=True)
    print(f"wrote {path.relative_to(HERE.parent)}")


def paint(page) -> None:
    """One blue stroke across the cat's cheek, and wait for the corrected mask."""
    editor = page.locator("#content-editor")
    editor.locator("button[aria-label='Brush']").click()
    old = page.locator("#content-overlay img").get_attribute("src")
    box = editor.locator(".pixi-target canvas").bounding_box()
    x, y = box["x"] + 0.36 * box["width"], box["y"] + 0.72 * box["height"]
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 6):
        page.mouse.move(x + 14 * i, y + 6 * i)
    page.mouse.up()
    page.wait_for_function(
        "(old) => document.querySelector('#content-overlay img')?.src !== old", arg=old, timeout=300_000
    )
    # the editor reports the stroke while it is drawn, too: wait until the mask has settled
    src, still = None, 0.0
    while still < 4:
        now = page.locator("#content-overlay img").get_attribute("src")
        still = still + 0.5 if now == src else 0.0
        src = now
        time.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chromium", default=chromium_path())
    ap.add_argument("--out", type=Path, default=HERE / "img")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data = importlib.resources.files("skimage") / "data"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        proc, url = start_server(Path(tmp))
        try:
            browser = p.chromium.launch(executable_path=args.chromium, args=list(CHROMIUM_ARGS))
            page = browser.new_page(viewport=VIEW)
            page.goto(url)
            page.wait_for_selector("#content-file input[type=file]", state="attached")
            page.locator("#content-file input[type=file]").set_input_files(str(data / "chelsea.png"))
            page.locator("#style-file input[type=file]").set_input_files(str(data / "rocket.jpg"))
            page.wait_for_function(
                "() => document.querySelector('#masks-note').innerText.includes('Automatic')", timeout=300_000
            )
            paint(page)
            shoot(page, args.out / "web_before.png", "#content-file")
            page.locator("#preset label:has-text('fast')").click()
            page.locator("#run").click()
            stage2 = "() => /stage 2 of 2.*step [1-9][0-9] of/.test(document.body.innerText)"
            page.wait_for_function(stage2, timeout=600_000)
            shoot(page, args.out / "web_during.png", "#preset")
            page.wait_for_selector("#status [data-state=done]", timeout=600_000)
            time.sleep(1)
            shoot(page, args.out / "web_after.png", "#status")
            browser.close()
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
