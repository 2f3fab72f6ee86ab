"""Checkpoints fetched on first use into the standard Hugging Face cache (``huggingface_hub``, from the
``semantic`` extra), and what that cache holds.

- :func:`snapshot`: the folder of a complete cached checkpoint, or None; never touches the network.
- :func:`fetch`: the same, downloading it first when it is missing: its size said first, then its
  progress, through a callback with a :class:`Download`.  A download that fails or is interrupted
  leaves the cache as it found it (``huggingface_hub`` 2.x removes its own partial ``.incomplete``
  file, but not the ``refs``, the snapshot folder and the blobs of the files that did arrive; dpst
  removes them), and raises :class:`dpst.errors.DownloadFailed`.
- :func:`cached`: the checkpoints in the cache, their size on disk and whether they are complete.
- :func:`offline_reason`: why no download may be tried (``--offline``, ``HF_HUB_OFFLINE=1``), or "".

The cache and the hub are those ``huggingface_hub`` uses (``HF_HUB_CACHE``, ``HF_HOME``,
``HF_ENDPOINT``), read when called.  The files are fetched at one commit, and ``refs/main`` is written
only once all of them are in place, so a checkpoint is never found half there.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DownloadFailed, MissingExtra, first_line

CONFIG = "config.json"
PREPROCESSOR = "preprocessor_config.json"
# weights files, in order of preference: one file, or an index and its shards
WEIGHTS = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_TRUE = ("1", "ON", "YES", "TRUE")  # huggingface_hub's words for a true environment variable
TIMEOUT = 10.0  # seconds to wait for the hub's answer about a checkpoint
HINT = "fetch it where there is a network ('dpst models fetch NAME'), or give --segmenter a checkpoint folder"


@dataclass(frozen=True)
class Download:
    """What the library reports while it downloads a checkpoint: called first with ``done`` 0 (say
    :meth:`line` then), then as bytes arrive, last with ``finished`` (and ``failed`` if it did)."""

    name: str  # the Hugging Face id
    licence: str  # the checkpoint's licence, in words
    total: int  # bytes of all its files (0: unknown)
    done: int  # bytes so far
    folder: str  # the Hugging Face cache it goes into
    finished: bool = False
    failed: bool = False

    def line(self) -> str:
        """``downloading the scene parser X (241 MB, MIT) once into ~/.cache/huggingface/hub``."""
        size = megabytes(self.total) if self.total else "size unknown"
        where = short(self.folder)
        return f"downloading the scene parser {self.name} ({size}, {self.licence}) once into {where}"


OnDownload = Callable[[Download], None]


@dataclass(frozen=True)
class Cached:
    """A checkpoint in the Hugging Face cache."""

    name: str
    size: int  # bytes on disk, every revision
    complete: bool  # its current revision has a config and all its weights
    config: dict  # its config.json ({} when missing)


def megabytes(n: int) -> str:
    """``241 MB``, ``0.1 MB``: a size in decimal megabytes, as the hub shows them."""
    mb = n / 1e6
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"


def short(path: str | Path) -> str:
    """``path`` with the home folder written ``~``."""
    home, text = str(Path.home()), str(path)
    return (
        "~" + text[len(home) :] if home != "/" and (text == home or text.startswith(home + os.sep)) else text
    )


def offline_reason(flag: bool = False) -> str:
    """Why no download may be tried: ``--offline`` (``flag``), ``HF_HUB_OFFLINE=1`` or
    ``TRANSFORMERS_OFFLINE=1``; "" when downloads are allowed."""
    if flag:
        return "--offline"
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in _TRUE:
            return f"{var}=1"
    return ""


def cache_dir() -> Path:
    """The Hugging Face hub cache: ``HF_HUB_CACHE``, else ``HF_HOME``/hub, else
    ``~/.cache/huggingface/hub`` (``huggingface_hub``'s order), read now."""
    env = os.environ
    path = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    if not path:
        home = env.get("HF_HOME") or os.path.join(
            env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
        )
        path = os.path.join(home, "hub")
    return Path(os.path.expandvars(os.path.expanduser(path)))


def is_repo_id(name: str) -> bool:
    """Is ``name`` shaped like a Hugging Face model id (``owner/name`` or ``name``)?"""
    return bool(_REPO_ID.match(name)) and "--" not in name and ".." not in name


def repo_folder(name: str) -> Path:
    """The cache's folder of the model ``name`` (``models--owner--name``)."""
    return cache_dir() / ("models--" + name.replace("/", "--"))


def snapshot(name: str) -> Path | None:
    """The folder of the cached checkpoint ``name`` at ``refs/main`` when it has its config and all its
    weights, else None.  Never touches the network."""
    if not is_repo_id(name):
        return None
    repo = repo_folder(name)
    ref = repo / "refs" / "main"
    try:
        folder = repo / "snapshots" / ref.read_text().strip()
    except OSError:
        return None
    return folder if complete(folder) else None


def complete(folder: Path) -> bool:
    """Has the checkpoint folder a config and all its weights (every shard an index names)?"""
    if not (folder / CONFIG).is_file():
        return False
    for name in WEIGHTS:
        path = folder / name
        if not path.is_file():
            continue
        if not name.endswith(".index.json"):
            return True
        try:
            shards = set(json.loads(path.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError):
            return False
        return all((folder / s).is_file() for s in shards)
    return False


def fetch(name: str, on_download: OnDownload | None = None, *, licence: str = "", offline: str = "") -> Path:
    """The folder of the checkpoint ``name`` (a Hugging Face id), downloaded into the cache first if it
    is not there.  ``on_download`` receives :class:`Download` reports (``licence`` goes into them);
    ``offline`` (:func:`offline_reason`) forbids the download.  DownloadFailed saying why, the cache
    left as it was, when it cannot be had; a Ctrl-C also leaves the cache as it was."""
    found = snapshot(name)
    if found is not None:
        return found
    what = f"the scene parser {name}"
    if not is_repo_id(name):
        raise DownloadFailed(what, "is neither a folder nor a Hugging Face model id")
    if offline:
        raise DownloadFailed(
            what, f"is not in the cache {short(cache_dir())} and dpst is offline ({offline})", HINT
        )
    _hub()
    with _lock(name), _quiet():
        found = snapshot(name)  # another process may have fetched it meanwhile
        if found is not None:
            return found
        _remove_partial_blobs(repo_folder(name))
        before = _state(repo_folder(name))
        try:
            return _download(name, on_download, licence)
        except BaseException as exc:
            _restore(repo_folder(name), before)
            if isinstance(exc, DownloadFailed) or not isinstance(exc, Exception):
                raise
            raise DownloadFailed(what, f"could not be downloaded ({_reason(exc)})", HINT) from None


def cached() -> list[Cached]:
    """The model checkpoints in the cache, by name."""
    root = cache_dir()
    if not root.is_dir():
        return []
    out = []
    for repo in sorted(root.glob("models--*")):
        name = repo.name[len("models--") :].replace("--", "/")
        folder = snapshot(name)
        try:
            ref = (repo / "refs" / "main").read_text().strip()
            config = json.loads((repo / "snapshots" / ref / CONFIG).read_text())
        except (OSError, ValueError):
            config = {}
        out.append(
            Cached(name, _disk_size(repo), folder is not None, config if isinstance(config, dict) else {})
        )
    return out


# --- the download ---------------------------------------------------------------------------------


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise MissingExtra("semantic", "downloading a scene parser") from None
    return huggingface_hub


def _download(name: str, on_download: OnDownload | None, licence: str) -> Path:
    hf = _hub()
    endpoint = os.environ.get("HF_ENDPOINT") or None
    info = hf.HfApi(endpoint=endpoint).model_info(name, files_metadata=True, timeout=TIMEOUT)
    if not info.sha:
        raise DownloadFailed(f"the scene parser {name}", "could not be downloaded (no commit given)", HINT)
    files = _files(name, info.siblings or [])
    if not licence:
        card = getattr(info, "card_data", None)
        licence = (card.get("license") if card is not None else None) or "licence: see its model card"
    progress = _Progress(on_download, Download(name, licence, sum(files.values()), 0, str(cache_dir())))
    progress.report()
    try:
        for filename in files:
            hf.hf_hub_download(
                name,
                filename,
                revision=info.sha,
                cache_dir=cache_dir(),
                endpoint=endpoint,
                tqdm_class=progress.bar,
            )
        refs = repo_folder(name) / "refs"
        refs.mkdir(parents=True, exist_ok=True)
        (refs / "main").write_text(info.sha)  # last: only now is the checkpoint found
        folder = snapshot(name)
        if folder is None:
            raise DownloadFailed(f"the scene parser {name}", "is incomplete after its download", HINT)
    except BaseException:
        progress.report(finished=True, failed=True)
        raise
    progress.report(finished=True)
    return folder


def _files(name: str, siblings) -> dict[str, int]:
    """{file: size} of what a parser needs from the hub's listing: its config, preprocessing and weights."""
    sizes = {s.rfilename: (s.lfs.size if s.lfs is not None else s.size) or 0 for s in siblings}
    if CONFIG not in sizes:
        raise DownloadFailed(f"the scene parser {name}", "is not a transformers checkpoint (no config.json)")
    weights = next((w for w in WEIGHTS if w in sizes), None)
    if weights is None:
        raise DownloadFailed(
            f"the scene parser {name}", "has no weights file (model.safetensors, pytorch_model.bin)"
        )
    wanted = [CONFIG, PREPROCESSOR, weights]
    if weights.endswith(".index.json"):
        stem = weights.split(".")[0]  # model-00001-of-00002.safetensors, pytorch_model-00001-of-00002.bin
        wanted += [f for f in sizes if f.startswith(stem + "-") and f.endswith(weights.split(".")[1])]
    return {f: sizes[f] for f in wanted if f in sizes}


class _Progress:
    """Bytes of every file of one download, reported through the callback."""

    def __init__(self, on_download: OnDownload | None, start: Download) -> None:
        self.on_download, self.state = on_download, start

        def update(_bar, n: float | None = 1) -> None:
            self.state = replace(self.state, done=self.state.done + int(n or 0))
            self.report()

        # huggingface_hub makes a bar of this class per file and updates it with the bytes written;
        # update_transfer (a Xet download's network bytes) makes it keep one bar, not two
        self.bar = type("FileBar", (_silent_tqdm(),), {"update": update, "update_transfer": _ignore})

    def report(self, finished: bool = False, failed: bool = False) -> None:
        if finished:
            self.state = replace(self.state, finished=True, failed=failed)
        if self.on_download is not None:
            self.on_download(self.state)


def _silent_tqdm():
    from tqdm import tqdm

    class Silent(tqdm):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.pop("name", None)
            super().__init__(*args, **{**kwargs, "disable": True})

    return Silent


def _ignore(*_args, **_kwargs) -> None:
    return None


def _reason(exc: Exception) -> str:
    """A few words on why a download failed."""
    kind = type(exc).__name__
    if kind in ("RepositoryNotFoundError", "GatedRepoError"):
        return "no such public model on the hub"
    if kind in (
        "ConnectError",
        "ConnectTimeout",
        "TimeoutException",
        "ReadTimeout",
        "LocalEntryNotFoundError",
    ):
        return f"no network ({first_line(exc)[:100]})"
    return f"{kind}: {first_line(exc)[:120]}"


@contextmanager
def _lock(name: str) -> Iterator[None]:
    """One download of ``name`` at a time, between processes too (batch workers)."""
    from filelock import FileLock

    path = cache_dir() / ".locks" / repo_folder(name).name / "dpst-fetch.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path)):
        yield


@contextmanager
def _quiet() -> Iterator[None]:
    """huggingface_hub's warnings (retries, hints) would print; dpst reports through its callback."""
    import huggingface_hub.utils.logging  # noqa: F401  (it sets its level when first imported)

    logger = logging.getLogger("huggingface_hub")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# --- leaving the cache as it was ------------------------------------------------------------------


def _state(repo: Path) -> tuple[bool, set[str], dict[str, bytes]]:
    """What the repo folder holds: whether it exists, its paths, and the contents of its refs."""
    if not repo.exists():
        return False, set(), {}
    paths = set(_walk(repo))
    refs = {
        p: (repo / p).read_bytes() for p in paths if p.startswith("refs" + os.sep) and (repo / p).is_file()
    }
    return True, paths, refs


def _restore(repo: Path, before: tuple[bool, set[str], dict[str, bytes]]) -> None:
    """Remove what a failed download added to ``repo`` (blobs, snapshot links and folders, refs), and
    put the refs back as they were."""
    existed, paths, refs = before
    if not existed:
        shutil.rmtree(repo, ignore_errors=True)
        return
    for rel in sorted(set(_walk(repo)) - paths, key=lambda p: p.count(os.sep), reverse=True):
        path = repo / rel
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            pass
    for rel, data in refs.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            yield os.path.relpath(os.path.join(folder, name), root)


def _remove_partial_blobs(repo: Path) -> None:
    """Partial downloads an earlier, killed process left (``blobs/*.incomplete``): never resumed by
    huggingface_hub 2.x, whose partial files are named per download."""
    for path in (repo / "blobs").glob("*.incomplete"):
        path.unlink(missing_ok=True)


def _disk_size(root: Path) -> int:
    """Bytes of the files under ``root``, links not followed (each blob counted once)."""
    total = 0
    for folder, _, files in os.walk(root, followlinks=False):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            total += 0 if os.path.islink(os.path.join(folder, name)) else st.st_size
    return total
