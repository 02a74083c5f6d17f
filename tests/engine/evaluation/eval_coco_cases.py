"""Generated COCO ground truth and results with the cases evaluators get wrong.

Crowd regions (uncompressed-RLE masks), areas exactly 32^2 and 96^2, tied scores, a category with
detections but no ground truth, one with ground truth but no detections, images without labels,
detections on images without ground truth, duplicates and confusions. Image ids are not
contiguous, so nothing may assume id == index.
"""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils
from rle_oracle import uncompressed_rle

W, H = 200, 160
CATS = [1, 2, 5, 7, 9]
NO_DETECTIONS_CAT = 7  # has ground truth, never detected
NO_GT_CAT = 9  # detected, never in the ground truth


def _rect(x, y, w, h):
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def _rle(poly, h=H, w=W) -> dict:
    r = mask_utils.merge(mask_utils.frPyObjects(poly, h, w))
    return {"size": r["size"], "counts": r["counts"].decode("ascii")}


def _uncompressed_rle(x, y, w, h) -> dict:
    m = np.zeros((H, W), np.uint8)
    m[int(y):int(y + h), int(x):int(x + w)] = 1
    return uncompressed_rle(m)


def _box(rng, exact: int | None = None):
    if exact is not None:
        return [float(rng.integers(0, W - exact)), float(rng.integers(0, H - exact)), float(exact), float(exact)]
    w, h = (float(v) for v in rng.integers(4, 110, 2))
    return [float(rng.integers(0, W - w)), float(rng.integers(0, H - h)), w, h]


def _jitter(rng, b, amount):
    x, y, w, h = b
    dx, dy, dw, dh = rng.normal(0, amount, 4) * np.array([w, h, w, h])
    w2, h2 = max(2.0, w + dw), max(2.0, h + dh)
    x2 = float(np.clip(x + dx, 0, W - w2))
    y2 = float(np.clip(y + dy, 0, H - h2))
    return [round(x2, 2), round(y2, 2), round(w2, 2), round(h2, 2)]


def make_case(seed: int = 0, n_images: int = 40, masks: bool = False, crowd: bool = True):
    """(gt dict, results list). With masks=True both carry segmentations."""
    rng = np.random.default_rng(seed)
    images = [{"id": 10 * i + 3, "width": W, "height": H, "file_name": f"im{i}.jpg"} for i in range(n_images)]
    cats = [{"id": c, "name": f"class{c}"} for c in CATS]
    gt_cats = [c for c in CATS if c != NO_GT_CAT]
    det_cats = [c for c in CATS if c != NO_DETECTIONS_CAT]
    anns, dets = [], []
    scores = [0.3, 0.5, 0.5, 0.7, 0.9, 0.9]  # few values: many ties

    def add_det(img_id, cat, box):
        d = {"image_id": img_id, "category_id": cat, "bbox": box, "score": float(rng.choice(scores))}
        if masks:
            d["segmentation"] = _rle(_rect(*box))
            del d["bbox"]
        dets.append(d)

    for i, img in enumerate(images):
        if i % 7 == 0:  # no labels; sometimes detections anyway
            for _ in range(int(rng.integers(0, 3))):
                add_det(img["id"], int(rng.choice(det_cats)), _box(rng))
            continue
        for j in range(int(rng.integers(1, 7))):
            exact = [None, None, None, 32, 96][j % 5] if rng.random() < 0.5 else None
            box = _box(rng, exact)
            cat = int(rng.choice(gt_cats))
            is_crowd = int(crowd and rng.random() < 0.1)
            a = {"id": len(anns) + 1, "image_id": img["id"], "category_id": cat, "bbox": box,
                 "area": box[2] * box[3], "iscrowd": is_crowd}
            if masks or is_crowd:
                a["segmentation"] = _uncompressed_rle(*box) if is_crowd else _rect(*box)
            anns.append(a)
            if rng.random() < 0.85:
                det_cat = cat if rng.random() < 0.85 else int(rng.choice(det_cats))
                if det_cat == NO_DETECTIONS_CAT:
                    det_cat = NO_GT_CAT
                add_det(img["id"], det_cat, box if exact and rng.random() < 0.5 else _jitter(rng, box, 0.12))
                if rng.random() < 0.2:  # a duplicate
                    add_det(img["id"], det_cat, _jitter(rng, box, 0.05))
        for _ in range(int(rng.integers(0, 3))):  # background
            add_det(img["id"], int(rng.choice(det_cats)), _box(rng))
    for a in anns:
        if "segmentation" not in a:
            a["segmentation"] = _rect(*a["bbox"])
    return {"images": images, "annotations": anns, "categories": cats}, dets


def make_large_case(n_images: int, dets_per_image: int, seed: int = 0):
    """Boxes only, for benchmarks: about dets_per_image*0.6 labels and dets_per_image results per image."""
    rng = np.random.default_rng(seed)
    n_gt = max(1, int(dets_per_image * 0.6))
    cats = [{"id": c, "name": f"class{c}"} for c in range(1, 21)]
    xy = rng.uniform(0, 500, (n_images, n_gt, 2))
    wh = rng.uniform(8, 160, (n_images, n_gt, 2))
    cat = rng.integers(1, 21, (n_images, n_gt))
    images, anns, dets = [], [], []
    for i in range(n_images):
        images.append({"id": i + 1, "width": 700, "height": 700, "file_name": f"{i}.jpg"})
        for j in range(n_gt):
            box = [float(xy[i, j, 0]), float(xy[i, j, 1]), float(wh[i, j, 0]), float(wh[i, j, 1])]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(cat[i, j]), "bbox": box,
                         "area": box[2] * box[3], "iscrowd": 0})
        noise = rng.normal(0, 0.1, (dets_per_image, 4))
        score = rng.uniform(0, 1, dets_per_image)
        for j in range(dets_per_image):
            if j < n_gt:
                b = np.array(anns[-n_gt + j]["bbox"]) * (1 + noise[j])
                c = int(cat[i, j]) if noise[j, 0] < 0.15 else int(rng.integers(1, 21))
            else:
                b = np.array([*rng.uniform(0, 500, 2), *rng.uniform(8, 160, 2)])
                c = int(rng.integers(1, 21))
            dets.append({"image_id": i + 1, "category_id": c, "bbox": [float(v) for v in b],
                         "score": round(float(score[j]), 3)})
    return {"images": images, "annotations": anns, "categories": cats}, dets
