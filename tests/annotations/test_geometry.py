import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotations import geometry
from annotations.model import Annotation
from rle_oracle import uncompressed_rle


def test_polygon_to_rle_matches_pycocotools_and_holes_subtract():
    outer = [[10, 10, 60, 10, 60, 50, 10, 50]]
    hole = [[20, 20, 40, 20, 40, 40, 20, 40]]
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(outer, 64, 80)))
    assert np.array_equal(geometry.decode_rle(geometry.polygon_to_rle(outer, 64, 80)), ref)
    with_hole = geometry.decode_rle(geometry.polygon_to_rle(outer, 64, 80, hole))
    hole_px = mask_utils.decode(mask_utils.frPyObjects(hole, 64, 80)[0])
    assert with_hole.sum() == ref.sum() - (ref & hole_px).sum()
    assert with_hole[30, 30] == 0 and with_hole[15, 15] == 1


def test_uncompressed_and_compressed_rle_normalise_to_the_same():
    m = np.zeros((20, 30), np.uint8)
    m[5:9, 3:17] = 1
    comp = geometry.encode_mask(m)
    plain = uncompressed_rle(m)
    assert plain["size"] == [20, 30]
    assert geometry.normalize_rle(plain) == comp
    assert isinstance(comp["counts"], str)
    assert geometry.rle_area(comp) == 56 and geometry.rle_bbox(comp) == (3, 5, 14, 4)


def test_mask_to_polygon_and_back_covers_the_same_pixels():
    m = np.zeros((50, 60), np.uint8)
    m[10:40, 5:45] = 1
    m[20:30, 15:25] = 0  # a hole
    outers, holes = geometry.mask_to_polygons(m)
    assert len(outers) == 1 and len(holes) == 1
    back = geometry.decode_rle(geometry.polygon_to_rle(outers, 50, 60, holes))
    assert np.array_equal(back, m)
    island = m.copy(); island[23:27, 18:22] = 1  # an island inside the hole
    o, h = geometry.mask_to_polygons(island)
    assert np.array_equal(geometry.decode_rle(geometry.polygon_to_rle(o, 50, 60, h)), island)


def test_iou_boxes_against_pycocotools():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 50, (7, 4))
    b = rng.uniform(0, 50, (5, 4))
    ref = mask_utils.iou(a.tolist(), b.tolist(), [0] * 5)
    assert np.allclose(geometry.iou_boxes(a, b), ref)
    assert geometry.iou_boxes(np.zeros((0, 4)), b).shape == (0, 5)


def test_iou_masks_and_crowd():
    a = np.zeros((20, 20), np.uint8); a[0:10, 0:10] = 1
    b = np.zeros((20, 20), np.uint8); b[5:15, 5:15] = 1
    ra, rb = geometry.encode_mask(a), geometry.encode_mask(b)
    assert geometry.iou_masks([ra], [rb])[0, 0] == pytest.approx(25 / 175)
    assert geometry.iou_masks([ra], [rb], crowd=[1])[0, 0] == pytest.approx(25 / 100)


def test_crop_and_paste_are_inverse():
    m = np.zeros((40, 50), np.uint8)
    m[7:19, 11:30] = 1
    m[10, 12] = 0
    rle = geometry.encode_mask(m)
    x0, y0, crop = geometry.crop_rle(rle)
    assert (x0, y0, crop.shape) == (11, 7, (12, 19))
    assert geometry.paste_mask(x0, y0, crop, 40, 50) == rle


def test_annotation_area_bbox_and_rle_by_kind():
    box = Annotation(None, 1, 1, bbox=(2, 3, 10, 4))
    assert geometry.annotation_area(box) == 40
    assert geometry.rle_area(geometry.annotation_rle(box, 20, 20)) == 40
    poly = Annotation(None, 1, 1, kind="polygon", polygons=[[0, 0, 10, 0, 10, 10, 0, 10]])
    assert geometry.annotation_area(poly) == 100 and geometry.annotation_bbox(poly) == (0, 0, 10, 10)


def test_mask_to_polygon_is_exact_on_random_blobs():
    import cv2
    rng = np.random.default_rng(3)
    for _ in range(10):
        m = (cv2.GaussianBlur(rng.random((40, 50)), (0, 0), 2) > 0.5).astype(np.uint8)
        o, h = geometry.mask_to_polygons(m)
        back = geometry.decode_rle(geometry.polygon_to_rle(o, 40, 50, h)) if o else np.zeros_like(m)
        assert np.array_equal(back, m)
