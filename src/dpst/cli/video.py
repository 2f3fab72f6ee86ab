"""``dpst video IN STYLE -o OUT``: restyle a clip, stable in time (docs/video.md).

Each shot's middle frame is restyled with the full method, and the shot's look is carried to all its
frames as a 3D LUT fitted to that result, with local colour maps that follow the scene along optical
flow (``--look local``, the default).  Ctrl-C while the frames are written leaves a playable
OUT with the frames done (exit 130); before that (finding the shots, restyling keyframes) nothing is
written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import io
from ..api import Stylizer
from ..neural.lbfgs import Interrupted
from ..video import io as vio
from ..video.pipeline import VideoProgress, VideoSettings, find_shots, restyle_video
from .common import (
    EXIT_INTERRUPTED,
    ArgumentParser,
    DownloadBar,
    PhaseLines,
    ProgressBar,
    add_config_arguments,
    add_lut_arguments,
    add_settings_arguments,
    add_verbosity_arguments,
    config_from_args,
    lut_settings_from_args,
    settings_from_args,
)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="dpst video",
        description="Restyle a clip in the look of STYLE, stable in time: hard cuts start a new shot; each "
        "shot's middle frame is restyled with the full method and its look (a 3D LUT and local colour "
        "maps that follow the scene) carried to every frame of the shot. H.264 out, with the clip's "
        "frame rate, timestamps, pixel aspect, colour tags and audio.",
    )
    p.add_argument("input", metavar="IN", help="the clip (any format PyAV/ffmpeg reads)")
    p.add_argument("style", help="the reference photo whose look to take")
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="the clip to write (.mp4, .mov, .mkv)"
    )
    p.add_argument(
        "--content-mask",
        action="append",
        metavar="M",
        help="colour-coded mask of a shot's keyframe; give one per shot, in order (see --save-keyframes)",
    )
    p.add_argument("--style-mask", help="colour-coded mask of the style photo (with --content-mask)")
    p.add_argument(
        "--save-keyframes",
        metavar="DIR",
        help="write each shot's keyframe to DIR as shotNN.png (to draw masks on) and stop",
    )
    add_verbosity_arguments(p, "no progress bars")
    add_settings_arguments(p, VideoSettings)
    add_config_arguments(p)
    add_lut_arguments(p)
    return p


class Bars:
    """The library's VideoProgress as a tqdm bar per phase (scan, render), a line per keyframe, and
    ``steps`` (the keyframes' step bars) closed once the last keyframe is done."""

    def __init__(self, quiet: bool, steps: ProgressBar | None = None) -> None:
        self.quiet, self.steps, self.bar, self.phase, self.frames = quiet, steps, None, "", 0

    def __call__(self, p: VideoProgress) -> None:
        if p.phase == "keyframe":
            self.close()
            if p.done == p.total and self.steps is not None:
                self.steps.close()
            if not self.quiet and p.done == 0:
                print(f"dpst: {p.shots} shot(s) in {self.frames} frames", file=sys.stderr)
            if not self.quiet and p.done < p.total:
                print(
                    f"dpst: shot {p.shot} of {p.shots}: restyling its keyframe", file=sys.stderr, flush=True
                )
            return
        if p.phase == "scan":
            self.frames = p.total
        if self.quiet:
            return
        if p.phase != self.phase or self.bar is None:
            from tqdm import tqdm

            self.close()
            self.phase = p.phase
            desc = "finding shots" if p.phase == "scan" else "writing frames"
            self.bar = tqdm(total=p.total, desc=desc, unit="frame", dynamic_ncols=True, file=sys.stderr)
        self.bar.update(p.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_video(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    settings = VideoSettings(**settings_from_args(args, VideoSettings))
    lut = lut_settings_from_args(args)
    if (args.content_mask is None) != (args.style_mask is None):
        raise ValueError("give --content-mask (one per shot) and --style-mask together, or neither")
    output = None if args.save_keyframes else vio.check_video_output(args.output, args.input)
    io.load_image(args.style, "style")  # a bad style photo is refused before the clip is read
    config = config_from_args(args)
    info = vio.probe(args.input)
    stylizer = Stylizer(config, on_download=DownloadBar(args.quiet))
    given = args.content_mask is not None
    steps = ProgressBar(output, args.quiet, save_every=0)
    bars = Bars(args.quiet, steps)
    try:
        try:
            if args.save_keyframes:
                shots = find_shots(args.input, info, settings, bars)
                bars.close()
                return save_keyframes(shots, Path(args.save_keyframes), args.quiet)
            restyle_video(
                args.input,
                args.style,
                output,
                stylizer,
                settings,
                lut,
                content_masks=args.content_mask,
                style_mask=args.style_mask,
                callback=bars,
                step_callback=steps,
                on_phase=PhaseLines(
                    lambda: stylizer.segmenter(given=given)[1], args.verbose, args.quiet, steps
                ),
                info=info,
            )
        finally:  # the bars go before any line below
            steps.close()
            bars.close()
    except (Interrupted, KeyboardInterrupt):
        print("dpst: interrupted before any frame was written; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except vio.Interrupted as stop:
        print(f"dpst: interrupted; wrote the first {stop.frames} frames to {stop.path}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def save_keyframes(shots, folder: Path, quiet: bool) -> int:
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--save-keyframes {folder}: is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    for k, shot in enumerate(shots):
        path = io.save_image(shot.keyframe / 255.0, folder / f"shot{k + 1:02d}.png")
        if not quiet:
            print(f"wrote {path} (frames {shot.start}-{shot.end - 1}, keyframe {shot.key})", file=sys.stderr)
    return 0
