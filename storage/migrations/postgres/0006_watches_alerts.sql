-- Continuous insight: channels watching a question, and alerts (a watch's new matches, a theme's
-- spike, a decision's review reminder) sent through the same outbox as digests.

-- The change that first wrote the insight: a watch looks at insights added after the change it
-- last saw, and an update to an old insight is not news. Existing insights count as added by the
-- change that last wrote them.
ALTER TABLE insights ADD COLUMN added_seq BIGINT NOT NULL DEFAULT 0;
UPDATE insights SET added_seq = change_seq;
CREATE INDEX insights_by_added ON insights (added_seq, id);

-- A channel's standing question. `seen_seq` is the change up to which new insights have been
-- looked at; moving it forward and writing the alert happen in one transaction that only
-- succeeds from the `seen_seq` it read, so racing replicas alert once. A watch declared in the
-- configuration carries `config_key` and is kept in step with the file.
CREATE TABLE watches (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team          TEXT   COLLATE "C",
    channel       TEXT   COLLATE "C" NOT NULL CHECK (channel <> ''),
    query         TEXT   NOT NULL CHECK (query <> ''),
    cadence       TEXT   NOT NULL CHECK (cadence IN ('now', 'hourly', 'daily')),
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    config_key    TEXT   COLLATE "C" UNIQUE,
    seen_seq      BIGINT NOT NULL,
    next_check_at BIGINT NOT NULL,
    ended_at      BIGINT,
    ended_by      TEXT
);

CREATE INDEX watches_due ON watches (next_check_at, id) WHERE ended_at IS NULL;
CREATE INDEX watches_by_channel ON watches (channel, id) WHERE ended_at IS NULL;

-- Something worth saying at once. The key makes it exactly once: one batch per watch and
-- change range, one spike per team, theme and day, one reminder per decision. A reply in a
-- thread names the thread's parent message (`thread_ref`).
CREATE TABLE alerts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_key  TEXT   COLLATE "C" NOT NULL UNIQUE,
    team       TEXT   COLLATE "C",
    kind       TEXT   NOT NULL CHECK (kind IN ('watch', 'spike', 'reminder')),
    subject    TEXT   COLLATE "C" NOT NULL,
    thread_ref TEXT,
    message    TEXT   NOT NULL,
    summary    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX alerts_by_subject ON alerts (kind, subject, created_at);

-- Where each team's themes stand: quiet, or raised since an alert and silent until they settle.
-- `through` is the last whole day folded into the state.
CREATE TABLE spike_states (
    team       TEXT COLLATE "C" NOT NULL,
    theme      TEXT COLLATE "C" NOT NULL,
    alerted_on TEXT,
    through    TEXT NOT NULL,
    PRIMARY KEY (team, theme)
);

-- A delivery now carries a digest or an alert.
ALTER TABLE deliveries ALTER COLUMN digest_id DROP NOT NULL;
ALTER TABLE deliveries ADD COLUMN alert_id BIGINT REFERENCES alerts (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_one_subject
    CHECK ((digest_id IS NULL) <> (alert_id IS NULL));
ALTER TABLE deliveries ADD CONSTRAINT deliveries_alert_channel UNIQUE (alert_id, channel);

-- Review reminders go through the outbox as alerts: `reminded_at` is when the reminder was
-- queued, and the delivery row carries its attempts, lease and errors.
ALTER TABLE decisions DROP COLUMN reminder_lease_until;
ALTER TABLE decisions DROP COLUMN reminder_attempts;
ALTER TABLE decisions DROP COLUMN reminder_next_at;
ALTER TABLE decisions DROP COLUMN reminder_error;
