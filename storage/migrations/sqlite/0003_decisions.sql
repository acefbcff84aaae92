-- Decisions that cite their customer evidence, their history and their review.
--
-- Same portable encodings as 0001 and 0002: instants are INTEGER milliseconds since the Unix
-- epoch (UTC), dates are TEXT 'YYYY-MM-DD' (so text order is date order). Team names are the
-- configured ones and compare exactly; people are `platform:id` addresses.

-- A team's decision. It is open until reviewed; the review columns are all set together, once.
-- `title_key` and `rationale_key` are the text lowercased by the store, so a case-insensitive
-- substring search means the same on both backends (SQLite's lower() folds ASCII only).
-- `reminded_at` is claimed once, so a review reminder is sent once however many replicas run.
CREATE TABLE decisions (
    -- AUTOINCREMENT: people type ids in chat, so an id must never be reused after a delete.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    team          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    title_key     TEXT    NOT NULL,
    rationale     TEXT,
    rationale_key TEXT,
    owner         TEXT,
    decided_by    TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    thread_ref    TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('open', 'reviewed')),
    review_on     TEXT,
    timezone      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    outcome       TEXT    CHECK (outcome IN ('kept', 'changed', 'reversed')),
    outcome_note  TEXT,
    reviewed_at   INTEGER,
    reviewed_by   TEXT,
    reminded_at   INTEGER,
    CHECK ((status = 'reviewed') = (outcome IS NOT NULL AND outcome_note IS NOT NULL
        AND reviewed_at IS NOT NULL AND reviewed_by IS NOT NULL))
) STRICT;

CREATE INDEX decisions_by_team ON decisions (team, created_at);
CREATE INDEX decisions_due ON decisions (review_on, id) WHERE status = 'open';

-- The insights a decision rests on, each once, in the order they were cited.
CREATE TABLE decision_evidence (
    decision_id INTEGER NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    insight_id  INTEGER NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (decision_id, insight_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX decision_evidence_by_insight ON decision_evidence (insight_id, decision_id);

-- What happened to a decision, in the order it happened.
CREATE TABLE decision_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id INTEGER NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    kind        TEXT    NOT NULL
        CHECK (kind IN ('logged', 'reviewed', 'reminded', 'evidence-added')),
    details     TEXT
) STRICT;

CREATE INDEX decision_events_by_decision ON decision_events (decision_id, id);
