"""Batch jobs: one per manifest row (CSV or JSON Lines) or per photo of a folder.

MANIFEST is a CSV file with a header row, or JSON Lines, one job per row: ``content``, ``style``,
optional ``content_mask``/``style_mask``, ``output`` (a file name inside OUTDIR; default
``<content stem>__<style stem>.png``) and any :class:`~dpst.config.Config` field as a per-job setting.
Relative paths are read from the manifest's folder.
"""

from __future__ import annotations

import csv
import difflib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import io
from ..config import Config, config_fields
from ..errors import first_line
from ..files.formats import RAW_SUFFIXES
from ..settings import parse_setting

PATH_COLUMNS = ("content", "style", "content_mask", "style_mask")
# what --content DIR takes (HEIC, AVIF and raw files need dpst[photo]: a job without it fails saying so)
IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif", ".avif",
    *sorted(RAW_SUFFIXES),
)  # fmt: skip
# A worker holds one network on one device for all its jobs, so these cannot change per job.
PER_BATCH = ("weights", "device")
_FIELDS = {f.name: f for f in config_fields()}


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
            rejected.append(Rejected(where, first_line(exc)))
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
    """A per-job setting, converted to its Config field's type (:func:`dpst.settings.parse_setting`)."""
    if key not in _FIELDS:
        hint = difflib.get_close_matches(key, [*_FIELDS, *PATH_COLUMNS, "output"], n=1)
        raise ValueError(f"unknown setting {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    if key in PER_BATCH:
        raise ValueError(f"{key} cannot change per job; give --{key} for the whole batch")
    return parse_setting(_FIELDS[key], value)


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
