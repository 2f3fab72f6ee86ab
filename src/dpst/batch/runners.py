"""Running batch jobs: worker processes on this machine, or tasks on a Ray cluster.

The driver (this process) plans the jobs, skips those already done, hands the rest to worker
processes that each load the network once, and keeps ``OUTDIR/dpst-batch.json`` (the ledger) up to
date after every job, so Ctrl-C or a crash loses only the jobs in flight: run the same command again
to resume.  Workers write their result into OUTDIR when they can see it (they look for a token file
the driver put there) and otherwise send the file's bytes back to the driver, which writes them.
Results are written in the content photo's colour space, bit depth and metadata
(:class:`dpst.io.PhotoSettings`, one for the whole batch).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import io
from ..api import Stylizer
from ..config import Config
from ..errors import first_line
from ..neural.lbfgs import Interrupted
from ..resources import usable_cpus, usable_memory, working_bytes
from .ledger import Ledger, fingerprint
from .manifest import Job, Rejected, check_outputs

PROBE_NAME = ".dpst-batch-probe"
_DEFAULTS = Config()


@dataclass(frozen=True)
class Outcome:
    """What a worker hands back for one job."""

    output: str
    ok: bool
    seconds: float
    error: str = ""
    warnings: tuple[str, ...] = ()
    data: bytes | None = None  # the result file, when the worker could not write into OUTDIR itself
    worker: str = ""  # host:pid
    loaded: bool = False  # this job loaded the network (the first job of its worker process)
    masks: str = ""  # which masks the job used (its RunReport.masks)


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


_STYLIZERS: dict[tuple[str, str], Any] = {}  # one network per (weights, device), per worker process


def _init_worker(threads: int) -> None:
    """Pool initializer: share the cores out, and leave Ctrl-C to the driver (it stops the pool)."""
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)


def run_job(
    job: Job, cfg: Config, outdir: str, token: str = "", written: io.PhotoSettings = io.PhotoSettings()
) -> Outcome:
    """Worker side: stylise one job.  Never raises for a job's failure (any exception is the outcome).

    The result (written as ``written`` says, in the content photo's colour space, depth and metadata)
    goes into ``outdir`` when this process sees the driver's probe file there holding ``token`` (shared
    or local storage); otherwise it comes back as the file's bytes for the driver to write."""
    start, key = time.perf_counter(), (cfg.weights, cfg.device)
    loaded, worker = key not in _STYLIZERS, f"{socket.gethostname()}:{os.getpid()}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            content = io.read_photo(job.content)
            if loaded:
                _STYLIZERS[key] = Stylizer(cfg)
            result = _STYLIZERS[key].run(
                content, job.style, content_mask=job.content_mask, style_mask=job.style_mask, config=cfg
            )
        data = io.encode_photo(result.pixels(), Path(job.output).suffix, content, written)
        data = _deliver(data, Path(outdir), job.output, token)
    except Interrupted:
        raise KeyboardInterrupt from None  # Ctrl-C in an in-process run: stop the batch, not just this job
    except Exception as exc:  # a bad photo, a bad setting, out of memory: all are this job's alone
        seconds = time.perf_counter() - start
        return Outcome(job.output, False, seconds, first_line(exc), worker=worker, loaded=loaded)
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))  # each distinct warning once
    seconds = time.perf_counter() - start
    return Outcome(
        job.output, True, seconds, warnings=notes, data=data, worker=worker, loaded=loaded,
        masks=result.report.masks,
    )  # fmt: skip


def _deliver(data: bytes, outdir: Path, name: str, token: str) -> bytes | None:
    probe = outdir / PROBE_NAME
    try:
        sees_outdir = bool(token) and probe.read_text() == token
    except OSError:
        sees_outdir = False
    if sees_outdir:
        io.write_atomic(outdir / name, data)
        return None
    return data


def _ray_job(
    job: Job, cfg: Config, outdir: str, token: str, threads: int, written: io.PhotoSettings
) -> Outcome:
    import torch

    torch.set_num_threads(threads)
    return run_job(job, cfg, outdir, token, written)


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
        if outcome.ok and outcome.data is not None:  # the worker could not see OUTDIR: we write it
            try:
                io.write_atomic(self.ledger.path.parent / job.output, outcome.data)
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
    written: io.PhotoSettings = io.PhotoSettings(),
) -> Summary:
    """Run ``jobs`` (settings: ``config`` updated by each job's own) into ``outdir``, skipping those
    whose output, inputs and settings are unchanged since they were done.

    workers: local worker processes (default :func:`default_workers`; 0 = run in this process).
    threads: torch threads per job (default: the cores shared out between workers; 1 per Ray task;
    not applied when workers=0: this process keeps its own setting).
    ray: a Ray address ("auto", "HOST:PORT", "ray://HOST:PORT") or "local" (a private Ray on this machine).
    ``written``: how the results are written (colour profile, bit depth, metadata).
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
    todo = _plan(jobs, config, ledger, report, written)
    if todo:
        token = secrets.token_hex(16)
        io.write_atomic(out / PROBE_NAME, token.encode())
        try:
            _dispatch(todo, out, (token, written), report, workers, threads, ray)
        finally:
            (out / PROBE_NAME).unlink(missing_ok=True)
    return report.summary


def _plan(
    jobs: Sequence[Job], config: Config, ledger: Ledger, report: _Reporter, written: io.PhotoSettings
) -> list:
    """Fingerprint every job; report those that can be skipped; return (job, config, stamp) to run."""
    todo, hashes = [], {}
    for job in jobs:
        try:
            cfg = job.config(config)
            stamp = fingerprint(job, cfg, hashes, written)
        except (OSError, ValueError, TypeError) as exc:
            report.record(job, {}, Outcome(job.output, False, 0.0, first_line(exc)))
            continue
        if ledger.is_fresh(job, stamp):
            report.emit(job.where, job.output, "skipped")
        else:
            todo.append((job, cfg, stamp))
    return todo


def _dispatch(todo: list, out: Path, token: tuple, report: _Reporter, workers, threads, ray) -> None:
    """Run ``todo`` here, in worker processes or on Ray; ``token``: (the probe's token, PhotoSettings)."""
    if ray is not None:
        return _run_ray(todo, str(out), token, report, ray, threads)
    n = workers
    if n is None:
        n = default_workers(todo[0][1].device, max(job_memory(cfg) for _, cfg, _ in todo))
    if n == 0:
        for job, cfg, stamp in todo:
            report.record(job, stamp, run_job(job, cfg, str(out), *token))
        return None
    n = min(n, len(todo))
    _run_local(todo, str(out), token, report, n, threads or max(1, usable_cpus() // n))
    return None


def job_memory(cfg: Config) -> int:
    """Peak memory of one job at the working size (see :mod:`dpst.resources`)."""
    return working_bytes(cfg)


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


def _run_local(todo: list, out: str, token: tuple, report: _Reporter, workers: int, threads: int) -> None:
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
    pool: ProcessPoolExecutor, queue: deque, out: str, token: tuple, report: _Reporter, limit: int
) -> None:
    """Keep ``limit`` jobs in flight until the queue is empty or the pool breaks."""
    running: dict[Future, tuple] = {}
    while queue or running:
        while queue and len(running) < limit:
            job, cfg, stamp = queue.popleft()
            running[pool.submit(run_job, job, cfg, out, *token)] = (job, stamp)
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
        return Outcome(job.output, False, 0.0, f"worker error: {first_line(exc)}")


def _stop(pool: ProcessPoolExecutor) -> None:
    """Kill the workers now (they ignore Ctrl-C), not after their jobs end."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray, which is not installed: pip install 'dpst[ray]'") from None
    return ray


def _run_ray(
    todo: list, out: str, token: tuple, report: _Reporter, address: str, threads: int | None
) -> None:
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
            task.options(memory=job_memory(cfg)).remote(job, cfg, out, token[0], cpus, token[1]): (job, stamp)
            for job, cfg, stamp in todo
        }
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            job, stamp = refs.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except Exception as exc:  # the worker died, the node was lost...
                outcome = Outcome(job.output, False, 0.0, f"Ray: {first_line(exc)}")
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
