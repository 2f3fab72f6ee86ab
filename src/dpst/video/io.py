"""Reading and writing video with PyAV, keeping what makes the output the same clip: frame rate,
time base and each frame's timestamp, resolution and pixel (sample) aspect ratio, the colour tags
(matrix, range, primaries, transfer) and the audio.

Colours: frames are converted to 8-bit RGB with the matrix and range the stream is tagged with
(BT.601 when untagged, as ffmpeg assumes) and back with the same ones, and the output is tagged the
same, so a round trip does not shift colours.  Audio packets are copied as they are (no re-encoding)
when the output container takes the codec, else re-encoded to AAC.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import io
from ..errors import MissingExtra, first_line

# (Kr, Kb) of each tagged AVColorSpace's matrix (BT.709, BT.601 as 470BG and SMPTE 170M, SMPTE 240M,
# BT.2020); untagged and anything else: BT.601, as ffmpeg assumes
_K = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 7: (0.212, 0.087), 9: (0.2627, 0.0593)}
_K[10] = _K[9]
_SWS = {1: 1, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}  # swscale's matrix numbers for those AVColorSpace tags
_BT601 = _K[5]
_JPEG_RANGE = 2  # AVCOL_RANGE_JPEG: full range; anything else is read as limited ("MPEG") range
WRITABLE = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}


def _av():
    try:
        import av
    except ImportError:
        raise MissingExtra("video", "dpst video (PyAV)") from None
    return av


@dataclass(frozen=True)
class VideoInfo:
    """What a clip's video stream is, and what its copy keeps."""

    width: int
    height: int
    frames: int  # as counted by decoding (the container's count may be missing)
    rate: Fraction  # average frame rate
    time_base: Fraction
    sample_aspect: Fraction | None  # pixel aspect ratio; None when square / unset
    colorspace: int  # AVColorSpace tag (2: unspecified)
    color_range: int  # AVColorRange tag (0: unspecified, 1: limited, 2: full)
    color_primaries: int
    color_trc: int
    has_audio: bool

    @property
    def duration(self) -> float:
        return self.frames / float(self.rate)


def _open(path: str | os.PathLike):
    av, p = _av(), Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if not p.is_file():
        raise ValueError(f"{p}: not a regular file, not a video")
    try:
        container = av.open(str(p))
    except av.FFmpegError as exc:
        raise ValueError(f"{p}: not a video PyAV can read ({first_line(exc)})") from None
    fmt = container.format.name
    if fmt == "image2" or fmt.endswith("_pipe"):  # ffmpeg reads a photo as a one-frame "video"
        container.close()
        raise ValueError(f"{p}: a still image ({fmt}), not a video")
    if not container.streams.video:
        container.close()
        raise ValueError(f"{p}: has no video stream")
    return container


def probe(path: str | os.PathLike) -> VideoInfo:
    """The clip's :class:`VideoInfo` (decodes it once to count the frames)."""
    with _open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        n = sum(1 for _ in _decode(c, s, Path(path)))
        cc = s.codec_context
        if n == 0:
            raise ValueError(f"{path}: its video stream has no frames")
        sar = s.sample_aspect_ratio
        return VideoInfo(
            width=cc.width,
            height=cc.height,
            frames=n,
            rate=Fraction(s.average_rate or s.guessed_rate or 25),
            time_base=Fraction(s.time_base),
            sample_aspect=Fraction(sar) if sar and Fraction(sar) not in (0, 1) else None,
            colorspace=int(cc.colorspace),
            color_range=int(cc.color_range),
            color_primaries=int(cc.color_primaries),
            color_trc=int(cc.color_trc),
            has_audio=bool(c.streams.audio),
        )


def _decode(container, stream, path: Path) -> Iterator:
    av = _av()
    try:
        yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise ValueError(f"{path}: cannot decode its video ({first_line(exc)})") from None


def _matrix(info: VideoInfo) -> np.ndarray:
    """(3, 3) float32 RGB -> (Y, Cb, Cr), each in [0, 1] / [-0.5, 0.5] for RGB in [0, 1]."""
    kr, kb = _K.get(info.colorspace, _BT601)
    kg = 1.0 - kr - kb
    return np.array(
        [
            [kr, kg, kb],
            [-kr / (2 - 2 * kb), -kg / (2 - 2 * kb), 0.5],
            [0.5, -kg / (2 - 2 * kr), -kb / (2 - 2 * kr)],
        ],
        np.float32,
    )


def _levels(info: VideoInfo) -> tuple[float, float, float]:
    """(Y offset, Y scale, chroma scale) of the 8-bit code values: limited range 16-235 / 16-240."""
    return (0.0, 255.0, 255.0) if info.color_range == _JPEG_RANGE else (16.0, 219.0, 224.0)


# Departure from swscale: its 8-bit YUV -> RGB conversion truncates, so a decode-encode round trip
# darkened the frames by about one level (-1.1 mean on bigbuckbunny.mp4); this one rounds to nearest
# (chroma replicated 2x2), which leaves the round trip unbiased.
def _to_rgb(frame, info: VideoInfo) -> np.ndarray:
    h, w = frame.height, frame.width
    if h % 2 or w % 2:  # odd sizes: swscale's conversion
        return frame.to_ndarray(format="rgb24")
    yuv = frame.to_ndarray(format="yuv420p")
    off, ys, cs = _levels(info)
    inv = np.linalg.inv(_matrix(info))  # R, G, B from Y, Cb, Cr: Y's column is all ones
    y = (yuv[:h].astype(np.float32) - off) * np.float32(255.0 / ys) + np.float32(0.5)
    cb, cr = (yuv[h:].reshape(2, h // 2, w // 2).astype(np.float32) - 128.0) * np.float32(255.0 / cs)
    rgb = np.empty((h, w, 3), np.uint8)
    for k in range(3):  # the chroma part at half size, replicated 2x2, plus the full-size luma
        part = np.float32(inv[k, 1]) * cb + np.float32(inv[k, 2]) * cr
        full = y + np.repeat(np.repeat(part, 2, axis=0), 2, axis=1)
        rgb[..., k] = np.clip(full, 0, 255)
    return rgb


def _to_yuv420(rgb: np.ndarray, info: VideoInfo) -> np.ndarray:
    """(H * 3 / 2, W) uint8 planes Y, Cb, Cr of an (H, W, 3) uint8 RGB frame of even size."""
    h, w = rgb.shape[:2]
    off, ys, cs = _levels(info)
    m = _matrix(info)
    planes = np.empty((h * 3 // 2, w), np.uint8)
    f = [rgb[..., k].astype(np.float32) for k in range(3)]
    y = (m[0, 0] * ys / 255.0) * f[0] + (m[0, 1] * ys / 255.0) * f[1] + (m[0, 2] * ys / 255.0) * f[2]
    planes[:h] = np.clip(y + (off + 0.5), 0, 255)
    q = [c.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3)) for c in f]  # 2x2 sums, H/2 x W/2
    for k, rows in ((1, slice(h, h + h // 4)), (2, slice(h + h // 4, h * 3 // 2))):
        c = (m[k, 0] * q[0] + m[k, 1] * q[1] + m[k, 2] * q[2]) * (cs / 255.0 / 4.0) + 128.5
        planes[rows] = np.clip(c, 0, 255).reshape(-1, w)
    return planes


def read_frames(path: str | os.PathLike, info: VideoInfo | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(pts, (H, W, 3) uint8 RGB) for every frame of the clip, in presentation order."""
    info = info or probe(path)
    with _open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for frame in _decode(c, s, Path(path)):
            yield frame.pts, _to_rgb(frame, info)


def check_video_output(path: str | os.PathLike, source: str | os.PathLike) -> Path:
    """Fail early, before any work, if ``path`` cannot be written as a video (or is the input)."""
    out = Path(path)
    if out.suffix.lower() not in WRITABLE:
        raise ValueError(f"{out}: write the video as {', '.join(WRITABLE)} (H.264)")
    io.check_writable(out)
    if out.exists() and Path(source).exists() and out.resolve() == Path(source).resolve():
        raise ValueError(f"{out}: is the input clip; write the result elsewhere")
    return out


class Interrupted(Exception):
    """Ctrl-C while writing: the file holds the ``frames`` frames done (it is closed and playable)."""

    def __init__(self, path: Path, frames: int) -> None:
        super().__init__(f"interrupted after {frames} frames")
        self.path, self.frames = path, frames


def write_video(
    path: str | os.PathLike,
    source: str | os.PathLike,
    frames: Iterator[tuple[int, np.ndarray]],
    info: VideoInfo,
    *,
    crf: int = 18,
    preset: str = "veryfast",
    on_frame: Callable[[int], None] | None = None,
) -> Path:
    """Encode ``frames`` ((pts, RGB uint8) in the source's time base) as H.264 into ``path``
    (atomically: a temporary file renamed when done), with ``source``'s audio, rate, timestamps,
    pixel aspect and colour tags.  ``on_frame(i)`` after frame i is written.  Ctrl-C
    (KeyboardInterrupt, from anywhere in the loop) finishes the file with the frames done and raises
    :class:`Interrupted`."""
    out = Path(path)
    stopped: list[int] = []

    def encode(fh) -> None:
        n = _encode(fh, WRITABLE[out.suffix.lower()], source, frames, info, crf, preset, on_frame)
        if n is not None:
            stopped.append(n)

    io.write_atomic(out, encode)
    if stopped:
        raise Interrupted(out, stopped[0])
    return out


def _encode(fh, fmt, source, frames, info, crf, preset, on_frame) -> int | None:
    """Write the video; the number of frames done if Ctrl-C stopped it, else None."""
    av = _av()
    with av.open(fh, "w", format=fmt) as out, _open(source) as src:
        v = _video_stream(out, info, crf, preset)
        audio = _AudioCopy(out, src) if info.has_audio else None
        done, stop = 0, None
        try:
            for pts, rgb in frames:
                for p in v.encode(_frame(av, rgb, pts, info)):
                    out.mux(p)
                done += 1
                if audio is not None:  # interleaved: the audio up to this frame's time
                    audio.copy(float((pts + 1) * info.time_base))
                if on_frame is not None:
                    on_frame(done - 1)
        except KeyboardInterrupt:
            stop = done
        for p in v.encode():
            out.mux(p)
        if audio is not None:  # all of it, or as much as the frames done cover
            audio.copy(None if stop is None else done / float(info.rate))
            audio.close()
        return stop


def _video_stream(out, info: VideoInfo, crf: int, preset: str):
    v = out.add_stream("libx264", rate=info.rate)
    v.width, v.height, v.pix_fmt = info.width, info.height, "yuv420p"
    v.time_base = info.time_base
    v.codec_context.time_base = info.time_base
    v.options = {"crf": str(crf), "preset": preset}
    cc = v.codec_context
    if info.sample_aspect is not None:
        cc.sample_aspect_ratio = info.sample_aspect
    cc.colorspace, cc.color_range = info.colorspace, info.color_range
    cc.color_primaries, cc.color_trc = info.color_primaries, info.color_trc
    return v


def _frame(av, rgb: np.ndarray, pts: int, info: VideoInfo):
    # swscale's RGB -> YUV is unbiased (within 0.15 level) into limited range and fast; into full
    # range it was off by up to 1.1 levels, so full range takes the numpy conversion.
    odd = rgb.shape[0] % 2 or rgb.shape[1] % 2
    if odd or info.color_range != _JPEG_RANGE:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
            format="yuv420p", dst_colorspace=_SWS.get(info.colorspace, 5), dst_color_range=1
        )
    else:
        frame = av.VideoFrame.from_ndarray(_to_yuv420(rgb, info), format="yuv420p")
    frame.pts, frame.time_base = pts, info.time_base
    frame.colorspace, frame.color_range = info.colorspace, info.color_range
    return frame


class _AudioCopy:
    """The source's first audio stream into ``out``: packets copied as they are when the container
    takes the codec, else decoded and re-encoded to AAC."""

    def __init__(self, out, src) -> None:
        self.out, self.a = out, src.streams.audio[0]
        try:
            self.o, self.encoder = out.add_stream_from_template(self.a), False
        except (ValueError, _av().FFmpegError):
            self.o = out.add_stream("aac", rate=self.a.codec_context.sample_rate or 48000)
            self.encoder = True
        self.packets, self.held = src.demux(self.a), None

    def copy(self, until: float | None) -> None:
        """Packets that start before ``until`` seconds (None: all that are left)."""
        while True:
            packet, self.held = self.held or next(self.packets, None), None
            if packet is None:
                return
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            if until is not None and packet.pts is not None and packet.pts * self.a.time_base >= until:
                self.held = packet
                return
            if self.encoder:
                for f in packet.decode():
                    f.pts = None
                    for p in self.o.encode(f):
                        self.out.mux(p)
            else:
                packet.stream = self.o
                self.out.mux(packet)

    def close(self) -> None:
        if self.encoder:
            for p in self.o.encode():
                self.out.mux(p)
