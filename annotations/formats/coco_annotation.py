"""One COCO annotation <-> one Annotation, exactly.

Round-trip hints a COCO file needs but the data model has no field for live under the reserved
extra key "_coco" and are never written out as fields."""
from __future__ import annotations

from .. import geometry
from ..model import BOX, MASK, POLYGON, Annotation
from .common import (FormatError, box_fits, check_box, check_box_extent, check_extent, check_number, check_numbers,
                     check_ring, ring_fits)
from .rle_counts import counts_from_string
from ..errors import SightlineError

COCO_ANN_FIELDS = ("id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation", "score")
HINT = "_coco"  # Annotation.extra key for round-trip hints
_NOT_EXTRA = frozenset(COCO_ANN_FIELDS) - {"score"}  # fields of an entry that are not kept in extra


class Rejected(SightlineError):
    """This annotation cannot be represented (the import goes on with a warning)."""


def read_rle(seg: dict, where: str, height: int, width: int) -> tuple[dict, bool]:
    """(compressed RLE, was_uncompressed), checked against the image size."""
    size = seg.get("size")
    counts = seg.get("counts")
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
        raise FormatError(f"{where}: RLE 'size' must be [height, width], got {size!r}")
    h, w = size
    if (h, w) != (height, width):
        raise FormatError(f"{where}: RLE size [{h}, {w}] differs from its image's size [{height}, {width}]")
    if isinstance(counts, list):
        check_numbers(counts, where, "RLE counts")
        if not set(map(type, counts)) <= {int} or sum(counts) != h * w:  # numbers by now: whole ones?
            raise FormatError(f"{where}: uncompressed RLE counts must be whole numbers summing to "
                              f"height*width = {h * w}")
        return geometry.normalize_rle({"size": [h, w], "counts": counts}), True
    if isinstance(counts, (str, bytes)):
        try:
            runs = counts_from_string(counts)
        except ValueError as e:
            raise FormatError(f"{where}: RLE counts are not a COCO compressed string ({e})") from None
        if sum(runs) != h * w or any(r < 0 for r in runs):
            raise FormatError(f"{where}: RLE counts do not cover height*width = {h * w} pixels")
        return geometry.normalize_rle({"size": [h, w], "counts": counts}), False
    raise FormatError(f"{where}: RLE 'counts' must be a list or a string, got {type(counts).__name__}")


def geometry_from_coco(d: dict, where: str, height: int, width: int) -> dict:
    """kind, bbox, polygons, rle and hints of a COCO annotation or result (checked)."""
    seg = d.get("segmentation")
    box = d.get("bbox")
    # The usual entry, polygons or none and a box, all fine: taken in a few passes (ring_fits); anything
    # else goes through the checks below, which name what is wrong.
    if box_fits(box, width, height) and (seg is None or (type(seg) is list and seg and all(
            ring_fits(r, width, height) for r in seg))):
        if seg is None:
            return {"kind": BOX, "polygons": None, "rle": None, "bbox": tuple(box), "hints": {}}
        return {"kind": POLYGON, "polygons": list(seg), "rle": None, "bbox": tuple(box), "hints": {}}
    hints: dict = {}
    out = {"kind": BOX, "polygons": None, "rle": None}
    if isinstance(seg, list):
        if not seg:
            hints["segmentation"] = "empty"
        else:
            rings = []
            for i, ring in enumerate(seg):
                try:
                    rings.append(check_ring(ring, where, f"polygon {i}" if len(seg) > 1 else "polygon"))
                except FormatError as e:
                    if isinstance(ring, list) and len(ring) < 6 and len(ring) % 2 == 0:
                        raise Rejected(str(e)) from None
                    raise
            out.update(kind=POLYGON, polygons=rings)
    elif isinstance(seg, dict):
        rle, uncompressed = read_rle(seg, where, height, width)
        if uncompressed:
            hints["rle"] = "uncompressed"
        out.update(kind=MASK, rle=rle)
    elif seg is not None:
        raise FormatError(f"{where}: 'segmentation' must be a list of polygons or an RLE object, "
                          f"got {type(seg).__name__}")
    if "bbox" in d:
        out["bbox"] = check_box(d["bbox"], where)
    elif out["kind"] == POLYGON:
        out["bbox"] = geometry.polygon_bbox(out["polygons"])
    elif out["kind"] == MASK:
        out["bbox"] = geometry.rle_bbox(out["rle"])
    else:
        raise FormatError(f"{where}: has neither 'bbox' nor 'segmentation'")
    for i, ring in enumerate(out["polygons"] or []):
        check_extent(ring, width, height, where, f"polygon {i}" if len(out["polygons"]) > 1 else "polygon")
    if out["kind"] != MASK:  # an RLE's size is already checked against the image's
        check_box_extent(out["bbox"], width, height, where)
    out["hints"] = hints
    return out


def annotation_from_coco(d: dict, where: str, image_id: int, category_id: int, height: int, width: int,
                         **fields) -> Annotation:
    """A label from a COCO annotation; other fields of the entry go to extra."""
    g = geometry_from_coco(d, where, height, width)
    area = d.get("area")
    if area is not None:
        area = check_number(area, where, "area")
        if area > 4 * width * height:
            raise FormatError(f"{where}: area {area:.6g} is far larger than its {width}x{height} image")
    iscrowd = d.get("iscrowd", 0)
    if isinstance(iscrowd, bool) or iscrowd not in (0, 1):
        raise FormatError(f"{where}: iscrowd must be 0 or 1, got {iscrowd!r}")
    extra = {} if d.keys() <= _NOT_EXTRA else {k: v for k, v in d.items() if k not in _NOT_EXTRA}
    if g["hints"]:
        extra[HINT] = g["hints"]
    return Annotation(None, image_id, category_id, kind=g["kind"], bbox=g["bbox"], polygons=g["polygons"],
                      rle=g["rle"], area=area, iscrowd=int(iscrowd), extra=extra, **fields)


def segmentation_of(a: Annotation, height: int, width: int, results: bool = False):
    """(COCO segmentation or None, converted_with_holes). Polygons with holes become RLE;
    a results file gets RLE for every mask-like annotation (pycocotools' loadRes wants it)."""
    hints = a.extra.get(HINT)
    hints = hints if isinstance(hints, dict) else {}
    if a.kind == POLYGON and a.polygons:
        if a.holes or results:
            return geometry.polygon_to_rle(a.polygons, height, width, a.holes), bool(a.holes)
        return a.polygons, False  # annotations come fresh from the store: no copy needed
    if a.rle is not None:
        rle = a.rle if isinstance(a.rle.get("counts"), str) else geometry.normalize_rle(a.rle)
        if hints.get("rle") == "uncompressed" and not results:
            return {"size": rle["size"], "counts": counts_from_string(rle["counts"])}, False
        return rle, False
    if hints.get("segmentation") == "empty" and not results:
        return [], False
    return None, False


def annotation_to_coco(a: Annotation, height: int, width: int, with_score: bool) -> tuple[dict, bool]:
    """(COCO annotation dict, whether a polygon with holes became RLE)."""
    d = {k: v for k, v in a.extra.items() if not k.startswith("_")}
    d.update(id=a.id, image_id=a.image_id, category_id=a.category_id, bbox=list(a.bbox),
             area=a.area if a.area is not None else geometry.annotation_area(a), iscrowd=int(a.iscrowd))
    seg, holes = segmentation_of(a, height, width)
    if seg is not None:
        d["segmentation"] = seg
    if with_score and a.score is not None:
        d["score"] = a.score
    return d, holes


def result_from_annotation(a: Annotation, height: int, width: int, iou_type: str) -> dict:
    """One detection in COCO results form. "segm" results carry no bbox: pycocotools' loadRes
    takes any result with a bbox as a box result (area = box area), which would change the mask
    evaluation."""
    d = {"image_id": a.image_id, "category_id": a.category_id}
    if iou_type == "segm":
        d["segmentation"] = segmentation_of(a, height, width, results=True)[0] or \
            geometry.annotation_rle(a, height, width)
    else:
        d["bbox"] = [float(v) for v in a.bbox]
    d["score"] = float(a.score if a.score is not None else 1.0)
    return d
