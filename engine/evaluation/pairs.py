"""Predictions and labels as columns, and their IoUs image by image, padded into buckets.

Every per-object pass of an evaluation (matching, VOC AP, the TIDE breakdown) walks each image's
predictions in falling score order and decides each one from the decisions above it. Done image by
image in Python that costs seconds for 100k predictions; here the images are grouped into buckets
of about the same size (numbers of predictions and labels rounded up to 2^k or 3 * 2^(k-1)), and a pass
takes rank k of every image in a bucket in one array operation, so a pass costs about
(largest number of predictions per image) steps per bucket.

Orders (the per-object results depend on them): images by rising id; inside an image predictions
by falling score, ties in the order of the results list; labels in the order of the ground truth.

IoU is pycocotools' (`iou`): for a crowd region the intersection over the prediction's area.
`plain` is the ordinary IoU everywhere (VOC and TIDE treat crowd regions by ordinary IoU where
they look at them as labels); it is the same array as `iou` when a bucket has no crowd region.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from pycocotools import mask as mask_utils

from .columns import Columns, boxes, columns_of

MAX_BUCKET_CELLS = 1 << 21  # predictions x labels x images per bucket


@dataclass
class Bucket:
    """Rows are images with falling numbers of predictions, so the rows with a prediction of rank
    k are the first `active[k]`: a pass over rank k works on slices, not copies."""
    rows: np.ndarray  # image index (into Pairs.images) of each row
    pidx: np.ndarray  # B x Dm: prediction index (eval order), -1 = padding
    gidx: np.ndarray  # B x Gm: label index, -1 = padding
    iou: np.ndarray  # B x Dm x Gm, 0 at padding
    plain: np.ndarray

    @cached_property
    def pvalid(self) -> np.ndarray:
        return self.pidx >= 0

    @cached_property
    def gvalid(self) -> np.ndarray:
        return self.gidx >= 0

    @cached_property
    def active(self) -> np.ndarray:
        """active[k]: the number of rows with a prediction of rank k (they come first)."""
        return self.pvalid.sum(0)


@dataclass
class Pairs:
    iou_type: str
    cat_ids: list[int]
    cat_names: list[str]
    images: np.ndarray  # image ids with a label or a prediction, rising
    # predictions, eval order
    p_src: np.ndarray  # index into the results list
    p_image: np.ndarray
    p_cls: np.ndarray  # index into cat_ids
    p_score: np.ndarray
    # labels, eval order
    g_src: np.ndarray  # index into gt["annotations"]
    g_image: np.ndarray
    g_id: np.ndarray
    g_cls: np.ndarray
    g_crowd: np.ndarray
    g_hard: np.ndarray  # crowd or difficult: neither a positive nor a false negative
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def n_pred(self) -> int:
        return len(self.p_src)

    @property
    def n_gt(self) -> int:
        return len(self.g_src)


def hard_labels(cols: Columns, difficult_ids=()) -> np.ndarray:
    """The labels every path leaves out of positives: crowd regions, labels with "difficult": 1,
    and the ids in difficult_ids (a project's difficult labels)."""
    hard = cols.g_crowd | cols.g_difficult
    if len(difficult_ids):
        hard = hard | np.isin(cols.g_id, np.fromiter(difficult_ids, np.int64))
    return hard


def _to_rle(seg, h: int, w: int):
    if isinstance(seg, list):
        return mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    if isinstance(seg.get("counts"), list):
        return mask_utils.frPyObjects(seg, h, w)
    counts = seg["counts"]
    return {"size": seg["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def _rles(segs: list, image_of: np.ndarray, sizes: dict) -> list:
    """Each segmentation as an RLE. Compressed RLEs are taken as they are; single polygons are
    rasterised in one call per image size (the same RLEs, without a call per label); anything
    else one by one."""
    out: list = [None] * len(segs)
    by_size: dict[tuple, list[int]] = {}
    for k, seg in enumerate(segs):
        if type(seg) is dict and type(seg.get("counts")) is str:
            out[k] = {"size": seg["size"], "counts": seg["counts"].encode("ascii")}
        # frPyObjects reads a list whose first entry has 4 numbers as boxes: such polygons go alone.
        elif isinstance(seg, list) and len(seg) == 1 and len(seg[0]) > 4:
            by_size.setdefault(tuple(sizes[int(image_of[k])]), []).append(k)
        else:
            out[k] = _to_rle(seg, *sizes[int(image_of[k])])
    for (h, w), ks in by_size.items():
        for k, rle in zip(ks, mask_utils.frPyObjects([segs[k][0] for k in ks], h, w)):
            out[k] = rle
    return out


def segm_rles(gt: dict, dt: list[dict], cols: Columns) -> tuple[list, list]:
    """The RLE of every label (gt["annotations"] order) and every result (dt order), computed once
    for the COCO evaluator and the IoUs here."""
    sizes = _image_sizes(gt)
    return (_rles([a["segmentation"] for a in gt["annotations"]], cols.g_image, sizes),
            _rles([d["segmentation"] for d in dt], cols.d_image, sizes))


def _image_sizes(gt: dict) -> dict:
    return {im["id"]: (im.get("height", 0), im.get("width", 0)) for im in gt["images"]}


def build_pairs(gt: dict, dt: list[dict], iou_type: str = "bbox", image_ids=None, difficult_ids=(),
                columns: Columns | None = None, rles: tuple[list, list] | None = None) -> Pairs:
    """columns: the fields already read (evaluate_coco's), else read here. rles: segm_rles'
    answer where already computed."""
    cols = columns if columns is not None else columns_of(gt, dt)
    cats = sorted(c["id"] for c in gt["categories"])
    names = {c["id"]: c.get("name", str(c["id"])) for c in gt["categories"]}
    cat_arr = np.asarray(cats, np.int64)
    a_img, d_img, d_score = cols.g_image, cols.d_image, cols.d_score
    if image_ids is not None:
        keep = np.asarray(sorted(set(int(i) for i in image_ids)), np.int64)
        a_sel = np.nonzero(np.isin(a_img, keep))[0]
        d_sel = np.nonzero(np.isin(d_img, keep))[0]
    else:
        a_sel, d_sel = np.arange(len(a_img)), np.arange(len(d_img))
    g_src = a_sel[np.argsort(a_img[a_sel], kind="stable")]
    p_src = d_sel[np.lexsort((d_sel, -d_score[d_sel], d_img[d_sel]))]
    pairs = Pairs(
        iou_type, cats, [names[c] for c in cats],
        np.union1d(a_img[g_src], d_img[p_src]),
        p_src, d_img[p_src], np.searchsorted(cat_arr, cols.d_cat[p_src]), d_score[p_src],
        g_src, a_img[g_src], cols.g_id[g_src], np.searchsorted(cat_arr, cols.g_cat[g_src]),
        cols.g_crowd[g_src], hard_labels(cols, difficult_ids)[g_src])
    pairs.buckets = _buckets(pairs, gt, dt, cols, rles)
    return pairs


def _bucket_size(n: np.ndarray) -> np.ndarray:
    """n rounded up to 1, 2, 3, 4, 6, 8, 12, 16, 24, ...: padding stays under half the cells."""
    out = np.ones_like(n)
    big = n > 1
    p = 1 << np.ceil(np.log2(n[big])).astype(np.int64)
    out[big] = np.where(n[big] <= 3 * p // 4, 3 * p // 4, p)
    return out


def _buckets(pairs: Pairs, gt: dict, dt: list[dict], cols: Columns, rles) -> list[Bucket]:
    n_img = len(pairs.images)
    p_row = np.searchsorted(pairs.images, pairs.p_image)
    g_row = np.searchsorted(pairs.images, pairs.g_image)
    n_p = np.bincount(p_row, minlength=n_img)
    n_g = np.bincount(g_row, minlength=n_img)
    p_start = np.concatenate(([0], np.cumsum(n_p)[:-1]))
    g_start = np.concatenate(([0], np.cumsum(n_g)[:-1]))
    both = np.nonzero((n_p > 0) & (n_g > 0))[0]
    if not len(both):
        return []
    dm, gm = _bucket_size(n_p[both]), _bucket_size(n_g[both])
    geometry = _Geometry(pairs, gt, dt, cols, rles)
    out = []
    for key in np.unique(np.stack([dm, gm], 1), axis=0):
        d, g = int(key[0]), int(key[1])
        group = both[(dm == d) & (gm == g)]
        group = group[np.argsort(-n_p[group], kind="stable")]  # see Bucket
        step = max(1, MAX_BUCKET_CELLS // (d * g))
        for s in range(0, len(group), step):
            rows = group[s:s + step]
            pidx = _padded(p_start[rows], n_p[rows], d)
            gidx = _padded(g_start[rows], n_g[rows], g)
            iou, plain = geometry.ious(rows, pidx, gidx)
            out.append(Bucket(rows, pidx, gidx, iou, plain))
    return out


def _corners(box: np.ndarray) -> tuple[np.ndarray, ...]:
    """x, y, right, bottom and area of each (x, y, w, h) box, an empty box at the origin appended."""
    b = np.concatenate([np.asarray(box, np.float64).reshape(-1, 4), np.zeros((1, 4))])
    x, y, w, h = b.T
    return x, y, x + w, y + h, w * h


def _padded(start: np.ndarray, count: np.ndarray, width: int) -> np.ndarray:
    r = np.arange(width)[None, :]
    return np.where(r < count[:, None], start[:, None] + r, -1)


class _Geometry:
    """Boxes as arrays (IoU computed on whole buckets with pycocotools' arithmetic), or masks as
    RLEs (IoU by pycocotools, image by image)."""

    def __init__(self, pairs: Pairs, gt: dict, dt: list[dict], cols: Columns, rles=None):
        self.pairs = pairs
        anns = gt["annotations"]
        if pairs.iou_type == "segm" and rles is not None:
            self.g_rle = [rles[0][j] for j in pairs.g_src]
            self.p_rle = [rles[1][i] for i in pairs.p_src]
        elif pairs.iou_type == "segm":
            sizes = _image_sizes(gt)
            self.p_rle = _rles([dt[i]["segmentation"] for i in pairs.p_src], pairs.p_image, sizes)
            self.g_rle = _rles([anns[j]["segmentation"] for j in pairs.g_src], pairs.g_image, sizes)
        else:
            self.p_box = _corners((cols.d_box if cols.d_box is not None else boxes(dt))[pairs.p_src])
            self.g_box = _corners((cols.g_box if cols.g_box is not None else boxes(anns))[pairs.g_src])

    def ious(self, rows, pidx, gidx) -> tuple[np.ndarray, np.ndarray]:
        crowd = np.where(gidx >= 0, self.pairs.g_crowd[np.maximum(gidx, 0)], False)
        if self.pairs.iou_type == "segm":
            return self._mask_ious(pidx, gidx, crowd)
        return self._box_ious(pidx, gidx, crowd)

    def _box_ious(self, pidx, gidx, crowd):
        # pycocotools' bbIou: w = min(right) - max(left), i = w * h, u = (da + ga) - i, or da for crowd;
        # each box's right, bottom and area computed once (the same figures). Padding (-1) takes the
        # last row, an empty box at the origin, which overlaps nothing.
        dx, dy, dr, db, da = (c[pidx][:, :, None] for c in self.p_box)
        gx, gy, gr, gb, ga = (c[gidx][:, None, :] for c in self.g_box)
        iw = np.minimum(dr, gr)
        iw -= np.maximum(dx, gx)
        ih = np.minimum(db, gb)
        ih -= np.maximum(dy, gy)
        overlap = iw > 0
        overlap &= ih > 0
        inter = np.multiply(iw, ih, out=iw)
        union = np.add(da, ga, out=ih)
        union -= inter
        with np.errstate(invalid="ignore", divide="ignore"):
            plain = np.divide(inter, union, out=np.zeros_like(inter), where=overlap)
            if not crowd.any():
                return plain, plain
            iou = np.where(crowd[:, None, :], np.divide(inter, np.broadcast_to(da, inter.shape),
                                                        out=np.zeros_like(inter), where=overlap), plain)
        return iou, plain

    def _mask_ious(self, pidx, gidx, crowd):
        B, D = pidx.shape
        G = gidx.shape[1]
        iou = np.zeros((B, D, G))
        plain = iou if not crowd.any() else np.zeros((B, D, G))
        for b in range(B):
            pi = pidx[b][pidx[b] >= 0]
            gi = gidx[b][gidx[b] >= 0]
            c = crowd[b, :len(gi)]
            d_r = [self.p_rle[i] for i in pi]
            g_r = [self.g_rle[j] for j in gi]
            m = np.asarray(mask_utils.iou(d_r, g_r, c.astype(np.uint8).tolist()), float).reshape(len(pi), len(gi))
            iou[b, :len(pi), :len(gi)] = m
            if plain is not iou:
                plain[b, :len(pi), :len(gi)] = m
                if c.any():
                    cols = np.nonzero(c)[0]
                    plain[b][:len(pi), cols] = np.asarray(
                        mask_utils.iou(d_r, [g_r[j] for j in cols], [0] * len(cols)), float).reshape(len(pi), -1)
        return iou, plain
