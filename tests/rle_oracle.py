"""An uncompressed COCO RLE written the plain way (column-major runs, starting with zeros): an
oracle for the tests, independent of pycocotools and of annotations.geometry."""
import numpy as np


def uncompressed_rle(mask: np.ndarray) -> dict:
    counts, cur, run = [], 0, 0
    for v in mask.ravel(order="F"):
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": counts}
