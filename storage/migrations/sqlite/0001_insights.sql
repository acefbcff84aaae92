-- Insights, the themes and teams that breakdowns and visibility filter on, and full-text search
-- over the stemmed terms the domain prepares.
--
-- Portable encodings, identical on PostgreSQL: instants are INTEGER milliseconds since the Unix
-- epoch (UTC), dates are TEXT 'YYYY-MM-DD' (so text order is date order), lists are JSON arrays,
-- visibility is 'all' or a JSON array of team names.

CREATE TABLE insights (
    -- AUTOINCREMENT: people type ids in chat, so an id must never be reused after a delete.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    source_ref  TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    observed_on TEXT    NOT NULL,
    segment     TEXT,
    segment_key TEXT,
    stage       TEXT,
    kind        TEXT,
    sentiment   TEXT    NOT NULL,
    severity    INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 5),
    account     TEXT,
    account_key TEXT,
    url         TEXT,
    visibility  TEXT    NOT NULL,
    tags        TEXT    NOT NULL,
    themes      TEXT    NOT NULL,
    terms       TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    added_at    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (source, source_ref)
) STRICT;

-- Candidates are read most recently observed first, ties by id.
CREATE INDEX insights_by_observed_on ON insights (observed_on, id);
CREATE INDEX insights_by_segment_key ON insights (segment_key);
CREATE INDEX insights_by_account_key ON insights (account_key);

-- One row per theme key of an insight; `name` is the spelling the insight used.
CREATE TABLE insight_themes (
    insight_id INTEGER NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    PRIMARY KEY (insight_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX insight_themes_by_key ON insight_themes (key, insight_id);

-- The teams of an insight whose visibility is limited; names are ASCII-lowercased because
-- visibility compares team names ignoring ASCII case.
CREATE TABLE insight_teams (
    insight_id INTEGER NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    team       TEXT    NOT NULL,
    PRIMARY KEY (insight_id, team)
) STRICT, WITHOUT ROWID;

CREATE INDEX insight_teams_by_team ON insight_teams (team, insight_id);

-- The terms are already the domain's tokens (stems separated by single spaces), so the tokenizer
-- must neither change nor split them: no diacritic folding, and every character class but
-- separators and controls counts as part of a token.
CREATE VIRTUAL TABLE insights_fts USING fts5 (
    terms,
    content = 'insights',
    content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* M* N* P* S* Co'"
);

CREATE TRIGGER insights_fts_after_insert AFTER INSERT ON insights BEGIN
    INSERT INTO insights_fts (rowid, terms) VALUES (new.id, new.terms);
END;

CREATE TRIGGER insights_fts_after_delete AFTER DELETE ON insights BEGIN
    INSERT INTO insights_fts (insights_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
END;

CREATE TRIGGER insights_fts_after_update AFTER UPDATE OF terms ON insights BEGIN
    INSERT INTO insights_fts (insights_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
    INSERT INTO insights_fts (rowid, terms) VALUES (new.id, new.terms);
END;
