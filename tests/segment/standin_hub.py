"""A local stand-in for the Hugging Face hub, on loopback, answering what ``huggingface_hub`` 2.x asks
when it downloads a model (read from its source: ``HfApi.model_info``, ``get_hf_file_metadata``,
``http_get``), so that first-use downloads are tested without the network:

- ``GET /api/models/{repo}/revision/{rev}[?blobs=true]``: the model's commit (``sha``), its files
  (``siblings``: ``rfilename``, ``size``, ``blobId``, ``lfs`` for weights) and its licence
  (``cardData``); 404 with ``X-Error-Code: RepoNotFound`` for an unknown repo.
- ``HEAD``/``GET /{repo}/resolve/{rev}/{file}``: a small file answers 200 with ``ETag`` (its git blob
  sha1), ``X-Repo-Commit`` and ``Content-Length``; a weights file (stored with LFS on the hub) answers
  302 to a second port (another origin, as the hub's CDN is) with ``X-Linked-Etag`` (its sha256),
  ``X-Linked-Size`` and ``X-Repo-Commit``; a missing file 404 with ``X-Error-Code: EntryNotFound``.
- ``GET /blobs/{sha256}`` on the CDN port: the bytes, ``Range: bytes=N-`` answered 206.

``cut[file] = n`` makes the first download of that file stop after ``n`` bytes (the connection
closed mid-body, the full ``Content-Length`` announced); later requests for it get 503, as from a
hub that went away.  ``requests`` logs (method, path) of everything asked.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin")


@dataclass
class Repo:
    files: dict[str, bytes]
    sha: str
    licence: str = "mit"


@dataclass
class StandinHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    cut: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def add(self, repo_id: str, folder: Path, licence: str = "mit", skip: tuple[str, ...] = ()) -> Repo:
        """Serve the files of a checkpoint folder as the model ``repo_id``."""
        files = {
            p.name: p.read_bytes()
            for p in sorted(Path(folder).iterdir())
            if p.is_file() and p.name not in skip
        }
        sha = hashlib.sha1(b"".join(files.values()) + repo_id.encode()).hexdigest()
        self.repos[repo_id] = Repo(files, sha, licence)
        return self.repos[repo_id]

    def start(self) -> StandinHub:
        self._servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(self)) for _ in range(2)]
        for server in self._servers:
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def blob(self, sha256: str) -> tuple[str, bytes] | None:
        for repo in self.repos.values():
            for name, data in repo.files.items():
                if hashlib.sha256(data).hexdigest() == sha256:
                    return name, data
        return None


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _handler(hub: StandinHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((self.command, path))
            parts = path.strip("/").split("/")
            if parts[0] == "api" and len(parts) >= 4 and parts[1] == "models":
                return self._info(parts)
            if parts[0] == "blobs":
                return self._blob(parts[1], body)
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve("/".join(parts[:2]), "/".join(parts[4:]), body)
            self._send(404, {}, b"")

        def _info(self, parts: list[str]) -> None:
            repo_id = "/".join(parts[2:4])
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._send(404, {"X-Error-Code": "RepoNotFound"}, b'{"error": "Repository not found"}')
            siblings = []
            for name, data in repo.files.items():
                entry = {"rfilename": name, "size": len(data), "blobId": git_sha1(data)}
                if name.endswith(LFS_SUFFIXES):
                    entry["lfs"] = {
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "pointerSize": 134,
                    }
                siblings.append(entry)
            info = {
                "id": repo_id, "sha": repo.sha, "siblings": siblings, "tags": [f"license:{repo.licence}"],
                "cardData": {"license": repo.licence},
            }  # fmt: skip
            self._send(200, {"Content-Type": "application/json"}, json.dumps(info).encode())

        def _resolve(self, repo_id: str, name: str, body: bool) -> None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._send(404, {"X-Error-Code": "RepoNotFound"}, b"")
            data = repo.files.get(name)
            if data is None:
                return self._send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.sha}, b"")
            if name.endswith(LFS_SUFFIXES):
                sha256 = hashlib.sha256(data).hexdigest()
                headers = {
                    "Location": f"{hub.cdn}/blobs/{sha256}", "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(data)), "X-Repo-Commit": repo.sha, "ETag": f'"{git_sha1(data)}"',
                }  # fmt: skip
                return self._send(302, headers, b"", body)
            headers = {"ETag": f'"{git_sha1(data)}"', "X-Repo-Commit": repo.sha}
            self._send(200, headers, data, body)

        def _blob(self, sha256: str, body: bool) -> None:
            found = hub.blob(sha256)
            if found is None:
                return self._send(404, {}, b"")
            name, data = found
            if name in hub.cut:
                if hub.cut[name] < 0:  # already cut once: the hub is gone
                    return self._send(503, {}, b"")
                n, hub.cut[name] = hub.cut[name], -1
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:n])
                self.wfile.flush()
                self.close_connection = True
                return
            start = 0
            if self.headers.get("Range", "").startswith("bytes="):
                start = int(self.headers["Range"][6:].split("-")[0])
            headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"} if start else {}
            self._send(206 if start else 200, headers, data[start:], body)

        def _send(self, status: int, headers: dict[str, str], data: bytes, body: bool = True) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body and data:
                self.wfile.write(data)

    return Handler
