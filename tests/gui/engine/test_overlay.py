"""Overlay drawing: class colours, masks and semantic maps blended into a frame."""
import numpy as np
from bridge_fakes import make_prediction

from annotations.geometry import encode_mask
from gui.overlay import blend_masks, class_color


def test_class_colours_are_stable_and_tell_classes_apart():
    names = ["person", "car", "dog", "cat", "bicycle", "bus"]
    colours = [class_color(n) for n in names]
    assert colours == [class_color(n) for n in names]
    assert len(set(colours)) == len(names)
    assert all(0 <= c <= 255 for rgb in colours for c in rgb)


def test_instance_masks_tint_only_their_pixels():
    frame = np.full((20, 30, 3), 50, np.uint8)
    m = np.zeros((20, 30), np.uint8)
    m[5:10, 5:15] = 1
    pred = make_prediction([[5, 5, 10, 5]], [0.9], ["dog"], masks=[encode_mask(m)])
    out = blend_masks(frame, pred)
    assert (out[m == 1] != 50).any(axis=1).all() and (out[m == 0] == 50).all()
    expected = np.round(50 * 0.55 + np.asarray(class_color("dog")) * 0.45)
    assert np.abs(out[7, 7].astype(float) - expected).max() <= 1
    wrong_size = make_prediction([[0, 0, 1, 1]], [0.9], ["dog"], masks=[encode_mask(np.ones((4, 4), np.uint8))])
    assert (blend_masks(frame, wrong_size) == 50).all()  # a mask of another size is not drawn
    assert blend_masks(frame, make_prediction([], [], [])) is frame  # nothing to blend: no copy


def test_semantic_maps_tint_classes_but_not_the_background():
    frame = np.full((10, 10, 3), 100, np.uint8)
    pred = make_prediction([], [], [])
    pred.semantic = np.zeros((10, 10), np.int32)
    pred.semantic[:, 5:] = 2
    pred.class_names = ["__background__", "dark", "bright"]
    out = blend_masks(frame, pred)
    assert (out[:, :5] == 100).all()
    assert (out[:, 5:] != 100).any(axis=-1).all()
