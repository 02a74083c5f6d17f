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
    """Keeps a wanted id when it is free, otherwise hands out a new one above all used ids."""

    def __init__(self, used: Iterable[int]):
        self.used = set(used)
        self.next = max(self.used, default=0) + 1
        self.remapped = 0

    def take(self, wanted) -> int:
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0 and wanted not in self.used:
            self.used.add(wanted)
            self.next = max(self.next, wanted + 1)
            return wanted
        if wanted is not None:
            self.remapped += 1
        while self.next in self.used:
            self.next += 1
        self.used.add(self.next)
        return self.next


def commit_import(store: Store, images: list[PendingImage], report: ImportReport,
                  categories: Iterable[PendingCategory] = ()) -> None:
    """Map onto the project and insert, in one transaction.

    A category whose name the project has is reused; a new one keeps its wanted id when free.
    An image registered under the same name is reused (same size required); a new one keeps its
    wanted id when free. Annotation ids likewise. The report counts what was added and warns
    about every remapping."""
    with store.transaction():
        cat_ids = {c.name: c.id for c in store.categories()}
        cat_alloc = IdAllocator(cat_ids.values())
        new_cats: list[Category] = []

        def category_id(pc: PendingCategory) -> int:
            name = pc.name.strip()
            if name not in cat_ids:
                cat_ids[name] = cat_alloc.take(pc.wanted_id)
                new_cats.append(Category(cat_ids[name], name, pc.supercategory, "", dict(pc.extra)))
            return cat_ids[name]

        for pc in categories:
            category_id(pc)
        known = {r.file_name: r for r in store.images()}
        img_alloc = IdAllocator(r.id for r in known.values())
        ann_alloc = IdAllocator(existing_ids(store, "annotations"))
        new_images: list[ImageRecord] = []
        anns: list[Annotation] = []
        matched: set[int] = set()
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
            for cat_name, a, wanted in p.annotations:
                a.image_id = rec.id
                a.category_id = cat_ids.get(cat_name.strip()) or category_id(PendingCategory(cat_name))
                a.id = ann_alloc.take(wanted)
                anns.append(a)
        if new_cats:
            store.add_categories(new_cats)
        if new_images:
            store.add_images(new_images)
        store.add_annotations(anns)
    report.categories, report.images, report.annotations = len(new_cats), len(new_images), len(anns)
    report.images_matched = len(matched)
    for n, what in ((cat_alloc.remapped, "category"), (img_alloc.remapped, "image"),
                    (ann_alloc.remapped, "annotation")):
        if n:
            report.warnings.append(f"{n} {what} id(s) were already used in the project; those got new ids")
    if matched:
        report.warnings.append(f"{len(matched)} image(s) were already in the project; their new annotations "
                               "were added beside the existing ones")
