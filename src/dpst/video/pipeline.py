"""``restyle_video``: a clip in the look of a style photo, stable in time.

1. scan: the clip is decoded once and cut into shots (:mod:`.cuts`);
2. keyframes: the middle frame of each shot is restyled with the full method (one stylisation per
   shot, masks automatic or given), and the shot's look is fitted to it as a 3D LUT (:mod:`.carry`);
3. local looks (``look="local"``, the default): what the LUT misses of the keyframe's result, as
   smooth local affine colour maps, is followed along optical flow to every frame (:mod:`.track`);
4. render: every frame goes through its shot's LUT (and its local maps) and is encoded (:mod:`.io`),
   audio copied.

The library never prints: each step reports a :class:`VideoProgress` to ``callback``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import io
from ..api import Callback, PhaseHook, Stylizer
from ..lut import LutSettings
from ..ops.lut import apply_table, fit_table
from ..settings import check_settings, setting
from . import carry, cuts, track
from . import io as vio

THUMB_WIDTH = 160  # cut detection looks at frames scaled down to about this width


VIDEO_GROUP = "video settings"


@dataclass(frozen=True)
class VideoSettings:
    """How a clip is cut into shots and encoded.  Every field is a CLI flag."""

    cut_threshold: float = setting(
        0.2,
        "colour-histogram distance (0-1) of consecutive frames over which a hard cut starts a new shot "
        "(it must also stand out from its neighbours)",
        above=0,
        max=1,
        group=VIDEO_GROUP,
    )
    look: str = setting(
        "local",
        "how the keyframe's look reaches the other frames: local (the shot's LUT plus local colour maps "
        "that follow the scene along optical flow, keeping more of the keyframe's region-by-region look) "
        "or lut (the shot's LUT alone: a pointwise colour map)",
        choices=("local", "lut"),
        group=VIDEO_GROUP,
    )
    lut_scope: str = setting(
        "shot",
        "clip (one LUT fitted to every shot's keyframe and result: the same colours look the same across "
        "cuts; with --look local each shot's own look is kept by its local maps) or shot (each shot its "
        "own LUT)",
        choices=("clip", "shot"),
        group=VIDEO_GROUP,
    )
    local_radius: float = setting(
        0.06,
        "with --look local: size of the local colour maps' windows, as a fraction of the frame's long "
        "side (smaller keeps more local look, larger is steadier)",
        above=0,
        max=0.5,
        group=VIDEO_GROUP,
    )
    sharp_radius: float = setting(
        0.015,
        "with --look local: the windows on a shot the optical flow follows well (see --sharp-tracked), "
        "which keeps more of the keyframe's look without flicker there; 0 = --local-radius on every shot "
        "(docs/video.md)",
        min=0,
        max=0.5,
        group=VIDEO_GROUP,
    )
    sharp_tracked: float = setting(
        0.8,
        "with --look local: a shot gets --sharp-radius windows when on average at least this share of "
        "its frames' pixels is followed back to the keyframe (the rest: --local-radius)",
        min=0,
        max=1,
        group=VIDEO_GROUP,
    )
    crf: int = setting(
        18, "H.264 quality, 0 (lossless) to 51; lower is better", min=0, max=51, group=VIDEO_GROUP
    )
    encoder_preset: str = setting(
        "veryfast",
        "x264 speed preset (ultrafast ... veryslow): slower gives smaller files",
        choices=(
            "ultrafast",
            "superfast",
            "veryfast",
            "faster",
            "fast",
            "medium",
            "slow",
            "slower",
            "veryslow",
        ),
        group=VIDEO_GROUP,
    )

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class VideoProgress:
    """``phase``: scan (frames decoded to find cuts), keyframe (shot ``shot`` of ``shots`` is being
    restyled), render (frames written); ``done`` of ``total`` in that phase."""

    phase: str
    done: int
    total: int
    shot: int = 0
    shots: int = 0


@dataclass
class Shot:
    start: int  # first frame
    end: int  # one past the last frame
    key: int  # the keyframe's index
    keyframe: np.ndarray | None = None  # (H, W, 3) uint8
    result: np.ndarray | None = None  # the keyframe restyled, (H, W, 3) uint8
    table: np.ndarray | None = None  # the shot's LUT, (N, N, N, 3)
    small: list[np.ndarray] | None = None  # its frames on the tracking grid (look "local")
    local: np.ndarray | None = None  # the keyframe's (12, h, w) local maps (:mod:`.track`)
    # the same with sharp windows, and the share of tracked pixels from which render uses them
    sharp: np.ndarray | None = None
    sharp_tracked: float = 1.0
    tracked: float = 0.0  # the share of the shot's pixels followed to the keyframe (set by render)

    @property
    def sharp_used(self) -> bool:
        """Whether render follows the sharp maps on this shot (once ``tracked`` is known)."""
        return self.sharp is not None and self.tracked >= self.sharp_tracked


def find_shots(
    path: str | os.PathLike,
    info: vio.VideoInfo,
    settings: VideoSettings = VideoSettings(),
    callback: Callable[[VideoProgress], None] | None = None,
) -> list[Shot]:
    """The clip's shots, each with its middle frame as keyframe (decoded; two passes over the clip),
    and with ``settings.look == "local"`` its frames on the tracking grid."""
    step = max(1, info.width // THUMB_WIDTH)
    hists = []
    for i, (_, frame) in enumerate(vio.read_frames(path, info)):
        hists.append(cuts.histogram(frame[::step, ::step]))
        if callback is not None:
            callback(VideoProgress("scan", i + 1, info.frames))
    found = cuts.find_cuts(cuts.distances(np.stack(hists)), settings.cut_threshold)
    shots = [Shot(a, b, (a + b - 1) // 2) for a, b in cuts.shots(found, len(hists))]
    keys = {s.key: s for s in shots}
    local = settings.look == "local"
    grid = track.track_size(info.height, info.width)
    for s in shots:
        s.small = [] if local else None
    k = 0
    for i, (_, frame) in enumerate(vio.read_frames(path, info)):
        if i in keys:
            keys[i].keyframe = frame
        if local:
            k += i == shots[k].end  # shots are consecutive: frame i is in shot k or starts shot k + 1
            shots[k].small.append(track.shrink(frame, grid))
    return shots


def carry_local(shots: Sequence[Shot], settings: VideoSettings = VideoSettings()) -> None:
    """Each shot's local maps (:mod:`.track`), fitted on its keyframe's LUT output and full result,
    with ``local_radius`` windows and (``sharp_radius`` > 0) with sharp ones too; :func:`render`
    follows them to every frame of the shot, one shot at a time (so memory holds one shot's tracks,
    not the clip's), and uses the sharp ones on a shot the flow follows well.  Shots without
    tracking frames (``look="lut"``) keep the LUT alone.

    Why two: small windows keep more of the keyframe's look, but where the flow loses track a map
    that changes quickly across the frame flickers.  Measured on the test clips (docs/video.md):
    1.5% windows lowered the warping error where at least 84% of a shot's pixels stayed tracked
    (carphone 9.8 -> 7.8) and raised it where fewer did (bikes' first shot, 77%: 4.3 -> 6.2)."""
    if settings.look != "local":
        return
    for shot in shots:
        if shot.small is None or shot.result is None or shot.table is None:
            continue
        grid = shot.small[0].shape[:2]
        base = apply_table(shot.table, shot.keyframe / 255.0)
        base = track.shrink((base * 255 + 0.5).astype(np.uint8), grid)
        result = track.shrink(shot.result, grid)
        shot.local = track.fit_local(base, result, settings.local_radius)
        sharp = settings.sharp_radius > 0
        shot.sharp = track.fit_local(base, result, settings.sharp_radius) if sharp else None
        shot.sharp_tracked = settings.sharp_tracked


def stylise_keyframes(
    shots: Sequence[Shot],
    style: io.ImageLike,
    stylizer: Stylizer,
    lut: LutSettings | None = None,
    *,
    content_masks: Sequence[io.ImageLike] | None = None,
    style_mask: io.ImageLike | None = None,
    callback: Callable[[VideoProgress], None] | None = None,
    step_callback: Callback | None = None,
    on_phase: PhaseHook | None = None,
) -> None:
    """Restyle each shot's keyframe (``content_masks``: one mask per shot, with ``style_mask``; or
    automatic masks) and fit the shot's LUT to it (``lut``: default :class:`LutSettings`)."""
    lut = lut or LutSettings()
    if content_masks is not None and len(content_masks) != len(shots):
        raise ValueError(
            f"the clip has {len(shots)} shots but {len(content_masks)} content masks were given; give one "
            "per shot, in order (--save-keyframes DIR writes the keyframes to draw them on)"
        )
    for k, shot in enumerate(shots):
        if callback is not None:
            callback(VideoProgress("keyframe", k, len(shots), k + 1, len(shots)))
        image = stylizer(
            shot.keyframe,
            style,
            content_mask=None if content_masks is None else content_masks[k],
            style_mask=style_mask if content_masks is not None else None,
            callback=step_callback,
            on_phase=on_phase,
        )
        shot.result = np.asarray(image.convert("RGB"))
        shot.table = carry.fit_look(shot.keyframe, shot.result, lut.size, lut.smoothness, lut.anchor)
    if callback is not None:
        callback(VideoProgress("keyframe", len(shots), len(shots), len(shots), len(shots)))


def share_look(shots: Sequence[Shot], lut: LutSettings | None = None) -> None:
    """One LUT for the whole clip (``--lut-scope clip``): fitted to every shot's keyframe and result
    together, each shot weighted by its length in frames, and given to every shot.  Where shots show
    the same colours they then get the same look across a cut; what a shot's own result does
    differently, region by region, is left to its local maps (:func:`carry_local`, fitted after
    this on the shared LUT's output)."""
    done = [s for s in shots if s.keyframe is not None and s.result is not None]
    if len(done) < 2:
        return
    lut = lut or LutSettings()
    src = np.concatenate([s.keyframe.reshape(-1, 3) for s in done]).astype(np.float32) / 255.0
    dst = np.concatenate([s.result.reshape(-1, 3) for s in done]).astype(np.float32) / 255.0
    pixels = [s.keyframe.shape[0] * s.keyframe.shape[1] for s in done]
    weights = np.concatenate([np.full(n, (s.end - s.start) / n) for s, n in zip(done, pixels)])
    table = fit_table(src, dst, lut.size, lut.smoothness, lut.anchor, weights)
    for s in done:
        s.table = table


def carry_look(
    shots: Sequence[Shot], settings: VideoSettings = VideoSettings(), lut: LutSettings | None = None
) -> None:
    """After the keyframes: the clip's shared LUT (``settings.lut_scope == "clip"``), then the local
    maps (``settings.look == "local"``)."""
    if settings.lut_scope == "clip":
        share_look(shots, lut)
    carry_local(shots, settings)


def shot_maps(shot: Shot, tracks: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The local maps :func:`render` follows on ``shot``: the sharp ones where the flow follows at least
    ``shot.sharp_tracked`` of its pixels back to the keyframe (``tracks`` from
    :func:`dpst.video.track.track_positions`), else the smooth ones.  Sets ``shot.tracked``."""
    shot.tracked = track.tracked_share(tracks)
    return shot.sharp if shot.sharp_used else shot.local


def carried_frames(path: str | os.PathLike, info: vio.VideoInfo, shots: Sequence[Shot]) -> Iterator:
    """(pts, frame in its shot's look) for every frame of the clip."""
    starts = {s.start: s for s in shots}
    dense, shot, tracks, maps = None, None, None, None
    for i, (pts, frame) in enumerate(vio.read_frames(path, info)):
        if i in starts:
            shot = starts[i]
            dense = carry.dense_table(shot.table)
            tracks = None  # the previous shot's, freed
            if shot.local is not None and shot.small is not None:
                tracks = track.track_positions(shot.small, shot.key - shot.start)
                maps = shot_maps(shot, tracks)
        out = carry.apply_dense(dense, frame)
        if tracks is not None:
            out = track.apply_local(out, track.maps_at(maps, *tracks[i - shot.start]))
        yield pts, out


def render(
    path: str | os.PathLike,
    output: str | os.PathLike,
    info: vio.VideoInfo,
    shots: Sequence[Shot],
    settings: VideoSettings = VideoSettings(),
    callback: Callable[[VideoProgress], None] | None = None,
) -> Path:
    """Write every frame in its shot's look to ``output`` (atomically; Ctrl-C: the frames done,
    :class:`dpst.video.io.Interrupted`)."""

    def on_frame(i: int) -> None:
        if callback is not None:
            callback(VideoProgress("render", i + 1, info.frames))

    return vio.write_video(
        output,
        path,
        carried_frames(path, info, shots),
        info,
        crf=settings.crf,
        preset=settings.encoder_preset,
        on_frame=on_frame,
    )


def restyle_video(
    path: str | os.PathLike,
    style: io.ImageLike,
    output: str | os.PathLike,
    stylizer: Stylizer,
    settings: VideoSettings = VideoSettings(),
    lut: LutSettings | None = None,
    *,
    content_masks: Sequence[io.ImageLike] | None = None,
    style_mask: io.ImageLike | None = None,
    callback: Callable[[VideoProgress], None] | None = None,
    step_callback: Callback | None = None,
    on_phase: PhaseHook | None = None,
    info: vio.VideoInfo | None = None,
) -> list[Shot]:
    """The clip at ``path`` in the look of ``style``, written to ``output`` (module docstring); the
    shots, with their keyframes, results, LUTs and local maps.

    ``callback`` hears each step (:class:`VideoProgress`), ``step_callback`` and ``on_phase`` each
    keyframe's stylisation (as :class:`dpst.api.Stylizer` does); ``info``: the clip's
    :func:`dpst.video.io.probe`, if the caller has it already (probing decodes the whole clip).
    Ctrl-C while the frames are written: :class:`dpst.video.io.Interrupted`, the frames done kept."""
    info = info or vio.probe(path)
    shots = find_shots(path, info, settings, callback)
    stylise_keyframes(
        shots,
        style,
        stylizer,
        lut,
        content_masks=content_masks,
        style_mask=style_mask,
        callback=callback,
        step_callback=step_callback,
        on_phase=on_phase,
    )
    carry_look(shots, settings, lut)
    render(path, output, info, shots, settings, callback)
    return shots
