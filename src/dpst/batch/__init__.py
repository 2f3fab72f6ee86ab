"""Restyle many photos: a library (no argparse, no printing); the command is :mod:`dpst.cli.batch`.

:mod:`.manifest` turns a manifest or a folder into jobs, :mod:`.ledger` remembers what is done, and
:mod:`.runners` runs the rest on local worker processes or a Ray cluster, reporting through a callback.
"""

from __future__ import annotations

from .ledger import LEDGER_NAME, Ledger, fingerprint, sha256
from .manifest import Job, Rejected, check_outputs, default_output, jobs_from_folder, read_manifest
from .runners import (
    PROBE_NAME,
    JobEvent,
    Outcome,
    Summary,
    default_workers,
    import_ray,
    job_memory,
    run_batch,
    run_job,
    usable_cpus,
    usable_memory,
)

__all__ = [
    "LEDGER_NAME",
    "PROBE_NAME",
    "Job",
    "JobEvent",
    "Ledger",
    "Outcome",
    "Rejected",
    "Summary",
    "check_outputs",
    "default_output",
    "default_workers",
    "fingerprint",
    "import_ray",
    "job_memory",
    "jobs_from_folder",
    "read_manifest",
    "run_batch",
    "run_job",
    "sha256",
    "usable_cpus",
    "usable_memory",
]
