-- 0013_reminders (issue 7): e-mail reminders to caregivers the day before a ride or an
-- appointment. `reminders::schedule` makes one row per booking and caregiver (the unique index
-- makes that idempotent); `reminders::send_due` sends the due ones over SMTP, retrying with
-- backoff until `failed`, which the dispatcher sees at /console/reminders. The caregivers' notices
-- of counselling (`notices`: visit cancelled or moved, slot given) to an e-mail address go through
-- the same outbox as kind `notice`, marked sent in `notices` once delivered. Code: hub/src/reminders/.
CREATE TABLE reminders (
    id            TEXT PRIMARY KEY,   -- random UUID made by the hub
    region_id     TEXT NOT NULL REFERENCES regions(id),
    kind          TEXT NOT NULL CHECK (kind IN ('ride', 'appointment', 'notice')),
    entity_id     TEXT NOT NULL,      -- ride_requests.id, appointments.id or notices.id, by kind
    caregiver_id  TEXT NOT NULL REFERENCES caregivers(id),
    to_address    TEXT NOT NULL,      -- the caregiver's e-mail when the reminder was made
    due_at        TEXT NOT NULL,      -- the region's reminder hour on the day before; a notice at once
    status        TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_try_at   TEXT NOT NULL,      -- a sender claims a reminder by moving this ahead
    last_error    TEXT,
    sent_at       TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX reminders_once ON reminders(kind, entity_id, caregiver_id);
CREATE INDEX reminders_due ON reminders(status, next_try_at);
CREATE INDEX reminders_region ON reminders(region_id, status, due_at);
