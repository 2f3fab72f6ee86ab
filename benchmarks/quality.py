"""Quality benchmark: dpst against the authors' published results on the paper's own pairs.

For each pair id, runs ``dpst.stylize`` (unless --no-run), times it, scores our result and the
authors' ``paper_final/best{i}_t_1000.png`` with :func:`dpst.metrics.score`, then writes

* ``--json`` (benchmarks/results/quality.json): per-pair metrics, wall times, settings, machine, commit,
  command, and a cache of the authors' scores (keyed by file hash, so they are computed once);
* ``--doc`` (docs/benchmarks.md): the section between ``<!-- quality:begin -->`` and
  ``<!-- quality:end -->`` (a table, summary figures, two scatter plots and contact sheets in img/).

Resumable: an id whose ``out{i}.png`` exists in --out, made with the same configuration (recorded in
``--out/run.json``), is not run again, and its scores are reused while the file is unchanged.

    python benchmarks/quality.py --pairs ../shared/examples --ids 1-20 --out benchmarks/runs/default
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common
import numpy as np
from common import METRICS, contact_sheet, pair_files, parse_ids, read_json, sha256, update_doc, write_json

from dpst.config import Config, preset_flags
from dpst.errors import WeightsError
from dpst.metrics import losing, ratios, score

SHEET_ROWS = 10  # pairs per contact sheet


# --- running and scoring --------------------------------------------------------------------------


def run_pair(
    files: dict[str, Path], cfg: Config, out: Path, hand_masks: bool = True, masks: tuple | None = None
) -> float:
    """Stylise one pair into ``out`` (written atomically); returns the wall time in seconds.
    Without ``hand_masks`` the drawn masks are not given (dpst then follows ``cfg.masks``); ``masks``
    (content, style) are given instead when set (strokes, say); scoring always uses the drawn masks."""
    import dpst

    t0 = time.perf_counter()
    given = masks or ((files["content_mask"], files["style_mask"]) if hand_masks else (None, None))
    image = dpst.stylize(
        files["content"],
        files["style"],
        content_mask=given[0],
        style_mask=given[1],
        config=cfg,
        callback=None,
    )
    wall = time.perf_counter() - t0
    tmp = out.with_name(out.stem + ".part.png")
    image.save(tmp)
    os.replace(tmp, out)
    return wall


def cli_command(
    files: dict[str, Path], cfg: Config, out: Path, preset: str, masks: tuple | None
) -> list[str]:
    """The ``dpst`` command line of one run: the preset plus every field where ``cfg`` differs from it."""
    cmd = [sys.executable, "-m", "dpst", str(files["content"]), str(files["style"]), "-o", str(out)]
    cmd += ["--preset", preset, "--quiet", *preset_flags(cfg, preset)]
    for flag, mask in zip(("--content-mask", "--style-mask"), masks or (None, None)):
        if mask is not None:  # strokes for one photo alone correct the automatic masks
            cmd += [flag, str(mask)]
    return cmd


def run_process(
    files: dict[str, Path], cfg: Config, out: Path, preset: str, hand_masks: bool, masks: tuple | None
) -> float:
    """Like :func:`run_pair`, in a fresh ``python -m dpst`` process: the wall time from its start to
    the written file (importing torch and loading the network included), as a user sees it."""
    given = masks or ((files["content_mask"], files["style_mask"]) if hand_masks else None)
    cmd = cli_command(files, cfg, out, preset, given)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode or not out.is_file():
        raise RuntimeError(f"{shlex.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    return wall


def cached_score(files: dict[str, Path], image: Path, cache: dict[str, Any], key: str) -> dict[str, float]:
    """Score ``image`` unless ``cache[key]`` holds scores for a file with the same hash."""
    digest = sha256(image)
    hit = cache.get(key)
    if not hit or hit.get("sha256") != digest or set(hit.get("scores", {})) != set(METRICS):
        s = score(
            files["content"], files["style"], image, files["content_mask"], files["style_mask"], gram=True
        )
        cache[key] = {"sha256": digest, "scores": s}
    return cache[key]["scores"]


def benchmark(args: argparse.Namespace, cfg: Config, authors_cache: dict | None = None) -> dict[str, Any]:
    """Run (or reuse) and score every pair; returns the results record.  ``authors_cache``: the
    authors' scores so far (default: those in ``args.json``), filled in."""
    config = json.loads(json.dumps(dataclasses.asdict(cfg)))
    config["hand_masks"] = args.masks == "hand" and args.run_masks is None
    if args.run_masks is not None:
        config["run_masks"] = str(args.run_masks)
    run_path, results_path = args.out / "run.json", args.json
    run = read_json(run_path)
    run.setdefault("pairs", {})
    if authors_cache is None:
        authors_cache = read_json(results_path).get("authors_cache", {})
    pairs: dict[str, Any] = {}
    for i in args.ids:
        files, out, key = pair_files(args.pairs, i), args.out / f"out{i}.png", str(i)
        rec = run["pairs"].get(key, {})
        fresh = out.is_file() and rec.get("config") == config and (rec.get("process") or not args.process)
        if not args.no_run and not fresh:
            print(f"pair {i:2d}: running", flush=True)
            given = None
            if args.run_masks is not None:
                found = [args.run_masks / f"{n}{i}.png" for n in ("in", "tar")]
                given = tuple(f if f.is_file() else None for f in found)  # strokes for one photo alone
            if args.process:
                wall = run_process(files, cfg, out, args.preset, args.masks == "hand", given)
            else:
                wall = run_pair(files, cfg, out, args.masks == "hand", given)
            rec = {"config": config, "wall_s": wall, "process": args.process}
            run["pairs"][key] = rec
            write_json(run_path, run)
        elif not out.is_file():
            print(f"pair {i:2d}: no {out}, skipped", file=sys.stderr)
            continue
        elif not fresh:
            print(
                f"pair {i:2d}: {out.name} was made with other settings (or unrecorded ones)", file=sys.stderr
            )
        ours = cached_score(files, out, rec, "ours")
        theirs = cached_score(files, files["authors"], authors_cache, key)
        run["pairs"][key] = rec
        write_json(run_path, run)
        no_worse = all(ours[m] <= theirs[m] for m in METRICS)
        pairs[key] = {"ours": ours, "authors": theirs, "wall_s": rec.get("wall_s"), "no_worse": no_worse}
        print(f"pair {i:2d}: " + "  ".join(f"{m} {ours[m]:.2f}/{theirs[m]:.2f}" for m in METRICS), flush=True)
    if not pairs:
        raise ValueError(f"no pair could be scored: no outputs in {args.out} and nothing was run")
    return {"pairs": pairs, "authors_cache": authors_cache, "config": config}


def summarise(pairs: dict[str, Any]) -> dict[str, Any]:
    """Means, the count of pairs no worse on all metrics, and the largest ratio ours/authors."""
    mean = {
        w: {m: float(np.mean([p[w][m] for p in pairs.values()])) for m in METRICS}
        for w in ("ours", "authors")
    }
    per_pair = {k: ratios(p["ours"], p["authors"]) for k, p in pairs.items()}
    ratio = {m: {k: r[m] for k, r in per_pair.items()} for m in METRICS}
    worst = {m: max(r.items(), key=lambda kv: kv[1]) for m, r in ratio.items()}
    walls = [p["wall_s"] for p in pairs.values() if p["wall_s"] is not None]
    return {
        "mean": mean,
        "no_worse": sum(p["no_worse"] for p in pairs.values()),
        "n": len(pairs),
        "max_ratio": {m: {"pair": int(k), "ratio": v} for m, (k, v) in worst.items()},
        "wall_s_total": float(sum(walls)) if walls else None,
        "wall_s_mean": float(np.mean(walls)) if walls else None,
    }


# --- documentation ------------------------------------------------------------------------------


def scatter(pairs: dict[str, Any], metric: str, out: Path) -> Path:
    """affine_rms (x) against ``metric`` (y), the authors' and our point of each pair joined by a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    for k, p in pairs.items():
        xs, ys = (
            [p["authors"]["affine_rms"], p["ours"]["affine_rms"]],
            [p["authors"][metric], p["ours"][metric]],
        )
        ax.plot(xs, ys, color="0.75", lw=0.8, zorder=1)
        ax.annotate(k, (xs[1], ys[1]), fontsize=7, xytext=(3, 2), textcoords="offset points")
    for who, marker, label in (("authors", "o", "authors (paper)"), ("ours", "s", "dpst (ours)")):
        ax.scatter(
            [p[who]["affine_rms"] for p in pairs.values()],
            [p[who][metric] for p in pairs.values()],
            marker=marker,
            s=22,
            label=label,
            zorder=2,
        )
    ax.set_xlabel("affine_rms (photorealism, lower is better)")
    ax.set_ylabel(f"{metric} (style match, lower is better)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def ratio_plot(pairs: dict[str, Any], out: Path, bar: float = 1.15) -> Path:
    """ours / authors per metric per pair (log scale): a point above 1 is a metric that loses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = sorted(pairs, key=int)
    fig, ax = plt.subplots(figsize=(8, 3.4), dpi=110)
    per_pair = {k: ratios(pairs[k]["ours"], pairs[k]["authors"]) for k in ids}
    for j, (m, marker) in enumerate(zip(METRICS, "os^", strict=True)):
        r = [per_pair[k][m] for k in ids]
        ax.scatter(np.arange(len(ids)) + (j - 1) * 0.22, r, marker=marker, s=20, label=m, zorder=2)
    ax.axhline(1.0, color="0.3", lw=0.8)
    ax.axhline(bar, color="0.3", lw=0.8, ls="--")
    ax.text(len(ids) - 0.5, bar, f" {bar:g}", va="bottom", ha="right", fontsize=7, color="0.3")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(ids)), ids, fontsize=8)
    ax.set_xlabel("pair")
    ax.set_ylabel("ours / authors (below 1: better)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, ncol=3, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def against_baseline(pairs: dict[str, Any], path: Path) -> dict[str, Any]:
    """Our means and per-pair scores over the pairs both runs have, against a pinned earlier run of
    this benchmark (its JSON): ratio of the means, and the pairs that got worse by over 5%."""
    base = read_json(path)
    if not base.get("pairs"):
        raise ValueError(f"--baseline {path}: not a results file of this benchmark")
    ids = [k for k in pairs if k in base["pairs"]]
    mean = {m: float(np.mean([base["pairs"][k]["ours"][m] for k in ids])) for m in METRICS}
    ours = {m: float(np.mean([pairs[k]["ours"][m] for k in ids])) for m in METRICS}
    walls = [(pairs[k]["wall_s"], base["pairs"][k]["wall_s"]) for k in ids]
    walls = [w for w in walls if None not in w]
    worse = {m: [k for k in ids if pairs[k]["ours"][m] > 1.05 * base["pairs"][k]["ours"][m]] for m in METRICS}
    return {
        "json": str(path),
        "commit": base.get("git", {}).get("commit", ""),
        "n": len(ids),
        "mean": mean,
        "ratio": ratios(ours, mean),
        "no_worse": sum(bool(base["pairs"][k]["no_worse"]) for k in ids),
        "wall_s_mean": float(np.mean([b for _, b in walls])) if walls else None,
        "speedup": float(np.mean([b for _, b in walls]) / np.mean([a for a, _ in walls])) if walls else None,
        "worse_5pct": worse,
    }


def sheets(pairs: dict[str, Any], root: Path, run_dir: Path, img_dir: Path, prefix: str) -> list[Path]:
    """Contact sheets content | style | authors | ours, SHEET_ROWS pairs each, named after the doc."""
    for old in img_dir.glob(f"{prefix}_pairs_*.jpg"):
        old.unlink()
    ids = sorted(int(k) for k in pairs)
    written = []
    for start in range(0, len(ids), SHEET_ROWS):
        chunk = ids[start : start + SHEET_ROWS]
        rows = []
        for i in chunk:
            f = pair_files(root, i)
            rows.append([f["content"], f["style"], f["authors"], run_dir / f"out{i}.png"])
        out = img_dir / f"{prefix}_pairs_{chunk[0]}-{chunk[-1]}.jpg"
        labels = ["content", "style", "authors", "dpst (ours)"]
        written.append(contact_sheet(rows, labels, out, row_labels=[f"pair {i}" for i in chunk]))
    return written


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(results: dict[str, Any], images: list[Path], doc_dir: Path) -> str:
    """The quality section of docs/benchmarks.md (without the markers)."""
    pairs, s, mach, git = results["pairs"], results["summary"], results["machine"], results["git"]
    rel = [os.path.relpath(p, doc_dir) for p in images]
    head = (
        "| pair | "
        + " | ".join(f"{m} ours | {m} authors" for m in METRICS)
        + " | wall s | no worse | loses (ours / authors) |"
    )
    lines = [
        "## Quality against the authors' results",
        "",
        f"{s['n']} pairs of `shared/examples`, scored with `dpst.metrics` (the definitions of "
        "`shared/eval/photometrics.py`; lower is better for all three): affine_rms = photorealism "
        "(local affine fit to the content), style_swd = colour match per region, style_gram = texture "
        "match per region (the paper's style loss). ✓ = ours no worse than the authors' on all three.",
        "",
        f"Settings: `{json.dumps(results['settings'])}` over the defaults of `dpst.Config` "
        f"(full configuration in `{results['json']}`). Machine: {mach['cpu']}, {mach['cores']} cores, "
        f"torch {mach['torch']}, device {mach['device']}{', ' + mach['gpu'] if 'gpu' in mach else ''}. "
        f"Commit `{git['commit'][:10]}`{' (src modified)' if git['src_dirty'] else ''}, "
        f"{results['date']}.",
        "",
        f"    {results['command']}",
        "",
        head,
        "|---:|" + "---:|" * (2 * len(METRICS) + 1) + ":---:|:---|",
    ]
    for k in sorted(pairs, key=int):
        p = pairs[k]
        cells = " | ".join(f"{_fmt(p['ours'][m])} | {_fmt(p['authors'][m])}" for m in METRICS)
        loses = ", ".join(f"{m} {r:.2f}x" for m, r in losing(p["ours"], p["authors"]).items())
        lines.append(f"| {k} | {cells} | {_fmt(p['wall_s'], 0)} | {'✓' if p['no_worse'] else ''} | {loses} |")
    means = " | ".join(
        f"**{_fmt(s['mean']['ours'][m])}** | **{_fmt(s['mean']['authors'][m])}**" for m in METRICS
    )
    lines.append(f"| mean | {means} | {_fmt(s['wall_s_mean'], 0)} | {s['no_worse']}/{s['n']} | |")
    worst = ", ".join(f"{m} {v['ratio']:.2f} (pair {v['pair']})" for m, v in s["max_ratio"].items())
    lines += [
        "",
        f"Ours is no worse than the authors' on all three metrics in **{s['no_worse']} of {s['n']}** pairs. "
        f"Largest ratio ours / authors: {worst}.",
        "",
        *_baseline_lines(results.get("baseline")),
        *(
            [
                f"![ours / authors per metric and pair]({rel_ratio})",
                "",
                "Each point: one metric of one "
                "pair, ours / the authors' (log scale; above the line at 1 it loses, dashed: 1.15).",
                "",
            ]
            if (rel_ratio := results.get("ratio_plot"))
            else []
        ),
        " ".join(f"![affine_rms against {m}]({r})" for m, r in zip(METRICS[1:], rel[:2], strict=True)),
        "",
        "Each grey line joins the authors' result of a pair to ours (numbered).",
        "",
        *(["Content | style | authors | ours:", ""] if rel[2:] else []),
        *(f"![contact sheet]({r})" for r in rel[2:]),
    ]
    return "\n".join(lines)


def _baseline_lines(b: dict[str, Any] | None) -> list[str]:
    if not b:
        return []
    ratio = " / ".join(f"{b['ratio'][m]:.3f}" for m in METRICS)
    means = " / ".join(f"{b['mean'][m]:.2f}" for m in METRICS)
    worse = "; ".join(f"{m}: {', '.join(v)}" for m, v in b["worse_5pct"].items() if v) or "none"
    speed = ""
    if b["speedup"]:
        speed = f", {b['speedup']:.2f}x as fast (baseline {b['wall_s_mean']:.0f} s a pair)"
    return [
        f"Against the pinned baseline `{b['json']}` (commit `{b['commit'][:10]}`, {b['n']} pairs: "
        f"{means}, no worse on all three in {b['no_worse']}): means x{ratio}{speed}. "
        f"Pairs over 5% worse than the baseline: {worse}.",
        "",
    ]


# --- sweeps ---------------------------------------------------------------------------------------


def sweep_point(swept: dict[str, Any], results: dict[str, Any], path: Path) -> dict[str, Any]:
    """One setting of a sweep: its values, our and the authors' means, pairs no worse, wall time."""
    pairs = results["pairs"].values()
    walls = [p["wall_s"] for p in pairs if p["wall_s"] is not None]
    return {
        "settings": swept,
        "ours": results["summary"]["mean"]["ours"],
        "authors": results["summary"]["mean"]["authors"],
        "no_worse": results["summary"]["no_worse"],
        "n": results["summary"]["n"],
        "wall_s": float(np.mean(walls)) if walls else None,
        "json": str(path),
    }


def _label(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items())


def sweep_plot(result: dict[str, Any], path: Path) -> Path:
    """Mean affine_rms against mean style_swd and style_gram, one point per setting, and the
    authors' on the same pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    pts = result["points"]
    for ax, metric in zip(axes, METRICS[1:]):
        x = [p["ours"]["affine_rms"] for p in pts]
        y = [p["ours"][metric] for p in pts]
        ax.plot(x, y, "o-", color="tab:blue", label=f"dpst, {result['preset']} preset")
        for p, xi, yi in zip(pts, x, y):
            ax.annotate(
                _label(p["settings"]), (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=8
            )
        a = pts[0]["authors"]
        ax.plot([a["affine_rms"]], [a[metric]], "s", color="tab:red", label="authors (published)")
        ax.set_xlabel("mean affine_rms (lower = more photorealistic)")
        ax.set_ylabel(f"mean {metric} (lower = closer style)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{' x '.join(result['keys'])} sweep, pairs {result['ids']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_markdown(result: dict[str, Any], image: Path, doc_dir: Path) -> str:
    """The sweep section of docs/benchmarks.md (without the markers)."""
    keys = result["keys"]
    lines = [
        f"## Trade-off: {' x '.join(keys)} sweep",
        "",
        f"Pairs {result['ids']}, `--preset {result['preset']}`, measured {result['date']} "
        f"(commit `{result['git']['commit'][:10]}`) by",
        "",
        f"    {result['command']}",
        "",
        "| " + " | ".join(keys) + " | " + " | ".join(METRICS) + " | no worse | wall s per pair |",
        "|---" * len(keys) + "|" + "---|" * (len(METRICS) + 2),
    ]
    for p in result["points"]:
        values = " | ".join(f"{p['settings'][k]:g}" if isinstance(p["settings"][k], float) else
                            str(p["settings"][k]) for k in keys)  # fmt: skip
        cells = " | ".join(f"{p['ours'][m]:.2f}" for m in METRICS)
        lines.append(f"| {values} | {cells} | {p['no_worse']}/{p['n']} | {_fmt(p['wall_s'], 0)} |")
    a = result["points"][0]["authors"]
    lines.append("| authors" + " |" * len(keys) + " " + " | ".join(f"{a[m]:.2f}" for m in METRICS) + " | | |")
    lines += ["", f"![sweep]({os.path.relpath(image, doc_dir)})"]
    return "\n".join(lines)


def sweep(args: argparse.Namespace, argv: list[str], combos: list[dict[str, Any]]) -> dict[str, Any]:
    """The benchmark once per combination of the swept values, each in ``--out/KEY=VALUE,...`` with
    its own results file there (resumable like a single run); ``--json`` gets the means of each, and
    ``--doc`` the section between ``<!-- sweep:begin/end -->``, with a plot."""
    keys = [k for k in combos[0] if len({repr(c[k]) for c in combos}) > 1]
    points, authors = [], {}  # the authors' scores, computed once for every setting
    for settings in combos:
        swept = {k: settings[k] for k in keys}
        tag = ",".join(f"{k}={v}" for k, v in swept.items())
        folder = args.out / tag
        run_args = argparse.Namespace(**{**vars(args), "out": folder, "json": folder / "quality.json"})
        print(f"{tag}:", flush=True)
        results = run(run_args, settings, argv, doc=None, authors_cache=authors)
        points.append(sweep_point(swept, results, run_args.json))
    result = {
        "keys": keys,
        "preset": args.preset,
        "ids": ",".join(map(str, args.ids)),
        "points": points,
        "command": common.command_line(__file__, argv),
        "git": common.git_commit(),
        "date": datetime.date.today().isoformat(),
    }
    write_json(args.json, result)
    image = sweep_plot(result, args.doc.parent / "img" / f"{args.doc.stem}_sweep.png")
    update_doc(args.doc, sweep_markdown(result, image, args.doc.parent), name="sweep")
    return result


# --- pairs whose verdict changed ------------------------------------------------------------------


def changed_sheet(pairs: Path, runs: tuple[Path, Path], results: tuple[Path, Path], out: Path) -> list[int]:
    """Contact sheet (content | style | before | after | authors) of the pairs whose verdict against
    the authors changed between two runs of this benchmark (their --out folders and --json files);
    returns those pairs."""
    before, after = (read_json(p)["pairs"] for p in results)
    changed = sorted(int(i) for i in after if i in before and after[i]["no_worse"] != before[i]["no_worse"])
    rows, labels = [], []
    for i in changed:
        files = pair_files(pairs, i)
        rows.append([files["content"], files["style"], *(r / f"out{i}.png" for r in runs), files["authors"]])
        labels.append(f"{i} {'+' if after[str(i)]['no_worse'] else '-'}")
    if rows:
        titles = ["content", "style", "before", "after", "authors"]
        contact_sheet(rows, titles, out, height=150, row_labels=labels)
    return changed


# --- CLI -------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--pairs", type=Path, default=common.EXAMPLES, help="the examples folder (input/, style/, ...)"
    )
    p.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"), help="pair ids, e.g. 1-20 or 1,4,7-9")
    p.add_argument("--out", type=Path, default=Path("benchmarks/runs/default"), help="folder of our outputs")
    p.add_argument("--preset", default="default", help="a dpst preset (fast, default, quality, paper)")
    p.add_argument(
        "--masks",
        choices=("hand", "auto", "none"),
        default="hand",
        help="hand: the drawn masks (default); auto: dpst finds regions (--set masks=NAME picks which "
        "design, e.g. unsupervised); none: whole photos. Scores always use the drawn masks",
    )
    p.add_argument(
        "--run-masks",
        type=Path,
        default=None,
        metavar="DIR",
        help="give dpst DIR/in{i}.png and DIR/tar{i}.png as masks (e.g. strokes from benchmarks/strokes.py); "
        "scores still use the drawn masks",
    )
    p.add_argument("--size", type=int, default=None, help="working size (Config.size; default: the preset's)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE[,VALUE...]",
        help="a Config field (its name or flag, e.g. photo_weight or lambda); several values sweep it: "
        "the benchmark runs once per value (per combination, over several keys) and documents the means",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="results file (default: benchmarks/results/quality.json, or sweep.json for a sweep)",
    )
    p.add_argument("--doc", type=Path, default=Path("docs/benchmarks.md"))
    p.add_argument("--no-run", action="store_true", help="only score and document existing outputs")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="JSON",
        help="a pinned earlier results file of this benchmark to compare the means against "
        "(e.g. benchmarks/results/quality_baseline.json)",
    )
    p.add_argument(
        "--process",
        action="store_true",
        help="run each pair as a fresh `python -m dpst` process and time it from start to the written "
        "file (else in this process, the network loaded once)",
    )
    p.add_argument(
        "--no-sheets", action="store_true", help="no contact sheets (they show the example photos)"
    )
    p.add_argument(
        "--changed-sheet",
        nargs=3,
        metavar=("BEFORE_DIR", "BEFORE_JSON", "OUT"),
        help="after the run, a contact sheet of the pairs whose verdict changed from an earlier run "
        "(its --out and --json) to this one",
    )
    return p


def run(
    args: argparse.Namespace,
    settings: dict[str, Any],
    argv: list[str],
    doc: Path | None,
    authors_cache: dict | None = None,
) -> dict:
    """One run of the benchmark at ``settings`` (Config fields over the preset): results written to
    ``args.json``, and with ``doc`` its section, plots and contact sheets."""
    if args.masks != "hand" and "masks" not in settings:  # --set masks=... names the automatic design
        settings = {**settings, "masks": args.masks}
    cfg = Config.preset(args.preset, **settings)
    hand = args.masks == "hand" and not args.run_masks
    record = {"preset": args.preset, "hand_masks": hand, **settings}
    if args.run_masks is not None:
        record["run_masks"] = str(args.run_masks)
    args.out.mkdir(parents=True, exist_ok=True)
    results = benchmark(args, cfg, authors_cache)
    results.update(
        settings=record,
        summary=summarise(results["pairs"]),
        machine=common.machine(cfg.device),
        git=common.git_commit(),
        command=common.command_line(__file__, argv),
        date=datetime.date.today().isoformat(),
        json=str(args.json),
    )
    if args.baseline is not None:
        results["baseline"] = against_baseline(results["pairs"], args.baseline)
    if doc is None:
        write_json(args.json, results)
        return results
    img = doc.parent / "img"
    plot = ratio_plot(results["pairs"], img / f"{doc.stem}_ratios.png")
    results["ratio_plot"] = os.path.relpath(plot, doc.parent)
    write_json(args.json, results)
    images = [scatter(results["pairs"], m, img / f"{doc.stem}_{m}.png") for m in METRICS[1:]]
    if not args.no_sheets:
        images += sheets(results["pairs"], args.pairs, args.out, img, doc.stem)
    update_doc(doc, markdown(results, images, doc.parent), name="quality")
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    try:
        combos = common.parse_sweep(args.set)
        if args.size is not None:
            combos = [{"size": args.size, **c} for c in combos]
        if len(combos) > 1:
            args.json = args.json or common.RESULTS / "sweep.json"
            result = sweep(args, argv, combos)
            print(f"{len(result['points'])} settings; wrote {args.json} and {args.doc}")
            return 0
        args.json = args.json or common.RESULTS / "quality.json"
        results = run(args, combos[0], argv, args.doc)
        if args.changed_sheet:
            before_dir, before_json, out = map(Path, args.changed_sheet)
            changed = changed_sheet(args.pairs, (before_dir, args.out), (before_json, args.json), out)
            print(f"pairs whose verdict changed: {changed}; wrote {out}" if changed else "no verdict changed")
    except (ValueError, FileNotFoundError, WeightsError) as exc:
        print(f"quality.py: {exc}", file=sys.stderr)
        return 2
    s = results["summary"]
    print(f"no worse on all three in {s['no_worse']}/{s['n']} pairs; wrote {args.json} and {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
