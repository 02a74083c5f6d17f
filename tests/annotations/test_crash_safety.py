"""A child process editing the store is killed with SIGKILL at random moments; nothing committed is lost."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from annotations.model import Category, ImageRecord
from annotations.store import Store

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys, random
sys.path.insert(0, sys.argv[2])
from annotations.store import Store, copy_annotation
from annotations.model import Annotation
s = Store.open(sys.argv[1], create=False)
img = s.image_ids()[0]; cat = s.categories()[0].id
rng = random.Random(int(sys.argv[3]))
seq = max([a.extra["seq"] for a in s.annotations()] or [0])
print("ready", flush=True)
while True:
    seq += 1
    live = s.annotations()
    op = rng.random()
    if live and op < 0.2:
        a = rng.choice(live)
        print("begin del", a.extra["seq"], flush=True)
        s.delete_annotations([a.id])
        print("ok del", a.extra["seq"], flush=True)
    elif live and op < 0.45:
        a = rng.choice(live)
        print("begin upd", a.extra["seq"], seq, flush=True)
        s.update_annotation(copy_annotation(a, bbox=(seq % 50, 1, 2, 3), area=None))
        print("ok upd", a.extra["seq"], seq, flush=True)
    else:
        print("begin add", seq, flush=True)
        s.add_annotation(Annotation(None, img, cat, bbox=(seq % 50, 0, 4, 4), extra={"seq": seq}))
        print("ok add", seq, flush=True)
"""


def _apply(state, words):
    op, *args = words
    if op == "add":
        state[int(args[0])] = int(args[0]) % 50
    elif op == "upd":
        state[int(args[0])] = int(args[1]) % 50
    elif op == "del":
        state.pop(int(args[0]), None)


def _actual(path):
    s = Store.open(path, create=False)
    try:
        assert s.integrity_check() == "ok"
        return {a.extra["seq"]: int(a.bbox[0]) for a in s.annotations()}
    finally:
        s.close()


def test_sigkill_at_random_moments_loses_no_committed_edit(tmp_path):
    path = tmp_path / "p"
    s = Store.open(path)
    s.add_category(Category(None, "x"))
    s.add_image(ImageRecord(None, "a.jpg", 64, 64))
    s.close()
    rng = random.Random(0)
    expected: dict[int, int] = {}
    kills = 0
    for round_ in range(24):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(ROOT), str(round_)],
                                 stdout=subprocess.PIPE, bufsize=0)  # no read-ahead past "ready"
        assert child.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + rng.uniform(0.02, 0.4)
        fd = child.stdout.fileno()
        chunks = []
        os.set_blocking(fd, False)
        while time.monotonic() < deadline:
            try:
                chunks.append(os.read(fd, 1 << 16))
            except BlockingIOError:
                time.sleep(0.001)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        kills += 1
        os.set_blocking(fd, True)
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        child.stdout.close()
        in_flight = None
        complete_lines = b"".join(chunks).decode().split("\n")[:-1]  # the last one may be cut by the kill
        for line in complete_lines:
            words = line.split()
            if words[0] == "begin":
                in_flight = words[1:]
            elif words[0] == "ok":
                _apply(expected, words[1:])
                in_flight = None
        actual = _actual(path)
        if actual != expected and in_flight is not None:
            _apply(expected, in_flight)  # the edit in flight committed before the kill
        diff = {k: (actual.get(k), expected.get(k)) for k in set(actual) | set(expected) if actual.get(k) != expected.get(k)}
        assert actual == expected, f"round {round_}: store differs from the committed edits: {diff}, in flight {in_flight}"
    assert kills >= 20 and len(expected) > 0
