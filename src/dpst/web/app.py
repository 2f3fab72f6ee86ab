"""The page of ``dpst serve`` (Gradio Blocks); what each control does is in :class:`.engine.Engine`.

Nothing leaves the machine: no share link, Gradio's analytics off (set before Gradio is imported, see
:func:`dpst.cli.serve`), system fonts only, no scripts or fonts from a CDN, and LaTeX rendering off (it
would fetch KaTeX).  Each browser tab is a session (Gradio's session id); its files are deleted when
the tab is closed or reloaded (``demo.unload``), when it is idle too long, or when the server stops.

A server keeps everything in a folder of its own (:class:`.workdir.ServerFolder`; Gradio's uploads
too), locked while it runs, so a server started later deletes what a killed one left.  A file is
served only to the client it belongs to (:mod:`.guard`); logins are Gradio's own (:mod:`.access`).
"""

from __future__ import annotations

import contextlib
import html
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder
from PIL import Image
from starlette.middleware import Middleware

from ..config import Config
from ..neural.plan import stage_title
from .access import Login
from .engine import Engine
from .guard import Guard, client_of
from .limits import Limits
from .masks import brush_colours, colour_names
from .runs import CONTROLS, PAGE_PRESETS, Control, Update, preset_settings
from .sessions import WHICH
from .workdir import ServerFolder

TITLE = "dpst — Deep Photo Style Transfer"
NOTICE_EVERY = 20.0  # seconds between two looks for what the page should be told unasked
TIDY_EVERY = 30.0  # seconds between two rounds of ending idle sessions and making room on the disk
CSS = """
#status progress { width: 100%; height: 1.1em; }
#status .error { color: #b00020; font-weight: 600; }
.dpst-message p { color: #b00020; font-weight: 600; margin: 0; }
"""


def theme() -> gr.themes.Theme:
    """Gradio's default look with the system's fonts (its own default fetches Google Fonts)."""
    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def track_uploads(editor: gr.ImageEditor) -> gr.ImageEditor:
    """Make ``editor``'s value also list the files the browser uploaded for it (``"uploaded"``), so
    that the session can delete them when it ends.  (Wrapped on the instance: a subclass would make
    Gradio write a .pyi file next to this module.)"""
    plain = editor.preprocess

    def preprocess(payload):  # noqa: ANN001, ANN202 (Gradio's signature)
        value = plain(payload)
        if value is not None and payload is not None:
            parts = [payload.background, *payload.layers, payload.composite]
            value["paths"] = [f.path for f in parts if f is not None and getattr(f, "path", None)]
            if payload.id is None:
                value["uploaded"] = value["paths"]
        return value

    editor.preprocess = preprocess
    return editor


def status_html(u: Update, config_steps: tuple[int, ...], elapsed: float) -> str:
    """The status line with its progress bar: the place in the queue, the stage and step, the end.
    ``config_steps``: the steps of each stage that runs, in order."""
    done = (u.step + sum(config_steps[: u.stage - 1])) if u.stage else 0
    total = max(1, sum(config_steps))
    if u.result is not None and not u.result.stopped:
        done = total
    if u.done and u.result is None:
        state, text = "error", u.message
    elif u.done and u.result.stopped:
        where = f"{_stage(u)}, step {u.step} of {u.total}" if u.stage else "the start"
        text = f"Stopped at {where}: this is the result so far, without the finishing steps."
        state = "stopped"
    elif u.done:
        w, h = u.result.size
        state, text = "done", f"Done in {elapsed:.0f} s: {w}×{h} px."
    elif u.ahead == 0:
        state, text = "queued", "In the queue: place 1 (no run ahead of yours); starting."
    elif u.ahead is not None:
        ahead = f"{u.ahead} run{'s' if u.ahead != 1 else ''} ahead of yours"
        state, text = "queued", f"Waiting in the queue: place {u.ahead + 1} ({ahead})."
    elif u.stage:
        state, text = "running", f"Running {_stage(u)}: step {u.step} of {u.total}."
    else:
        state, text = "running", f"Running: {u.phase or 'starting'}…"
    if u.done and u.result is not None and u.message:
        text += f" Note: {u.message}."
    cls = ' class="error"' if state == "error" else ""
    return (
        f'<div data-state="{state}" data-ahead="{"" if u.ahead is None else u.ahead}">'
        f'<progress max="{total}" value="{done}"></progress>'
        f"<p{cls}>{html.escape(text)}</p></div>"
    )


def _stage(u: Update) -> str:
    return stage_title(u.stage, counted=True)


def _message(exc: Exception | None) -> str:
    return "" if exc is None else f"⚠ {exc}"


INTRO = (
    f"## {TITLE}\nRepaint a photo in the look of another, keeping it a photograph. "
    "Everything runs on this machine; nothing is sent anywhere.\n\n"
    "1. Drop a content photo and a style photo: their automatic masks show over them "
    "(regions of one colour are matched, sky to sky).\n"
    f"2. To correct a mask, paint a stroke with the brush on either photo ({colour_names()}): "
    "the mask around it takes the stroke's colour, up to the photo's edges.\n"
    "3. Choose a preset and Run; Stop keeps the result so far."
)


class Handlers:
    """What each control does: a thin layer over :class:`.engine.Engine` that finds the session by
    Gradio's session id and turns results and errors into component values."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def session(self, request: gr.Request, *paths: str | None) -> str:
        """The request's session id, once it is known to be the asking client's and every file it
        hands in is the client's own (ValueError otherwise, with words for the page)."""
        client = client_of(request.headers)
        self.engine.sessions.claim(request.session_hash, client)
        if not all(self.engine.owners.may_read(client, p) for p in paths if p):
            raise ValueError("that file is not one this page uploaded")
        return request.session_hash

    def photo(self, which: str):
        """Upload (or removal) of the content or style photo."""

        def handler(path: str | None, request: gr.Request):
            try:
                sid = self.session(request, path)
            except ValueError as exc:
                return None, gr.update(), gr.update(), _message(exc), gr.update()
            if not path:  # the photo was removed
                self.engine.remove_photo(sid, which)
                return gr.update(), None, None, "", ""
            try:
                self.engine.upload_photo(sid, which, path)
            except ValueError as exc:
                # the message stays; the drop zone comes back for the next file
                return None, gr.update(), gr.update(), _message(exc), gr.update()
            shown = str(self.engine.display(sid, which, with_mask=False))
            return gr.update(), {"background": shown, "layers": [], "composite": None}, shown, "", ""

        return handler

    def mask(self, which: str):
        """Upload (or removal) of the user's own mask for a photo."""

        def handler(path: str | None, request: gr.Request):
            try:
                sid = self.session(request, path)
                if path:
                    self.engine.upload_mask(sid, which, path)
                else:
                    self.engine.clear_mask(sid, which)
            except ValueError as exc:
                return gr.update(), _message(exc)
            return _shown(self.engine.display(sid, which, with_mask=True)), ""

        return handler

    def auto(self, request: gr.Request):
        """The automatic masks of the pair, once both photos are there."""
        try:
            sid = self.session(request)
            used = self.engine.auto_masks(sid)
        except ValueError as exc:
            return gr.update(), gr.update(), _message(exc)
        if not used:
            return gr.update(), gr.update(), ""
        return (
            *(_shown(self.engine.display(sid, w, with_mask=True)) for w in WHICH),
            f"Automatic masks: {used}. Paint strokes to correct them.",
        )

    def paint(self, which: str):
        """The editor's strokes changed: complete the corrected mask."""

        def handler(value: dict | None, request: gr.Request):
            try:
                sid = self.session(request, *(value or {}).get("paths", []))
            except ValueError:
                return gr.update()
            for path in (value or {}).get("uploaded", []):
                self.engine.sessions.track(sid, path)
            if not self.engine.paint(sid, which, (value or {}).get("layers") or []):
                return gr.update()
            return _shown(self.engine.display(sid, which, with_mask=True))

        return handler

    def run(self, request: gr.Request, preset_name: str, *values: Any):
        """A run: status line, previews, then the slider, downloads and command line.  ``values``: the
        page's settings, in the order of :data:`.runs.CONTROLS`."""
        chosen = {c.field: v for c, v in zip(CONTROLS, values)}
        t0 = time.monotonic()
        try:
            cfg = Config.preset(preset_name)
            steps = cfg.stage_steps()
        except ValueError:
            steps = (1, 0)
        yield status_html(Update(phase="starting"), steps, 0), None, None, None, ""
        try:
            sid = self.session(request)
        except ValueError as exc:
            yield status_html(Update(message=str(exc), done=True), steps, 0), None, None, None, ""
            return
        # closed at once when the page stops listening, so that the run stops at its next step
        with contextlib.closing(self.engine.run(sid, preset_name, chosen)) as updates:
            for u in updates:
                line = status_html(u, steps, time.monotonic() - t0)
                shown = str(u.preview) if u.preview else gr.update()
                if not u.done or u.result is None:
                    yield line, shown, gr.update(), gr.update(), gr.update()
                    continue
                r = u.result
                yield line, str(r.png), (str(r.before), str(r.png)), r.downloads(), r.command_text

    def stop(self, request: gr.Request) -> None:
        if self.engine.sessions.belongs(request.session_hash, client_of(request.headers)):
            self.engine.stop(request.session_hash)

    def open(self, request: gr.Request) -> None:
        try:
            self.session(request)  # its start, before any upload (see Sessions)
        except ValueError:
            pass  # said to the page at its first action

    def close(self, request: gr.Request) -> None:
        if self.engine.sessions.belongs(request.session_hash, client_of(request.headers)):
            self.engine.close(request.session_hash)

    def notice(self, request: gr.Request) -> str:
        """What the page should be told unasked (its session ended while idle, a result deleted)."""
        text = self.engine.notice(request.session_hash)
        return f"⚠ {text}" if text else ""


def _photo_column(which: str) -> dict[str, Any]:
    """The drop zone, message, stroke editor, mask overlay and own-mask upload of one photo."""
    c = {
        "file": gr.File(
            label=f"{which.capitalize()} photo (drop a file here)", type="filepath",
            elem_id=f"{which}-file", height=120,
        ),
        "message": gr.Markdown(elem_id=f"{which}-message", elem_classes="dpst-message", latex_delimiters=[]),
        "editor": track_uploads(gr.ImageEditor(
            label=f"Strokes on the {which} photo", type="numpy", image_mode="RGBA", sources=(),
            transforms=(), layers=False, brush=gr.Brush(colors=brush_colours(), color_mode="fixed"),
            eraser=gr.Eraser(), elem_id=f"{which}-editor", height=360,
        )),
        "overlay": gr.Image(
            label=f"{which.capitalize()} mask (regions of one colour are matched)", type="filepath",
            buttons=["download", "fullscreen"], interactive=False, elem_id=f"{which}-overlay", height=300,
        ),
    }  # fmt: skip
    with gr.Accordion(f"Your own {which} mask (optional)", open=False):
        c["mask_file"] = gr.File(
            label=f"{which.capitalize()} mask: a PNG the size of the photo", type="filepath",
            elem_id=f"{which}-mask-file", height=100,
        )  # fmt: skip
    return c


def _settings() -> tuple[gr.Radio, list[gr.components.Component]]:
    """The preset and the settings a photographer would touch (:data:`.runs.CONTROLS`, in its order),
    at the default preset's values."""
    d = preset_settings("default")
    made: dict[str, gr.components.Component] = {}
    with gr.Row():
        preset = gr.Radio(list(PAGE_PRESETS), value="default", label="Preset", elem_id="preset")
        made.update((c.field, _control(c, d[c.field])) for c in CONTROLS if not c.advanced)
    with gr.Accordion("Advanced", open=False):
        made.update((c.field, _control(c, d[c.field])) for c in CONTROLS if c.advanced)
    return preset, [made[c.field] for c in CONTROLS]


def _control(c: Control, value: Any) -> gr.components.Component:
    """The widget of one setting: its slider, or a number box from the setting's lowest value."""
    kw = {"value": value, "label": c.label, "info": c.info, "elem_id": c.elem_id}
    if c.slider is not None:
        low, high, step = c.slider
        return gr.Slider(low, high, step=step, **kw)
    return gr.Number(precision=0 if c.whole else None, minimum=c.minimum, **kw)


def _results() -> list[gr.components.Component]:
    """Status line, preview, before/after slider, downloads, command line (the run's outputs)."""
    status = gr.HTML(elem_id="status")
    with gr.Row():
        preview = gr.Image(
            label="Preview",
            type="filepath",
            interactive=False,
            elem_id="preview",
            height=360,
            buttons=["download", "fullscreen"],
        )
        compare = gr.ImageSlider(
            label="Before / after (full resolution)",
            type="filepath",
            interactive=False,
            elem_id="compare",
            height=360,
        )
    downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="downloads")
    command = gr.Textbox(label="The same run as a dpst command", interactive=False, elem_id="command")
    return [status, preview, compare, downloads, command]


def build(engine: Engine) -> gr.Blocks:
    """The page, wired to :class:`Handlers`."""
    h = Handlers(engine)
    free = {"concurrency_limit": None}  # gating is the engine's (its run queue, its masks lock)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(INTRO, latex_delimiters=[])
        notice = gr.Markdown(elem_id="notice", elem_classes="dpst-message", latex_delimiters=[])
        with gr.Row():
            cols = {}
            for which in WHICH:
                with gr.Column():
                    cols[which] = _photo_column(which)
        masks_note = gr.Markdown(elem_id="masks-note", latex_delimiters=[])
        preset, settings = _settings()
        with gr.Row():
            run = gr.Button("Run", variant="primary", elem_id="run")
            stop = gr.Button("Stop", variant="stop", elem_id="stop")
        outputs = _results()
        overlays = [cols[w]["overlay"] for w in WHICH]
        # api_name: what an API client (gradio_client) calls: /content_photo, /style_photo, /run, ...
        for which, c in cols.items():
            photo_out = [c["file"], c["editor"], c["overlay"], c["message"], masks_note]
            c["file"].upload(h.photo(which), c["file"], photo_out, api_name=f"{which}_photo", **free).then(
                h.auto, None, [*overlays, masks_note], api_name=f"auto_masks_{which}", **free
            )
            c["file"].clear(h.photo(which), c["file"], photo_out, api_name=f"remove_{which}", **free)
            for name, event in (("mask", c["mask_file"].upload), ("remove_mask", c["mask_file"].clear)):
                event(h.mask(which), c["mask_file"], [c["overlay"], c["message"]], api_name=f"{which}_{name}",
                      **free)  # fmt: skip
            c["editor"].change(
                h.paint(which), c["editor"], c["overlay"], trigger_mode="always_last", show_progress="hidden",
                api_name=f"{which}_strokes", **free,
            )  # fmt: skip
        values = lambda name: list(preset_settings(name).values())  # noqa: E731
        preset.change(values, preset, settings, api_name="preset", **free)
        run.click(
            h.run, [preset, *settings], outputs, show_progress="hidden", trigger_mode="once", api_name="run",
            **free,
        )  # fmt: skip
        stop.click(h.stop, None, None, api_name="stop", **free)
        timer = gr.Timer(NOTICE_EVERY)
        timer.tick(h.notice, None, notice, show_progress="hidden", api_visibility="private", **free)
        demo.load(h.open, None, None, **free)
        demo.unload(h.close)
    return demo


def _shown(path: Path | None) -> str | None:
    return None if path is None else str(path)


def start(
    host: str = "127.0.0.1",
    port: int = 7860,
    config: Config = Config(),
    limits: Limits = Limits(),
    logins: Sequence[Login] = (),
) -> gr.Blocks:
    """Start the page at http://host:port in the background and return it; :func:`shutdown` stops
    it and deletes every session's files.  ``logins``: (user, password) pairs of Gradio's login page;
    none, no login.  (Whether a login is needed is the caller's to decide: :mod:`.access`.)

    For this process: Gradio keeps its files in this server's folder (``GRADIO_TEMP_DIR``), and PIL
    refuses to decode any image over ``limits.megapixels`` (also the editor's layers Gradio decodes)."""
    folder = ServerFolder(get_upload_folder())  # deletes the folders of servers that were killed
    os.environ["GRADIO_TEMP_DIR"] = str(folder.path)
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        engine = Engine(folder.path / "sessions", config, uploads=folder.path, limits=limits)
        demo = build(engine)
        demo.queue(default_concurrency_limit=1)
        demo.engine, demo.folder = engine, folder  # type: ignore[attr-defined]
        demo.launch(
            server_name=host,
            server_port=port,
            share=False,
            quiet=True,
            show_error=True,
            footer_links=[],
            max_file_size=limits.upload_bytes,
            auth=list(logins) or None,
            auth_message="Log in with a user and password this server was started with.",
            app_kwargs={"middleware": [Middleware(Guard, owners=engine.owners)]},
            num_workers=0,  # files are served by this process, through the Guard
            theme=theme(),
            css=CSS,
            ssr_mode=False,
            pwa=False,
            mcp_server=False,
            prevent_thread_lock=True,
        )
    except BaseException:
        folder.release()
        raise
    engine.start_tidying(min(TIDY_EVERY, limits.idle_minutes * 60 / 4))
    return demo


def shutdown(demo: gr.Blocks) -> None:
    """Stop the server and delete every session's files."""
    demo.close()
    engine: Engine = demo.engine  # type: ignore[attr-defined]
    engine.stop_tidying()
    engine.sessions.close_all()
    demo.folder.release()  # type: ignore[attr-defined]
