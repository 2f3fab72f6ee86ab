from __future__ import annotations

import numpy as np
import pytest

from dpst.metrics import matched_iou
from dpst.neural.vgg import VGGFeatures, random_weights
from dpst.segment.auto import SegmentSettings, auto_labels, kmeans, silhouette


def _blobs(seed: int = 0, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 0.1, (n, 2)), rng.normal(3, 0.1, (n, 2))])
    return x, np.repeat([0, 1], n)


def _scene(day: bool, h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """Sky over a textured ground; 'night' darkens the sky and brightens the ground (city lights),
    so colour alone would match the wrong halves."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    horizon = h // 2 + (seed % 5)
    sky, ground = ([0.55, 0.7, 0.95], [0.3, 0.35, 0.25]) if day else ([0.05, 0.05, 0.15], [0.8, 0.6, 0.3])
    img[:horizon] = sky
    img[horizon:] = ground
    img[horizon:] += 0.15 * rng.standard_normal((h - horizon, w, 3))  # texture on the ground only
    img[:horizon] += 0.01 * rng.standard_normal((horizon, w, 3))
    return np.clip(img, 0, 1)


@pytest.fixture(scope="module")
def tiny_net():
    return VGGFeatures(random_weights(0))


def test_kmeans_separates_blobs_and_is_deterministic():
    x, truth = _blobs()
    _, a = kmeans(x, 2, np.random.default_rng(0))
    _, b = kmeans(x, 2, np.random.default_rng(0))
    assert np.array_equal(a, b)
    assert matched_iou(a, truth) == 1.0


def test_silhouette_high_for_separated_low_for_arbitrary_split():
    x, truth = _blobs()
    rng = np.random.default_rng(0)
    assert silhouette(x, truth, rng) > 0.9
    arbitrary = np.arange(len(x)) % 2
    assert silhouette(x, arbitrary, rng) < 0.1
    assert silhouette(x, np.zeros(len(x), int), rng) == -1.0


def test_auto_labels_match_sky_to_sky_across_day_and_night(tiny_net):
    content, style = _scene(True), _scene(False, seed=3)
    settings = SegmentSettings(analysis_size=96)
    c_lab, s_lab = auto_labels(tiny_net, content, style, settings)
    assert c_lab.shape == content.shape[:2] and s_lab.shape == style.shape[:2]
    top_c, bottom_c = np.bincount(c_lab[:20].ravel()).argmax(), np.bincount(c_lab[-20:].ravel()).argmax()
    top_s, bottom_s = np.bincount(s_lab[:20].ravel()).argmax(), np.bincount(s_lab[-20:].ravel()).argmax()
    assert top_c != bottom_c
    assert (top_c, bottom_c) == (top_s, bottom_s)
    assert top_c == 0  # regions are numbered from the top of the photos down
    again = auto_labels(tiny_net, content, style, settings)
    assert np.array_equal(again[0], c_lab) and np.array_equal(again[1], s_lab)


def test_auto_labels_keep_one_region_when_nothing_separates(tiny_net):
    rng = np.random.default_rng(0)
    noise = [rng.uniform(0.4, 0.6, (48, 64, 3)).astype(np.float32) for _ in range(2)]
    c_lab, s_lab = auto_labels(tiny_net, *noise, SegmentSettings(analysis_size=64))
    assert c_lab.max() == 0 and s_lab.max() == 0


def test_auto_labels_at_requested_shapes(tiny_net):
    c_lab, s_lab = auto_labels(
        tiny_net, _scene(True), _scene(False), SegmentSettings(analysis_size=64), shapes=((32, 48), (40, 60))
    )
    assert c_lab.shape == (32, 48) and s_lab.shape == (40, 60)
