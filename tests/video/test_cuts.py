from __future__ import annotations

import numpy as np

from dpst.video import cuts
from dpst.video import io as vio
from dpst.video.pipeline import THUMB_WIDTH
from tests.video.conftest import CUTS_BY_EYE


def _hists(path):
    info = vio.probe(path)
    step = max(1, info.width // THUMB_WIDTH)
    return np.stack([cuts.histogram(f[::step, ::step]) for _, f in vio.read_frames(path, info)])


def test_the_cuts_of_the_real_clips_are_the_ones_found_by_eye(clips):
    for name in ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4"):
        assert cuts.find_cuts(cuts.distances(_hists(clips / name))) == CUTS_BY_EYE[name], name


def test_a_lone_spike_is_a_cut_a_ramp_is_not():
    d = np.array([0, 0.05, 0.04, 0.9, 0.05, 0.05, 0.3, 0.35, 0.4, 0.3, 0.05])
    assert cuts.find_cuts(d) == [3]
    assert cuts.shots([3], 11) == [(0, 3), (3, 11)]
    assert cuts.shots([], 5) == [(0, 5)]


def test_histogram_and_distance():
    black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    h = np.stack([cuts.histogram(black), cuts.histogram(black), cuts.histogram(white)])
    assert np.allclose(h.sum(1), 1) and np.allclose(cuts.distances(h), [0, 0, 1])
