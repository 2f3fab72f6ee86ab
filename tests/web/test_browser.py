"""``dpst serve`` driven by a real browser (headless Chromium): upload, strokes, runs, Stop, downloads,
two sessions at once, a bad upload, and no request to any host but the server.

Runs use the fast preset at a 32 px working size and a 160 px output, so that each takes seconds."""

from __future__ import annotations

import base64
import io
import shlex
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import torch
from PIL import Image

from dpst.cli import main as dpst_main
from dpst.metrics import style_swd

pytestmark = [pytest.mark.browser, pytest.mark.weights, pytest.mark.slow]

SIZE, OUTPUT = 32, 160
STOP_SIZE = 128  # the stopped run works larger, so that it is still going when Stop lands
WAIT = 120_000  # ms: the longest any one step may take on a busy 2-core machine
RED = (255, 0, 0)


# Every status line the page shows, however briefly, in window.statuses: [state, ahead, text]
WATCH_STATUS = """
window.statuses = [];
new MutationObserver(() => {
  const el = document.querySelector('#status [data-state]');
  if (!el) return;
  const now = [el.dataset.state, el.dataset.ahead || '', el.innerText];
  const last = window.statuses[window.statuses.length - 1];
  if (!last || last.join('|') !== now.join('|')) window.statuses.push(now);
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


class Page:
    """One browser session on the page, with every request it makes recorded."""

    def __init__(self, browser, server, tmp: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.add_init_script(WATCH_STATUS)
        self.page = self.context.new_page()
        self.tmp = tmp
        self.page.goto(server.url)
        self.page.wait_for_selector("#content-file input[type=file]", state="attached")

    def upload(self, which: str, path: Path) -> None:
        self.page.locator(f"#{which}-file input[type=file]").set_input_files(str(path))

    def drop(self, which: str, path: Path) -> None:
        """Drag and drop ``path`` onto the photo's drop zone, as from a file manager."""
        mime = {".png": "image/png", ".jpg": "image/jpeg"}.get(path.suffix, "text/plain")
        data = self.page.evaluate_handle(
            """([b64, name, type]) => {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const dt = new DataTransfer();
                dt.items.add(new File([bytes], name, {type}));
                return dt;
            }""",
            [base64.b64encode(path.read_bytes()).decode(), path.name, mime],
        )
        zone = self.page.locator(f"#{which}-file .upload-container")
        for event in ("dragenter", "dragover", "drop"):
            zone.dispatch_event(event, {"dataTransfer": data})

    def wait_text(self, selector: str, text: str, timeout: int = WAIT) -> None:
        self.page.wait_for_function(
            "([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)", arg=[selector, text],
            timeout=timeout,
        )  # fmt: skip

    def wait_masks(self) -> None:
        self.wait_text("#masks-note", "Automatic masks")

    def image_src(self, selector: str) -> str:
        return self.page.locator(f"{selector} img").first.get_attribute("src") or ""

    def fetch_image(self, src: str) -> np.ndarray:
        body = self.context.request.get(src).body()
        return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))

    def paint(self, which: str, colour: tuple[int, int, int]) -> None:
        """One stroke across the middle of the photo with the brush in ``colour``."""
        editor = self.page.locator(f"#{which}-editor")
        editor.locator("button[aria-label='Brush']").click()
        editor.locator("button[aria-label='Color']").click()
        editor.locator(f"button.color[style*='rgb({colour[0]}, {colour[1]}, {colour[2]})']").click()
        self.page.keyboard.press("Escape")  # close the colour menu, which lies over the photo
        box = editor.locator(".pixi-target canvas").bounding_box()
        x, y = box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"]
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        for i in range(1, 5):
            self.page.mouse.move(x + 30 * i, y + 8 * i)
        self.page.mouse.up()

    def settings(self, preset: str = "fast", size: int = SIZE, output: int = OUTPUT) -> None:
        self.page.locator(f"#preset label:has-text('{preset}')").click()
        self.page.locator("text=Advanced").click()
        time.sleep(0.3)  # the preset's values arrive; ours go on top
        self.page.locator("#size input").fill(str(size))
        self.page.locator("#output-size input").fill(str(output))
        self.page.locator("#output-size input").press("Tab")

    def state(self) -> tuple[str, str, str]:
        """(state, places ahead, text) of the status line: queued, running, done, stopped, error."""
        loc = self.page.locator("#status [data-state]")
        if loc.count() == 0:
            return "", "", ""
        return loc.get_attribute("data-state") or "", loc.get_attribute("data-ahead") or "", loc.inner_text()

    def history(self) -> list[tuple[str, str, str]]:
        """Every status line shown since the page loaded, in order."""
        return [tuple(x) for x in self.page.evaluate("window.statuses")]

    def wait_state(self, *states: str, timeout: float = WAIT / 1000) -> list[tuple[str, str, str]]:
        """Wait until the status is one of ``states``; every status shown since the page loaded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state()[0] in states:
                return self.history()
            time.sleep(0.1)
        raise AssertionError(f"status never became {states}: {self.history()[-5:]}")

    def download(self, suffix: str) -> Path:
        """Download, by clicking its link, the one file in Downloads whose name ends in ``suffix``."""
        links = self.page.locator("#downloads a[download]")
        names = [links.nth(i).get_attribute("download") or "" for i in range(links.count())]
        (index,) = [i for i, n in enumerate(names) if n.endswith(suffix)]
        with self.page.expect_download() as info:
            links.nth(index).click()
        path = self.tmp / names[index]
        info.value.save_as(path)
        return path

    def session_folder(self) -> str:
        """The server-side folder of this session, from the URL of a file it was handed."""
        return urlparse(self.image_src("#content-overlay")).path.split("file=", 1)[-1].rsplit("/", 2)[0]

    def hosts(self) -> set[str]:
        return {urlparse(u).hostname or u for u in self.requests if not u.startswith(("data:", "blob:"))}

    def close(self) -> None:
        self.context.close()


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def swd(image: np.ndarray, style: np.ndarray) -> float:
    return style_swd(image, style, np.zeros(image.shape[:2], np.int64), np.zeros(style.shape[:2], np.int64))


def expected_size(photo: Path) -> tuple[int, int]:
    with Image.open(photo) as im:
        w, h = im.size
    s = OUTPUT / max(w, h)
    return round(w * s), round(h * s)


def check_result(result: Path, content: Path, style: Path) -> np.ndarray:
    """A valid image of the asked size, not the content, closer in colour to the style than it."""
    with Image.open(result) as im:
        im.verify()
    out = rgb(result)
    assert out.shape[1::-1] == expected_size(content)
    small = np.asarray(Image.open(content).convert("RGB").resize(out.shape[1::-1]), np.float32) / 255
    assert np.abs(out - small).mean() > 0.02
    assert swd(out, rgb(style)) < swd(small, rgb(style))
    return out


def test_upload_paint_run_stop_download_and_the_command_line(browser, server, photos, tmp_path, monkeypatch):
    p = Page(browser, server, tmp_path)
    c, s = photos["chelsea.png"], photos["rocket.jpg"]
    # a text file as the content photo: a message in the page, and the page goes on working
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo\n")
    p.upload("content", notes)
    p.wait_text("#content-message", "not an image")
    assert "notes.txt" in p.page.locator("#content-message").inner_text()

    p.upload("content", c)
    p.drop("style", s)
    p.wait_masks()
    auto = p.image_src("#content-overlay")
    assert (p.fetch_image(auto) == RED).all(-1).mean() == 0  # the automatic masks use other colours
    p.paint("content", RED)
    # the stroke shows in the completed mask, over the photo
    deadline = time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        src = p.image_src("#content-overlay")
        shown = p.fetch_image(src) if src != auto else np.zeros((1, 1, 3))
        if ((shown[..., 0] > 180) & (shown[..., 1] < 120) & (shown[..., 2] < 120)).mean() > 0.01:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the stroke never showed in the content mask")

    p.settings()
    p.page.locator("#run").click()
    seen = p.wait_state("done", "error")
    assert seen[-1][0] == "done", seen[-1]
    running = [t for st, _, t in seen if st == "running" and "step" in t]
    assert running and any("stage 2" in t for t in running)  # the progress went through both stages
    assert p.page.locator("#status progress").get_attribute("value") == p.page.locator(
        "#status progress"
    ).get_attribute("max")
    compare = p.page.locator("#compare img")
    assert compare.count() == 2
    result = check_result(p.download("_restyled.png"), c, s)
    jpeg = check_result(p.download("_restyled.jpg"), c, s)
    assert np.abs(jpeg - result).mean() < 0.02
    mask = np.asarray(Image.open(p.download("chelsea_mask.png")).convert("RGB"))
    assert mask.shape[:2] == Image.open(c).size[::-1] and (mask == RED).all(-1).mean() > 0.01
    assert Image.open(p.download("rocket_mask.png")).size == Image.open(s).size
    script = p.download("_restyled.sh")

    # the downloaded command line, run in a folder with the photos and masks, makes the same result
    work = tmp_path / "cli"
    work.mkdir()
    for f in (c, s, tmp_path / "chelsea_mask.png", tmp_path / "rocket_mask.png"):
        shutil.copyfile(f, work / f.name)
    line = [ln for ln in script.read_text().splitlines() if ln and not ln.startswith("#")][-1]
    argv = shlex.split(line)
    assert argv[0] == "dpst" and "--preset" in argv
    monkeypatch.chdir(work)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the server runs (conftest): the same sums, no waiting on a busy CPU
    try:
        assert dpst_main([*argv[1:], "-q"]) == 0
    finally:
        torch.set_num_threads(threads)
    again = rgb(work / argv[argv.index("-o") + 1])
    assert again.shape == result.shape and np.abs(again - result).mean() < 0.01

    # a second run, stopped: that run's result so far, at the asked size
    p.page.locator("#size input").fill(str(STOP_SIZE))
    p.page.locator("#size input").press("Tab")
    p.page.locator("#run").click()
    p.page.wait_for_function(
        "() => /step [0-9]+ of/.test(document.querySelector('#status')?.innerText || '')", timeout=WAIT
    )
    assert p.image_src("#preview")  # an intermediate image is shown while it runs
    p.page.locator("#stop").click()
    seen = p.wait_state("stopped", "done", "error")
    assert seen[-1][0] == "stopped", seen[-1]
    stopped = p.download("_restyled.png")
    with Image.open(stopped) as im:
        im.verify()
    assert rgb(stopped).shape == result.shape and np.abs(rgb(stopped) - result).mean() > 0.005

    folder = p.session_folder()
    assert Path(folder).is_dir()
    assert p.hosts() == {"127.0.0.1"}, p.hosts()
    p.close()
    deadline = time.monotonic() + 30
    while Path(folder).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(folder).exists()  # the session's files went with it


def test_two_sessions_at_once_each_get_their_own_result_and_see_the_queue(browser, server, photos, tmp_path):
    c = photos["chelsea.png"]
    styles = {"b": photos["rocket.jpg"], "c": photos["coffee.png"]}
    pages = {k: Page(browser, server, tmp_path / k) for k in styles}
    for k, page in pages.items():
        page.tmp.mkdir()
        page.upload("content", c)
        page.upload("style", styles[k])
    for page in pages.values():
        page.wait_masks()
        page.settings()
    for page in pages.values():
        page.page.locator("#run").click()
    seen = {k: page.wait_state("done", "error", timeout=2 * WAIT / 1000) for k, page in pages.items()}
    assert all(s[-1][0] == "done" for s in seen.values()), {k: s[-1] for k, s in seen.items()}
    # each was shown its place: one went first, the other waited with one run ahead of it
    places = {k: sorted({ahead for st, ahead, _ in s if st == "queued"}) for k, s in seen.items()}
    assert sorted(places.values()) == [["0"], ["1"]], seen
    (first,) = [k for k, p in places.items() if p == ["0"]]
    (second,) = [k for k, p in places.items() if p == ["1"]]
    assert any("place 1" in t for st, _, t in seen[first] if st == "queued")
    assert any("place 2 (1 run ahead of yours)" in t for st, _, t in seen[second] if st == "queued")

    results = {k: check_result(page.download("_restyled.png"), c, styles[k]) for k, page in pages.items()}
    own = {k: rgb(styles[k]) for k in styles}
    # each result is its own style's, not the other session's
    assert swd(results["b"], own["b"]) < swd(results["c"], own["b"])
    assert swd(results["c"], own["c"]) < swd(results["b"], own["c"])
    for page in pages.values():
        assert page.hosts() == {"127.0.0.1"}, page.hosts()
    folders = [page.session_folder() for page in pages.values()]
    for page in pages.values():
        page.close()
    deadline = time.monotonic() + 30
    while any(Path(f).exists() for f in folders) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f).exists() for f in folders)
    assert server.sessions() == []
    # with no session left, no file that any session uploaded or made is left either (the server's
    # lock file, web/workdir.py, stays as long as it runs): a session's folder goes last, after them
    left = [p for p in server.files.rglob("*") if p.is_file() and p.stat().st_size > 0 and p.name != ".lock"]
    assert left == [], left
