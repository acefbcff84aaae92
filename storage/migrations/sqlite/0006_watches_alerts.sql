-- Continuous insight: channels watching a question, and alerts (a watch's new matches, a theme's
-- spike, a decision's review reminder) sent through the same outbox as digests.

-- The change that first wrote the insight: a watch looks at insights added after the change it
-- last saw, and an update to an old insight is not news. Existing insights count as added by the
-- change that last wrote them.
ALTER TABLE insights ADD COLUMN added_seq INTEGER NOT NULL DEFAULT 0;
UPDATE insights SET added_seq = change_seq;
CREATE INDEX insights_by_added ON insights (added_seq, id);

-- A channel's standing question. `seen_seq` is the change up to which new insights have been
-- looked at; moving it forward and writing the alert happen in one transaction that only
-- succeeds from the `seen_seq` it read, so racing replicas alert once. A watch declared in the
-- configuration carries `config_key` and is kept in step with the file.
CREATE TABLE watches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    team          TEXT,
    channel       TEXT    NOT NULL CHECK (channel <> ''),
    query         TEXT    NOT NULL CHECK (query <> ''),
    cadence       TEXT    NOT NULL CHECK (cadence IN ('now', 'hourly', 'daily')),
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    config_key    TEXT    UNIQUE,
    seen_seq      INTEGER NOT NULL,
    next_check_at INTEGER NOT NULL,
    ended_at      INTEGER,
    ended_by      TEXT
) STRICT;

CREATE INDEX watches_due ON watches (next_check_at, id) WHERE ended_at IS NULL;
CREATE INDEX watches_by_channel ON watches (channel, id) WHERE ended_at IS NULL;

-- Something worth saying at once. The key makes it exactly once: one batch per watch and
-- change range, one spike per team, theme and day, one reminder per decision. A reply in a
-- thread names the thread's parent message (`thread_ref`).
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_key  TEXT    NOT NULL UNIQUE,
    team       TEXT,
    kind       TEXT    NOT NULL CHECK (kind IN ('watch', 'spike', 'reminder')),
    subject    TEXT    NOT NULL,
    thread_ref TEXT,
    message    TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX alerts_by_subject ON alerts (kind, subject, created_at);

-- Where each team's themes stand: quiet, or raised since an alert and silent until they settle.
-- `through` is the last whole day folded into the state.
CREATE TABLE spike_states (
    team        TEXT NOT NULL,
    theme       TEXT NOT NULL,
    alerted_on  TEXT,
    through     TEXT NOT NULL,
    PRIMARY KEY (team, theme)
) STRICT, WITHOUT ROWID;

-- A delivery now carries a digest or an alert. SQLite cannot drop NOT NULL in place: the table
-- is rebuilt with the same rows and ids.
CREATE TABLE deliveries_v2 (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    digest_id            INTEGER REFERENCES digests (id) ON DELETE CASCADE,
    alert_id             INTEGER REFERENCES alerts (id) ON DELETE CASCADE,
    channel              TEXT    NOT NULL CHECK (channel <> ''),
    status               TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      INTEGER NOT NULL,
    lease_owner          TEXT,
    lease_until          INTEGER,
    in_doubt             INTEGER NOT NULL DEFAULT 0 CHECK (in_doubt IN (0, 1)),
    platform_message_ref TEXT,
    last_error           TEXT,
    created_at           INTEGER NOT NULL,
    sent_at              INTEGER,
    failed_at            INTEGER,
    CHECK ((digest_id IS NULL) <> (alert_id IS NULL)),
    UNIQUE (digest_id, channel),
    UNIQUE (alert_id, channel)
) STRICT;

INSERT INTO deliveries_v2 (id, digest_id, channel, status, attempts, next_attempt_at,
    lease_owner, lease_until, in_doubt, platform_message_ref, last_error, created_at, sent_at,
    failed_at)
SELECT id, digest_id, channel, status, attempts, next_attempt_at, lease_owner, lease_until,
    in_doubt, platform_message_ref, last_error, created_at, sent_at, failed_at
FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_v2 RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until, id) WHERE status = 'sending';

-- Review reminders go through the outbox as alerts: `reminded_at` is when the reminder was
-- queued, and the delivery row carries its attempts, lease and errors.
ALTER TABLE decisions DROP COLUMN reminder_lease_until;
ALTER TABLE decisions DROP COLUMN reminder_attempts;
ALTER TABLE decisions DROP COLUMN reminder_next_at;
ALTER TABLE decisions DROP COLUMN reminder_error;
