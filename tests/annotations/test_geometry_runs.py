"""Masks edited through their runs (rle_bounds, crop_box, paste_into, xor_bounds) give exactly the
pixels the full-frame arrays give, on random masks, full and empty masks and boxes at every edge."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import geometry


def masks(seed: int, n: int):
    rng = np.random.default_rng(seed)
    for k in range(n):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        m = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if k % 5 == 0:
            m[:] = 0
            m[rng.integers(0, h):, rng.integers(0, w):] = 1  # touches the last pixel
        if k % 11 == 0:
            m[:] = k % 2
        yield rng, m


@pytest.mark.parametrize("seed", range(3))
def test_bounds_round_trip_and_area(seed):
    for _, m in masks(seed, 120):
        h, w = m.shape
        rle = geometry.encode_mask(m)
        bounds = geometry.rle_bounds(rle)
        assert geometry.rle_from_bounds(bounds, h, w) == rle
        assert geometry.bounds_area(bounds, h * w) == int(m.sum())
        assert geometry.rle_counts(rle).tolist() == geometry.rle_counts(
            {"size": [h, w], "counts": geometry.rle_counts(rle).tolist()}).tolist()


@pytest.mark.parametrize("seed", range(3))
def test_crop_box_and_paste_into_equal_the_full_frame(seed):
    for rng, m in masks(seed, 120):
        h, w = m.shape
        rle = geometry.encode_mask(m)
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(0, w - x0 + 1)), int(rng.integers(0, h - y0 + 1))
        assert np.array_equal(geometry.crop_box(rle, x0, y0, bw, bh), m[y0:y0 + bh, x0:x0 + bw])
        crop = (rng.random((bh, bw)) < 0.5).astype(np.uint8)
        expected = m.copy()
        expected[y0:y0 + bh, x0:x0 + bw] = crop
        assert geometry.paste_into(rle, x0, y0, crop) == geometry.encode_mask(expected)
        # a crop hanging over the image's edges is clipped
        px, py = int(rng.integers(-6, w)), int(rng.integers(-6, h))
        over = (rng.random((8, 7)) < 0.5).astype(np.uint8)
        clipped = m.copy()
        ys, xs, ye, xe = max(py, 0), max(px, 0), min(py + 8, h), min(px + 7, w)
        if ye > ys and xe > xs:
            clipped[ys:ye, xs:xe] = over[ys - py:ye - py, xs - px:xe - px]
        assert geometry.paste_into(rle, px, py, over) == geometry.encode_mask(clipped)


@pytest.mark.parametrize("seed", range(3))
def test_xor_of_bounds_is_the_xor_of_pixels(seed):
    for rng, m in masks(seed, 120):
        h, w = m.shape
        other = (rng.random((h, w)) < 0.3).astype(np.uint8)
        a, b = geometry.encode_mask(m), geometry.encode_mask(other)
        delta = geometry.xor_bounds(geometry.rle_bounds(a), geometry.rle_bounds(b))
        assert geometry.rle_from_bounds(delta, h, w) == geometry.encode_mask(m ^ other)
        assert geometry.bounds_area(delta, h * w) == int((m ^ other).sum())
        assert geometry.rle_from_bounds(geometry.xor_bounds(geometry.rle_bounds(b), delta), h, w) == a


def test_crop_and_paste_of_a_mask_on_a_large_image():
    h, w = 3000, 4000
    m = np.zeros((h, w), np.uint8)
    m[100:400, 3700:4000] = 1  # against the right edge
    m[2990:, :50] = 1  # the bottom-left corner
    rle = geometry.encode_mask(m)
    x0, y0, crop = geometry.crop_rle(rle)
    assert (x0, y0, crop.shape) == (0, 100, (2900, 4000))
    assert geometry.paste_mask(x0, y0, crop, h, w) == rle
    patch = np.ones((20, 30), np.uint8)
    m[2985:3000, 3970:4000] = 1
    assert geometry.paste_into(rle, 3970, 2985, patch) == geometry.encode_mask(m)
