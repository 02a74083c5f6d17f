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


def test_a_connection_per_live_thread_not_per_run(tmp_path, qapp):
    """Each Qt pool run (the canvas's read-ahead, every job) starts a fresh Python thread state, so a
    connection kept per thread state was opened anew for every run and kept until the store closed:
    some 300 KB more per image switch. Runs one after another share one connection; threads alive at
    once never share one; all of them still read what the others wrote."""
    from PySide6.QtCore import QRunnable, QThreadPool  # qapp: pytest-qt's QApplication, made once for every test
    s = Store.open(tmp_path / "p")
    cat = s.add_category(Category(None, "x"))
    img = s.add_image(ImageRecord(None, "a.jpg", 64, 64))
    seen = []

    class Read(QRunnable):
        def run(self):
            s.add_annotation(Annotation(None, img, cat, bbox=(0, 0, 2, 2)))
            seen.append((id(s._conn()), len(s.annotations(image_id=img))))

    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    for _ in range(30):
        pool.start(Read())
        pool.waitForDone()
    for _ in range(10):  # plain threads, one after another
        t = threading.Thread(target=lambda: seen.append((id(s._conn()), len(s.annotations(image_id=img)))))
        t.start()
        t.join()
    assert [n for _, n in seen] == list(range(1, 31)) + [30] * 10
    assert len({c for c, _ in seen}) == 1 and len(s._conns) == 2  # the main thread's (from add_category) and one more

    held, all_hold = [], threading.Barrier(4, timeout=10)

    def hold():
        held.append(id(s._conn()))
        all_hold.wait()  # the three hold their connections at once
        all_hold.wait()

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for t in threads:
        t.start()
    all_hold.wait()
    all_hold.wait()
    for t in threads:
        t.join()
    assert len(set(held)) == 3 and len(s._conns) == 4
    s.close()
    assert s._conns == [] and s._idle == []
