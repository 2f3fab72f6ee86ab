"""``dpst models``: the scene parsers in the Hugging Face cache (name, size on disk, licence, which is
the default); ``dpst models fetch [NAME]``: download one now (the default without NAME), for machines,
containers and CI images that will run offline.  Exit 2 with one line when it cannot be fetched."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..config import DEFAULT_SEGMENTER
from ..errors import MissingExtra
from ..segment import hub, parsers, semantic
from .common import ArgumentParser, fetch_parser


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="dpst models",
        description="List the scene parsers (--masks auto/semantic) in the Hugging Face cache, or fetch one "
        "ahead of use: 'dpst models fetch' downloads the default, 'dpst models fetch NAME' another (a "
        "Hugging Face id). The cache is huggingface_hub's (HF_HOME, HF_HUB_CACHE); HF_HUB_OFFLINE=1 "
        "forbids downloads.",
    )
    p.add_argument("action", nargs="?", choices=("fetch",), help="fetch: download NAME into the cache now")
    p.add_argument(
        "name", nargs="?", default=DEFAULT_SEGMENTER, help="with fetch: the parser (default: %(default)s)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no size line or progress bar")
    return p


def run_models(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.action == "fetch":
        return fetch(args.name, args.quiet)
    print(f"scene parsers in {hub.short(hub.cache_dir())}:")
    for line in table(hub.cached()):
        print("  " + line)
    return 0


def table(found: Sequence[hub.Cached]) -> list[str]:
    """One line per cached scene parser (and the default, cached or not): name, size, licence, default."""
    rows = []
    names = set()
    for c in found:
        if c.name not in parsers.PARSERS and not is_parser(c.config):
            continue
        size = hub.megabytes(c.size) + ("" if c.complete else f" (incomplete: dpst models fetch {c.name})")
        rows.append((c.name, size, parsers.licence(c.name) or "licence: see its model card"))
        names.add(c.name)
    if DEFAULT_SEGMENTER not in names:
        card = parsers.default_card()
        rows.append((card.name, f"not cached ({card.download_mb} MB: dpst models fetch)", card.licence))
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    return [
        f"{n:<{width[0]}}  {s:>{width[1]}}  {lic}{'  (default)' if n == DEFAULT_SEGMENTER else ''}"
        for n, s, lic in sorted(rows)
    ]


def is_parser(config: dict) -> bool:
    """Does a checkpoint's config.json describe a semantic-segmentation model?"""
    return any(str(a).endswith("ForSemanticSegmentation") for a in config.get("architectures") or ())


def fetch(name: str, quiet: bool) -> int:
    """Download the parser ``name`` (unless cached), check that it loads, and print where it is."""
    if not semantic.available():
        raise MissingExtra("semantic", "dpst models fetch")
    folder = fetch_parser(name, quiet)  # a cached parser at once; downloads only what is missing
    semantic.load_folder(folder, name=name)  # a checkpoint dpst cannot use ends here, with its line
    print(f"{name}: {hub.short(folder)}")
    if parsers.licence(name) and not parsers.PARSERS[name].permissive:  # said even with -q
        print(f"dpst: {name}: {parsers.PARSERS[name].note()}", file=sys.stderr)
    return 0
