"""``OUTDIR/dpst-batch.json``: what each result was made from, so a rerun skips what is done."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .. import io
from ..config import Config
from .manifest import Job

LEDGER_NAME = "dpst-batch.json"


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(
    job: Job, cfg: Config, hashes: dict[str, str] | None = None, written: io.PhotoSettings | None = None
) -> dict:
    """What a result depends on: its inputs' SHA-256, every setting but the device, and how it is
    written (``written``: those of its settings that are not the defaults, so that a ledger from before
    they existed still matches)."""
    hashes = {} if hashes is None else hashes  # path → digest, shared across the jobs of a run
    for p in job.inputs().values():
        if p not in hashes:
            hashes[p] = sha256(p)
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "device"}
    if written is not None:
        default = io.PhotoSettings()
        settings |= {k: v for k, v in dataclasses.asdict(written).items() if getattr(default, k) != v}
    return {"sha256": {k: hashes[p] for k, p in job.inputs().items()}, "settings": settings}


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

    def record(self, job: Job, stamp: dict, outcome) -> None:
        self.jobs[job.output] = {
            "status": "done" if outcome.ok else "failed",
            "where": job.where,
            "inputs": job.inputs(),
            **stamp,
            "seconds": round(outcome.seconds, 3),
            "error": outcome.error,
            "masks": outcome.masks,
            "worker": outcome.worker,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.save()

    def save(self) -> None:
        data = {"version": 1, "jobs": self.jobs, "rejected": self.rejected}
        io.write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
