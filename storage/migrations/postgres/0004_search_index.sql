-- Search moves to an index derived from the store (a Tantivy index kept by each replica): the
-- tsvector and the stored terms go, and every write that changes what search sees is stamped
-- with the next number of one change sequence, so an index knows what it is missing.

DROP INDEX insights_search;
ALTER TABLE insights DROP COLUMN search;
ALTER TABLE insights DROP COLUMN terms;
DROP FUNCTION insight_terms_vector(TEXT);

-- The change that last wrote the insight. Existing insights count as change 1.
ALTER TABLE insights ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 1;
CREATE INDEX insights_by_change ON insights (change_seq, id);

-- One row: which store this is (an index built from another store is rebuilt) and its latest
-- change. Writers take the next change by updating this row: the row lock makes changes
-- commit in the order they are numbered, so a replica that has read every insight up to the
-- latest change has missed none.
CREATE TABLE search_state (
    id         INT    PRIMARY KEY CHECK (id = 1),
    store_id   TEXT   NOT NULL,
    change_seq BIGINT NOT NULL
);

INSERT INTO search_state (id, store_id, change_seq)
VALUES (1, md5(random()::text || clock_timestamp()::text), 1);
