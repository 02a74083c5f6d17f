"""What an import read from its files, and the one transaction that puts it into the project.

Readers parse and check everything first, outside any transaction (that is the slow part: JSON,
XML, image headers, geometry), into PendingImage records whose annotations name their category.
commit_import then maps names and ids onto the project and inserts it all in one short
transaction, so the GUI's own edits wait milliseconds, not the length of the import."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable

from ..model import Annotation, Category, ImageRecord
from ..store import Store
from .common import FormatError, ImportReport


@dataclass
class PendingCategory:
    name: str
    wanted_id: int | None = None
    supercategory: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class PendingImage:
    name: str  # as the project registers it (see NameResolver)
    width: int
    height: int
    split: str = ""
    extra: dict = field(default_factory=dict)
    wanted_id: int | None = None
    source: str = ""  # the file and entry, for messages
    # (category name, annotation, wanted annotation id); image_id/category_id are set on commit
    annotations: list[tuple[str, Annotation, int | None]] = field(default_factory=list)

    def add(self, category: str, ann: Annotation, wanted_id: int | None = None) -> None:
        self.annotations.append((category, ann, wanted_id))


class NameResolver:
    """Image paths -> the names the project registers them under (relative to its folder when
    inside it). Folders are resolved once: thousands of resolve() calls would dominate an import."""

    def __init__(self, store: Store):
        self.store = store
        self._folders: dict[Path, str] = {}

    def name(self, path: str | os.PathLike) -> str:
        return self.store.relative_name(path)

    def name_under(self, folder: Path, file_name: str) -> str:
        rel = PurePosixPath(file_name.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            return self.store.relative_name(folder / file_name)
        if folder not in self._folders:
            self._folders[folder] = self.store.relative_name(folder)
        base = self._folders[folder]
        return rel.as_posix() if base == "." else f"{base}/{rel.as_posix()}"


def existing_ids(store: Store, table: str) -> set[int]:
    with store.transaction() as conn:  # joins the import's transaction when there is one
        return {r[0] for r in conn.execute(f"SELECT id FROM {table}")}  # noqa: S608 - fixed names


class IdAllocator:
    """Keeps every wanted id that is free; hands out new ids (above every used and wanted id) only
    to a real clash or an id that cannot be kept (0, negative, repeated). Records which."""

    def __init__(self, used: Iterable[int], wanted: Iterable = ()):
        self.used = set(used)
        self.keep: set[int] = set()
        for w in wanted:
            if _usable(w) and w not in self.used:
                self.keep.add(w)
        self.next = max(self.used | self.keep, default=0) + 1
        self.renumbered: list[tuple[object, int]] = []  # (wanted, given)

    def take(self, wanted) -> int:
        if type(wanted) is int and wanted in self.keep:  # keep holds only usable ids (and no bool is kept)
            self.keep.discard(wanted)
            self.used.add(wanted)
            return wanted
        while self.next in self.used or self.next in self.keep:
            self.next += 1
        self.used.add(self.next)
        if wanted is not None:
            self.renumbered.append((wanted, self.next))
        return self.next

    def describe(self, what: str, limit: int = 10) -> str | None:
        if not self.renumbered:
            return None
        pairs = ", ".join(f"{a} -> {b}" for a, b in self.renumbered[:limit])
        more = f" and {len(self.renumbered) - limit} more" if len(self.renumbered) > limit else ""
        zero = sum(a == 0 for a, _ in self.renumbered)
        why = ("0 (ids start at 1)" if zero == len(self.renumbered) else
               "already used in the project" + (" or 0 (ids start at 1)" if zero else ""))
        return f"{len(self.renumbered)} {what} id(s) were {why} and got new ids: {pairs}{more}"


def _usable(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 < v <= (1 << 63) - 1


def commit_import(store: Store, images: list[PendingImage], report: ImportReport,
                  categories: Iterable[PendingCategory] = ()) -> None:
    """Map onto the project and insert, in one transaction.

    A category whose name the project has is reused; a new one keeps its wanted id when free.
    An image registered under the same name is reused (same size required); a new one keeps its
    wanted id when free. Annotation ids likewise. The report counts what was added and says
    exactly which ids were renumbered; report.id_map holds file id -> project id where they differ."""
    categories = list(categories)
    with store.transaction():
        cat_ids = {c.name: c.id for c in store.categories()}
        cat_alloc = IdAllocator(cat_ids.values(), (c.wanted_id for c in categories if c.name.strip() not in cat_ids))
        new_cats: list[Category] = []
        cat_map: dict[int, int] = {}
        merged: list[str] = []  # file categories that are project categories of the same name, under another id

        def category_id(pc: PendingCategory) -> int:
            name = pc.name.strip()
            if name not in cat_ids:
                cat_ids[name] = cat_alloc.take(pc.wanted_id)
                new_cats.append(Category(cat_ids[name], name, pc.supercategory, "", dict(pc.extra)))
            if pc.wanted_id is not None and pc.wanted_id != cat_ids[name]:
                cat_map[pc.wanted_id] = cat_ids[name]
                if cat_ids[name] not in {c.id for c in new_cats}:
                    merged.append(f"{name!r} {pc.wanted_id} -> {cat_ids[name]}")
            return cat_ids[name]

        for pc in categories:
            category_id(pc)
        known = {r.file_name: r for r in store.images()}
        img_alloc = IdAllocator((r.id for r in known.values()), (p.wanted_id for p in images if p.name not in known))
        ann_alloc = IdAllocator(existing_ids(store, "annotations"),
                                (w for p in images for _, _, w in p.annotations))
        new_images: list[ImageRecord] = []
        anns: list[Annotation] = []
        matched: set[int] = set()
        img_map: dict[int, int] = {}
        id_of: dict[str, int] = {}  # an annotation's category name as given -> its project id
        for p in images:
            rec = known.get(p.name)
            if rec is not None:
                if (rec.width, rec.height) != (p.width, p.height):
                    raise FormatError(f"{p.source or p.name}: {p.name} is in the project as {rec.width}x{rec.height}, "
                                      f"the file says {p.width}x{p.height}")
                matched.add(rec.id)
            else:
                rec = ImageRecord(img_alloc.take(p.wanted_id), p.name, int(p.width), int(p.height), p.split,
                                  dict(p.extra))
                known[p.name] = rec
                new_images.append(rec)
            if p.wanted_id is not None and p.wanted_id != rec.id:
                img_map[p.wanted_id] = rec.id
            for cat_name, a, wanted in p.annotations:
                a.image_id = rec.id
                cid = id_of.get(cat_name)
                if cid is None:
                    cid = id_of[cat_name] = cat_ids.get(cat_name.strip()) or category_id(PendingCategory(cat_name))
                a.category_id = cid
                a.id = ann_alloc.take(wanted)
                anns.append(a)
        if new_cats:
            store.add_categories(new_cats)
        if new_images:
            store.add_images(new_images)
        store.add_annotations(anns)
    report.categories, report.images, report.annotations = len(new_cats), len(new_images), len(anns)
    report.images_matched = len(matched)
    report.id_map = {"images": img_map, "categories": cat_map}
    for alloc, what in ((cat_alloc, "category"), (img_alloc, "image"), (ann_alloc, "annotation")):
        text = alloc.describe(what)
        if text:
            report.warnings.append(text)
    if merged:
        more = f" and {len(merged) - 10} more" if len(merged) > 10 else ""
        report.warnings.append(f"{len(merged)} category(ies) of the file are the project's categories of the same "
                               f"name under another id: {', '.join(merged[:10])}{more}")
    if matched:
        report.warnings.append(f"{len(matched)} image(s) were already in the project; their new annotations "
                               "were added beside the existing ones")


ID_MAP_KEY = "coco_id_map"


def remember_id_map(store: Store, report: ImportReport) -> None:
    """Keep the file id -> project id renumbering of a COCO import (empty when every id was kept),
    so a results file keyed to that file's ids is read through it."""
    m = report.id_map
    store.set_meta(ID_MAP_KEY, {k: {str(a): b for a, b in v.items()} for k, v in m.items()})


def file_id_map(store: Store) -> tuple[dict[int, int], dict[int, int]]:
    """(image, category) renumbering of the last COCO import: file id -> project id, only where they differ."""
    m = store.get_meta(ID_MAP_KEY, {}) or {}
    return tuple({int(a): int(b) for a, b in (m.get(k) or {}).items()} for k in ("images", "categories"))
