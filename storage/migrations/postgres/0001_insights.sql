-- Insights, the themes and teams that breakdowns and visibility filter on, and full-text search
-- over the stemmed terms the domain prepares.
--
-- Portable encodings, identical on SQLite: instants are BIGINT milliseconds since the Unix epoch
-- (UTC), dates are TEXT 'YYYY-MM-DD' (so text order is date order), lists are JSON arrays,
-- visibility is 'all' or a JSON array of team names. Columns that are compared by range or
-- sorted use COLLATE "C" so they order by code point, exactly as SQLite's BINARY collation does.

-- The terms are already the domain's tokens (stems separated by single spaces). Building the
-- tsvector from them directly, rather than with to_tsvector, keeps every stem exactly as the
-- domain wrote it: the text-search parser would split or drop some alphanumeric characters
-- ('x²' becomes 'x'). Positions follow word order for phrase search; PostgreSQL caps them at
-- 16383 and 256 per lexeme. Words longer than a lexeme may be (2046 bytes) are left out rather
-- than failing the insert.
CREATE FUNCTION insight_terms_vector(terms TEXT) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT coalesce(
        string_agg(
            '''' || replace(replace(word, '\', '\\'), '''', '''''') || ''':'
                || least(position, 16383),
            ' '),
        '')::tsvector
    FROM unnest(array_remove(string_to_array(terms, ' '), '')) WITH ORDINALITY AS w (word, position)
    WHERE octet_length(word) <= 2046
$$;

CREATE TABLE insights (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      TEXT   NOT NULL,
    source_ref  TEXT   NOT NULL,
    title       TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    observed_on TEXT   COLLATE "C" NOT NULL,
    segment     TEXT   COLLATE "C",
    segment_key TEXT   COLLATE "C",
    stage       TEXT,
    kind        TEXT,
    sentiment   TEXT   NOT NULL,
    severity    BIGINT NOT NULL CHECK (severity BETWEEN 1 AND 5),
    account     TEXT,
    account_key TEXT   COLLATE "C",
    url         TEXT,
    visibility  TEXT   NOT NULL,
    tags        TEXT   NOT NULL,
    themes      TEXT   NOT NULL,
    terms       TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    added_at    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    search      tsvector GENERATED ALWAYS AS (insight_terms_vector(terms)) STORED,
    UNIQUE (source, source_ref)
);

-- Candidates are read most recently observed first, ties by id.
CREATE INDEX insights_by_observed_on ON insights (observed_on, id);
CREATE INDEX insights_by_segment_key ON insights (segment_key);
CREATE INDEX insights_by_account_key ON insights (account_key);
CREATE INDEX insights_search ON insights USING GIN (search);

-- One row per theme key of an insight; `name` is the spelling the insight used.
CREATE TABLE insight_themes (
    insight_id BIGINT NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    key        TEXT   COLLATE "C" NOT NULL,
    name       TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (insight_id, key)
);

CREATE INDEX insight_themes_by_key ON insight_themes (key, insight_id);

-- The teams of an insight whose visibility is limited; names are ASCII-lowercased because
-- visibility compares team names ignoring ASCII case.
CREATE TABLE insight_teams (
    insight_id BIGINT NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    team       TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (insight_id, team)
);

CREATE INDEX insight_teams_by_team ON insight_teams (team, insight_id);
