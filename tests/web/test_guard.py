"""Files are served only to the client they belong to: the cookie, the ownership rules, and the
middleware in front of a small stand-in app (no network: Starlette's in-process client)."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from dpst.web.guard import COOKIE, Guard, Owners, client_of
from dpst.web.sessions import Sessions


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "dpst-x"
    sessions = Sessions(folder / "sessions", folder)
    return folder, sessions, Owners(folder, sessions.owner)


def test_a_client_may_read_its_uploads_and_its_sessions_files_only(server, tmp_path):
    folder, sessions, owners = server
    upload = folder / "4f2a" / "cat.png"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"x")
    owners.uploaded("ann", [str(upload)])
    result = sessions.claim("tab-b", "bob").new_folder("run-") / "cat_restyled.png"
    assert owners.may_read("ann", upload) and not owners.may_read("bob", upload)
    assert owners.may_read("bob", result) and not owners.may_read("ann", result)
    assert not owners.may_read(None, result) and not owners.may_read("ann", folder / "sessions")
    assert not owners.may_read("ann", f"{folder}/4f2a/../sessions/{result.relative_to(folder / 'sessions')}")
    assert owners.may_read("ann", tmp_path / "elsewhere.css")  # not this server's: the framework's rules
    upload.unlink()
    owners.forget_missing()
    assert not owners.may_read("ann", upload)


def test_the_client_cookie_is_read_from_either_form_of_headers():
    assert client_of({"cookie": f"a=1; {COOKIE}=abc"}) == "abc"
    assert client_of([(b"cookie", f"{COOKIE}=xyz".encode())]) == "xyz"
    assert client_of({"cookie": "a=1"}) is None and client_of({}) is None


def test_the_guard_sets_the_cookie_records_uploads_and_hides_others_files(server):
    folder, sessions, owners = server
    upload = folder / "4f2a" / "cat.png"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"x")

    async def file(request):
        return PlainTextResponse("the file")

    async def receive_upload(request):
        return JSONResponse([str(upload)])

    routes = [
        Route("/gradio_api/file={path:path}", file),
        Route("/gradio_api/upload", receive_upload, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, owners=owners)])
    with (
        TestClient(app, base_url="http://127.0.0.1") as ann,
        TestClient(app, base_url="http://127.0.0.1") as bob,
    ):
        first = ann.post("/gradio_api/upload")
        assert first.status_code == 200 and json.loads(first.text) == [str(upload)]
        cookie = ann.cookies[COOKIE]
        assert len(cookie) >= 32 and ann.get(f"/gradio_api/file={upload}").text == "the file"
        assert ann.cookies[COOKIE] == cookie  # set once, then kept
        bob.get("/")
        assert bob.cookies[COOKIE] != cookie
        assert bob.get(f"/gradio_api/file={upload}").status_code == 404
        result = sessions.claim("tab", bob.cookies[COOKIE]).new_folder("run-") / "r.png"
        result.write_bytes(b"r")
        assert bob.get(f"/gradio_api/file={result}").status_code == 200
        assert ann.get(f"/gradio_api/file={result}").status_code == 404
        assert ann.get(f"/file={result}").status_code == 404  # the older routes too
