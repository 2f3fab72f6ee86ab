from __future__ import annotations

import numpy as np

from dpst.ops.lut import apply_table, identity_table
from dpst.video import carry


def test_linear_weights_interpolate():
    w = carry.linear_weights(5)
    assert w.shape == (256, 5) and np.allclose(w.sum(1), 1)
    assert np.allclose(w @ np.linspace(0, 1, 5), np.arange(256) / 255, atol=1e-6)


def test_dense_table_is_the_trilinear_lut_rounded():
    table = identity_table(9) ** 1.5
    table[..., 0] = 0.7 * table[..., 0] + 0.3 * table[..., 2]
    dense = carry.dense_table(table)
    rgb = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    exact = apply_table(table, rgb / 255.0) * 255
    got = carry.apply_dense(dense, rgb)
    assert got.dtype == np.uint8 and got.shape == rgb.shape
    assert np.abs(got - exact).max() <= 0.5 + 1e-3


def test_fit_look_recovers_a_global_map():
    rng = np.random.default_rng(1)
    key = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    result = np.clip((key / 255.0) ** 0.8 * 0.9 + 0.05, 0, 1)
    table = carry.fit_look(key, result, 17, 1e-4, 0.1)
    out = carry.apply_dense(carry.dense_table(table), key) / 255.0
    assert np.sqrt(np.mean((out - result) ** 2)) * 255 < 2
