"""``dpst score CONTENT STYLE OUTPUT``: the quality metrics of a result (lower is better)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..metrics import ratios, score, verdict
from .common import ArgumentParser


def run_score(argv: Sequence[str]) -> int:
    p = ArgumentParser(
        prog="dpst score", description="Score a result: photorealism and style match (lower is better)."
    )
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("output", help="the result to score")
    p.add_argument("--content-mask")
    p.add_argument("--style-mask")
    p.add_argument("--no-gram", action="store_true", help="skip style_gram (needs the VGG weights)")
    p.add_argument(
        "--against",
        metavar="OTHER",
        help="also score another result of the same pair (the authors', say) and say on which "
        "metrics OUTPUT loses to it, and by how much",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    args = p.parse_args(argv)
    masks = (args.content_mask, args.style_mask)
    r = score(args.content, args.style, args.output, *masks, gram=not args.no_gram)
    if args.against is None:
        print(json.dumps(r) if args.json else "  ".join(f"{k} {v:.3f}" for k, v in r.items()))
        return 0
    other = score(args.content, args.style, args.against, *masks, gram=not args.no_gram)
    ratio = ratios(r, other)
    if args.json:
        print(json.dumps({"output": r, "against": other, "ratio": ratio}))
        return 0
    for k in r:
        flag = "  worse" if ratio[k] > 1 else ""
        print(f"{k:10s} {r[k]:8.3f}  against {other[k]:8.3f}  ratio {ratio[k]:.2f}{flag}")
    print(verdict(r, other, args.against))
    return 0
