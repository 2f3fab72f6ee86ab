"""Per-pair choices of the default preset: stage 2 at several λ from one stage 1, each finished with and
without the local affine filter, scored against the authors; then per-pair rules replayed on them.

    python benchmarks/per_pair.py --pairs ../shared/examples --ids 1-20 --out /tmp/per_pair \
        [--lambdas 3000,9000,27000] [--json benchmarks/results/per_pair.json]

For each pair: stage 1 of the default preset once (hand masks), then stage 2 from its result at each
λ, each finished twice (filter on, filter off) and written to ``OUT/lam{λ}_f{0,1}/out{i}.png``; every
result is scored (affine_rms, style_swd, style_gram: :func:`dpst.metrics.score`, hand masks), and the
quantities dpst sees at run time are recorded: the unweighted terms at the start of stage 2 (what
``--photo-balance`` uses) and each finish's local-affine residual and working-size texture term (what
``--f-pick`` uses).  Resumable: pairs in ``OUT/log.json`` are not run again.  Then it replays rules on
the recorded results (metrics interpolated linearly in log λ between the swept values, clipped to their
range) and prints, per rule, the pairs no worse than the authors on all three metrics and the means.
About two minutes a pair on 2 cores; run it alone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import METRICS, git_commit, pair_files, parse_ids, read_json, write_json  # noqa: E402
from sheets import contact_sheet  # noqa: E402

from dpst import api, io  # noqa: E402
from dpst.config import Config  # noqa: E402
from dpst.metrics import affine_rms, default_net, score  # noqa: E402
from dpst.neural.lbfgs import run_lbfgs  # noqa: E402
from dpst.ops.tensor import to_tensor  # noqa: E402
from dpst.ops.upsample import affine_upsample  # noqa: E402


def sweep_pair(st: api.Stylizer, i: int, files: dict, cfg: Config, lambdas: list[float], out: Path) -> dict:
    """Stage 1 once, stage 2 at each λ, both finishes of each: the same steps as Stylizer.optimise and
    Stylizer.finish (at λ = cfg.photo_weight, f_pick off, the filtered file is the default's result
    before per-pair choices, bit for bit: checked on pair 9)."""
    t0 = time.perf_counter()
    pair = api.prepare(files["content"], files["style"], files["content_mask"], files["style_mask"], cfg.size)
    torch.manual_seed(cfg.seed)
    coarse = pair.at(cfg.stage1_size)
    weights = {"content": cfg.content_weight, "style": cfg.style_weight, "tv": cfg.tv_weight}
    x = to_tensor(api.initial_image(coarse, cfg.init, cfg.seed), st.device)
    x = run_lbfgs(x, st.objective(coarse, cfg), weights, cfg.steps(1), history=cfg.history, stage=1)
    dev = st.device
    x = affine_upsample(
        to_tensor(pair.content, dev), to_tensor(coarse.content, dev), x, cfg.carry_radius, cfg.carry_eps
    ).clamp(0, 1)
    objective = st.objective(pair, cfg)
    objective.add_term("photo", api.photorealism_term(pair.content, dev))
    with torch.no_grad():
        start = {k: float(v) for k, v in objective(x).items()}
    record: dict = {"stage2_start": start, "runtime": {}}
    for lam in lambdas:
        y = run_lbfgs(x, objective, {**weights, "photo": lam}, cfg.steps(2), history=cfg.history, stage=2)
        for filt in (True, False):
            image = st.finish(pair, y, cfg.updated(photo_weight=lam, filter=filt, f_pick=False))
            path = out / f"lam{lam:g}_f{int(filt)}" / f"out{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            io.save_image(image, path)
            result = io.load_image(path, "result")
            small = torch.nn.functional.interpolate(
                to_tensor(result, dev), size=pair.content.shape[:2], mode="area"
            )
            with torch.no_grad():
                texture = float(objective(small)["style"])
            record["runtime"][f"lam{lam:g}_f{int(filt)}"] = {
                "affine": affine_rms(pair.content_full, result),
                "texture": texture,
            }
    record["wall_s"] = time.perf_counter() - t0
    return record


def interpolate(scores: dict, i: int, lambdas: list[float], lam: float, f: int) -> dict[str, float]:
    xs = np.log(lambdas)
    x = float(np.clip(np.log(lam), xs[0], xs[-1]))
    return {
        m: float(np.interp(x, xs, [scores[f"lam{v:g}_f{f}"][str(i)][m] for v in lambdas])) for m in METRICS
    }


def replay(log: dict, scores: dict, authors: dict, lambdas: list[float], ids: list[int], cfg: Config) -> list:
    """Per rule: (name, pairs no worse on all three, means, pairs lost)."""

    def balanced(i: int, rho: float) -> float:
        s = log[str(i)]["stage2_start"]
        return api.balanced_lambda(s["style"], s["photo"], cfg.updated(photo_balance=rho))

    def nearest(lam: float) -> float:
        return min(lambdas, key=lambda v: abs(math.log(v / lam)))

    def picked(i: int, lam: float) -> int:
        rt = log[str(i)]["runtime"]
        key = nearest(lam)
        s = {f: api.finish_score(**rt[f"lam{key:g}_f{f}"]) for f in (0, 1)}
        return 0 if s[0] < s[1] else 1

    rules = {
        f"lambda {v:g}, filter {'on' if f else 'off'}": (lambda i, v=v, f=f: (v, f))
        for v in lambdas
        for f in (1, 0)
    }
    rules["lambda 9000, --f-pick"] = lambda i: (9000.0, picked(i, 9000.0))
    for rho in (0.4, 0.6, 0.8, 1.0):
        rules[f"--photo-balance {rho:g}, filter on"] = lambda i, r=rho: (balanced(i, r), 1)
        rules[f"--photo-balance {rho:g}, --f-pick"] = lambda i, r=rho: (
            balanced(i, r),
            picked(i, balanced(i, r)),
        )
    rows = []
    for name, rule in rules.items():
        means = dict.fromkeys(METRICS, 0.0)
        lost = []
        for i in ids:
            lam, f = rule(i)
            ours = interpolate(scores, i, lambdas, lam, f)
            if any(ours[m] > authors[str(i)][m] for m in METRICS):
                lost.append(i)
            for m in METRICS:
                means[m] += ours[m] / len(ids)
        rows.append((name, len(ids) - len(lost), means, lost))
    return rows


def changed_sheet(pairs: Path, runs: tuple[Path, Path], results: tuple[Path, Path], out: Path) -> list[int]:
    """Contact sheet (content | style | before | after | authors) of the pairs whose verdict against
    the authors changed between two quality.py runs (their --out folders and --json files); returns
    those pairs."""
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, required=True, help="the examples folder")
    ap.add_argument("--ids", type=parse_ids, default=parse_ids("1-20"))
    ap.add_argument("--out", type=Path, help="folder for the results (resumable)")
    ap.add_argument("--lambdas", default="3000,9000,27000")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "per_pair.json")
    ap.add_argument(
        "--sheet",
        nargs=5,
        metavar=("BEFORE_DIR", "AFTER_DIR", "BEFORE_JSON", "AFTER_JSON", "OUT"),
        help="only write a contact sheet of the pairs whose verdict changed between two quality.py runs",
    )
    args = ap.parse_args(argv)
    if args.sheet:
        b_dir, a_dir, b_json, a_json, out = map(Path, args.sheet)
        print("pairs changed:", changed_sheet(args.pairs, (b_dir, a_dir), (b_json, a_json), out))
        return 0
    lambdas = sorted(float(v) for v in args.lambdas.split(","))
    cfg = Config()
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    st = api.Stylizer(cfg)
    for i in args.ids:
        if str(i) in log:
            continue
        log[str(i)] = sweep_pair(st, i, pair_files(args.pairs, i), cfg, lambdas, args.out)
        log_path.write_text(json.dumps(log, indent=1))
        print(f"pair {i}: {log[str(i)]['wall_s']:.0f} s", flush=True)
    net = default_net()
    cache_path = args.out / "scores.json"  # "variant/i" -> scores, "authors/i" -> the authors'
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    for i in args.ids:
        files = pair_files(args.pairs, i)
        images = {
            f"lam{lam:g}_f{f}": args.out / f"lam{lam:g}_f{f}" / f"out{i}.png"
            for lam in lambdas
            for f in (1, 0)
        }
        images["authors"] = files["authors"]
        for variant, image in images.items():
            if f"{variant}/{i}" not in cache:
                cache[f"{variant}/{i}"] = score(
                    files["content"],
                    files["style"],
                    image,
                    files["content_mask"],
                    files["style_mask"],
                    net=net,
                )
        cache_path.write_text(json.dumps(cache, indent=1))
    variants = [f"lam{lam:g}_f{f}" for lam in lambdas for f in (1, 0)]
    scores = {v: {str(i): cache[f"{v}/{i}"] for i in args.ids} for v in variants}
    authors = {str(i): cache[f"authors/{i}"] for i in args.ids}
    rows = replay(log, scores, authors, lambdas, args.ids, cfg)
    print(f"{'rule':42s} no worse  affine_rms style_swd style_gram  lost")
    for name, n, means, lost in rows:
        print(f"{name:42s} {n:2d}/{len(args.ids)}    " + "  ".join(f"{means[m]:8.3f}" for m in METRICS), lost)
    write_json(
        args.json,
        {
            "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "git": git_commit(),
            "lambdas": lambdas,
            "log": log,
            "scores": scores,
            "authors": authors,
            "rules": [{"rule": r[0], "no_worse": r[1], "mean": r[2], "lost": r[3]} for r in rows],
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
