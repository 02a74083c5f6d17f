"""The training data: labels only, masks and boxes moved together, deterministic resumable batches."""
import numpy as np
import torch
from torchvision.transforms import v2

from annotations.model import Annotation, PREDICTION
from annotations.store import Store
from engine.training.data import LabelledImages, build_transforms, category_labels, read_samples
from engine.training.sampler import AspectGroupedBatches


def _samples(project, task="instance", negatives=False):
    store = Store.open(project, create=False)
    try:
        label_of = category_labels(store.categories(), task)
        ids = store.image_ids("train")
        return store, read_samples(store, ids, task, label_of, negatives), label_of
    finally:
        store.close()


def test_predictions_are_not_labels_and_unlabelled_images_only_when_asked(demo_project):
    store = Store.open(demo_project, create=False)
    first, second = store.image_ids("train")[:2]
    cat = store.categories()[0].id
    store.add_annotation(Annotation(None, first, cat, bbox=(1, 1, 30, 30), status=PREDICTION, score=0.9))
    store.delete_annotations([a.id for a in store.annotations(image_id=second)])
    n_labels = len(store.annotations(image_id=first, status="label"))
    store.close()
    _, samples, _ = _samples(demo_project, "detection")
    by_id = {s.image_id: s for s in samples}
    assert len(by_id[first].boxes) == n_labels  # the prediction is not a training label
    assert second not in by_id
    _, with_neg, _ = _samples(demo_project, "detection", negatives=True)
    neg = {s.image_id: s for s in with_neg}[second]
    assert neg.boxes == [] and neg.labels == []


def test_augmented_masks_and_boxes_stay_in_register(demo_project):
    _, samples, _ = _samples(demo_project)
    ds = LabelledImages(samples, "instance", build_transforms(True, 160, True, "instance"))
    checked = 0
    for key in [(i, 1000 + i) for i in range(12)]:
        image, target = ds[key]
        assert image.dtype == torch.float32 and max(image.shape[-2:]) <= 160 * 1.6 + 1  # zoom-out pads
        assert len(target["boxes"]) == len(target["labels"]) == len(target["masks"])
        for box, mask in zip(target["boxes"], target["masks"]):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            if len(xs) == 0:
                continue
            tight = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
            # the pixels always lie inside the box...
            assert (tight[:2] >= box[:2] - 2.5).all() and (tight[2:] <= box[2:] + 2.5).all(), (box, tight)
            h, w = image.shape[-2:]
            if box[0] > 1 and box[1] > 1 and box[2] < w - 1 and box[3] < h - 1:
                # ...and fit it tightly unless a crop cut the shape (a cut box is clipped, not refitted)
                assert torch.allclose(box, tight, atol=2.5), (box, tight)
                checked += 1
    assert checked > 10


def test_flip_moves_the_boxes():
    from torchvision import tv_tensors
    img = tv_tensors.Image(torch.zeros(3, 20, 40, dtype=torch.uint8))
    boxes = tv_tensors.BoundingBoxes(torch.tensor([[2.0, 3.0, 12.0, 9.0]]), format="XYXY", canvas_size=(20, 40))
    _, t = v2.RandomHorizontalFlip(p=1.0)(img, {"boxes": boxes})
    assert t["boxes"].tolist() == [[28.0, 3.0, 38.0, 9.0]]


def test_same_seed_same_sample(demo_project):
    _, samples, _ = _samples(demo_project, "detection")
    ds = LabelledImages(samples, "detection", build_transforms(True, 128, True, "detection"))
    a, b, c = ds[(3, 77)], ds[(3, 77)], ds[(3, 78)]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1]["boxes"], b[1]["boxes"])
    assert not torch.equal(a[0], c[0]) or not torch.equal(a[1]["boxes"], c[1]["boxes"])


def test_batches_are_deterministic_grouped_and_sharded():
    aspects = [1.33] * 13 + [0.75] * 7
    s = AspectGroupedBatches(aspects, 4, seed=5)
    e0 = s.batches(0)
    assert e0 == AspectGroupedBatches(aspects, 4, seed=5).batches(0)
    assert e0 != s.batches(1)
    assert sorted(i for b in e0 for i, _ in b) == list(range(20))
    mixed = [b for b in e0 if len({aspects[i] >= 1 for i, _ in b}) > 1]
    assert len(mixed) <= 1  # only the leftovers of the two groups share a batch
    shards = [AspectGroupedBatches(aspects, 4, seed=5, rank=r, world_size=2).batches(0) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) >= 2
    seen = [tuple(b) for sh in shards for b in sh]
    assert len(seen) == len(set(seen))


def test_semantic_targets_paint_labels_and_pad_with_ignore(demo_project):
    from engine.training.data import IGNORE, collate_semantic
    from annotations import geometry
    _, samples, label_of = _samples(demo_project, "semantic")
    s = samples[0]
    ds = LabelledImages(samples, "semantic", build_transforms(False, 160, False, "semantic"))
    image, target = ds[0]
    sem = target["semantic"]
    assert sem.shape == image.shape[-2:]
    full = LabelledImages(samples, "semantic").load(0)[1]["semantic"].numpy()
    for rle, label in zip(s.rles, s.labels):
        inside = geometry.decode_rle(rle).astype(bool)
        assert (full[inside] == label).mean() > 0.95  # overlaps aside, each shape is painted with its class
    assert set(np.unique(full)) <= {0, *s.labels}
    x, y = collate_semantic([ds[0], (image[:, :50, :70], {"semantic": sem[:50, :70]})])
    assert x.shape[0] == 2 and y.shape == x.shape[:1] + x.shape[2:]
    assert (y[1, 50:, :] == IGNORE).all() and (y[1, :50, :70] == sem[:50, :70]).all()


def test_a_rotated_photo_is_trained_on_as_displayed(tmp_path):
    """A photo stored 64x32 with EXIF orientation 6 is recorded 32x64: the training sample's image,
    its mask and its box are all in that displayed frame (a mask labelled on the top band covers the
    red band the camera put on the stored left edge)."""
    from PIL import Image

    from annotations import geometry
    from annotations.model import MASK, Category
    rgb = np.zeros((32, 64, 3), np.uint8)
    rgb[:, :16] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(tmp_path / "photo.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    with Store.open(tmp_path) as store:
        (iid,), _ = store.add_image_folder(tmp_path)
        cat = store.add_category(Category(None, "band"))
        m = np.zeros((64, 32), np.uint8)
        m[:16, :] = 1
        store.add_annotation(Annotation(None, iid, cat, kind=MASK, rle=geometry.encode_mask(m)))
        label_of = category_labels(store.categories(), "instance")
        (sample,) = read_samples(store, [iid], "instance", label_of)
    image, target = LabelledImages([sample], "instance").load(0)
    assert (sample.width, sample.height) == (32, 64) and tuple(image.shape) == (3, 64, 32)
    assert tuple(target["masks"].shape) == (1, 64, 32) and target["boxes"].tolist() == [[0.0, 0.0, 32.0, 16.0]]
    red = image[0][target["masks"][0].bool()].float().mean()
    assert red > 200 and image[0][32:].float().mean() < 60
