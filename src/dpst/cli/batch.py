"""``dpst batch``: restyle many photos, resumably, on this machine's cores or a Ray cluster.

dpst batch MANIFEST -o OUTDIR [--workers N] [--ray ADDRESS|auto|local] [settings]
dpst batch --content DIR --style PHOTO -o OUTDIR [...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..batch import (
    LEDGER_NAME,
    Job,
    JobEvent,
    Rejected,
    import_ray,
    jobs_from_folder,
    read_manifest,
    run_batch,
)
from .common import (
    ArgumentParser,
    add_config_arguments,
    add_photo_arguments,
    config_from_args,
    fetch_parser_first,
    photo_settings_from_args,
)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
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
    add_photo_arguments(p)
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
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    written = photo_settings_from_args(args)
    if config.weights and not Path(config.weights).is_file():
        raise ValueError(f"--weights {config.weights}: no such file")
    if args.ray is not None:
        import_ray()
    jobs, rejected = _jobs_from_args(args)
    if any(job.content_mask is None for job in jobs):  # automatic masks: the parser fetched once, here
        fetch_parser_first(config, args.quiet)
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
            written=written,
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
