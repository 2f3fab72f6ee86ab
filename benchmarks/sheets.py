"""Contact sheets for the benchmark docs: rows of images at one height, with column titles.

Import from another benchmark script with ``from sheets import contact_sheet`` (run from benchmarks/,
or after putting benchmarks/ on ``sys.path``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PAD = 4
TITLE_H = 18
LABEL_W = 56


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
