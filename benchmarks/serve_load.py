"""Load on ``dpst serve``: many clients at once through ``gradio_client``, each with runs of its own.

    python benchmarks/serve_load.py [--clients 8] [--runs 5] [--size 128] [--photo-size 160]

A ``dpst serve`` (this tree's code, the real VGG-19 weights) is started on 127.0.0.1 in a subprocess;
CLIENTS clients connect at once and each submits RUNS runs of the fast preset at SIZE px, one after
the other, every run on a pair of its own (the paper's pairs from shared/examples, shrunk to
PHOTO_SIZE px; run k of client c takes pair (c * RUNS + k) mod 20 + 1).  It checks that

- every run gets its own result: the photo's size, the command line naming its own photos, and
  closer in colour (style_swd) to its own style than its content photo is;
- the queue places each run was shown are consistent: they never grow, none is more than CLIENTS - 1,
  and for each place k shown, at least k other runs ended between then and the run's start;
- the server's memory (RSS) after all runs is within 15% of its RSS after the first RSS_AFTER runs
  (sampled as a run ends; with many clients the next run is going then, so the peak of those samples
  is reported too);
- once the clients have closed, no file of any session is left in the server's folder;

and reports the throughput (runs a minute, first submit to last result) and each run's wait in the
queue (submit to leaving the queue; the run's own time starts then, with its automatic masks).  The
machine's load average is recorded too: on a shared machine the numbers are measured under that
load.  Writes --json (a results file) and prints a table.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import common
import numpy as np

from dpst import io
from dpst.metrics import style_swd

TOLERANCE = 2.0  # seconds: how late a client may learn of an event on the server (polls, network)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8, help="clients at once (default: %(default)s)")
    p.add_argument(
        "--runs", type=int, default=5, help="runs of each client, one after the other (default: %(default)s)"
    )
    p.add_argument(
        "--size", type=int, default=128, help="working size of each run, px (default: %(default)s)"
    )
    p.add_argument(
        "--photo-size", type=int, default=160, help="long side of the photos, px (default: %(default)s)"
    )
    p.add_argument(
        "--rss-after", type=int, default=5, help="runs after which RSS is the baseline (default: %(default)s)"
    )
    p.add_argument("--pairs", type=Path, default=common.EXAMPLES, help="the examples folder")
    p.add_argument(
        "--threads", type=int, default=0, help="the server's torch threads (OMP_NUM_THREADS; 0: its own)"
    )
    p.add_argument("--json", type=Path, default=common.RESULTS / "serve_load.json", help="results file")
    return p.parse_args(argv)


# --- the server --------------------------------------------------------------------------------------


class Server:
    """``dpst serve`` in a subprocess, with its folder of files under ``files``."""

    def __init__(self, files: Path, clients: int, threads: int) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url, self.files = f"http://127.0.0.1:{self.port}/", files
        env = {**os.environ, "GRADIO_TEMP_DIR": str(files), "GRADIO_HEARTBEAT_INTERVAL": "2"}
        env["PYTHONPATH"] = os.pathsep.join([str(common.ROOT / "src"), env.get("PYTHONPATH", "")])
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        argv = [sys.executable, "-m", "dpst", "serve", "--port", str(self.port), "--device", "cpu"]
        argv += ["--queued-runs", str(max(16, clients))]
        self.log = files.parent / "serve.log"
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dpst serve exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        raise RuntimeError(f"dpst serve did not answer in 300 s: {self.log.read_text()}")

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def left(self) -> list[str]:
        """Files of sessions still in the server's folder (its lock file is its own)."""
        return [
            os.path.join(top, name)
            for top, _, names in os.walk(self.files)  # files go meanwhile: os.walk skips them
            for name in names
            if name != ".lock"
        ]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


# --- the clients -------------------------------------------------------------------------------------


def make_pairs(folder: Path, examples: Path, n: int, size: int) -> list[dict[str, Path]]:
    pairs = []
    for i in range(1, n + 1):
        files = common.pair_files(examples, i)
        pair = {}
        for key, name in (("content", f"in{i}.png"), ("style", f"tar{i}.png")):
            io.save_image(io.resize_long_side(io.load_image(files[key]), size), folder / name)
            pair[key] = folder / name
        pairs.append(pair)
    return pairs


def status(html: str) -> tuple[str, int | None]:
    """(state, places ahead) from the page's status line."""
    state = html.split('data-state="', 1)[1].split('"', 1)[0]
    ahead = html.split('data-ahead="', 1)[1].split('"', 1)[0]
    return state, int(ahead) if ahead else None


class Load:
    """The clients' runs, what each saw and when (one clock for all)."""

    def __init__(self, server: Server, pairs: list[dict[str, Path]], args: argparse.Namespace) -> None:
        self.server, self.pairs, self.args = server, pairs, args
        self.runs: list[dict] = []
        self.rss_first = 0
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def client(self, c: int, out: Path) -> None:
        from gradio_client import Client, handle_file

        client = Client(self.server.url, verbose=False, download_files=False)
        try:
            for k in range(self.args.runs):
                i = (c * self.args.runs + k) % len(self.pairs)
                pair = self.pairs[i]
                for which in ("content", "style"):
                    said = client.predict(handle_file(str(pair[which])), api_name=f"/{which}_photo")[3]
                    if said:
                        raise RuntimeError(f"client {c}: {which} photo refused: {said}")
                run = {"client": c, "run": k, "pair": i + 1, "submitted": self.now(), "places": []}
                job = client.submit("fast", 30, 9000, 0, self.args.size, api_name="/run")
                end = None
                for end in job:
                    state, ahead = status(end[0])
                    t = self.now()
                    if state == "queued" and (not run["places"] or run["places"][-1][1] != ahead):
                        run["places"].append((t, ahead))  # each place when first shown
                    elif state == "running" and run["places"] and "started" not in run:
                        run["started"] = t  # out of the queue: masks, then the steps
                run["ended"] = self.now()
                run.setdefault("started", run["ended"])
                state, _ = status(end[0])
                if state != "done":
                    raise RuntimeError(f"client {c}, run {k}: {end[0]}")
                path = out / f"c{c}_r{k}.png"
                got = urllib.request.Request(end[1]["url"], headers={"Cookie": _cookies(client.cookies)})
                with urllib.request.urlopen(got) as answer:
                    path.write_bytes(answer.read())
                run.update(result=str(path), command=end[4])
                with self.lock:
                    run["rss_mb"] = self.server.rss() / 1e6
                    self.runs.append(run)
                    if len(self.runs) == self.args.rss_after:
                        self.rss_first = self.server.rss()
        finally:
            client.close()


def _cookies(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


# --- the checks ----------------------------------------------------------------------------------------


def swd(image: np.ndarray, style: np.ndarray) -> float:
    return style_swd(image, style, np.zeros(image.shape[:2], np.int64), np.zeros(style.shape[:2], np.int64))


def check_results(runs: list[dict], pairs: list[dict[str, Path]]) -> list[str]:
    """Each run's result is its own: its photo's size, its photos named, closer to its style."""
    problems = []
    for r in runs:
        pair = pairs[r["pair"] - 1]
        out, content, style = (io.load_image(p) for p in (r["result"], pair["content"], pair["style"]))
        r["swd"], r["swd_content"] = swd(out, style), swd(content, style)
        where = f"client {r['client']} run {r['run']} (pair {r['pair']})"
        if out.shape != content.shape:
            problems.append(f"{where}: result {out.shape[1::-1]}, photo {content.shape[1::-1]}")
        if f"{pair['content'].name} {pair['style'].name}" not in r["command"]:
            problems.append(f"{where}: its command line names other photos: {r['command']}")
        if not r["swd"] < r["swd_content"]:
            problems.append(
                f"{where}: style_swd {r['swd']:.2f} not below its content's {r['swd_content']:.2f}"
            )
    return problems


def check_places(runs: list[dict], clients: int) -> list[str]:
    """The places shown never grow, are under the clients, and as many runs ended as were ahead."""
    problems = []
    for r in runs:
        where = f"client {r['client']} run {r['run']}"
        places = [a for _, a in r["places"]]
        if places != sorted(places, reverse=True) or any(a > clients - 1 for a in places):
            problems.append(f"{where}: places shown {places}")
        for t, ahead in r["places"]:
            ended = sum(
                1 for o in runs if o is not r and t - TOLERANCE < o["ended"] <= r["started"] + TOLERANCE
            )
            if ended < ahead:
                problems.append(
                    f"{where}: shown {ahead} ahead at {t:.1f} s, but {ended} ended before it started"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "photos").mkdir()
        (tmp / "files").mkdir()
        (tmp / "results").mkdir()
        n = min(20, args.clients * args.runs)
        pairs = make_pairs(tmp / "photos", args.pairs, n, args.photo_size)
        server = Server(tmp / "files", args.clients, args.threads)
        try:
            rss_start = server.rss()
            load = Load(server, pairs, args)
            errors: list[str] = []

            def go(c: int) -> None:
                try:
                    load.client(c, tmp / "results")
                except Exception as exc:  # reported below; the other clients go on
                    errors.append(f"client {c}: {type(exc).__name__}: {exc}")

            threads = [threading.Thread(target=go, args=(c,)) for c in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rss_end = server.rss()
            deadline = time.monotonic() + 60  # the closed clients' sessions go within a heartbeat or two
            while server.left() and time.monotonic() < deadline:
                time.sleep(0.5)
            left = server.left()
        finally:
            code = server.stop()
        runs = sorted(load.runs, key=lambda r: (r["client"], r["run"]))
        problems = errors + check_results(runs, pairs) + check_places(runs, args.clients)
    ratio = rss_end / load.rss_first if load.rss_first else float("nan")
    if not ratio <= 1.15:
        problems.append(
            f"RSS after all runs {rss_end / 1e6:.0f} MB is {ratio:.2f}x that after {args.rss_after}"
        )
    if left:
        problems.append(f"{len(left)} files of sessions left: {left[:3]}")
    if code != 0:
        problems.append(f"the server exited {code}")
    report = summary(runs, args, rss_start, load.rss_first, rss_end, load_before, os.getloadavg())
    report["problems"] = problems
    report["command"] = common.command_line(__file__, sys.argv[1:] if argv is None else argv)
    report.update(machine=common.machine("cpu"), **common.git_commit())
    common.write_json(args.json, report)
    print_table(report)
    for p in problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    return 1 if problems else 0


def summary(runs, args, rss_start, rss_first, rss_end, load_before, load_after) -> dict:
    if not runs:
        raise RuntimeError("no run finished")
    by_end = sorted(runs, key=lambda r: r["ended"])
    waits = [r["started"] - r["submitted"] for r in runs]
    work = [r["ended"] - r["started"] for r in runs]
    span = max(r["ended"] for r in runs) - min(r["submitted"] for r in runs) if runs else float("nan")
    return {
        "clients": args.clients,
        "runs_each": args.runs,
        "size": args.size,
        "photo_size": args.photo_size,
        "runs": len(runs),
        "wall_s": span,
        "runs_per_min": 60 * len(runs) / span if runs else 0.0,
        "wait_s": {"median": statistics.median(waits), "mean": statistics.mean(waits), "max": max(waits)},
        "run_s": {"median": statistics.median(work), "mean": statistics.mean(work)},
        "rss_mb": {
            "start": rss_start / 1e6,
            f"after_{args.rss_after}": rss_first / 1e6,
            "peak_after_that": max([r["rss_mb"] for r in by_end[args.rss_after :]], default=0.0),
            "end": rss_end / 1e6,
        },
        "own_style_closer": sum(r["swd"] < r["swd_content"] for r in runs),
        "load_average": {"before": list(load_before), "after": list(load_after)},
        "per_run": [{k: v for k, v in r.items() if k not in ("result", "command")} for r in runs],
    }


def print_table(r: dict) -> None:
    m, la = r["machine"], r["load_average"]
    loads = f"load average {la['before'][0]:.1f} before, {la['after'][0]:.1f} after"
    print(f"Machine: {m['cpu']}, {m['cores']} cores; {loads}")
    print(f"Command: {r['command']}")
    what = f"{r['runs']} ({r['clients']} clients x {r['runs_each']}), fast preset at {r['size']} px"
    print(f"Runs: {what}, photos {r['photo_size']} px, real VGG-19 weights\n")
    rss = r["rss_mb"]
    after = [k for k in rss if k.startswith("after_")][0]
    head = f"RSS (MB): {after.replace('_', ' ')} runs / peak after / end"
    print(
        f"| runs/min | wait in queue (s): median / mean / max | run (s): median | {head} | own style closer |"
    )
    print("|---:|---|---:|---|---:|")
    w = r["wait_s"]
    cells = [
        f"{r['runs_per_min']:.1f}",
        f"{w['median']:.0f} / {w['mean']:.0f} / {w['max']:.0f}",
        f"{r['run_s']['median']:.1f}",
        f"{rss[after]:.0f} / {rss['peak_after_that']:.0f} / {rss['end']:.0f}",
        f"{r['own_style_closer']} of {r['runs']}",
    ]
    print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
