"""Restyle many photos: ``dpst batch``, on this machine's cores or on a Ray cluster.

    dpst batch MANIFEST -o OUTDIR [--workers N] [--ray ADDRESS|auto|local] [settings]
    dpst batch --content DIR --style PHOTO -o OUTDIR [...]

MANIFEST is a CSV file with a header row, or JSON Lines, one job per row: ``content``, ``style``,
optional ``content_mask``/``style_mask``, ``output`` (a file name inside OUTDIR; default
``<content stem>__<style stem>.png``) and any :class:`~dpst.config.Config` field as a per-job setting.
Relative paths are read from the manifest's folder.  The command-line settings are the defaults.

The driver (this process) plans the jobs, skips those already done, hands the rest to worker
processes that each load the network once, and keeps ``OUTDIR/dpst-batch.json`` (the ledger) up to
date after every job, so Ctrl-C or a crash loses only the jobs in flight: run the same command again
to resume.  Workers write their result into OUTDIR when they can see it (they look for a token file
the driver put there) and otherwise send the PNG back to the driver, which writes it.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import difflib
import hashlib
import io as _bytes_io
import json
import os
import secrets
import socket
import sys
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from . import io
from .config import Config, config_fields

LEDGER_NAME = "dpst-batch.json"
PROBE_NAME = ".dpst-batch-probe"
PATH_COLUMNS = ("content", "style", "content_mask", "style_mask")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
# A worker holds one network on one device for all its jobs, so these cannot change per job.
PER_BATCH = ("weights", "device")
# Memory of one job: measured peak RSS with the real VGG-19, one thread, pair 1, at 256/512/700 px:
# 0.53/1.01/1.49 GiB (stage 1), 1.65 GiB at 700 px with stage 2 and the filter; plus the L-BFGS history
# (50 pairs of image-sized vectors, 0.44 GiB at 700 px).  Rounded up: 0.5 GiB + 4 KiB a working pixel.
_BASE_MEMORY, _PIXEL_MEMORY = 2**29, 4096
_FIELDS = {f.name: f for f in config_fields()}
_DEFAULTS = Config()


# ---------------------------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """One stylisation: absolute input paths, per-job settings, and the output's name inside OUTDIR."""

    where: str  # "album.csv row 3" or the content photo's path, for messages
    output: str
    content: str
    style: str
    content_mask: str | None = None
    style_mask: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)  # Config overrides

    def config(self, base: Config) -> Config:
        return base.updated(**self.settings)

    def inputs(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in PATH_COLUMNS if getattr(self, k) is not None}


@dataclass(frozen=True)
class Rejected:
    """A manifest row that cannot run; it is reported and recorded as failed."""

    where: str
    error: str


@dataclass(frozen=True)
class Outcome:
    """What a worker hands back for one job."""

    output: str
    ok: bool
    seconds: float
    error: str = ""
    warnings: tuple[str, ...] = ()
    png: bytes | None = None  # the result, when the worker could not write into OUTDIR itself
    worker: str = ""  # host:pid
    loaded: bool = False  # this job loaded the network (the first job of its worker process)


@dataclass(frozen=True)
class JobEvent:
    """Reported to the callback once per job, in the order jobs finish."""

    where: str
    output: str | None
    status: str  # "done" | "skipped" | "failed"
    finished: int  # jobs reported so far, this one included
    total: int
    seconds: float = 0.0
    error: str = ""
    warnings: tuple[str, ...] = ()
    worker: str = ""
    loaded: bool = False


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


# ------------------------------------------------------------------------------------------ manifest


def read_manifest(path: str | os.PathLike) -> tuple[list[Job], list[Rejected]]:
    """Parse a CSV (header row) or JSON Lines manifest.  Bad rows come back as :class:`Rejected`
    ("album.csv row 3: ..."; rows count the file's lines, the header being row 1)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such manifest file")
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
    jobs, rejected = [], []
    for line, row in _jsonl_rows(path) if jsonl else _csv_rows(path):
        where = f"{path.name} row {line}"
        try:
            jobs.append(_parse_row(row, where, path.parent))
        except (ValueError, OSError) as exc:
            rejected.append(Rejected(where, _one_line(exc)))
    if not jobs and not rejected:
        raise ValueError(f"{path}: no jobs in the manifest")
    return jobs, rejected


def _csv_rows(path: Path) -> Iterator[tuple[int, dict | str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, restkey="\0extra")
        header = [h.strip() for h in reader.fieldnames or []]
        for needed in ("content", "style"):
            if needed not in header:
                raise ValueError(f"{path}: the header row has no '{needed}' column (it needs content,style)")
        reader.fieldnames = header
        for row in reader:
            if "\0extra" in row:
                yield reader.line_num, "more cells than the header has columns"
            elif any((v or "").strip() for v in row.values()):
                yield reader.line_num, {k: v.strip() for k, v in row.items() if v is not None}


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict | str]]:
    with path.open(encoding="utf-8-sig") as fh:
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, f"not valid JSON ({exc.msg}, column {exc.colno})"
                continue
            yield line, row if isinstance(row, dict) else "not a JSON object {...}"


def _parse_row(row: dict | str, where: str, folder: Path) -> Job:
    """One manifest row → a :class:`Job`; any problem is a ValueError/FileNotFoundError for that row."""
    if isinstance(row, str):
        raise ValueError(row)
    row = {str(k).strip(): v for k, v in row.items() if v is not None and v != ""}
    missing = [k for k in ("content", "style") if k not in row]
    if missing:
        raise ValueError(f"no {' and no '.join(missing)} photo given")
    paths = {k: _input_path(row.pop(k), k, folder) for k in PATH_COLUMNS if k in row}
    if ("content_mask" in paths) != ("style_mask" in paths):
        raise ValueError("give both content_mask and style_mask, or neither")
    output = _output_name(row.pop("output", None), paths["content"], paths["style"])
    settings = {k: _setting(k, v) for k, v in row.items()}
    return Job(where, output, settings=settings, **paths)


def _input_path(value: Any, what: str, folder: Path) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected a path, got {value!r}")
    path = folder / Path(value).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    return str(path.resolve())


def default_output(content: str | os.PathLike, style: str | os.PathLike) -> str:
    return f"{Path(content).stem}__{Path(style).stem}.png"


def _output_name(value: Any, content: str, style: str) -> str:
    if value is None:
        return default_output(content, style)
    if not isinstance(value, str) or Path(value).name != value or value in (".", ".."):
        raise ValueError(f"output: {value!r} must be a file name (no folders); it is written into OUTDIR")
    if Path(value).suffix.lower() not in io.WRITABLE:
        raise ValueError(f"output: {value!r} must end in one of {', '.join(io.WRITABLE)}")
    return value


def _setting(key: str, value: Any) -> Any:
    """A per-job setting, converted to its Config field's type."""
    if key not in _FIELDS:
        hint = difflib.get_close_matches(key, [*_FIELDS, *PATH_COLUMNS, "output"], n=1)
        raise ValueError(f"unknown setting {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    if key in PER_BATCH:
        raise ValueError(f"{key} cannot change per job; give --{key} for the whole batch")
    kind = type(getattr(_DEFAULTS, key))
    try:
        converted = _convert(value, kind)
    except (ValueError, TypeError):
        raise ValueError(f"{key}: {value!r} is not {_KIND_NAMES[kind]}") from None
    choices = _FIELDS[key].metadata.get("choices")
    if choices and converted not in choices:
        raise ValueError(f"{key}: {converted!r} is not one of {', '.join(choices)}")
    return converted


_KIND_NAMES = {bool: "true/false", int: "a whole number", float: "a number", str: "text"}
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _convert(value: Any, kind: type) -> Any:
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        if kind is bool:
            if text not in _TRUE + _FALSE:
                raise ValueError(value)
            return text in _TRUE
        return kind(text)
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, (int, float, str)):
        raise TypeError(value)
    if kind is int and not isinstance(value, int):
        raise TypeError(value)
    if kind is str and not isinstance(value, str):
        raise TypeError(value)
    return kind(value)


def jobs_from_folder(folder: str | os.PathLike, style: str | os.PathLike) -> list[Job]:
    """One job per image in ``folder`` (not recursive, sorted by name), all with the same style photo."""
    folder, style = Path(folder), Path(style)
    if not folder.is_dir():
        raise ValueError(f"--content {folder}: not a folder")
    if not style.is_file():
        raise FileNotFoundError(f"--style {style}: no such file")
    photos = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not photos:
        raise ValueError(f"--content {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in it")
    s = str(style.resolve())
    return [Job(str(p), default_output(p, style), str(p.resolve()), s) for p in photos if p.is_file()]


def check_outputs(jobs: Sequence[Job], outdir: Path) -> tuple[list[Job], list[Rejected]]:
    """Reject a job whose output name another job already uses, or whose output would overwrite an input."""
    kept, rejected, first = [], [], {}
    for job in jobs:
        target = (outdir / job.output).resolve()
        if job.output in first:
            rejected.append(
                Rejected(job.where, f"output {job.output} is already written by {first[job.output]}")
            )
        elif any(Path(p) == target for p in job.inputs().values()):
            rejected.append(Rejected(job.where, f"output {target} would overwrite one of its inputs"))
        else:
            first[job.output] = job.where
            kept.append(job)
    return kept, rejected


# -------------------------------------------------------------------------------------------- ledger


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(job: Job, cfg: Config, hashes: dict[str, str] | None = None) -> dict:
    """What a result depends on: its inputs' SHA-256 and every setting but the device."""
    hashes = {} if hashes is None else hashes  # path → digest, shared across the jobs of a run
    for p in job.inputs().values():
        if p not in hashes:
            hashes[p] = sha256(p)
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "device"}
    return {"sha256": {k: hashes[p] for k, p in job.inputs().items()}, "settings": settings}


def write_atomic(path: Path, data: bytes) -> None:
    """A temporary file in the same folder, flushed to disk, then renamed over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Ledger:
    """``OUTDIR/dpst-batch.json``: per output, what it was made from and how its last run went."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / LEDGER_NAME
        self.jobs: dict[str, dict] = {}
        self.rejected: list[dict] = []
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.jobs = dict(data["jobs"])
            except (ValueError, KeyError, TypeError):
                raise ValueError(
                    f"{self.path}: not a dpst batch ledger; move it away to start afresh"
                ) from None

    def is_fresh(self, job: Job, stamp: dict) -> bool:
        """Done before from the same inputs and settings, and the output is still there."""
        entry = self.jobs.get(job.output, {})
        same = entry.get("sha256") == stamp["sha256"] and entry.get("settings") == stamp["settings"]
        return entry.get("status") == "done" and same and (self.path.parent / job.output).is_file()

    def record(self, job: Job, stamp: dict, outcome: Outcome) -> None:
        self.jobs[job.output] = {
            "status": "done" if outcome.ok else "failed",
            "where": job.where,
            "inputs": job.inputs(),
            **stamp,
            "seconds": round(outcome.seconds, 3),
            "error": outcome.error,
            "worker": outcome.worker,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.save()

    def save(self) -> None:
        data = {"version": 1, "jobs": self.jobs, "rejected": self.rejected}
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode())


# -------------------------------------------------------------------------------------- worker side

_STYLIZERS: dict[tuple[str, str], Any] = {}  # one network per (weights, device), per worker process


def _init_worker(threads: int) -> None:
    """Pool initializer: share the cores out, and leave Ctrl-C to the driver (it stops the pool)."""
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)


def run_job(job: Job, cfg: Config, outdir: str, token: str = "") -> Outcome:
    """Worker side: stylise one job.  Never raises for a job's failure (any exception is the outcome).

    The result is written into ``outdir`` when this process sees the driver's probe file there holding
    ``token`` (shared or local storage); otherwise it comes back as PNG bytes for the driver to write."""
    from .api import Stylizer
    from .optimize import Interrupted

    start, key = time.perf_counter(), (cfg.weights, cfg.device)
    loaded, worker = key not in _STYLIZERS, f"{socket.gethostname()}:{os.getpid()}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if loaded:
                _STYLIZERS[key] = Stylizer(cfg)
            image = _STYLIZERS[key](
                job.content, job.style, content_mask=job.content_mask, style_mask=job.style_mask, config=cfg
            )
        png = _deliver(image, Path(outdir), job.output, token)
    except Interrupted:
        raise KeyboardInterrupt from None  # Ctrl-C in an in-process run: stop the batch, not just this job
    except Exception as exc:  # a bad photo, a bad setting, out of memory: all are this job's alone
        seconds = time.perf_counter() - start
        return Outcome(job.output, False, seconds, _one_line(exc), worker=worker, loaded=loaded)
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))  # each distinct warning once
    seconds = time.perf_counter() - start
    return Outcome(job.output, True, seconds, warnings=notes, png=png, worker=worker, loaded=loaded)


def _deliver(image: Image.Image, outdir: Path, name: str, token: str) -> bytes | None:
    probe = outdir / PROBE_NAME
    try:
        sees_outdir = bool(token) and probe.read_text() == token
    except OSError:
        sees_outdir = False
    if sees_outdir:
        io.save_image(image, outdir / name)
        return None
    buf = _bytes_io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _ray_job(job: Job, cfg: Config, outdir: str, token: str, threads: int) -> Outcome:
    import torch

    torch.set_num_threads(threads)
    return run_job(job, cfg, outdir, token)


# --------------------------------------------------------------------------------------- the driver


class _Reporter:
    """Driver side: writes results, keeps the ledger, tallies and calls the callback."""

    def __init__(self, ledger: Ledger, total: int, callback: Callable[[JobEvent], None] | None) -> None:
        self.ledger, self.total, self.callback = ledger, total, callback
        self.summary, self.finished = Summary(), 0

    def emit(self, where: str, output: str | None, status: str, outcome: Outcome | None = None) -> None:
        self.finished += 1
        setattr(self.summary, status, getattr(self.summary, status) + 1)
        extra = {}
        if outcome is not None:
            extra = {"seconds": outcome.seconds, "error": outcome.error, "warnings": outcome.warnings}
            extra |= {"worker": outcome.worker, "loaded": outcome.loaded}
        if self.callback is not None:
            self.callback(JobEvent(where, output, status, self.finished, self.total, **extra))

    def record(self, job: Job, stamp: dict, outcome: Outcome) -> None:
        if outcome.ok and outcome.png is not None:  # the worker could not see OUTDIR: we write it
            try:
                result = Image.open(_bytes_io.BytesIO(outcome.png))
                io.save_image(result, self.ledger.path.parent / job.output)
            except (OSError, ValueError) as exc:
                outcome = dataclasses.replace(outcome, ok=False, error=f"cannot write the result: {exc}")
        self.ledger.record(job, stamp, outcome)
        self.emit(job.where, job.output, "done" if outcome.ok else "failed", outcome)


def run_batch(
    jobs: Sequence[Job],
    outdir: str | os.PathLike,
    config: Config = _DEFAULTS,
    *,
    rejected: Sequence[Rejected] = (),
    workers: int | None = None,
    threads: int | None = None,
    ray: str | None = None,
    callback: Callable[[JobEvent], None] | None = None,
) -> Summary:
    """Run ``jobs`` (settings: ``config`` updated by each job's own) into ``outdir``, skipping those
    whose output, inputs and settings are unchanged since they were done.

    workers: local worker processes (default :func:`default_workers`; 0 = run in this process).
    threads: torch threads per job (default: the cores shared out between workers; 1 per Ray task;
    not applied when workers=0: this process keeps its own setting).
    ray: a Ray address ("auto", "HOST:PORT", "ray://HOST:PORT") or "local" (a private Ray on this machine).
    ``callback`` gets a :class:`JobEvent` per job.  Ctrl-C stops the workers and re-raises; the ledger
    then holds every finished job."""
    if workers is not None and workers < 0 or threads is not None and threads < 1:
        raise ValueError("--workers must be 0 (run in this process) or more, and --threads 1 or more")
    out = Path(outdir).resolve()  # workers (Ray's above all) do not share our working directory
    out.mkdir(parents=True, exist_ok=True)
    if config.weights:
        config = config.updated(weights=str(Path(config.weights).resolve()))
    jobs, clashes = check_outputs(jobs, out)
    ledger = Ledger(out)
    ledger.rejected = [dataclasses.asdict(r) for r in (*rejected, *clashes)]
    ledger.save()
    report = _Reporter(ledger, len(jobs) + len(ledger.rejected), callback)
    for r in (*rejected, *clashes):
        report.emit(r.where, None, "failed", Outcome("", False, 0.0, r.error))
    todo = _plan(jobs, config, ledger, report)
    if todo:
        token = secrets.token_hex(16)
        write_atomic(out / PROBE_NAME, token.encode())
        try:
            _dispatch(todo, out, token, report, workers, threads, ray)
        finally:
            (out / PROBE_NAME).unlink(missing_ok=True)
    return report.summary


def _plan(jobs: Sequence[Job], config: Config, ledger: Ledger, report: _Reporter) -> list:
    """Fingerprint every job; report those that can be skipped; return (job, config, stamp) to run."""
    todo, hashes = [], {}
    for job in jobs:
        try:
            cfg = job.config(config)
            stamp = fingerprint(job, cfg, hashes)
        except (OSError, ValueError, TypeError) as exc:
            report.record(job, {}, Outcome(job.output, False, 0.0, _one_line(exc)))
            continue
        if ledger.is_fresh(job, stamp):
            report.emit(job.where, job.output, "skipped")
        else:
            todo.append((job, cfg, stamp))
    return todo


def _dispatch(todo: list, out: Path, token: str, report: _Reporter, workers, threads, ray) -> None:
    if ray is not None:
        return _run_ray(todo, str(out), token, report, ray, threads)
    n = workers
    if n is None:
        n = default_workers(todo[0][1].device, max(job_memory(cfg) for _, cfg, _ in todo))
    if n == 0:
        for job, cfg, stamp in todo:
            report.record(job, stamp, run_job(job, cfg, str(out), token))
        return None
    n = min(n, len(todo))
    _run_local(todo, str(out), token, report, n, threads or max(1, usable_cpus() // n))
    return None


def job_memory(cfg: Config) -> int:
    """Bytes one job may peak at (an estimate from the working size, rounded up from measurements)."""
    return _BASE_MEMORY + _PIXEL_MEMORY * cfg.size**2


def default_workers(device: str = "auto", per_job: int = job_memory(_DEFAULTS)) -> int:
    """Local worker processes: one per core, as many as the available memory holds (``per_job`` bytes
    each); 1 with a CUDA GPU (all jobs share it).  One thread per process rather than fewer processes
    with more threads: threads waiting on each other cost far more than they gain on a busy machine
    (measured in docs/batch.md), and the memory cap keeps big jobs from swapping."""
    if device in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            return 1
    return max(1, min(usable_cpus(), usable_memory() // per_job))


def usable_memory() -> int:
    """MemAvailable on Linux, else the physical memory, else (unknown) no limit."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _run_local(todo: list, out: str, token: str, report: _Reporter, workers: int, threads: int) -> None:
    """A pool of spawned processes, at most ``workers`` jobs in flight.  A worker that dies (killed by
    the OS for want of memory, say) breaks the pool: the jobs in flight are failed, a new pool goes on."""
    import multiprocessing

    queue = deque(todo)
    while queue:
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(threads,),
        )
        try:
            _feed(pool, queue, out, token, report, workers)
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)


def _feed(
    pool: ProcessPoolExecutor, queue: deque, out: str, token: str, report: _Reporter, limit: int
) -> None:
    """Keep ``limit`` jobs in flight until the queue is empty or the pool breaks."""
    running: dict[Future, tuple] = {}
    while queue or running:
        while queue and len(running) < limit:
            job, cfg, stamp = queue.popleft()
            running[pool.submit(run_job, job, cfg, out, token)] = (job, stamp)
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        broken = [f for f in finished if isinstance(f.exception(), BrokenProcessPool)]
        for f in finished:
            if f not in broken:
                job, stamp = running.pop(f)
                report.record(job, stamp, _result(f, job))
        if broken:
            dead = "its worker process died (killed by the system: out of memory?)"
            for job, stamp in running.values():
                report.record(job, stamp, Outcome(job.output, False, 0.0, dead))
            return


def _result(future: Future, job: Job) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # e.g. a result that could not be sent back
        return Outcome(job.output, False, 0.0, f"worker error: {_one_line(exc)}")


def _stop(pool: ProcessPoolExecutor) -> None:
    """Kill the workers now (they ignore Ctrl-C), not after their jobs end."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------------------------- Ray


def import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray, which is not installed: pip install 'dpst[ray]'") from None
    return ray


def _run_ray(todo: list, out: str, token: str, report: _Reporter, address: str, threads: int | None) -> None:
    """The jobs as Ray tasks, one GPU each on a cluster that has GPUs, else ``threads`` CPUs each.  Ray
    reuses worker processes, so the module-level network cache loads the weights once per process."""
    ray = import_ray()
    started = _connect(ray, address)
    refs: dict = {}
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        cpus = 1 if gpus else threads or 1
        task = ray.remote(num_gpus=1 if gpus else 0, num_cpus=cpus, max_retries=1)(_ray_job)
        refs = {
            task.options(memory=job_memory(cfg)).remote(job, cfg, out, token, cpus): (job, stamp)
            for job, cfg, stamp in todo
        }
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            job, stamp = refs.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except Exception as exc:  # the worker died, the node was lost...
                outcome = Outcome(job.output, False, 0.0, f"Ray: {_one_line(exc)}")
            report.record(job, stamp, outcome)
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _connect(ray, address: str) -> bool:
    """Join the cluster at ``address`` ("local": start a private one here).  True if we started Ray."""
    if ray.is_initialized():
        return False
    import logging

    if address == "local":
        ray.init(include_dashboard=False, logging_level=logging.WARNING)
    else:
        ray.init(address=address, logging_level=logging.WARNING)
    return True


# ---------------------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    from .cli import add_config_arguments

    p = argparse.ArgumentParser(
        prog="dpst batch",
        description="Restyle many photos, resumably: finished jobs are skipped when run again.",
        epilog="MANIFEST: CSV with a header row, or JSON Lines; columns content, style, optional "
        "content_mask, style_mask, output, and any setting below by its field name (size, iterations, ...).",
    )
    p.add_argument("manifest", nargs="?", help="CSV or JSONL file, one job per row")
    p.add_argument("--content", metavar="DIR", help="restyle every image in DIR (with --style)")
    p.add_argument("--style", metavar="PHOTO", help="the style photo for --content DIR")
    p.add_argument("-o", "--outdir", required=True, help="folder for the results and the ledger")
    workers = "local worker processes (default: one a core, as memory allows; 0: in this process)"
    p.add_argument("--workers", type=int, metavar="N", help=workers)
    threads = "torch threads per job (default: cores / workers; 1 on Ray)"
    p.add_argument("--threads", type=int, metavar="N", help=threads)
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on a Ray cluster: auto (the one 'ray start' made), HOST:PORT, ray://HOST:PORT, "
        "or local (a private Ray on this machine); needs pip install 'dpst[ray]'",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="only failures and the summary")
    add_config_arguments(p)
    return p


def _jobs_from_args(args: argparse.Namespace) -> tuple[list[Job], list[Rejected]]:
    if (args.manifest is None) == (args.content is None):
        raise ValueError("give a MANIFEST, or --content DIR with --style PHOTO (not both)")
    if args.manifest is not None:
        if args.style is not None:
            raise ValueError("--style goes with --content DIR; a manifest names its style photos itself")
        return read_manifest(args.manifest)
    if args.style is None:
        raise ValueError("--content DIR needs --style PHOTO")
    if Path(args.content).resolve() == Path(args.outdir).resolve():
        raise ValueError("--content and -o are the same folder; write the results to another folder")
    return jobs_from_folder(args.content, args.style), []


class StatusLines:
    """The CLI's view of the events: a bar over jobs and a line per job."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar = quiet, None

    def __call__(self, e: JobEvent) -> None:
        if self.bar is None and not self.quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=e.total, unit="job", dynamic_ncols=True, file=sys.stderr)
        if e.status == "failed":
            self._say(f"failed  {e.where}: {e.error}")
        elif not self.quiet:
            took = f" ({e.seconds:.1f} s)" if e.status == "done" else " (unchanged)"
            self._say(f"{e.status:<7} {e.output}{took}")
        for note in e.warnings:
            self._say(f"warning {e.output}: {note}")
        if self.bar is not None:
            self.bar.update(1)

    def _say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``dpst batch``: 0 all done or skipped, 1 some job failed, 130 Ctrl-C; usage errors raise ValueError."""
    from .cli import config_from_args

    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    if config.weights and not Path(config.weights).is_file():
        raise ValueError(f"--weights {config.weights}: no such file")
    if args.ray is not None:
        import_ray()
    jobs, rejected = _jobs_from_args(args)
    status = StatusLines(args.quiet)
    try:
        summary = run_batch(
            jobs,
            args.outdir,
            config,
            rejected=rejected,
            workers=args.workers,
            threads=args.threads,
            ray=args.ray,
            callback=status,
        )
    except KeyboardInterrupt:
        status.close()
        print(
            "dpst batch: interrupted; finished results are kept, run the same command to resume",
            file=sys.stderr,
        )
        return 130
    status.close()
    ledger = Path(args.outdir) / LEDGER_NAME
    print(
        f"{summary.done} done, {summary.skipped} skipped, {summary.failed} failed; ledger {ledger}",
        file=sys.stderr,
    )
    return summary.exit_code


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
