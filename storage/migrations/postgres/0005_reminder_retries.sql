-- A review reminder is leased while it is being sent and marked reminded only once posted: a
-- reminder whose post fails is retried (after `reminder_next_at`), and one held by a process
-- that died is taken up again when its lease runs out.
ALTER TABLE decisions ADD COLUMN reminder_lease_until BIGINT;
ALTER TABLE decisions ADD COLUMN reminder_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN reminder_next_at BIGINT;
ALTER TABLE decisions ADD COLUMN reminder_error TEXT;
