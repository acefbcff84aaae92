-- Search moves to an index derived from the store (a Tantivy index kept by each process): the
-- full-text table and the stored terms go, and every write that changes what search sees is
-- stamped with the next number of one change sequence, so an index knows what it is missing.

DROP TRIGGER insights_fts_after_insert;
DROP TRIGGER insights_fts_after_delete;
DROP TRIGGER insights_fts_after_update;
DROP TABLE insights_fts;
ALTER TABLE insights DROP COLUMN terms;

-- The change that last wrote the insight. Existing insights count as change 1.
ALTER TABLE insights ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 1;
CREATE INDEX insights_by_change ON insights (change_seq, id);

-- One row: which store this is (an index built from another store is rebuilt) and its latest
-- change. Writers take the next change by updating this row, so changes are numbered in the
-- order they commit.
CREATE TABLE search_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    store_id   TEXT    NOT NULL,
    change_seq INTEGER NOT NULL
) STRICT;

INSERT INTO search_state (id, store_id, change_seq) VALUES (1, lower(hex(randomblob(16))), 1);
