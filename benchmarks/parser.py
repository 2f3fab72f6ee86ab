"""Scene-parser speed: SegFormer-B0 and -B2 (their architectures written in
``dpst.segment.semantic``, random weights: this machine cannot download the real ones) on a 700 px
photo, parsed at ``PARSE_SIZE``, then the whole ``semantic_labels`` of a pair (both photos, the merge,
the edge-aware refinement at 700 px).  Quality needs the real weights and is not measured here.

    python benchmarks/parser.py --pairs ../shared/examples --id 1

Writes ``--json`` and the section between ``<!-- parser:begin/end -->`` of ``--doc``.  Run it alone.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import common
import torch
from common import git_commit, machine, pair_files, update_doc, write_json

from dpst.io import load_image
from dpst.segment.semantic import ADE20K_LABELS, B0_CONFIG, B2_CONFIG, SceneParser, semantic_labels


def build(arch: dict) -> SceneParser:
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    torch.manual_seed(0)
    labels = dict(enumerate(ADE20K_LABELS))
    cfg = SegformerConfig(num_labels=150, id2label=labels, label2id={v: k for k, v in labels.items()}, **arch)
    return SceneParser(SegformerForSemanticSegmentation(cfg), labels, "random")


def best_of(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES)
    p.add_argument("--id", type=int, default=1)
    p.add_argument("--json", type=Path, default=common.RESULTS / "parser.json")
    p.add_argument("--doc", type=Path, default=common.DOCS / "masks.md")
    args = p.parse_args(argv)
    f = pair_files(args.pairs, args.id)
    content, style = load_image(f["content"]), load_image(f["style"])
    rows = {}
    for name, arch in (("SegFormer-B0", B0_CONFIG), ("SegFormer-B2", B2_CONFIG)):
        parser = build(arch)
        params = sum(t.numel() for t in parser.model.parameters()) / 1e6
        parser.logits(content)  # warm up
        one = best_of(lambda parser=parser: parser.logits(content))
        pair = best_of(lambda parser=parser: semantic_labels(parser, content, style))
        rows[name] = {"params_m": params, "parse_one_s": one, "pair_s": pair}
        print(f"{name}: {params:.1f} M parameters, {one:.2f} s a photo, {pair:.2f} s a pair", flush=True)
    command = common.command_line(__file__, sys.argv[1:] if argv is None else argv)
    m, commit = machine(), git_commit()
    write_json(args.json, {"command": command, "commit": commit, "machine": m, "rows": rows,
                           "date": datetime.date.today().isoformat(), "pair": args.id})  # fmt: skip
    lines = [
        f"Random weights, pair {args.id} (700 px; parsed at a long side of 512), best of 3, {m['cpu']} "
        f"({m['cores']} cores, {m['torch_threads']} threads), run alone; commit {commit['commit'][:7]}, "
        f"{datetime.date.today().isoformat()}:",
        "",
        f"    {command}",
        "",
        "| architecture | parameters | one photo s | a pair (both photos, merge, refine) s |",
        "|---|---|---|---|",
        *[
            f"| {k} | {v['params_m']:.1f} M | {v['parse_one_s']:.2f} | {v['pair_s']:.2f} |"
            for k, v in rows.items()
        ],
    ]
    update_doc(args.doc, "\n".join(lines), "parser")
    return 0


if __name__ == "__main__":
    sys.exit(main())
