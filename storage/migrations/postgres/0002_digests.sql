-- Digests and their delivery outbox, what people do with insights in chat (flags, votes,
-- comments, the threads that carry them), platform event deduplication and the audit log.
--
-- Same portable encodings as 0001 and as SQLite: instants are BIGINT milliseconds since the Unix
-- epoch (UTC); JSON documents (rendered messages, summaries, audit details) are TEXT, kept byte
-- for byte (jsonb would reorder keys); booleans are BOOLEAN (SQLite's 0 and 1 read back the
-- same). Team names are the configured ones and compare exactly. Sorted text uses COLLATE "C".

-- One digest per team per period: the unique key decides which of several racing schedulers
-- writes it. A skipped period (the service was down, or there was nothing to say) has a row too,
-- so it is neither retried forever nor composed late.
CREATE TABLE digests (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team         TEXT   COLLATE "C" NOT NULL,
    period_start BIGINT NOT NULL,
    period_end   BIGINT NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('composed', 'skipped')),
    message      TEXT,
    summary      TEXT,
    skip_reason  TEXT,
    created_at   BIGINT NOT NULL,
    CHECK (period_start < period_end),
    CHECK (status = 'skipped' OR message IS NOT NULL),
    UNIQUE (team, period_start)
);

-- One row per channel a digest goes to. Workers lease rows instead of holding locks across
-- network calls: a row in 'sending' whose lease expired belongs to a worker that died, and the
-- next claim marks it in doubt so the platform is asked before sending again.
CREATE TABLE deliveries (
    id                   BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest_id            BIGINT  NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    channel              TEXT    COLLATE "C" NOT NULL CHECK (channel <> ''),
    status               TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts             BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at      BIGINT  NOT NULL,
    lease_owner          TEXT,
    lease_until          BIGINT,
    in_doubt             BOOLEAN NOT NULL DEFAULT FALSE,
    platform_message_ref TEXT,
    last_error           TEXT,
    created_at           BIGINT  NOT NULL,
    sent_at              BIGINT,
    failed_at            BIGINT,
    UNIQUE (digest_id, channel)
);

-- Finished rows pile up; the claim only ever looks at unfinished ones.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until, id) WHERE status = 'sending';

-- A person asking a team to decide about an insight. One open flag per person, insight and team:
-- flagging again updates the note. Resolving closes the flags, optionally citing the decision
-- (no reference: decisions have a table of their own).
CREATE TABLE insight_flags (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    insight_id  BIGINT NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    team        TEXT   COLLATE "C" NOT NULL,
    flagged_by  TEXT   NOT NULL,
    note        TEXT,
    flagged_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    resolved_at BIGINT,
    decision_id BIGINT
);

CREATE UNIQUE INDEX insight_flags_open ON insight_flags (insight_id, team, flagged_by)
    WHERE resolved_at IS NULL;
CREATE INDEX insight_flags_by_team ON insight_flags (team, insight_id) WHERE resolved_at IS NULL;

-- "Useful" votes, once per person and insight.
CREATE TABLE insight_votes (
    insight_id BIGINT NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    voter      TEXT   NOT NULL,
    voted_at   BIGINT NOT NULL,
    PRIMARY KEY (insight_id, voter)
);

CREATE INDEX insight_votes_by_time ON insight_votes (voted_at);

-- Comments on insights from chat. The platform's id of the message (a Slack `ts`, a Discord
-- message id) makes a redelivered event a no-op.
CREATE TABLE insight_comments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    insight_id   BIGINT NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    author       TEXT   NOT NULL,
    channel      TEXT   NOT NULL,
    thread_ref   TEXT,
    platform_ref TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (channel, platform_ref)
);

CREATE INDEX insight_comments_by_insight ON insight_comments (insight_id, created_at);
CREATE INDEX insight_comments_by_time ON insight_comments (created_at);

-- Which insight a chat thread is about (a digest item's thread, a reply to `show`), so replies
-- in it become comments on that insight.
CREATE TABLE chat_threads (
    channel    TEXT   NOT NULL,
    thread_ref TEXT   NOT NULL,
    insight_id BIGINT NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    digest_id  BIGINT REFERENCES digests (id) ON DELETE SET NULL,
    PRIMARY KEY (channel, thread_ref)
);

-- Platform events already handled (Slack retries an event it thinks was lost).
CREATE TABLE seen_events (
    event_key TEXT   NOT NULL PRIMARY KEY,
    seen_at   BIGINT NOT NULL
);

CREATE INDEX seen_events_by_time ON seen_events (seen_at);

-- Who did what, from where. Append-only: the id is the order of appending.
CREATE TABLE audit_events (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    channel TEXT,
    action  TEXT   NOT NULL,
    subject TEXT,
    details TEXT   NOT NULL
);

CREATE INDEX audit_events_by_time ON audit_events (at);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END
$$;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
