"""Results never cross: a client may fetch (or hand to a control) only the files it uploaded and the
files of its own sessions.

Each client is told apart by a cookie (:data:`COOKIE`, random, set on the first response to a
request without it; browsers and ``gradio_client`` send it back).  :class:`Owners` records which
client uploaded which file (read off the framework's upload answers) and asks the sessions whose a
session file is; :class:`Guard`, an ASGI middleware in front of the web framework, answers 404 to a
file request for any file of this server that is not the asker's.  Files outside this server's folder
are left to the framework's own rules.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

COOKIE = "dpst-client"
# the framework's file routes (/gradio_api/file=PATH, and the older /file=PATH and /file/PATH)
FILE_ROUTE = re.compile(r"^(?:/gradio_api)?/file[=/](?P<path>.+)$")
UPLOAD_ROUTE = re.compile(r"^(?:/gradio_api)?/upload/?$")


def resolved(path: str | Path) -> Path:
    """``path`` made absolute and with links resolved, as the framework resolves it before serving."""
    return Path(os.path.abspath(str(path))).resolve()


class Owners:
    """Who may read which file of this server: ``folder`` (everything the server keeps), the
    uploads by client, and ``session_owner(path)``: the client whose session folder holds ``path``,
    None when no session does."""

    def __init__(self, folder: str | Path, session_owner: Callable[[Path], str | None]) -> None:
        self.folder = resolved(folder)
        self.session_owner = session_owner
        self._uploads: dict[Path, set[str]] = {}
        self._lock = threading.Lock()

    def uploaded(self, client: str, paths: list[str]) -> None:
        """``client`` uploaded the files at ``paths`` (the framework stores identical files once, so a
        file may have several uploaders)."""
        with self._lock:
            for p in paths:
                self._uploads.setdefault(resolved(p), set()).add(client)

    def may_read(self, client: str | None, path: str | Path) -> bool:
        """True when ``client`` may have the file at ``path``: its own upload or its sessions' file,
        or a file outside this server's folder (the framework's rules apply there)."""
        p = resolved(path)
        if not p.is_relative_to(self.folder):
            return True
        if not client:
            return False
        with self._lock:
            if client in self._uploads.get(p, ()):
                return True
        return self.session_owner(p) == client

    def forget_missing(self) -> None:
        """Drop the records of uploads that are gone from the disk."""
        with self._lock:
            for p in [p for p in self._uploads if not p.exists()]:
                del self._uploads[p]


def client_of(headers: Any) -> str | None:
    """The client cookie in a request's ``Cookie`` header (``headers``: a mapping, or ASGI's list of
    byte pairs), or None."""
    if isinstance(headers, list):
        raw = "; ".join(v.decode("latin-1") for k, v in headers if k == b"cookie")
    else:
        raw = headers.get("cookie", "") if headers is not None else ""
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header: no client
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


class Guard:
    """ASGI middleware: sets the client cookie, records uploads, and answers 404 to a request for a
    file of this server that is not the asker's."""

    def __init__(self, app: Any, owners: Owners) -> None:
        self.app, self.owners = app, owners

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = client_of(scope.get("headers", []))
        new = None if client else secrets.token_urlsafe(24)
        path = scope.get("path", "")
        wanted = FILE_ROUTE.match(path)
        if wanted and not self.owners.may_read(client, wanted["path"]):
            await _not_found(send, new)
            return
        upload = scope.get("method") == "POST" and UPLOAD_ROUTE.match(path)
        body: list[bytes] = []
        ok = []

        async def answer(message: dict) -> None:
            if message["type"] == "http.response.start":
                ok.append(message.get("status") == 200)
                if new:
                    message = {**message, "headers": [*message.get("headers", []), _set_cookie(new)]}
            elif message["type"] == "http.response.body" and upload and ok == [True]:
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._record(client or new, b"".join(body))
            await send(message)

        await self.app(scope, receive, answer)

    def _record(self, client: str | None, body: bytes) -> None:
        try:
            paths = json.loads(body)
        except ValueError:
            return
        if client and isinstance(paths, list):
            self.owners.uploaded(client, [p for p in paths if isinstance(p, str)])


def _set_cookie(value: str) -> tuple[bytes, bytes]:
    return b"set-cookie", f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax".encode()


async def _not_found(send: Callable, new: str | None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if new:
        headers.append(_set_cookie(new))
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": b"Not found"})
