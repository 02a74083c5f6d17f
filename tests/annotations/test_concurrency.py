"""The GUI and background jobs write at once: no 'database is locked' reaches anyone, nothing is lost."""
import threading

from annotations.model import Annotation, Category, ImageRecord
from annotations.store import Store, copy_annotation


def test_threads_write_at_once_without_lock_errors(tmp_path):
    s = Store.open(tmp_path / "p")
    cat = s.add_category(Category(None, "x"))
    imgs = s.add_images(ImageRecord(None, f"{i}.jpg", 64, 64) for i in range(4))
    errors = []

    def small_edits(img, n):
        try:
            for i in range(n):
                a = s.annotation(s.add_annotation(Annotation(None, img, cat, bbox=(i, 0, 2, 2))))
                s.update_annotation(copy_annotation(a, bbox=(i, 1, 2, 2)))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def long_import(img):
        try:  # one long transaction, like an import, while the others edit
            s.add_annotations(Annotation(None, img, cat, bbox=(0, 0, 1, 1)) for _ in range(40_000))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=small_edits, args=(imgs[i], 150)) for i in range(3)]
    threads.append(threading.Thread(target=long_import, args=(imgs[3],)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    counts = s.annotation_counts()
    assert [counts[i][0] for i in imgs] == [150, 150, 150, 40_000]
    assert all(a.bbox[1] == 1 for i in imgs[:3] for a in s.annotations(image_id=i))
    s.close()


def test_two_processes_share_a_project(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    s = Store.open(tmp_path / "p")
    cat = s.add_category(Category(None, "x"))
    img = s.add_image(ImageRecord(None, "a.jpg", 64, 64))
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            "from annotations.store import Store; from annotations.model import Annotation;"
            "s = Store.open(sys.argv[2]);"
            "[s.add_annotation(Annotation(None, int(sys.argv[3]), int(sys.argv[4]), bbox=(0, 0, 1, 1))) for _ in range(200)]")
    child = subprocess.Popen([sys.executable, "-c", code, str(root), str(tmp_path / "p"), str(img), str(cat)])
    for _ in range(200):
        s.add_annotation(Annotation(None, img, cat, bbox=(0, 0, 2, 2)))
    assert child.wait(60) == 0
    assert s.annotation_count() == 400
    s.close()
