"""``dpst serve`` as a shared service, faults included: real servers in subprocesses (a tiny random
network, so no weights are needed), driven through ``gradio_client`` and plain HTTP, all on 127.0.0.1.

A client killed mid-run, a server killed with SIGKILL and started again, a 1 GB upload and a
decompression bomb, 100 page loads at once, a login, and one session's files asked for by another.
(The load test is ``benchmarks/serve_load.py``.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import save_photo
from tests.web.conftest import Server, bomb_png

pytest.importorskip("gradio", reason="needs the web extra (gradio)")
gradio_client = pytest.importorskip("gradio_client")
httpx = pytest.importorskip("httpx")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory and CPU from /proc"),
]

MB = 1_000_000
SECRET = "pw-7f3a9c"  # a password no log may show
TINY = ["fast", 10, 3000, 40, 32]  # the run's preset and settings, in the page's order


def wait_for(check, timeout: float = 30.0, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    return {
        "cat": save_photo(folder / "cat.png", 96, 128, 0),
        "dusk": save_photo(folder / "dusk.png", 80, 96, 1),
        "bomb": bomb_png(folder / "bomb.png", 30_000),  # 900 megapixels in about 100 KB
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_weights_file):
    files = tmp_path_factory.mktemp("service") / "files"
    files.mkdir()
    srv = Server(files, ["--weights", str(tiny_weights_file)])
    yield srv
    assert srv.stop() == 0, srv.log.read_text()
    assert [p for p in files.rglob("*") if p.is_file()] == []


def client(srv: Server, **kwargs) -> gradio_client.Client:
    return gradio_client.Client(srv.url, verbose=False, download_files=False, **kwargs)


def upload(c: gradio_client.Client, which: str, path: Path) -> tuple:
    return c.predict(gradio_client.handle_file(str(path)), api_name=f"/{which}_photo")


def session_of(answer: tuple) -> Path:
    """The session folder of a photo upload's answer (the photo shown is in it)."""
    shown = Path(answer[2]["path"])
    return shown.parents[1]


# A client in a process of its own, killed with SIGKILL while its run goes: it says where its session
# folder is once its run has taken a step.
CLIENT = """
import sys
from pathlib import Path
from gradio_client import Client, handle_file
c = Client(sys.argv[1], verbose=False, download_files=False)
shown = c.predict(handle_file(sys.argv[2]), api_name="/content_photo")[2]["path"]
c.predict(handle_file(sys.argv[3]), api_name="/style_photo")
for out in c.submit("default", 30, 9000, 0, 256, api_name="/run"):
    if "step" in out[0]:
        print(Path(shown).parents[1], flush=True)
        break
input()
"""


def test_a_client_killed_mid_run_stops_the_run_and_its_files_go(server, photos):
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CLIENT), server.url, str(photos["cat"]), str(photos["dusk"])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    folder = Path(proc.stdout.readline().strip())
    assert folder.is_dir() and any(folder.glob("run-*/preview-*.png"))  # the run is going
    killed = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # its heartbeat stops: the session ends, the run stops at its next step, then its folder goes
    assert wait_for(lambda: not folder.exists(), timeout=30), "the session's folder stayed"
    gone = time.monotonic() - killed
    cpu = server.cpu()
    time.sleep(2)
    assert server.cpu() - cpu < 0.5  # nothing runs on
    assert gone < 15 and server.sessions() == []
    assert [p for p in server.folders()[0].iterdir() if p.name not in (".lock", "sessions")] == []


def test_100_page_loads_at_once_and_it_still_serves(server, photos):
    def load(_):
        return httpx.get(server.url, timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(load, range(100)))
    assert codes == [200] * 100
    c = client(server)
    try:
        assert upload(c, "content", photos["cat"])[3] == ""  # no message: taken
    finally:
        c.close()
    assert wait_for(lambda: server.sessions() == [])


def multipart_gigabyte(boundary: str, size: int):
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="huge.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    chunk = b"\0" * MB
    for _ in range(size // MB):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_1gb_upload_and_a_decompression_bomb_are_refused_in_little_memory(server, photos):
    before = server.rss()
    boundary = "dpst-boundary"
    try:
        answer = httpx.post(
            f"{server.url}gradio_api/upload",
            content=multipart_gigabyte(boundary, 1000 * MB),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=300,
        )
        assert answer.status_code == 413, answer.text
    except httpx.TransportError:
        pass  # the server may close the connection while the rest still arrives: refused too
    assert server.rss() - before < 200 * MB
    stored = [p for p in server.files.rglob("*") if p.is_file() and p.stat().st_size > MB]
    assert stored == []
    c = client(server)
    try:
        said = upload(c, "content", photos["bomb"])[3]
        assert "bomb.png: 900 megapixels is over this server's limit of 25 megapixels" in said
        assert server.rss() - before < 200 * MB
        assert upload(c, "content", photos["cat"])[3] == ""  # and the page goes on
    finally:
        c.close()


def test_one_session_cannot_fetch_or_use_anothers_files(server, photos):
    ann, bob = client(server), client(server)
    try:
        mine = upload(ann, "content", photos["cat"])[2]
        folders = [Path(mine["path"]).parents[1], session_of(upload(bob, "content", photos["cat"]))]
        upload(bob, "style", photos["dusk"])
        *_, end = bob.submit(*TINY, api_name="/run")
        assert 'data-state="done"' in end[0], end[0]
        result = end[1]
        assert httpx.get(result["url"], cookies=bob.cookies).status_code == 200
        assert httpx.get(result["url"], cookies=ann.cookies).status_code == 404
        assert httpx.get(result["url"]).status_code == 404  # without a cookie: nobody's
        assert httpx.get(mine["url"], cookies=bob.cookies).status_code == 404
        # handed in as ann's own photo through the API, bob's result is refused too
        raw = httpx.Client(base_url=server.url, cookies=ann.cookies)
        event = raw.post(
            "/gradio_api/call/content_photo",
            json={"data": [{"path": result["path"], "meta": {"_type": "gradio.FileData"}}]},
        ).json()["event_id"]
        assert "not one this page uploaded" in raw.get(f"/gradio_api/call/content_photo/{event}").text
    finally:
        ann.close()
        bob.close()
    # (the call through the plain API made a session with no heartbeat: it ends when idle too long)
    assert wait_for(lambda: not any(f.exists() for f in folders))


def test_a_server_killed_with_sigkill_is_cleaned_up_by_the_next(tmp_path, tiny_weights_file, photos):
    files = tmp_path / "files"
    files.mkdir()
    first = Server(files, ["--weights", str(tiny_weights_file)])
    c = client(first)
    session = session_of(upload(c, "content", photos["cat"]))
    (left,) = first.folders()
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    c.close()
    assert session.is_dir()  # a killed server deletes nothing
    second = Server(files, ["--weights", str(tiny_weights_file)])
    try:
        assert not left.exists() and len(second.folders()) == 1  # removed as it started
    finally:
        assert second.stop() == 0
    assert [p for p in files.rglob("*") if p.is_file()] == []


def test_a_login_is_needed_checked_and_never_logged(tmp_path, tiny_weights_file, photos):
    files = tmp_path / "files"
    files.mkdir()
    srv = Server(files, ["--weights", str(tiny_weights_file)], env={"DPST_AUTH": f"ann:{SECRET}"})
    try:
        assert httpx.get(f"{srv.url}config").status_code == 401
        assert httpx.post(f"{srv.url}gradio_api/upload").status_code == 401
        wrong = httpx.post(f"{srv.url}login", data={"username": "ann", "password": "guess"})
        assert wrong.status_code in (400, 401)
        right = httpx.post(f"{srv.url}login", data={"username": "ann", "password": SECRET})
        assert right.status_code == 200
        assert httpx.get(f"{srv.url}config", cookies=right.cookies).status_code == 200
        with pytest.raises(Exception, match="(?i)credentials|login"):
            client(srv, auth=("ann", "guess"))
        c = client(srv, auth=("ann", SECRET))
        try:
            assert upload(c, "content", photos["cat"])[3] == ""
            assert SECRET not in httpx.get(f"{srv.url}config", cookies=c.cookies).text
        finally:
            c.close()
        assert SECRET not in Path(f"/proc/{srv.proc.pid}/cmdline").read_text()
    finally:
        assert srv.stop() == 0
    log = srv.log.read_text()
    assert "login required" in log and SECRET not in log
