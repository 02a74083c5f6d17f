"""The rows of a project database checked as it is opened: a project folder is a file from outside
too (shared, unpacked from an archive, written by a tool that is not Sightline), and the store's
readers take its values as the store writes them. Every value the readers rely on is checked once,
here: types and ranges of the numbers, the names of kinds and statuses, the JSON columns (geometry
down to each coordinate), links between tables, and image paths, which must stay inside the project
unless absolute (an image registered from a folder the person named). A database with rows that
no version of Sightline writes is refused whole with one line naming the first of them, and left as
it was.

The geometry is decoded by msgspec against its types (a list of rings of numbers; a COCO RLE), about
as costly as reading the column; the rest is SQL over each table once. In all about 0.25 s for 100k
polygons of 50 points, 1 ms for the demo project."""
from __future__ import annotations

import json
import ntpath
import posixpath
import sqlite3
from typing import Union

import msgspec

from .model import KINDS, LABEL, PREDICTION
from .store_schema import schema_version

_NUMBER = "typeof({c}) IN ('real', 'integer') AND abs({c}) <= 1.7976931348623157e308"  # finite (no NaN in SQLite)
# The store writes a label file's NaN and Infinity into extra as Python's json does (NaN, Infinity),
# which SQLite's JSON does not take: they are read as numbers for the test.
_TOKENS = "replace(replace(replace({c}, '-Infinity', '0'), 'Infinity', '0'), 'NaN', '0')"
_NOT_OBJECT = f"{{c}} != '{{{{}}}}' AND (NOT json_valid({_TOKENS}) OR json_type({_TOKENS}) != 'object')"  # '{{}}': most rows


def _one_of(names) -> str:
    return "(" + ", ".join(f"'{n}'" for n in names) + ")"


_ANNOTATION_RULES = (
    (f"kind not one of {', '.join(KINDS)}", f"kind NOT IN {_one_of(KINDS)}"),
    (f"status not {LABEL} or {PREDICTION}", f"status NOT IN {_one_of((LABEL, PREDICTION))}"),
    *((f"{c} not a finite number", f"NOT ({_NUMBER.format(c=c)})") for c in ("x", "y", "w", "h", "area")),
    ("score not a finite number", f"score IS NOT NULL AND NOT ({_NUMBER.format(c='score')})"),
    ("iscrowd not 0 or 1", "iscrowd NOT IN (0, 1)"),
    ("a polygon without rings", "kind = 'polygon' AND polygons IS NULL"),
    ("a mask without its RLE", "kind = 'mask' AND rle IS NULL"),
    ("extra not a JSON object", _NOT_OBJECT.format(c="extra")),
)
_IMAGE_RULES = (
    ("width or height not a whole number of 1 or more",
     "typeof(width) != 'integer' OR typeof(height) != 'integer' OR width < 1 OR height < 1"),
    ("no file name", "typeof(file_name) != 'text' OR file_name = ''"),
    ("split not text", "typeof(split) != 'text'"),
    ("extra not a JSON object", _NOT_OBJECT.format(c="extra")),
)
_CATEGORY_RULES = (
    ("name not text", "typeof(name) != 'text'"),
    ("colour or supercategory not text", "typeof(color) != 'text' OR typeof(supercategory) != 'text'"),
    ("extra not a JSON object", _NOT_OBJECT.format(c="extra")),
)
_RUN_RULES = (("params not a JSON object", _NOT_OBJECT.format(c="params")),)
_OUTLINE_RULES = (("its packed rings are cut short", "typeof(points) != 'blob' OR length(points) % 8 != 0 "
                   "OR (rings IS NOT NULL AND (typeof(rings) != 'blob' OR length(rings) % 4 != 0))"),)
# Rankings and pending predictions: numbers (a ranking may store an infinite score), JSON as JSON.
_A_NUMBER = "typeof({c}) NOT IN ('real', 'integer')"
_SCORE_RULES = (("score not a number", _A_NUMBER.format(c="score")),
                ("extra not a JSON object", _NOT_OBJECT.format(c="extra")))
_PENDING_RULES = (*((f"{c} not a number", _A_NUMBER.format(c=c)) for c in ("x", "y", "w", "h")),
                  ("score not a number", f"score IS NOT NULL AND {_A_NUMBER.format(c='score')}"),
                  ("rle not JSON", f"rle IS NOT NULL AND NOT json_valid({_TOKENS.format(c='rle')})"))
SHOWN = 3  # problems named in the refusal
_ONE = {"annotations": "annotation", "images": "image", "categories": "category", "runs": "model run",
        "outlines": "outline", "image_scores": "image score", "object_scores": "object score",
        "review_marks": "review mark", "run_pending": "pending prediction"}


class _Rle(msgspec.Struct):
    size: tuple[int, int]
    counts: Union[str, list[int]]


_RINGS = msgspec.json.Decoder(list[list[float]])
_RLE = msgspec.json.Decoder(_Rle)


def refuse_foreign_rows(conn: sqlite3.Connection, db, error: type[Exception], version: int | None = None) -> bool:
    """`error` naming the first rows that do not hold, if any. With `version`, only a database at that
    schema version is looked at (Store.open does so on its read-only look, before anything writes;
    an older one is looked at once migrated). True when the rows were looked at."""
    if version is not None:
        found = schema_version(conn)
        if found < 0:
            raise error(f"{db} holds no schema version Sightline wrote; it was left as it was.")
        if found != version:
            return False
    problems = row_problems(conn)
    if problems:
        raise error(f"{db} holds rows that no version of Sightline writes ({'; '.join(problems)}); "
                    "it was left as it was.")
    return True


def row_problems(conn: sqlite3.Connection, limit: int = SHOWN) -> list[str]:
    """What is wrong with the rows ("annotation 17: kind not one of box, polygon, mask"), the first
    `limit` found; [] when every row holds."""
    found: list[str] = []
    for table, rules in (("annotations", _ANNOTATION_RULES), ("images", _IMAGE_RULES),
                         ("categories", _CATEGORY_RULES), ("runs", _RUN_RULES), ("outlines", _OUTLINE_RULES),
                         ("image_scores", _SCORE_RULES), ("object_scores", _SCORE_RULES),
                         ("review_marks", _SCORE_RULES), ("run_pending", _PENDING_RULES)):
        cases = " ".join(f"WHEN {cond} THEN ?" for _, cond in rules)
        fails = " OR ".join(f"({cond})" for _, cond in rules)  # each row's test once; the reason for the few that fail
        sql = f"SELECT rowid, CASE {cases} END FROM {table} WHERE {fails} ORDER BY rowid LIMIT {int(limit)}"
        found += [f"{_ONE[table]} {i}: {why}" for i, why in conn.execute(sql, [name for name, _ in rules])]
    for table, i, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchmany(limit):
        found.append(f"{_ONE.get(table, table)} {i}: its {_ONE.get(parent, parent)} does not exist")
    if found:  # named as they are; the Python passes below run on a database that passed these
        return found[:limit]
    return (_geometry_problems(conn, limit) + _path_problems(conn, limit))[:limit]


def _geometry_problems(conn: sqlite3.Connection, limit: int) -> list[str]:
    found = []
    rows = conn.execute("SELECT id, polygons, holes, rle FROM annotations "
                        "WHERE polygons IS NOT NULL OR holes IS NOT NULL OR rle IS NOT NULL")
    for i, polygons, holes, rle in rows:
        try:
            for text in (polygons, holes):
                if text is not None:
                    _decoded(text, _RINGS, list[list[float]])
            if rle is not None:
                r = _decoded(rle, _RLE, _Rle)
                if min(r.size) < 0 or (isinstance(r.counts, list) and min(r.counts, default=0) < 0):
                    raise ValueError("a negative size or count")
        except (ValueError, TypeError, RecursionError) as e:  # msgspec's errors are ValueErrors
            found.append(f"annotation {i}: its geometry does not hold ({e})")
            if len(found) >= limit:
                break
    return found


def _decoded(text, decoder, kind):
    """msgspec's strict decode; where it refuses the text, Python's json (which reads NaN and
    Infinity, as the store's readers do) and msgspec's check of what that gives."""
    try:
        return decoder.decode(text)
    except msgspec.DecodeError:
        return msgspec.convert(json.loads(text), kind)


def _path_problems(conn: sqlite3.Connection, limit: int) -> list[str]:
    """A relative image path must stay inside the project (the store writes relative paths only for
    files inside it): '../../etc/passwd' in a shared project would otherwise be read and exported."""
    found = []
    for i, name in conn.execute("SELECT id, file_name FROM images"):
        if "\0" in name:
            found.append(f"image {i}: its path holds a NUL character")
        elif not posixpath.isabs(name) and not ntpath.isabs(name):
            parts = posixpath.normpath(name.replace("\\", "/")).split("/")
            if parts[0] == "..":
                found.append(f"image {i}: its path {name!r} leads outside the project")
        if len(found) >= limit:
            break
    return found
