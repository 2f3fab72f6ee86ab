"""3D LUTs: the fit, trilinear application and the .cube text format (dpst.ops.lut)."""

from __future__ import annotations

import numpy as np
import pytest

from dpst.ops.lut import (
    apply_table,
    fit_table,
    format_cube,
    identity_table,
    jacobian_determinants,
    parse_cube,
)

MIX = np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])


def look(rgb: np.ndarray) -> np.ndarray:
    """A known smooth, monotone colour map: a gamma, then a channel mix."""
    return np.clip(rgb**0.8 @ MIX.T, 0, 1)


def naive_trilinear(table: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Trilinear interpolation one colour at a time, straight from its definition."""
    n = table.shape[0]
    out = np.zeros((len(rgb), 3))
    for k, colour in enumerate(rgb):
        p = np.clip(colour, 0, 1) * (n - 1)
        i = np.minimum(np.floor(p).astype(int), n - 2)
        f = p - i
        for corner in np.ndindex(2, 2, 2):
            w = np.prod([f[a] if corner[a] else 1 - f[a] for a in range(3)])
            out[k] += w * table[i[0] + corner[0], i[1] + corner[1], i[2] + corner[2]]
    return out


@pytest.fixture(scope="module")
def colours() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, (50000, 3))


def test_identity_table_layout():
    t = identity_table(3)
    assert t.shape == (3, 3, 3, 3)
    assert t[2, 1, 0].tolist() == [1.0, 0.5, 0.0]  # table[r, g, b] = (r, g, b) / (N - 1)


@pytest.mark.parametrize("size", [2, 17, 33])
def test_fit_of_the_identity_is_the_identity(colours, size):
    assert np.abs(fit_table(colours, colours, size, 1e-4, 0.1) - identity_table(size)).max() < 1e-9


def test_fit_of_the_identity_from_a_corner_of_the_cube_is_the_identity_everywhere(colours):
    dark = colours[colours.max(1) < 0.3]  # most lattice cells see no data
    assert np.abs(fit_table(dark, dark, 17, 1e-4, 0.1) - identity_table(17)).max() < 1e-9


@pytest.mark.parametrize("size, smoothness, tol", [(17, 1e-5, 0.4), (33, 1e-5, 0.4), (33, 1e-4, 0.8)])
def test_a_known_smooth_map_is_recovered_on_held_out_colours(colours, size, smoothness, tol):
    held_out = np.random.default_rng(1).uniform(0.02, 0.98, (5000, 3))
    table = fit_table(colours, look(colours), size, smoothness, 0.1)
    rms = np.sqrt(np.mean((apply_table(table, held_out) - look(held_out)) ** 2)) * 255
    assert rms < tol  # measured 0.21, 0.20, 0.52 (in 8-bit levels)


def test_noise_is_smoothed_out_without_folds(colours):
    rng = np.random.default_rng(2)
    noisy = np.clip(look(colours) + rng.normal(0, 0.03, colours.shape), 0, 1)
    table = fit_table(colours, noisy, 33, 1e-4, 0.1)
    held_out = rng.uniform(0.02, 0.98, (5000, 3))
    assert np.sqrt(np.mean((apply_table(table, held_out) - look(held_out)) ** 2)) * 255 < 1.0  # noise: 7.7
    assert jacobian_determinants(table).min() > 0.1  # monotone everywhere (the map's own: >= 0.26)


def test_cells_without_data_follow_the_trend_and_do_not_fold(colours):
    rng = np.random.default_rng(3)
    ball = colours[np.linalg.norm(colours - 0.5, axis=1) < 0.25]  # 7% of the cube's volume
    target = np.clip(look(ball) + rng.normal(0, 0.02, ball.shape), 0, 1)
    table = fit_table(ball, target, 33, 1e-4, 0.1)
    assert jacobian_determinants(table).min() > -0.01  # 0 where the map is clipped at 0 or 1
    far = rng.uniform(0, 1, (2000, 3))
    far = far[np.linalg.norm(far - 0.5, axis=1) > 0.45]
    # far colours get the look's overall grade (its affine fit), not their own colour
    error = np.abs(apply_table(table, far) - look(far)).mean()
    assert error < 0.5 * np.abs(far - look(far)).mean()


def test_a_single_colour_does_not_make_the_fit_singular():
    grey = np.full((100, 3), 0.5)
    table = fit_table(grey, grey * 0.8, 9, 1e-4, 0.0)
    assert np.isfinite(table).all()
    assert np.allclose(apply_table(table, grey[:1]), 0.4, atol=1e-3)


def test_weights_count_like_repeated_pixels(colours):
    src, dst = colours[:2000], look(colours[:2000])
    twice = fit_table(np.concatenate([src, src[:500]]), np.concatenate([dst, dst[:500]]), 9, 1e-4, 0.1)
    weighted = fit_table(src, dst, 9, 1e-4, 0.1, weights=np.r_[np.full(500, 2.0), np.ones(1500)])
    assert np.allclose(twice, weighted, atol=1e-6)


def test_apply_matches_a_naive_trilinear_interpolation():
    rng = np.random.default_rng(4)
    table = rng.uniform(0, 1, (5, 5, 5, 3))
    rgb = np.concatenate(
        [rng.uniform(0, 1, (200, 3)), [[0, 0, 0], [1, 1, 1], [1, 0, 0.5], [0.25, 0.5, 0.75]]]
    )
    assert np.allclose(apply_table(table, rgb), naive_trilinear(table, rgb), atol=1e-6)
    image = rng.uniform(0, 1, (7, 9, 3)).astype(np.float32)
    assert apply_table(table, image).shape == (7, 9, 3)
    assert np.array_equal(apply_table(identity_table(33), image), image)  # the lattice is exact on identity


def test_apply_clamps_to_the_domain_and_scales_it():
    table = identity_table(5)
    domain = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
    assert np.allclose(apply_table(table, np.array([[1.0, 0.5, 4.0]]), domain), [[0.5, 0.25, 1.0]])
    assert np.allclose(apply_table(table, np.array([[-1.0, 2.0, 0.5]])), [[0.0, 1.0, 0.5]])


def test_cube_round_trip_to_6_decimals_with_red_fastest():
    rng = np.random.default_rng(5)
    table = rng.uniform(0, 1, (4, 4, 4, 3))
    text = format_cube(table, 'a "look"', ["made by a test", "two\nlines"])
    lines = text.splitlines()
    assert lines[:5] == [
        "TITLE \"a 'look'\"",
        "# made by a test",
        "# two lines",
        "LUT_3D_SIZE 4",
        "DOMAIN_MIN 0.000000 0.000000 0.000000",
    ]
    data = lines[6:]
    assert len(data) == 64
    r, g, b = 1, 2, 3  # line r + N g + N² b holds table[r, g, b]: red changes fastest
    assert data[r + 4 * g + 16 * b] == " ".join(f"{v:.6f}" for v in table[r, g, b])
    assert data[1] == " ".join(f"{v:.6f}" for v in table[1, 0, 0])
    back, domain, title = parse_cube(text)
    assert np.abs(back - np.round(table, 6)).max() < 1e-12 and title == "a 'look'"
    assert domain.tolist() == [[0, 0, 0], [1, 1, 1]]
    assert format_cube(back, 'a "look"', ["made by a test", "two\nlines"]) == text


def test_identity_cube_second_line_is_the_first_red_step():
    lines = format_cube(identity_table(3)).splitlines()
    assert lines[3:7] == [
        "0.000000 0.000000 0.000000",
        "0.500000 0.000000 0.000000",
        "1.000000 0.000000 0.000000",
        "0.000000 0.500000 0.000000",
    ]


FOREIGN = """# Created by a grading application\r
# with a comment block\r
\r
TITLE "Warm film look"\r
LUT_3D_SIZE 2\r
DOMAIN_MIN 0.0 0.0 0.0\r
DOMAIN_MAX 1.0 1.0 1.0\r
\r
# black\r
0 0 0\r
1.0 0.1 0.0\r
0.0 0.9 0.1\r
0.9 1 0.1\r
0 0.1 0.8\r
1 0.1 0.9\r
0.1 0.9 1.0\r
1e0 1.0 1.0   # white\r
"""


def test_reads_a_foreign_cube_with_comments_blank_lines_and_domain():
    table, domain, title = parse_cube(FOREIGN)
    assert title == "Warm film look" and table.shape == (2, 2, 2, 3)
    assert domain.tolist() == [[0, 0, 0], [1, 1, 1]]
    assert table[1, 0, 0].tolist() == [1.0, 0.1, 0.0]  # the second row: red stepped
    assert table[0, 1, 0].tolist() == [0.0, 0.9, 0.1]
    assert table[0, 0, 1].tolist() == [0.0, 0.1, 0.8]
    assert table[1, 1, 1].tolist() == [1.0, 1.0, 1.0]


def test_reads_resolve_input_range_and_other_keywords():
    text = "LUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE 0 2\nLUT_IN_VIDEO_RANGE\n" + "0 0 0\n" * 8
    _, domain, title = parse_cube(text)
    assert domain.tolist() == [[0, 0, 0], [2, 2, 2]] and title == ""


@pytest.mark.parametrize(
    "text, message",
    [
        ("LUT_1D_SIZE 4\n" + "0 0 0\n" * 4, "1D LUT"),
        ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7, "needs 8 rows"),
        ("0 0 0\n" * 8, "no LUT_3D_SIZE"),
        ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "0 0\n", "line 9"),
        ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "0 nan 0\n", "finite"),
        ("LUT_3D_SIZE 1\n0 0 0\n", "from 2 to 256"),
        ("LUT_3D_SIZE 2\nDOMAIN_MIN 1 1 1\nDOMAIN_MAX 0 1 1\n" + "0 0 0\n" * 8, "must exceed"),
    ],
)
def test_bad_cube_files_are_one_clear_error(text, message):
    with pytest.raises(ValueError, match=message):
        parse_cube(text)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: fit_table(c, c[:10], 9, 1e-4, 0.1), "pair colour for colour"),
        (lambda c: fit_table(c[:, :2], c[:, :2], 9, 1e-4, 0.1), "RGB colours"),
        (lambda c: fit_table(c, c, 1, 1e-4, 0.1), "LUT size 1"),
        (lambda c: fit_table(c, c, 9, 0.0, 0.1), "smoothness"),
        (lambda c: fit_table(c, c, 9, 1e-4, -1.0), "anchor"),
        (lambda c: fit_table(c, c, 9, 1e-4, 0.1, weights=np.zeros(len(c))), "weights"),
        (lambda c: fit_table(c[:0], c[:0], 9, 1e-4, 0.1), "no colours"),
        (lambda c: apply_table(np.zeros((3, 3, 4, 3)), c), "shape \\(N, N, N, 3\\)"),
        (lambda c: format_cube(np.full((2, 2, 2, 3), np.inf)), "finite"),
    ],
)
def test_bad_inputs_are_one_clear_error(colours, call, message):
    with pytest.raises(ValueError, match=message):
        call(colours[:100])


def test_jacobian_of_the_identity_is_one_and_a_reversal_is_negative():
    assert np.allclose(jacobian_determinants(identity_table(5)), 1.0)
    assert np.allclose(jacobian_determinants(identity_table(5)[::-1]), -1.0)  # red reversed
