"""best.pt is promoted from last.pt without a second copy on disk, and keeps its bytes when last.pt moves on."""
import os

from annotations.imageio import atomic_write_bytes
from engine.training.runs import RunFiles


def test_best_shares_last_until_last_is_replaced(tmp_path):
    files = RunFiles(tmp_path / "run")
    files.dir.mkdir()
    atomic_write_bytes(files.last, b"epoch 1")
    files.promote_last_to_best()
    assert os.stat(files.best).st_ino == os.stat(files.last).st_ino  # one file on disk, two names
    atomic_write_bytes(files.last, b"epoch 2")                      # the loop replaces last.pt by rename
    assert files.best.read_bytes() == b"epoch 1" and files.last.read_bytes() == b"epoch 2"
    assert sorted(p.name for p in files.dir.iterdir()) == ["best.pt", "last.pt"]  # no temporary left


def test_best_is_copied_where_hard_links_fail(tmp_path, monkeypatch):
    files = RunFiles(tmp_path / "run")
    files.dir.mkdir()
    atomic_write_bytes(files.last, b"epoch 1")
    atomic_write_bytes(files.best, b"older best")

    def no_links(src, dst):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(os, "link", no_links)
    files.promote_last_to_best()
    assert files.best.read_bytes() == b"epoch 1"
    assert os.stat(files.best).st_ino != os.stat(files.last).st_ino
    assert sorted(p.name for p in files.dir.iterdir()) == ["best.pt", "last.pt"]
