"""What the benchmark scripts share: the example pairs, settings from ``--set`` text, provenance
(machine, commit), results files, doc sections and contact sheets.

The benchmarks are scripts, not part of the package, and use dpst's public names only.  Importing
this module puts the working tree's ``src/`` first on ``sys.path``, so a script measures the code
beside it, installed or not::

    import common  # noqa: F401  (first, before dpst)
    from dpst import Config
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "src" / "dpst").is_dir() and str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

EXAMPLES = ROOT.parent / "shared" / "examples"  # the paper's pairs: input/, style/, segmentation/, ...
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
METRICS = ("affine_rms", "style_swd", "style_gram")
# the authors' published results of pair i, by stage: what quality.py and stage1.py compare with
AUTHORS = {"final": "paper_final/best{i}_t_1000.png", "stage1": "paper_stage1/out{i}_t_1000.png"}


# --- pairs ----------------------------------------------------------------------------------------


def parse_ids(spec: str) -> list[int]:
    """'1-3,7' → [1, 2, 3, 7]."""
    ids: list[int] = []
    try:
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            ids += range(int(lo), int(hi or lo) + 1)
    except ValueError:
        raise ValueError(f"--ids {spec!r}: expected numbers and ranges like 1-20 or 1,4,7-9") from None
    return ids


def pair_files(root: Path, i: int, authors: str = "final") -> dict[str, Path]:
    """The files of pair ``i`` under the examples folder ``root`` (content, style, their hand-drawn
    masks, the authors' result at ``authors``: final or stage1); FileNotFoundError naming the missing."""
    files = {
        "content": root / f"input/in{i}.png",
        "style": root / f"style/tar{i}.png",
        "content_mask": root / f"segmentation/in{i}.png",
        "style_mask": root / f"segmentation/tar{i}.png",
        "authors": root / AUTHORS[authors].format(i=i),
    }
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"pair {i}: missing {', '.join(missing)} (is --pairs the examples folder?)")
    return files


# --- settings from text ---------------------------------------------------------------------------


def parse_values(item: str, cls: type | None = None) -> tuple[str, list[Any]]:
    """``KEY=VALUE`` or ``KEY=A,B,...`` → (the field of ``cls`` (default: Config), its values read as
    the field's type by dpst's one parser, :func:`dpst.settings.parse_setting`).  KEY may be the
    field's name or its flag (``lambda``); a field whose own values hold commas
    (``style_layers=1,1,1,1,1``, a tuple) takes the whole text as one value."""
    from dpst.settings import find_setting, parse_setting, setting_fields

    if cls is None:
        from dpst.config import Config as cls
    key, sep, text = item.partition("=")
    try:
        f = find_setting(cls, key) if sep else None
    except ValueError:
        f = None
    if f is None:
        names = ", ".join(f.name for f in setting_fields(cls))
        raise ValueError(f"--set {item!r}: expected KEY=VALUE with KEY one of {names}")
    one = f.metadata["kind"] is tuple or (isinstance(f.default, str) and "," in f.default)
    try:
        values = [parse_setting(f, v.strip()) for v in ([text] if one else text.split(","))]
    except ValueError as exc:
        raise ValueError(f"--set {item!r}: {exc}") from None
    return f.name, values


def parse_sweep(items: Sequence[str], cls: type | None = None) -> list[dict[str, Any]]:
    """Every combination of the ``--set`` items' values, in order: ``["a=1,2", "b=x"]`` →
    ``[{a: 1, b: x}, {a: 2, b: x}]``; one item per key, or the same key again to add values to it."""
    swept: dict[str, list[Any]] = {}
    for item in items:
        key, values = parse_values(item, cls)
        swept.setdefault(key, []).extend(v for v in values if v not in swept.get(key, []))
    return [dict(zip(swept, combo)) for combo in itertools.product(*swept.values())]


def parse_settings(items: Sequence[str], cls: type | None = None) -> dict[str, Any]:
    """The ``--set KEY=VALUE`` items as one set of field values (ValueError for a list of values)."""
    combos = parse_sweep(items, cls)
    if len(combos) != 1:
        raise ValueError(f"--set {' '.join(items)}: give one value a field here, not a list")
    return combos[0]


# --- provenance -----------------------------------------------------------------------------------


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str = "auto") -> dict[str, Any]:
    """CPU, cores, torch and the device a run with ``Config.device == device`` gets."""
    import torch

    from dpst.resources import pick_device

    chosen = pick_device(device)
    info = {
        "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": chosen.type,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if chosen.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "src_dirty": bool(git("status", "--porcelain", "--", "src"))}


def command_line(script: str, argv: Sequence[str]) -> str:
    """How to run it again: ``python benchmarks/NAME.py ARGS``."""
    return shlex.join(["python", os.path.relpath(Path(script).resolve(), ROOT), *argv])


def provenance(script: str, argv: Sequence[str] | None) -> dict[str, Any]:
    """What a results file records of its making: the command (``argv``; None = this process's),
    the commit, the machine and the date."""
    import datetime

    return {
        "command": command_line(script, sys.argv[1:] if argv is None else argv),
        "commit": git_commit(),
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- files ----------------------------------------------------------------------------------------


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def write_json(path: Path, data: Any) -> Path:
    """``data`` as indented JSON at ``path``, written atomically (:func:`dpst.io.write_atomic`)."""
    from dpst.io import write_atomic

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, (json.dumps(data, indent=1) + "\n").encode())


def update_doc(doc: Path, section: str, name: str) -> None:
    """Replace what lies between the ``<!-- {name}:begin/end -->`` markers of ``doc`` (appending them
    if absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = doc.read_text() if doc.is_file() else "# Benchmarks\n"
    block = f"{begin}\n{section.strip()}\n{end}"
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


# --- contact sheets -------------------------------------------------------------------------------

PAD, TITLE_H, LABEL_W = 4, 18, 56


def _open(src: Image.Image | str | os.PathLike) -> Image.Image:
    if isinstance(src, Image.Image):
        return src.convert("RGB")
    with Image.open(src) as im:
        return im.convert("RGB")


def _fit_height(im: Image.Image, height: int) -> Image.Image:
    width = max(1, round(im.width * height / im.height))
    return im.resize((width, height), Image.Resampling.LANCZOS)


def contact_sheet(
    rows: Sequence[Sequence[Image.Image | str | os.PathLike]],
    labels: Sequence[str],
    out_path: str | os.PathLike,
    height: int = 160,
    row_labels: Sequence[str] | None = None,
) -> Path:
    """Lay out ``rows`` of images (each resized to ``height`` px, aspect kept) in a grid whose columns
    are titled by ``labels``; optional ``row_labels`` go in a left margin.  Writes PNG, or JPEG
    (quality 85, to keep docs/ small) when ``out_path`` ends in .jpg/.jpeg.  Returns the path."""
    if not rows:
        raise ValueError("contact_sheet: no rows to draw")
    n_cols = max(len(r) for r in rows)
    if len(labels) != n_cols:
        raise ValueError(f"contact_sheet: {len(labels)} labels for {n_cols} columns")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"contact_sheet: {len(row_labels)} row labels for {len(rows)} rows")
    cells = [[_fit_height(_open(src), height) for src in row] for row in rows]
    col_w = [max((r[j].width for r in cells if j < len(r)), default=height) for j in range(n_cols)]
    left = LABEL_W if row_labels else 0
    sheet = Image.new(
        "RGB", (left + sum(col_w) + PAD * (n_cols + 1), TITLE_H + (height + PAD) * len(rows) + PAD), "white"
    )
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    x0 = [left + PAD + sum(col_w[:j]) + PAD * j for j in range(n_cols)]
    for j, title in enumerate(labels):
        tw = draw.textlength(title, font=font)
        draw.text((x0[j] + (col_w[j] - tw) / 2, 3), title, fill="black", font=font)
    for i, row in enumerate(cells):
        y = TITLE_H + PAD + i * (height + PAD)
        if row_labels:
            draw.text((PAD, y + height / 2 - 6), row_labels[i], fill="black", font=font)
        for j, im in enumerate(row):
            sheet.paste(im, (x0[j] + (col_w[j] - im.width) // 2, y))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".jpg", ".jpeg"):
        sheet.save(out, quality=85, optimize=True)
    else:
        sheet.save(out, optimize=True)
    return out


# --- the simulated user of benchmarks/strokes.py and masks_proxy.py -------------------------------


def simulate_strokes(
    labels: np.ndarray,
    k: int,
    rng: np.random.Generator,
    length: float = 0.08,
    width: float = 0.01,
    margin: float = 0.02,
) -> np.ndarray:
    """k strokes inside every region of ``labels`` (H, W) (ids >= 0; -1 ignored).  Returns (H, W) with
    the painted pixels' region id and ``UNLABELLED`` elsewhere."""
    from scipy.ndimage import distance_transform_edt

    from dpst.ops.palette import UNLABELLED

    h, w = labels.shape
    long = max(h, w)
    strokes = np.full((h, w), UNLABELLED, np.int64)
    yy, xx = np.mgrid[0:h, 0:w]
    for r in np.unique(labels[labels >= 0]):
        inside = distance_transform_edt(labels == r)
        for _ in range(k):
            _paint(strokes, inside, int(r), rng, length * long, max(1.0, width * long), margin * long, yy, xx)
    return strokes


def _paint(strokes, inside, r, rng, length, width, margin, yy, xx) -> None:
    h, w = inside.shape
    for _ in range(5):  # relax: halve length and margin until a stroke fits
        need = margin + width / 2
        ys, xs = np.nonzero(inside >= need)
        for _ in range(200 if len(ys) else 0):
            j = rng.integers(len(ys))
            angle = rng.uniform(0, np.pi)
            t = np.linspace(-length / 2, length / 2, max(2, int(length)))
            py, px = ys[j] + t * np.sin(angle), xs[j] + t * np.cos(angle)
            iy, ix = np.round(py).astype(int), np.round(px).astype(int)
            if iy.min() < 0 or ix.min() < 0 or iy.max() >= h or ix.max() >= w:
                continue
            if (inside[iy, ix] >= need).all():
                _draw(strokes, py, px, width, r, yy, xx)
                return
        length, margin = length / 2, margin / 2
    y, x = np.unravel_index(np.argmax(inside), inside.shape)  # a dot at the deepest point
    _draw(strokes, np.array([y]), np.array([x]), width, r, yy, xx)


def _draw(strokes, py, px, width, r, yy, xx) -> None:
    rad = width / 2
    y0, y1 = int(max(py.min() - rad - 1, 0)), int(min(py.max() + rad + 2, strokes.shape[0]))
    x0, x1 = int(max(px.min() - rad - 1, 0)), int(min(px.max() + rad + 2, strokes.shape[1]))
    sy, sx = yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
    near = np.zeros(sy.shape, bool)
    for cy, cx in zip(py, px):
        near |= (sy - cy) ** 2 + (sx - cx) ** 2 <= max(rad, 0.5) ** 2
    strokes[y0:y1, x0:x1][near] = r


BLEND_WIDTH = 2  # pixels: a hand colour no thicker than this anywhere is an anti-aliasing blend


def strokes_rgba(strokes: np.ndarray) -> Image.Image:
    """A strokes map (label ids, ``UNLABELLED`` unpainted) as the RGBA PNG ``dpst --content-mask``
    reads: palette colours on a transparent background."""
    from dpst.ops.palette import PALETTE, UNLABELLED

    rgba = np.zeros((*strokes.shape, 4), np.uint8)
    painted = strokes != UNLABELLED
    rgba[painted, :3] = PALETTE[strokes[painted]].astype(np.uint8)
    rgba[painted, 3] = 255
    return Image.fromarray(rgba, "RGBA")


def drop_blends(hands: list[np.ndarray], width: int = BLEND_WIDTH) -> list[np.ndarray]:
    """The hand masks with their anti-aliasing blends unlabelled: the authors' masks are anti-aliased,
    and the blend of two colours along an edge often lands nearest to a third (black and white blend
    to grey), leaving an outline one or two pixels wide that is no region.  A colour is a blend when
    fewer than 5% of its pixels (over both photos) lie more than ``width`` pixels inside it; a real
    region, however small (an eye, a lip), is thicker than that."""
    from scipy.ndimage import distance_transform_edt

    from dpst.ops.palette import UNLABELLED

    ids = np.unique(np.concatenate([h.ravel() for h in hands]))
    rare = []
    for c in ids[ids >= 0]:
        total = sum(int((h == c).sum()) for h in hands)
        deep = sum(int((distance_transform_edt(h == c) > width).sum()) for h in hands)
        if deep < 0.05 * total:
            rare.append(c)
    return [np.where(np.isin(h, rare), UNLABELLED, h) for h in hands]
