-- Health workers at kiosks: a kiosk PIN per health-worker account, and the staff sessions a
-- kiosk opens with it (hub/src/staff.rs).

-- The PIN is six digits, stored only as its argon2id PHC string. Five wrong tries in a row lock it
-- for 15 minutes (`locked_until`); the counter starts again then, and a right PIN resets it.
CREATE TABLE staff_pins (
    account_id    TEXT PRIMARY KEY REFERENCES accounts(id),
    pin_hash      TEXT NOT NULL,
    failed_tries  INTEGER NOT NULL DEFAULT 0 CHECK (failed_tries >= 0),
    locked_until  TEXT,            -- UTC instant; NULL when not locked
    set_at        TEXT NOT NULL,
    set_by        TEXT NOT NULL    -- the actor, as in the audit log
) WITHOUT ROWID;

-- A health worker logged in at one kiosk, for 12 hours. The id is the kiosk's (a UUID), so a
-- repeated login answers with the same session. Outcomes the kiosk sends name the session; the
-- hub accepts them up to a day after it expired, for a kiosk that was offline.
CREATE TABLE staff_sessions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    device_id   TEXT NOT NULL REFERENCES devices(id),
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    CHECK (expires_at > issued_at)
) WITHOUT ROWID;
CREATE INDEX staff_sessions_device ON staff_sessions(device_id, issued_at);
