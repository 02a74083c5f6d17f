"""PNG masks export: semantic palette PNGs and instance PNGs, read back with Pillow."""
import json

import numpy as np
from PIL import Image

from annotations import geometry
from annotations.formats import FormatError, export_labels, import_labels
from annotations.model import MASK, POLYGON, Annotation, Category, ImageRecord

import pytest


def project(store, n_cats=2):
    cids = [store.add_category(Category(None, f"c{i}")) for i in range(n_cats)]
    iid = store.add_image(ImageRecord(None, "scene.png", 40, 30, split="val"))
    return cids, iid


def test_semantic_and_instance_pngs(store, tmp_path):
    (a, b), iid = project(store)
    big = np.zeros((30, 40), np.uint8)
    big[0:20, 0:30] = 1
    crowd = np.zeros((30, 40), np.uint8)
    crowd[25:30, 35:40] = 1
    ids = store.add_annotations([
        Annotation(None, iid, a, kind=MASK, rle=geometry.encode_mask(big)),
        Annotation(None, iid, b, kind=POLYGON, polygons=[[5, 5, 15, 5, 15, 15, 5, 15]]),  # on top of the big one
        Annotation(None, iid, b, kind=MASK, rle=geometry.encode_mask(crowd), iscrowd=1),
    ])
    report = export_labels(store, "masks", tmp_path / "m")
    assert report.files == 6  # two PNGs, labelmap, objects, ImageSets/Segmentation val and trainval (no image file)
    sem_img = Image.open(tmp_path / "m/SegmentationClass/scene.png")
    assert sem_img.mode == "P"
    pal = sem_img.getpalette()
    assert pal[3:6] == [128, 0, 0] and pal[255 * 3:256 * 3] == [255, 255, 255]  # VOC colours, white ignore
    sem = np.asarray(sem_img)
    assert sem[0, 0] == 1 and sem[10, 10] == 2 and sem[25, 5] == 0 and sem[27, 37] == 255
    square = geometry.decode_rle(geometry.polygon_to_rle([[5, 5, 15, 5, 15, 15, 5, 15]], 30, 40)).astype(bool)
    assert (sem == 2).sum() == square.sum()
    assert (sem == 1).sum() == big.sum() - (square & big.astype(bool)).sum()
    inst = np.asarray(Image.open(tmp_path / "m/SegmentationObject/scene.png"))
    assert inst.dtype == np.uint8
    assert inst[0, 0] == 1 and inst[10, 10] == 2 and inst[27, 37] == 255 and inst[25, 5] == 0
    objects = json.loads((tmp_path / "m/objects.json").read_text())["scene"]
    assert [o["annotation_id"] for o in objects] == ids
    assert [o["index"] for o in objects] == [1, 2, 3] and objects[2]["iscrowd"] == 1
    labelmap = (tmp_path / "m/labelmap.txt").read_text().splitlines()
    assert labelmap == ["# label:color_rgb:parts:actions", "background:0,0,0::", "c0:128,0,0::", "c1:0,128,0::"]


def test_more_than_254_objects_gives_16_bit(store, tmp_path):
    (a, _), iid = project(store)
    store.update_image(ImageRecord(iid, "scene.png", 40, 30, "val"))
    anns = []
    for k in range(300):  # 300 single-pixel objects
        y, x = divmod(k, 40)
        anns.append(Annotation(None, iid, a, bbox=(x, y, 1, 1)))
    store.add_annotations(anns)
    report = export_labels(store, "masks", tmp_path / "m")
    assert any("16-bit" in w for w in report.warnings)
    inst = np.asarray(Image.open(tmp_path / "m/SegmentationObject/scene.png"))
    assert inst.dtype in (np.uint16, np.int32) and inst.max() == 300
    assert inst[299 // 40, 299 % 40] == 300 and inst[0, 0] == 1


def test_split_selection_and_empty_image(store, tmp_path):
    (a, _), iid = project(store)
    other = store.add_image(ImageRecord(None, "other.png", 10, 10, split="train"))
    store.add_annotation(Annotation(None, other, a, bbox=(0, 0, 5, 5)))
    export_labels(store, "masks", tmp_path / "m", image_ids=store.image_ids("val"))
    assert sorted(p.name for p in (tmp_path / "m/SegmentationClass").iterdir()) == ["scene.png"]
    assert not np.asarray(Image.open(tmp_path / "m/SegmentationClass/scene.png")).any()


def test_masks_cannot_be_imported(store, tmp_path):
    with pytest.raises(FormatError, match="cannot be imported"):
        import_labels(store, "masks", tmp_path)


def test_cancelled_folder_export_writes_nothing(store, tmp_path):
    (a, _), iid = project(store)
    store.add_annotation(Annotation(None, iid, a, bbox=(0, 0, 5, 5)))
    report = export_labels(store, "masks", tmp_path / "m", progress=lambda d, t: False)
    assert report.cancelled
    assert not (tmp_path / "m").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_the_export_is_read_by_torchvision_and_by_datumaros_rules(store, tmp_path):
    """The devkit's segmentation layout: torchvision's VOCSegmentation (root/VOCdevkit/VOC2012:
    ImageSets/Segmentation/<set>.txt, JPEGImages/<id>.jpg, SegmentationClass/<id>.png) reads image
    and mask; datumaro's voc_segmentation (CVAT's "Segmentation mask 1.1") needs labelmap.txt as
    "name:r,g,b:parts:actions" lines (its parse_label_map refuses any other number of fields) and
    finds each class by the colour the PNG shows. Before, labelmap.txt was "index name" lines and
    there was no ImageSets/ and no JPEGImages/: neither reader found anything."""
    from torchvision.datasets import VOCSegmentation
    from fmt_helpers import write_image
    cat, dog = store.add_categories([Category(None, "cat"), Category(None, "hot:dog")])
    write_image(store.root / "a.jpg", 40, 30)
    iid = store.add_image(ImageRecord(None, "a.jpg", 40, 30, split="train"))
    store.add_annotations([Annotation(None, iid, cat, bbox=(2, 2, 10, 10)),
                           Annotation(None, iid, dog, kind=POLYGON, polygons=[[20, 5, 35, 5, 35, 25, 20, 25]])])
    out = tmp_path / "tv" / "VOCdevkit" / "VOC2012"
    report = export_labels(store, "masks", out)
    assert any("hot_dog" in w for w in report.warnings)
    train = VOCSegmentation(str(tmp_path / "tv"), year="2012", image_set="train", download=False)
    assert len(train) == 1
    image, mask = train[0]
    assert image.size == (40, 30) and mask.mode == "P"
    classes = np.asarray(mask)
    assert classes[5, 5] == 1 and classes[15, 30] == 2 and classes[28, 2] == 0
    # datumaro's reading: the label map's fields, then each pixel's colour looked up in it
    names, colours = [], {}
    for line in (out / "labelmap.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        assert len(fields) == 4, line
        colours[tuple(int(c) for c in fields[1].split(","))] = len(names)
        names.append(fields[0])
    assert names == ["background", "cat", "hot_dog"]
    rgb = np.asarray(mask.convert("RGB")).reshape(-1, 3)
    looked_up = np.array([colours[tuple(c)] for c in rgb.tolist()]).reshape(classes.shape)
    assert np.array_equal(looked_up, classes)
    assert (out / "ImageSets" / "Segmentation" / "trainval.txt").read_text() == "a\n"
