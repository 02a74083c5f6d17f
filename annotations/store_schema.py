"""The project database's schema: MIGRATIONS[i] brings a database from version i to i + 1
(annotations/store.py runs them; each is written so that its order among the others does not
matter, `IF NOT EXISTS`)."""
from __future__ import annotations

# Each entry migrates from version i to i+1.
_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE categories (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, supercategory TEXT NOT NULL DEFAULT '',
    color TEXT NOT NULL DEFAULT '', extra TEXT NOT NULL DEFAULT '{}');
CREATE TABLE images (
    id INTEGER PRIMARY KEY, file_name TEXT NOT NULL UNIQUE, width INTEGER NOT NULL,
    height INTEGER NOT NULL, split TEXT NOT NULL DEFAULT '', extra TEXT NOT NULL DEFAULT '{}',
    added_at REAL NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, model TEXT NOT NULL, weights TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'predict', params TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    kind TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    polygons TEXT, holes TEXT, rle TEXT, area REAL NOT NULL, iscrowd INTEGER NOT NULL DEFAULT 0,
    score REAL, status TEXT NOT NULL DEFAULT 'label', source TEXT NOT NULL DEFAULT 'hand',
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, updated_at REAL NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}');
CREATE INDEX ann_image ON annotations(image_id);
CREATE INDEX ann_category ON annotations(category_id);
CREATE INDEX ann_run ON annotations(run_id);
CREATE INDEX img_split ON images(split);
"""
# Hide and lock, kept with the project; rows go when their annotation or category goes.
_VIEW_FLAGS = """
CREATE TABLE IF NOT EXISTS view_flags (
    kind TEXT NOT NULL CHECK (kind IN ('annotation', 'category')), id INTEGER NOT NULL,
    flag TEXT NOT NULL CHECK (flag IN ('hidden', 'locked')), PRIMARY KEY (kind, id, flag)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS view_flags_annotation_gone AFTER DELETE ON annotations
    BEGIN DELETE FROM view_flags WHERE kind = 'annotation' AND id = OLD.id; END;
CREATE TRIGGER IF NOT EXISTS view_flags_category_gone AFTER DELETE ON categories
    BEGIN DELETE FROM view_flags WHERE kind = 'category' AND id = OLD.id; END;
"""
# Ranking scores (annotations/scores.py): per image and per object, with the run(s) they came from,
# and backbone embeddings per run and image. Guarded, so its place among the migrations does not matter.
_SCORES = """
CREATE TABLE IF NOT EXISTS score_sets (
    id INTEGER PRIMARY KEY, strategy TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    run2_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    params TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS image_scores (
    set_id INTEGER NOT NULL REFERENCES score_sets(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    score REAL NOT NULL, extra TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (set_id, image_id));
CREATE TABLE IF NOT EXISTS object_scores (
    id INTEGER PRIMARY KEY,
    set_id INTEGER NOT NULL REFERENCES score_sets(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    annotation_id INTEGER REFERENCES annotations(id) ON DELETE CASCADE,
    prediction_id INTEGER REFERENCES annotations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL, score REAL NOT NULL, extra TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS object_scores_set ON object_scores(set_id, image_id);
CREATE INDEX IF NOT EXISTS object_scores_ann ON object_scores(annotation_id);
CREATE INDEX IF NOT EXISTS object_scores_pred ON object_scores(prediction_id);
CREATE INDEX IF NOT EXISTS image_scores_image ON image_scores(image_id);
CREATE TABLE IF NOT EXISTS image_embeddings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    vector BLOB NOT NULL, PRIMARY KEY (run_id, image_id));
CREATE INDEX IF NOT EXISTS image_embeddings_image ON image_embeddings(image_id)
"""
# Prediction runs that track their images (status, which images are still missing) and keep the
# predictions of model classes the project has no category for (until the user accepts them).
_PREDICTION_RUN_PROGRESS = """
CREATE TABLE IF NOT EXISTS run_state (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    status TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '', updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS run_images (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    done INTEGER NOT NULL DEFAULT 0, problem TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, image_id));
CREATE TABLE IF NOT EXISTS run_pending (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    class_name TEXT NOT NULL, kind TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL,
    h REAL NOT NULL, rle TEXT, score REAL, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS run_pending_run ON run_pending(run_id, class_name)
"""
# One category's labels, predictions and images (category_usage, the delete-category dialog) counted
# from this index alone: without it each of the category's rows was read from the table.
_CATEGORY_USAGE_INDEX = """
CREATE INDEX IF NOT EXISTS ann_category_image ON annotations(category_id, image_id, status)
"""
# Review marks (annotations/review_marks.py): what a person decided about an object a run's ranking
# flagged (kept, accepted, deleted), with what the object was: a mark outlives its score row (deleting
# a label deletes the label's scores) and a new ranking of the same run. Guarded.
_REVIEW_MARKS = """
CREATE TABLE IF NOT EXISTS review_marks (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    annotation_id INTEGER, prediction_id INTEGER,
    kind TEXT NOT NULL, score REAL NOT NULL, extra TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS review_marks_run ON review_marks(run_id, annotation_id)
"""
# ann_category_image starts with category_id, so it serves every lookup by category (and the
# cascade when a category goes); the index on category_id alone only cost each insert a fifth b-tree.
_DROP_CATEGORY_INDEX = """
DROP INDEX IF EXISTS ann_category
"""
# Each shape's rings packed as binary (annotations/outlines.py), written with its annotation: the
# canvas draws an image's shapes from them. A table of its own, so the annotations' rows stay as they
# were (scans and exports read no more pages) and an image's outlines are a few pages. Shapes of few
# points, and annotations written before, have none: they are packed from their JSON as they are read.
_OUTLINES = """
CREATE TABLE IF NOT EXISTS outlines (
    annotation_id INTEGER PRIMARY KEY REFERENCES annotations(id) ON DELETE CASCADE,
    points BLOB NOT NULL, rings BLOB)
"""
MIGRATIONS: list[str] = [_SCHEMA_V1, _VIEW_FLAGS, _SCORES, _PREDICTION_RUN_PROGRESS, _CATEGORY_USAGE_INDEX,
                         _REVIEW_MARKS, _DROP_CATEGORY_INDEX, _OUTLINES]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn) -> int:
    """The schema version the database says it has (0: none yet); -1 when its meta row is no whole
    number (a database this project did not write)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except (TypeError, ValueError):
        return -1
