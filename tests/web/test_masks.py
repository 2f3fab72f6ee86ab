from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dpst.ops.palette import PALETTE, UNLABELLED
from dpst.segment import correct_labels
from dpst.web.masks import brush_colours, corrected, overlay, read_mask, settled, strokes_from_layers
from tests.segment.test_strokes import two_halves

RED = 4  # palette index of red


def test_the_brush_offers_the_nine_palette_colours_in_order():
    assert brush_colours()[:3] == ["#0000ff", "#00ff00", "#000000"] and len(brush_colours()) == 9


def test_strokes_from_an_rgba_layer_at_another_size():
    layer = np.zeros((30, 40, 4), np.uint8)
    layer[10:12, 5:20] = [250, 10, 5, 255]  # nearly red, opaque
    layer[20:22, 5:20] = [0, 0, 255, 60]  # too faint to count
    s = strokes_from_layers([layer], (60, 80))
    assert s.shape == (60, 80)
    assert set(np.unique(s)) == {UNLABELLED, RED} and (s == RED).sum() == 2 * 2 * 15 * 2
    assert strokes_from_layers([np.zeros((30, 40, 4), np.uint8)], (60, 80)) is None
    later = layer.copy()
    later[10:12, 5:10] = [0, 255, 0, 255]
    assert (strokes_from_layers([layer, later], (30, 40))[10, 5:10] == 1).all()  # the top layer wins


def test_the_page_corrects_as_the_library_does():
    photo, truth = two_halves()
    base = np.roll(truth, -10, axis=1)
    strokes = np.full(truth.shape, UNLABELLED)
    strokes[20:40, 30] = 0
    want = correct_labels(photo, base, strokes)
    np.testing.assert_array_equal(corrected(photo, base, strokes), want)
    assert (want != base).any()


def test_a_stroke_moves_a_wrong_border_to_the_photos_edge():
    photo, truth = two_halves()
    base = np.roll(truth, -10, axis=1)  # the automatic border lies 10 px left of the photo's edge
    base[:, -10:] = 1
    strokes = np.full(truth.shape, UNLABELLED)
    strokes[20:40, 30] = 0  # a stroke on the wrongly labelled strip
    fixed = corrected(photo, base, strokes)
    rows = slice(22, 38)
    assert (fixed[rows] == truth[rows]).mean() > 0.97  # the border moved to the edge there
    assert (fixed[:5] == base[:5]).all()  # beyond the stroke's reach the mask is kept
    assert corrected(photo, base, None) is base
    assert (corrected(photo, None, None) == 0).all()


def test_a_new_colour_spreads_from_its_stroke_but_not_across_an_edge():
    photo, truth = two_halves()
    base = np.zeros(truth.shape, np.int64)
    strokes = np.full(truth.shape, UNLABELLED)
    strokes[26:34, 46:48] = RED  # just right of the edge
    fixed = corrected(photo, base, strokes)
    assert (fixed == RED).sum() > 2 * (strokes == RED).sum()
    assert ((fixed == RED) & (truth == 0)).sum() <= 2


def test_overlay_is_translucent_and_sized_for_the_screen():
    photo = np.full((20, 30, 3), 0.5, np.float32)
    labels = np.zeros((20, 30), np.int64)
    labels[:, 15:] = UNLABELLED
    shown = np.asarray(overlay(photo, labels, alpha=0.5)).astype(int)
    assert (shown[0, 0] - (0.5 * 127.5 + 0.5 * PALETTE[0])).__abs__().max() <= 1
    assert (shown[0, 20] == 128).all()  # unlabelled pixels show the photo
    assert overlay(np.zeros((100, 300, 3), np.float32), None, long_side=150).size == (150, 50)


def test_an_uploaded_mask_must_be_its_photos_size(tmp_path):
    photo, _ = two_halves()
    path = tmp_path / "m.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(path)
    with pytest.raises(ValueError, match=r"40×40 px but its photo is 80×60 px"):
        read_mask(str(path), photo, "content mask m.png")
    Image.fromarray(np.zeros((60, 80, 3), np.uint8)).save(path)  # all black: label 2
    assert (read_mask(str(path), photo, "content mask") == 2).all()
    strokes = np.zeros((60, 80, 4), np.uint8)
    strokes[30, 5] = [255, 0, 0, 255]
    strokes[30, 75] = [0, 0, 255, 255]
    Image.fromarray(strokes, "RGBA").save(path)
    done = read_mask(str(path), photo, "content mask")  # strokes: completed
    assert set(np.unique(done)) == {0, RED}


def test_the_pair_is_settled_as_a_run_of_the_cli_settles_it():
    from dpst.segment import correct_pair
    from dpst.web.sessions import Photo
    from tests.segment.test_strokes import three_regions

    (c, s), (ct, st) = three_regions()
    strokes = np.full(ct.shape, UNLABELLED)
    strokes[30:40, 20] = 0
    content = Photo("c.png", None, c, auto=ct, strokes=strokes)
    style = Photo("s.png", None, s, auto=st)
    content.own, style.own = corrected(c, ct, strokes), corrected(s, st, None)
    want = correct_pair((c, s), (ct, st), (strokes, None))
    for got, w in zip(settled(content, style), want):
        np.testing.assert_array_equal(got, w)
    assert not (want[1] == 2).any()  # the style's part of the residue is redrawn too
    style.given = st  # an uploaded mask is the user's own: kept as it is
    assert settled(content, style)[1] is style.own
    content.strokes, style.given = None, None  # no strokes: the automatic masks
    assert settled(content, style) == (content.own, style.own)
