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


def _summary(**changes) -> dict:
    """run.json as the loop writes it (TrainLoop._summary), with changes."""
    s = {"status": "finished", "model": "fcos_compact_fpn", "task": "detection", "project": "/p", "categories": ["a"],
         "options": {"epochs": 3}, "position": {"epoch": 3, "iteration": 30}, "total_iterations": 30,
         "best": {"value": 0.5, "epoch": 2, "monitor": "map"}, "history": [{"epoch": 1, "map": float("nan")}],
         "last_checkpoint": None, "updated_at": 1796410331.5, "device": "cpu", "world_size": 1,
         "left_out_over_pixel_limit": []}
    return {**s, **changes}


def test_a_run_folder_whose_summary_is_not_what_a_run_writes_is_not_listed(tmp_path):
    """runs/ lies in the project folder, which may come from someone else: a run.json whose epoch is
    a word, whose best value is text or whose options are a list ended the Training dock's listing
    in a traceback (int('abc'), f'{"high":.3f}', [].get). Such a folder is not listed; a run's own
    summary is, NaN in its history included."""
    import json

    from engine.training.runs import list_runs
    runs = tmp_path / "runs"
    cases = {"good": _summary(), "list": [1, 2], "epoch": _summary(position={"epoch": "abc"}),
             "best": _summary(best={"value": "high"}), "options": _summary(options=[1]),
             "history": _summary(history="x"), "when": _summary(updated_at=1e300)}
    for name, s in cases.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "run.json").write_text(json.dumps(s))
    listed = {r.name: r for r in list_runs(tmp_path)}
    assert sorted(listed) == ["good", "when"]
    assert listed["good"].best_metric == 0.5 and listed["good"].epoch == 3 and listed["good"].options == {"epochs": 3}
    assert listed["when"].updated_at == 0.0  # no date for a time no clock gives (time.localtime refuses it)
