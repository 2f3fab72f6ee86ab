from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import dpst
from dpst import io
from dpst.ops.palette import PALETTE, UNLABELLED
from dpst.segment.strokes import (
    StrokeSettings,
    close_labels,
    complete_labels,
    complete_pair,
    correct_labels,
    correct_pair,
    cross_priors,
    random_walker,
    residue_ids,
    settle_pair,
)

RED = 4  # palette index of red


def two_halves(h: int = 60, w: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A photo whose left part is reddish and right part bluish, split along a wavy edge, and the
    truth (0 left, 1 right)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    edge = w / 2 + 6 * np.sin(yy / 7.0)
    truth = (xx >= edge).astype(np.int64)
    photo = np.where(truth[..., None] == 0, [0.7, 0.3, 0.2], [0.2, 0.3, 0.7])
    photo = np.clip(photo + 0.04 * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)
    return photo, truth


def strokes_on(truth: np.ndarray, ids=(0, 1)) -> np.ndarray:
    s = np.full(truth.shape, UNLABELLED, np.int64)
    h, w = truth.shape
    s[h // 2 - 8 : h // 2 + 8, 6:8] = ids[0]  # one short stroke deep in each half
    s[h // 2 - 8 : h // 2 + 8, w - 8 : w - 6] = ids[1]
    return s


def test_two_strokes_complete_two_regions_along_the_edge():
    photo, truth = two_halves()
    labels = complete_labels(photo, strokes_on(truth, ids=(4, 0)))  # red stroke left, blue right
    want = np.where(truth == 0, 4, 0)
    assert labels.shape == truth.shape and set(np.unique(labels)) == {0, 4}
    assert (labels == want).mean() > 0.97  # the wavy edge is followed, not a straight cut


def test_painted_pixels_keep_their_label_and_a_single_label_fills_the_photo():
    photo, truth = two_halves()
    s = strokes_on(truth)
    s[0:3, 40:43] = 1  # a stroke of the right label placed on the left region: the user's word holds
    labels = complete_labels(photo, s)
    assert (labels[0:3, 40:43] == 1).all()
    one = np.full(truth.shape, UNLABELLED)
    one[5, 5] = 7
    assert (complete_labels(photo, one) == 7).all()
    with pytest.raises(ValueError, match="no stroke"):
        complete_labels(photo, np.full(truth.shape, UNLABELLED))


def test_strokes_of_another_size_and_a_requested_shape():
    photo, truth = two_halves()
    small = strokes_on(truth)[::2, ::2]
    labels = complete_labels(photo, small, shape=(30, 40))
    assert labels.shape == (30, 40)
    assert (labels == truth[::2, ::2]).mean() > 0.95


def test_random_walker_probabilities_sum_to_one_and_seeds_are_certain():
    photo, truth = two_halves(20, 24)
    seeds = strokes_on(truth)
    p = random_walker(dpst.ops.srgb_to_lab(photo.astype(np.float64)), seeds, [0, 1], beta=8.0)
    assert p.shape == (2, 20, 24)
    np.testing.assert_allclose(p.sum(0), 1.0, atol=1e-8)
    assert (p[0][seeds == 0] == 1).all() and (p[1][seeds == 1] == 1).all()
    assert p.min() >= -1e-9 and p.max() <= 1 + 1e-9


def rgba_strokes(strokes: np.ndarray, alpha: int = 255) -> Image.Image:
    a = np.zeros((*strokes.shape, 4), np.uint8)
    painted = strokes != UNLABELLED
    a[painted, :3] = PALETTE[strokes[painted]].astype(np.uint8)
    a[painted, 3] = alpha
    return Image.fromarray(a, "RGBA")


def test_load_strokes_reads_palette_strokes_on_transparency(tmp_path):
    photo, truth = two_halves()
    s = strokes_on(truth, ids=(2, 3))  # black and white strokes are strokes too
    rgba_strokes(s).save(tmp_path / "s.png")
    got = io.load_strokes(tmp_path / "s.png")
    np.testing.assert_array_equal(got, s)
    with pytest.raises(ValueError, match="no stroke"):  # strokes under alpha 128 are not painted
        io.load_strokes(rgba_strokes(s, alpha=100))
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(tmp_path / "opaque.png")  # no transparency: a mask
    assert io.load_strokes(tmp_path / "opaque.png") is None
    Image.new("RGB", (8, 8)).save(tmp_path / "rgb.png")
    assert io.load_strokes(tmp_path / "rgb.png") is None


def test_complete_masks_public_name(tmp_path):
    photo, truth = two_halves()
    rgba_strokes(strokes_on(truth, ids=(1, 5))).save(tmp_path / "s.png")
    mask = dpst.complete_masks(photo, tmp_path / "s.png")
    labels = dpst.ops.labels_from_colors(np.asarray(mask))
    assert mask.size == (80, 60) and (labels == np.where(truth == 0, 1, 5)).mean() > 0.97
    with pytest.raises(ValueError, match="strokes"):
        Image.new("RGB", (80, 60)).save(tmp_path / "plain.png")
        dpst.complete_masks(photo, tmp_path / "plain.png")


def night_city(h: int = 96, w: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A dark sky over a dark city lit by scattered lights (the style of pair 5, simplified): the two
    share their dark colour, the city alone is textured.  Truth: 0 sky, 1 city."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((h, w), np.int64)
    truth[h // 2 :] = 1
    photo = np.full((h, w, 3), 0.08) + 0.01 * rng.standard_normal((h, w, 3))
    photo[(rng.random((h, w)) < 0.25) & (truth == 1)] = [0.95, 0.75, 0.35]
    return np.clip(photo, 0, 1).astype(np.float32), truth


def test_a_textured_region_that_shares_its_colour_with_its_neighbour_is_completed_by_its_look():
    photo, truth = night_city()
    s = np.full(truth.shape, UNLABELLED, np.int64)
    s[10:12, 20:40] = 2  # one short stroke high in the sky, one low in the city
    s[80:82, 10:20] = 3
    want = np.where(truth == 0, 2, 3)
    assert (complete_labels(photo, s) == want).mean() > 0.98
    # the walk alone is stopped by the edge around every light and leaves most of the city to the sky
    walk_only = StrokeSettings(fusion=0.0, edge_texture=0.0)
    assert (complete_labels(photo, s, s=walk_only) == want).mean() < 0.8


@pytest.mark.parametrize(
    "bad",
    [
        {"work_size": 4},
        {"fusion": -1.0},
        {"beta": -2.0},
        {"temperature": 0.0},
        {"samples": 0},
        {"refine_scale": 0},
    ],
)
def test_stroke_settings_are_checked_where_they_are_made(bad):
    with pytest.raises(ValueError, match="StrokeSettings"):
        StrokeSettings(**bad)


def test_cross_priors_label_a_cell_by_the_other_photos_strokes():
    """A style cell that looks like the content's label-3 strokes, and unlike the style's own ones,
    is given label 3 by the cross prior, though the style's own strokes put it nearer label 2."""
    rng = np.random.default_rng(0)
    a, b, c = np.array([0.0, 0.0]), np.array([5.0, 0.0]), np.array([12.0, 0.0])

    def near(p, n):
        return p + 0.1 * rng.standard_normal((n, 2))

    content = np.concatenate([near(a, 50), near(b, 50)])
    style = np.concatenate([near(a, 50), near(c, 25), near(b, 25)])
    grid = (10, 10)
    c_st = np.repeat([2, 3], 50).reshape(grid)
    s_st = np.concatenate([np.full(50, 2), np.full(25, 3), np.full(25, UNLABELLED)]).reshape(grid)
    s = StrokeSettings()
    pc, ps = cross_priors([content, style], [grid, grid], [c_st, s_st], s)
    assert pc.shape == ps.shape == (2, *grid)
    np.testing.assert_allclose(ps.sum(0), 1.0, atol=1e-5)
    unpainted = ps.reshape(2, -1)[:, 75:]
    assert (unpainted[1] > 0.9).all()  # label 3 (index 1), from the content's strokes at b
    # from the style's strokes alone those cells are nearer label 2's (at a) than label 3's (at c)
    alone, _ = cross_priors([style, style], [grid, grid], [s_st, s_st], s)
    assert (alone.reshape(2, -1)[0, 75:] > 0.5).all()


def test_complete_pair_without_the_cross_prior_is_each_photo_completed_alone():
    from dpst.neural.vgg import VGGFeatures, random_weights

    net = VGGFeatures(random_weights(0))
    photo, truth = two_halves()
    other, truth2 = two_halves(seed=1)
    st = (strokes_on(truth, ids=(4, 0)), strokes_on(truth2, ids=(4, 0)))
    off = StrokeSettings(cross_fusion=0.0)
    c_lab, s_lab = complete_pair(net, photo, other, st, s=off)
    np.testing.assert_array_equal(c_lab, complete_labels(photo, st[0], s=off))
    np.testing.assert_array_equal(s_lab, complete_labels(other, st[1], s=off))
    # with it (the default), the regions still follow the edge of each photo
    c_lab, s_lab = complete_pair(net, photo, other, st, shapes=((30, 40), (60, 80)))
    assert c_lab.shape == (30, 40) and s_lab.shape == (60, 80)
    assert (c_lab == np.where(truth[::2, ::2] == 0, 4, 0)).mean() > 0.95
    assert (s_lab == np.where(truth2 == 0, 4, 0)).mean() > 0.97


def test_prepare_completes_strokes_on_both_photos_together(tmp_path):
    from dpst.api import prepare
    from dpst.neural.vgg import VGGFeatures, random_weights

    net = VGGFeatures(random_weights(0))
    photo, truth = two_halves()
    other, truth2 = two_halves(seed=1)
    st = (strokes_on(truth, ids=(4, 0)), strokes_on(truth2, ids=(4, 0)))
    masks = [rgba_strokes(x) for x in st]
    pair = prepare(photo, other, *masks, size=64, net=net)
    want = complete_pair(net, photo, other, st, (pair.content.shape[:2], pair.style.shape[:2]))
    np.testing.assert_array_equal(pair.content_labels, want[0])
    np.testing.assert_array_equal(pair.style_labels, want[1])
    assert pair.ids == [0, 4]


def test_a_corrective_stroke_frees_only_the_region_under_it_within_its_reach():
    photo, truth = two_halves(h=60, w=100)
    base = truth.copy()
    base[:, 35:45] = 1  # a strip of the left half wrongly labelled 1, near the edge
    strokes = np.full(truth.shape, UNLABELLED, np.int64)
    strokes[25:35, 38] = 0  # a stroke of the right label on the wrong strip
    fixed = correct_labels(photo, base, strokes, s=StrokeSettings(reach=0.2))  # 20 px
    near = np.abs(np.arange(100) - 38) <= 15
    assert (base[:, near] == truth[:, near]).mean() < 0.7
    assert (fixed[:, near] == truth[:, near]).mean() > 0.9  # corrected up to the photo's wavy edge
    far = np.abs(np.arange(100) - 38) > 25
    np.testing.assert_array_equal(fixed[:, far], base[:, far])  # beyond its reach: the base kept


def test_a_stroke_that_agrees_with_the_base_or_no_stroke_changes_nothing():
    photo, truth = two_halves()
    base = truth.copy()
    base[:, :4] = 1  # a wrong column the stroke below does not touch
    strokes = np.full(truth.shape, UNLABELLED, np.int64)
    strokes[20:30, 60:62] = 1  # on the right half, labelled 1 already
    np.testing.assert_array_equal(correct_labels(photo, base, strokes), base)
    np.testing.assert_array_equal(correct_labels(photo, base, np.full(truth.shape, UNLABELLED)), base)


def test_a_new_colour_on_a_corrected_mask_and_the_base_at_another_size():
    photo, truth = two_halves()
    base = np.zeros((30, 40), np.int64)  # half size: resized nearest to the photo's
    strokes = np.full(truth.shape, UNLABELLED, np.int64)
    strokes[26:34, 60:62] = RED  # a new colour on the right half
    fixed = correct_labels(photo, base, strokes, shape=(60, 80), s=StrokeSettings(reach=0.3))
    assert fixed.shape == (60, 80)
    assert (fixed == RED).sum() > 4 * (strokes == RED).sum()  # spreads over what looks like it
    assert ((fixed == RED) & (truth == 0)).sum() <= 2  # but not across the edge


def test_close_labels_fills_specks_inside_a_region_where_allowed_and_nowhere_else():
    labels = np.zeros((60, 80), np.int64)
    labels[10:50, 20:60] = 1
    labels[25:28, 30:33] = 0  # a speck of the other label inside region 1
    labels[40, 45] = 0  # and a single pixel
    labels[20:24, 50:53] = 2  # a speck of a third label
    labels[10:50, 40] = 0  # a slit right across the region, 1 px wide
    free = np.ones(labels.shape, bool)
    out = close_labels(labels, free, [1], 3)
    assert (out[14:46, 20:60] == 1).all()  # every speck, and the slit but for its open ends
    assert (out[10, 40], out[49, 40]) == (0, 0)
    outside = np.ones(labels.shape, bool)
    outside[10:50, 20:60] = False
    np.testing.assert_array_equal(out[outside], labels[outside])  # nothing grows past the region
    # the same as a morphological closing by a disk (the photo's border no edge)
    from scipy import ndimage

    disk = np.hypot(*np.mgrid[-3:4, -3:4]) <= 3
    ref = ndimage.binary_closing(np.pad(labels == 1, 4, mode="edge"), disk)[4:-4, 4:-4]
    np.testing.assert_array_equal(out == 1, ref | (labels == 1))
    # only the pixels ``free`` allows change; a radius under a pixel or an absent label changes nothing
    free[:, :32] = False
    part = close_labels(labels, free, [1], 3)
    np.testing.assert_array_equal(part[25:28, 30:32], labels[25:28, 30:32])
    assert part[25:28, 32].tolist() == [1, 1, 1]
    np.testing.assert_array_equal(close_labels(labels, np.ones_like(free), [1], 0.5), labels)
    np.testing.assert_array_equal(close_labels(labels, np.ones_like(free), [7], 3), labels)


def test_a_correction_closes_its_region_and_completes_with_its_own_fusion(monkeypatch):
    import dpst.segment.strokes as strokes_module

    photo, truth = two_halves(h=60, w=100)
    base = truth.copy()
    base[:, 35:45] = 1
    strokes = np.full(truth.shape, UNLABELLED, np.int64)
    strokes[25:35, 38] = 0
    seen = []
    real = strokes_module.complete_labels

    def speckled(photo, seeds, shape, s):  # the completion leaves a speck of 1 inside the corrected strip
        seen.append(s.fusion)
        out = real(photo, seeds, shape, s)
        out[10:12, 38:40] = 1
        return out

    monkeypatch.setattr(strokes_module, "complete_labels", speckled)
    s = StrokeSettings(reach=0.2, correct_fusion=1.5, fusion=4.0)
    fixed = correct_labels(photo, base, strokes, s=s)
    assert seen == [1.5]
    assert (fixed[10:12, 38:40] == 0).all()  # closed
    kept = correct_labels(photo, base, strokes, s=StrokeSettings(reach=0.2, correct_fusion=1.5, close=0))
    assert (kept[10:12, 38:40] == 1).all()  # left as the completion made it


def test_complete_masks_corrects_a_base_mask(tmp_path):
    photo, truth = two_halves()
    base = truth.copy()
    base[:, 30:40] = 1
    strokes = np.full(truth.shape, UNLABELLED, np.int64)
    strokes[25:35, 34] = 0
    out = dpst.complete_masks(photo, strokes, base=Image.fromarray(PALETTE[base].astype(np.uint8)))
    want = correct_labels(photo, base, strokes)
    np.testing.assert_array_equal(np.asarray(out), PALETTE[want].astype(np.uint8))


def test_prepare_corrects_automatic_masks_with_strokes_given_for_one_photo():
    from dpst.api import prepare

    photo, truth = two_halves()
    other, truth2 = two_halves(seed=1)
    wrong = truth.copy()
    wrong[:, 30:40] = 1

    def segment(c, s, shapes):  # stands in for the automatic masks, at the shapes asked for
        assert [tuple(sh) for sh in shapes] == [(60, 80), (60, 80)]
        return wrong, truth2

    strokes = np.full(truth.shape, UNLABELLED, np.int64)
    strokes[25:35, 34] = 0
    pair = prepare(photo, other, rgba_strokes(strokes), None, size=80, segment=segment)
    np.testing.assert_array_equal(pair.content_labels, correct_labels(photo, wrong, strokes))
    np.testing.assert_array_equal(pair.style_labels, truth2)  # no strokes: the automatic mask
    with pytest.raises(ValueError, match="give both masks"):
        prepare(photo, other, rgba_strokes(strokes), None, size=80)  # strokes alone, no automatic masks


def test_residue_is_what_no_stroke_painted_under_its_share_of_either_photo():
    a = np.zeros((10, 10), np.int64)
    b = np.zeros((10, 10), np.int64)
    a[:, 5:] = 1
    b[:, 5:] = 1
    a[0, :3] = 2  # 3% of the content
    b[:4, :] = 2  # 40% of the style
    a[9, 9] = 3  # in the content only
    b[5, 0] = UNLABELLED  # not a label
    assert residue_ids((a, b), set(), 0.05) == [2, 3]
    assert residue_ids((a, b), {2}, 0.05) == [3]  # painted: kept whatever its size
    assert residue_ids((a, b), set(), 0.02) == [3]
    b[:, 5:] = 0
    assert residue_ids((a, b), set(), 0.05) == [1, 2, 3]  # 1 left the style: the content's has no style


def three_regions() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Two photos (reddish left, bluish right) labelled 0 left and 1 right, each with a sliver of
    label 2 in its right half: 3% of the content, 20% of the style."""
    (c, ct), (s, st) = two_halves(), two_halves(seed=1)
    ct, st = ct.copy(), st.copy()
    ct[:6, 60:72] = 2  # 72 px of 4800
    st[:, 64:] = 2
    return (c, s), (ct, st)


def test_settle_pair_redraws_the_residue_from_the_regions_around_it():
    photos, labels = three_regions()
    strokes = (np.full(labels[0].shape, UNLABELLED), None)
    strokes[0][20:30, 10] = 0  # strokes that agree with the masks: nothing else to correct
    c, s = settle_pair(photos, labels, strokes)
    (_, ct), (_, st) = two_halves(), two_halves(seed=1)
    np.testing.assert_array_equal(c, ct)  # the sliver takes the look around it: the right half's
    np.testing.assert_array_equal(s, st)  # and the style's part of label 2 as well
    painted = (strokes[0].copy(), None)
    painted[0][2, 62:66] = 2  # the user painted label 2: kept
    for got, want in zip(settle_pair(photos, labels, painted), labels):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(settle_pair(photos, labels, strokes, StrokeSettings(residue=0)), labels):
        np.testing.assert_array_equal(got, want)  # off


def test_a_content_region_the_strokes_took_from_the_style_is_redrawn_and_all_residue_is_kept():
    (c, s), (ct, st) = three_regions()
    st = np.zeros_like(st)  # the style all one region: the content's 1 and 2 have no style
    strokes = np.full(st.shape, UNLABELLED)
    strokes[20:30, 10] = 0  # the stroke that made it so
    got_c, got_s = settle_pair((c, s), (ct, st), (None, strokes))
    assert (got_c == 0).all() and (got_s == 0).all()
    only = np.ones_like(ct)  # every label of the content is residue: it keeps them
    got_c, _ = settle_pair((c, s), (only, st), (None, strokes))
    np.testing.assert_array_equal(got_c, only)
    for got, want in zip(settle_pair((c, s), (ct, st), (None, np.full(st.shape, UNLABELLED))), (ct, st)):
        np.testing.assert_array_equal(got, want)  # no stroke in either photo: nothing is residue


def test_correct_pair_settles_only_when_strokes_are_given():
    photos, labels = three_regions()
    for got, want in zip(correct_pair(photos, labels, (None, None)), labels):
        np.testing.assert_array_equal(got, want)  # the automatic masks as they are
    strokes = np.full(labels[0].shape, UNLABELLED)
    strokes[30:40, 20] = 0
    got = correct_pair(photos, labels, (strokes, None))
    assert not (got[0] == 2).any() and not (got[1] == 2).any()
