"""The page's pieces that need Gradio but no browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpst.web.runs import Result, Update

app = pytest.importorskip("dpst.web.app", reason="needs the web extra (gradio)")

STEPS = (60, 30)


def result(stopped: bool = False) -> Result:
    p = Path("x.png")
    return Result(p, p, p, p, p, p, "dpst ...", stopped, (160, 106))


@pytest.mark.parametrize(
    "update, state, words",
    [
        (Update(ahead=2), "queued", "place 3 (2 runs ahead of yours)"),
        (Update(ahead=1), "queued", "place 2 (1 run ahead of yours)"),
        (Update(phase="targets"), "running", "Running: targets"),
        (Update(stage=2, step=5, total=30), "running", "stage 2 of 2 (photorealism): step 5 of 30"),
        (Update(stage=2, step=30, total=30, result=result(), done=True), "done", "Done in 12 s: 160×106 px."),
        (Update(stage=1, step=3, total=60, result=result(True), done=True), "stopped", "step 3 of 60"),
        (Update(message="upload the style photo first", done=True), "error", "upload the style photo first"),
    ],
)
def test_the_status_line_says_where_a_run_is(update, state, words):
    html = app.status_html(update, STEPS, 12.0)
    assert f'data-state="{state}"' in html and words in html


def test_the_progress_bar_counts_both_stages():
    html = app.status_html(Update(stage=2, step=15, total=30), STEPS, 1.0)
    assert '<progress max="90" value="75">' in html


def test_the_theme_uses_only_system_fonts():
    css = app.theme()._get_theme_css()
    assert "fonts.googleapis" not in css and "@import" not in css


def test_the_page_makes_its_controls_from_the_one_table():
    import gradio as gr

    from dpst.web.runs import CONTROLS, preset_settings

    with gr.Blocks():
        preset, widgets = app._settings()
    assert preset.value == "default"
    assert [w.label for w in widgets] == [c.label for c in CONTROLS]
    assert [w.elem_id for w in widgets] == ["style-weight", "photo-weight", "output-size", "size"]
    assert [w.value for w in widgets] == list(preset_settings("default").values())
    assert (widgets[2].minimum, widgets[3].minimum) == (0, 32)  # from the fields' bounds


def test_a_run_gets_the_pages_values_in_the_tables_order(tmp_path):
    from gradio.helpers import special_args

    from dpst.web.guard import Owners
    from dpst.web.sessions import Sessions

    class Engine:
        sessions = Sessions(tmp_path)
        owners = Owners(tmp_path, sessions.owner)

        def run(self, sid, preset, chosen):
            self.got = (sid, preset, chosen)
            return (u for u in ())

    class Request:
        session_hash = "tab"
        headers = {"cookie": "dpst-client=me"}

    engine = Engine()
    run = app.Handlers(engine).run
    inputs, *_ = special_args(run, ["fast", 12.0, 3000.0, 0, 256], request=Request())
    list(run(*inputs))
    chosen = {"style_weight": 12.0, "photo_weight": 3000.0, "output_size": 0, "size": 256}
    assert engine.got == ("tab", "fast", chosen)
