"""The library database's tables, and the forward migrations that build them.

The schema version lives in `PRAGMA user_version`. Each entry of `MIGRATIONS` takes the
database from version N to N + 1 and runs in one transaction with the version bump, so a
crash mid-upgrade leaves the previous version intact. Never edit a migration that has
shipped: append a new one.

Constraints that SQL can hold are in SQL, so that no code path can write a malformed digest,
a duplicate path, a non-object `meta_json` or an orphan link.
"""

from __future__ import annotations

# "MSHF": marks a file as a Model Shelf library, so we never migrate someone else's database.
APPLICATION_ID = 0x4D534846

_SHA256_CHECK = "length({col}) = 64 AND NOT {col} GLOB '*[^0-9a-f]*'"
_META_CHECK = "json_valid(meta_json) AND json_type(meta_json) = 'object'"

_V1 = f"""
CREATE TABLE models (
    sha256      TEXT PRIMARY KEY CHECK ({_SHA256_CHECK.format(col="sha256")}),
    path        TEXT NOT NULL UNIQUE CHECK (path <> ''),
    name        TEXT NOT NULL COLLATE NOCASE,
    type        TEXT NOT NULL,
    size_bytes  INTEGER CHECK (size_bytes >= 0),
    created_at  INTEGER NOT NULL,  -- milliseconds since the epoch, UTC
    updated_at  INTEGER NOT NULL,
    meta_json   TEXT NOT NULL DEFAULT '{{}}' CHECK ({_META_CHECK})
) STRICT;
CREATE INDEX models_by_name ON models (name, sha256);
CREATE INDEX models_by_type ON models (type, name, sha256);

CREATE TABLE tags (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
    color  TEXT
) STRICT;

CREATE TABLE model_tags (
    sha256  TEXT NOT NULL REFERENCES models (sha256) ON DELETE CASCADE ON UPDATE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (sha256, tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX model_tags_by_tag ON model_tags (tag_id, sha256);

CREATE TABLE pending_import (
    id                 INTEGER PRIMARY KEY,  -- the legacy row id, kept
    path               TEXT NOT NULL UNIQUE CHECK (path <> ''),
    name               TEXT NOT NULL,
    type               TEXT NOT NULL,
    size_bytes         INTEGER CHECK (size_bytes >= 0),
    created_at         INTEGER NOT NULL,
    meta_json          TEXT NOT NULL DEFAULT '{{}}' CHECK ({_META_CHECK}),
    -- A known digest, and the file size and mtime it was computed for: hashing a
    -- multi-gigabyte file twice for the same answer is what this cache prevents.
    sha256             TEXT CHECK (sha256 IS NULL OR ({_SHA256_CHECK.format(col="sha256")})),
    hashed_size_bytes  INTEGER,
    hashed_mtime_ns    INTEGER
) STRICT;

CREATE TABLE pending_model_tags (
    pending_id  INTEGER NOT NULL REFERENCES pending_import (id) ON DELETE CASCADE,
    tag_id      INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (pending_id, tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX pending_model_tags_by_tag ON pending_model_tags (tag_id, pending_id);

-- The original images of a pending model, copied as they are into images/pending/.
CREATE TABLE pending_images (
    pending_id  INTEGER NOT NULL REFERENCES pending_import (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq >= 0),
    file_name   TEXT NOT NULL UNIQUE CHECK (file_name NOT LIKE '%/%' AND file_name NOT LIKE '%\\%'),
    size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
    PRIMARY KEY (pending_id, seq)
) STRICT, WITHOUT ROWID;

-- The gallery index: listing a gallery reads these rows and never scans the image folder.
CREATE TABLE sample_images (
    sha256           TEXT NOT NULL REFERENCES models (sha256) ON DELETE CASCADE ON UPDATE CASCADE,
    seq              INTEGER NOT NULL CHECK (seq >= 0),
    width            INTEGER NOT NULL CHECK (width > 0),   -- of the high tier
    height           INTEGER NOT NULL CHECK (height > 0),
    source_digest    TEXT NOT NULL CHECK ({_SHA256_CHECK.format(col="source_digest")}),
    generation_json  TEXT CHECK (generation_json IS NULL OR json_valid(generation_json)),
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (sha256, seq)
) STRICT, WITHOUT ROWID;
"""

# Version 2: the size of every tier, and the journal that makes gallery changes crash-safe.
_V2 = f"""
ALTER TABLE sample_images ADD COLUMN medium_width INTEGER CHECK (medium_width > 0);
ALTER TABLE sample_images ADD COLUMN medium_height INTEGER CHECK (medium_height > 0);
ALTER TABLE sample_images ADD COLUMN low_width INTEGER CHECK (low_width > 0);
ALTER TABLE sample_images ADD COLUMN low_height INTEGER CHECK (low_height > 0);
ALTER TABLE sample_images ADD COLUMN high_bytes INTEGER CHECK (high_bytes >= 0);
ALTER TABLE sample_images ADD COLUMN medium_bytes INTEGER CHECK (medium_bytes >= 0);
ALTER TABLE sample_images ADD COLUMN low_bytes INTEGER CHECK (low_bytes >= 0);
-- The same picture is never in one gallery twice.
CREATE UNIQUE INDEX sample_images_one_picture_once ON sample_images (sha256, source_digest);

-- File renames and deletions that a committed gallery change still owes the image folder.
-- Written in the same transaction as the change, carried out right after it, and replayed
-- at startup if a crash came between: the folder always catches up with the database.
CREATE TABLE file_moves (
    id      INTEGER PRIMARY KEY,
    sha256  TEXT NOT NULL CHECK ({_SHA256_CHECK.format(col="sha256")}),
    source  TEXT NOT NULL CHECK (source NOT LIKE '%/%'),
    target  TEXT CHECK (target NOT LIKE '%/%')  -- NULL: delete the source
) STRICT;
CREATE INDEX file_moves_by_model ON file_moves (sha256, id);
"""

# Version 3: the ledger that makes Stage 1 (the legacy import) safe to run again.
_V3 = """
-- One row per legacy database ever imported, known by its resolved path.
CREATE TABLE legacy_sources (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL UNIQUE,
    first_run_at  INTEGER NOT NULL,
    last_run_at   INTEGER NOT NULL
) STRICT;

-- Every legacy row already carried over, and what it became: a second run skips them.
CREATE TABLE legacy_rows (
    source_id  INTEGER NOT NULL REFERENCES legacy_sources (id) ON DELETE CASCADE,
    legacy_id  INTEGER NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('model', 'pending', 'issue')),
    PRIMARY KEY (source_id, legacy_id)
) STRICT, WITHOUT ROWID;

-- Images still owed to a gallery or a pending import. Written with the rows, deleted as
-- each image is done: a run killed half way leaves exactly the work the next run finishes.
CREATE TABLE legacy_image_tasks (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES legacy_sources (id) ON DELETE CASCADE,
    legacy_id    INTEGER NOT NULL,
    position     INTEGER NOT NULL,  -- the image's place in the row's list
    source_path  TEXT NOT NULL,     -- the file in the legacy images folder
    sha256       TEXT REFERENCES models (sha256) ON DELETE CASCADE ON UPDATE CASCADE,
    pending_id   INTEGER REFERENCES pending_import (id) ON DELETE CASCADE,
    CHECK ((sha256 IS NULL) <> (pending_id IS NULL))
) STRICT;
CREATE INDEX legacy_image_tasks_in_order ON legacy_image_tasks (source_id, legacy_id, position);
"""

# Version 4: a legacy database is known by what it holds, not only by where it was; and a
# migration's report is kept with its work, so a run cut short loses none of it.
_V4 = """
-- A digest of what never changes in the legacy row (its id, model path and creation time):
-- a database moved or copied elsewhere is recognized by its rows. NULL for rows a version 3
-- run recorded, until a run of that database under its known path fills them in.
ALTER TABLE legacy_rows ADD COLUMN row_digest INTEGER;
CREATE INDEX legacy_rows_by_digest ON legacy_rows (row_digest);

-- One migration of a legacy database: the run that found rows to import, and the runs that
-- finished its images if it was cut short. Its counts grow in the same transaction as the
-- work they count, so its report is the same whether or not it was interrupted.
CREATE TABLE legacy_migrations (
    id                INTEGER PRIMARY KEY,
    source_id         INTEGER NOT NULL REFERENCES legacy_sources (id) ON DELETE CASCADE,
    started_at        INTEGER NOT NULL,
    finished_at       INTEGER,  -- NULL while images are owed
    already_imported  INTEGER NOT NULL DEFAULT 0 CHECK (already_imported >= 0),
    models_imported   INTEGER NOT NULL DEFAULT 0 CHECK (models_imported >= 0),
    pending_created   INTEGER NOT NULL DEFAULT 0 CHECK (pending_created >= 0),
    tags_imported     INTEGER NOT NULL DEFAULT 0 CHECK (tags_imported >= 0),
    duplicates        INTEGER NOT NULL DEFAULT 0 CHECK (duplicates >= 0),
    images_converted  INTEGER NOT NULL DEFAULT 0 CHECK (images_converted >= 0),
    images_copied     INTEGER NOT NULL DEFAULT 0 CHECK (images_copied >= 0),
    images_missing    INTEGER NOT NULL DEFAULT 0 CHECK (images_missing >= 0),
    images_failed     INTEGER NOT NULL DEFAULT 0 CHECK (images_failed >= 0)
) STRICT;
-- At most one unfinished migration per legacy database: the images its ledger owes are its.
CREATE UNIQUE INDEX legacy_migrations_one_open ON legacy_migrations (source_id)
    WHERE finished_at IS NULL;

-- Every issue of a migration, written with the rows or the image it is about.
CREATE TABLE legacy_issues (
    id            INTEGER PRIMARY KEY,
    migration_id  INTEGER NOT NULL REFERENCES legacy_migrations (id) ON DELETE CASCADE,
    legacy_id     INTEGER,  -- NULL for an issue of no single row (a tag, the image search)
    kind          TEXT NOT NULL CHECK (kind <> ''),
    message       TEXT NOT NULL
) STRICT;
CREATE INDEX legacy_issues_by_migration ON legacy_issues (migration_id, legacy_id, id);
"""

# Version 5: jobs, long work (importing pending models, a legacy import, a folder scan) as rows that
# outlive the process. Each item's outcome is written in the transaction that does its
# work, so a job resumed after a crash redoes exactly the items that had not committed.
_V5 = """
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('LEGACY_MIGRATION', 'IMPORT_PENDING', 'SCAN')),
    state        TEXT NOT NULL CHECK (state IN
                 ('QUEUED', 'RUNNING', 'PAUSED', 'CANCELLED', 'COMPLETED', 'FAILED')),
    params_json  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_json)),
    planned      INTEGER NOT NULL DEFAULT 0 CHECK (planned IN (0, 1)),  -- items written
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    error        TEXT
) STRICT;
CREATE INDEX jobs_by_state ON jobs (state, id);

CREATE TABLE job_items (
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item         INTEGER NOT NULL,  -- the pending import's id
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    size_bytes   INTEGER,
    outcome      TEXT CHECK (outcome IN
                 ('CREATED', 'OVERRIDDEN', 'MERGED', 'DELETED', 'CONFLICT', 'FAILED', 'SKIPPED')),
    message      TEXT,
    sha256       TEXT,
    finished_at  INTEGER,
    PRIMARY KEY (job_id, item)
) STRICT, WITHOUT ROWID;
CREATE INDEX job_items_by_outcome ON job_items (job_id, outcome, position);
"""

# Version 6: before it, Stage 1 kept any legacy id, and ids past 2^31 - 1 (domain/ids.py)
# broke every list that held one. Those pending imports and tags are renumbered after the
# highest id that fits, and everything that points at them follows; no row is lost.
_V6 = """
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE renumbered_pending AS
    SELECT id AS old,
           (SELECT coalesce(max(id), 0) FROM pending_import WHERE id BETWEEN 1 AND 2147483647)
           + row_number() OVER (ORDER BY id) AS new
    FROM pending_import WHERE id NOT BETWEEN 1 AND 2147483647;
UPDATE pending_import SET id = (SELECT new FROM renumbered_pending WHERE old = id)
    WHERE id IN (SELECT old FROM renumbered_pending);
UPDATE pending_model_tags SET pending_id = (
    SELECT new FROM renumbered_pending WHERE old = pending_id)
    WHERE pending_id IN (SELECT old FROM renumbered_pending);
UPDATE pending_images SET pending_id = (
    SELECT new FROM renumbered_pending WHERE old = pending_id)
    WHERE pending_id IN (SELECT old FROM renumbered_pending);
UPDATE legacy_image_tasks SET pending_id = (
    SELECT new FROM renumbered_pending WHERE old = pending_id)
    WHERE pending_id IN (SELECT old FROM renumbered_pending);
UPDATE job_items SET item = (SELECT new FROM renumbered_pending WHERE old = item)
    WHERE item IN (SELECT old FROM renumbered_pending)
    AND job_id IN (SELECT id FROM jobs WHERE kind = 'IMPORT_PENDING');
DROP TABLE renumbered_pending;
CREATE TEMP TABLE renumbered_tags AS
    SELECT id AS old,
           (SELECT coalesce(max(id), 0) FROM tags WHERE id BETWEEN 1 AND 2147483647)
           + row_number() OVER (ORDER BY id) AS new
    FROM tags WHERE id NOT BETWEEN 1 AND 2147483647;
UPDATE tags SET id = (SELECT new FROM renumbered_tags WHERE old = id)
    WHERE id IN (SELECT old FROM renumbered_tags);
UPDATE model_tags SET tag_id = (SELECT new FROM renumbered_tags WHERE old = tag_id)
    WHERE tag_id IN (SELECT old FROM renumbered_tags);
UPDATE pending_model_tags SET tag_id = (SELECT new FROM renumbered_tags WHERE old = tag_id)
    WHERE tag_id IN (SELECT old FROM renumbered_tags);
DROP TABLE renumbered_tags;
"""

# Version 7: the progress of a job whose work is not a list of items (a legacy import counts
# rows and images), kept when it stops so a finished job still tells how far it went; and
# what a finished job answers (a legacy import's report), for clients that were not waiting.
_V7 = """
ALTER TABLE jobs ADD COLUMN progress_json TEXT
    CHECK (progress_json IS NULL OR json_valid(progress_json));
ALTER TABLE jobs ADD COLUMN result_json TEXT
    CHECK (result_json IS NULL OR json_valid(result_json));
"""

# Tag names unique ignoring case in every script, not only ASCII (NOCASE's): each tag keeps
# `name_key`, its name folded by `domain.tag_names.tag_name_key`, under a UNIQUE index. The
# database computes the key itself, in triggers calling that function (the writer connection
# registers it as `tag_name_key`), so every insert and rename, whoever writes it, is keyed, and
# a name that folds to nothing is refused. A library from before may hold tags that only
# differ in non-ASCII case ("Émile", "émile"): they become one, the lowest id (the oldest,
# the legacy id when Stage 1 made it), carrying every model and pending import of the others.
_TAG_NAME_KEYS = """
ALTER TABLE tags ADD COLUMN name_key TEXT;
CREATE TEMP TABLE tag_keys AS
    SELECT id, tag_name_key(name) AS key,
           min(id) OVER (PARTITION BY tag_name_key(name)) AS keeper
    FROM tags;
INSERT OR IGNORE INTO model_tags (sha256, tag_id)
    SELECT model_tags.sha256, tag_keys.keeper FROM model_tags
    JOIN tag_keys ON tag_keys.id = model_tags.tag_id WHERE tag_keys.id <> tag_keys.keeper;
INSERT OR IGNORE INTO pending_model_tags (pending_id, tag_id)
    SELECT pending_model_tags.pending_id, tag_keys.keeper FROM pending_model_tags
    JOIN tag_keys ON tag_keys.id = pending_model_tags.tag_id
    WHERE tag_keys.id <> tag_keys.keeper;
DELETE FROM tags WHERE id IN (SELECT id FROM tag_keys WHERE id <> keeper);
UPDATE tags SET name_key = (SELECT key FROM tag_keys WHERE tag_keys.id = tags.id);
DROP TABLE tag_keys;
CREATE UNIQUE INDEX tags_by_name_key ON tags (name_key);
CREATE TRIGGER tags_keyed_on_insert AFTER INSERT ON tags
BEGIN
    SELECT RAISE(ABORT, 'a tag name needs a character that is not white space')
        WHERE tag_name_key(NEW.name) = '';
    UPDATE tags SET name_key = tag_name_key(NEW.name) WHERE id = NEW.id;
END;
CREATE TRIGGER tags_keyed_on_rename AFTER UPDATE OF name, name_key ON tags
BEGIN
    SELECT RAISE(ABORT, 'a tag name needs a character that is not white space')
        WHERE tag_name_key(NEW.name) = '';
    UPDATE tags SET name_key = tag_name_key(NEW.name)
        WHERE id = NEW.id AND name_key IS NOT tag_name_key(NEW.name);
END;
"""

# Browsing: every order `models` offers is an index walk, in both directions, whatever the
# library's size (domain/store/models.py, `ORDERS`). Unknown sizes sort last both ways: two
# virtual columns turn the nullable size into keys that are never NULL (a NULL in a row-value
# comparison makes it NULL, and the keyset would lose rows). -1 is below every size, since
# sizes are at least 0 by the table's CHECK. Virtual columns cost nothing to store; only their
# indexes hold them.
_BROWSING = """
ALTER TABLE models ADD COLUMN size_unknown INTEGER
    GENERATED ALWAYS AS (size_bytes IS NULL) VIRTUAL;
ALTER TABLE models ADD COLUMN size_or_minus_one INTEGER
    GENERATED ALWAYS AS (coalesce(size_bytes, -1)) VIRTUAL;
CREATE INDEX models_by_created ON models (created_at, sha256);
CREATE INDEX models_by_updated ON models (updated_at, sha256);
-- Ascending: known sizes, smallest first, then the unknown ones.
CREATE INDEX models_by_size ON models (size_unknown, size_or_minus_one, sha256);
-- Descending, walked backwards: largest first, the unknown ones (-1) last.
CREATE INDEX models_by_size_descending ON models (size_or_minus_one, sha256);
"""

# Folder scans (domain/scanning): whether each file is still where the library says
# (`file_status`, refreshed by a scan of the folder it is in), the mtime a model's file had
# when it was hashed (with its size, what tells a file CHANGED since), and the base model the
# file's own header names (safetensors, GGUF), as a column a list can filter on. A scan's job
# items are the files it found (FOUND), and an import that finds a missing model's file under
# a new path moves the model there (MOVED): the table is rebuilt for its wider CHECK.
_FILES = """
ALTER TABLE models ADD COLUMN file_status TEXT NOT NULL DEFAULT 'PRESENT'
    CHECK (file_status IN ('PRESENT', 'MISSING', 'CHANGED'));
ALTER TABLE models ADD COLUMN hashed_mtime_ns INTEGER;
ALTER TABLE models ADD COLUMN base_model TEXT;
ALTER TABLE pending_import ADD COLUMN file_status TEXT NOT NULL DEFAULT 'PRESENT'
    CHECK (file_status IN ('PRESENT', 'MISSING', 'CHANGED'));
ALTER TABLE pending_import ADD COLUMN base_model TEXT;
CREATE INDEX models_by_file_status ON models (file_status, name, sha256);
CREATE INDEX models_by_base_model ON models (base_model, name, sha256);
CREATE INDEX pending_by_sha256 ON pending_import (sha256) WHERE sha256 IS NOT NULL;
-- What a rescan reads of every file under its folders, from the index alone: the rows
-- themselves (their meta, a found file's header) are never read.
CREATE INDEX models_files ON models (path, sha256, size_bytes, hashed_mtime_ns, file_status);
CREATE INDEX pending_files ON pending_import
    (path, id, sha256, hashed_size_bytes, hashed_mtime_ns, file_status);
-- Files a scan opened and found not to be model files, with the size and mtime they had:
-- a rescan skips them unopened while those hold.
CREATE TABLE scan_refusals (
    path        TEXT PRIMARY KEY,
    size_bytes  INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    message     TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE job_items_v2 (
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item         INTEGER NOT NULL,  -- the pending import's id
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    size_bytes   INTEGER,
    outcome      TEXT CHECK (outcome IN ('CREATED', 'OVERRIDDEN', 'MERGED', 'DELETED',
                 'CONFLICT', 'FAILED', 'SKIPPED', 'FOUND', 'MOVED')),
    message      TEXT,
    sha256       TEXT,
    finished_at  INTEGER,
    PRIMARY KEY (job_id, item)
) STRICT, WITHOUT ROWID;
INSERT INTO job_items_v2 SELECT job_id, item, position, name, size_bytes, outcome, message,
    sha256, finished_at FROM job_items;
DROP TABLE job_items;
ALTER TABLE job_items_v2 RENAME TO job_items;
CREATE INDEX job_items_by_outcome ON job_items (job_id, outcome, position);
"""

MIGRATIONS: tuple[str, ...] = (
    *(_V1, _V2, _V3, _V4, _V5, _V6, _V7),
    *(_TAG_NAME_KEYS, _BROWSING, _FILES),
)
LATEST_VERSION = len(MIGRATIONS)
