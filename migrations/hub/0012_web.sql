-- The hub in a browser (issue 7): sessions, second factor and lock-out of accounts, drivers of
-- shifts, and how a resident's consent to a caregiver link was recorded.

-- Browser sessions. The cookie holds a random 256-bit token; only its SHA-256 is stored, so a
-- copy of the database opens no session. `stage` is 'totp' between password and second factor
-- (admins and dispatchers), 'totp_setup' while such an account sets its authenticator up, and
-- 'full' after. Ended sessions are kept for a day for the record, then deleted.
CREATE TABLE web_sessions (
    token_hash    TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    stage         TEXT NOT NULL CHECK (stage IN ('totp', 'totp_setup', 'full')),
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,   -- absolute end, whatever the activity
    ended_at      TEXT
);
CREATE INDEX web_sessions_account ON web_sessions(account_id);

-- Log-in attempts (no addresses): what the lock-out counts and what admins see.
CREATE TABLE login_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    username    TEXT NOT NULL,
    account_id  TEXT REFERENCES accounts(id),
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'wrong_password', 'wrong_code', 'locked',
                                                  'unknown_user', 'logout', 'expired'))
);
CREATE INDEX login_events_account ON login_events(account_id, seq);

-- TOTP (RFC 6238, SHA-1, 6 digits, 30 s) for admins and dispatchers: the secret as hex, set up
-- when first confirmed with a code; the last accepted time step, so a code is used once.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_confirmed_at TEXT;
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER;
-- Lock-out: failed password or code tries in a row; five lock the account for 15 minutes.
ALTER TABLE accounts ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN locked_until TEXT;
-- Set when an admin resets the password: the next log-in must choose a new one.
ALTER TABLE accounts ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0
    CHECK (password_must_change IN (0, 1));

-- The driver account that drives a shift: its run sheet is on the driver's phone page.
ALTER TABLE shifts ADD COLUMN driver_account_id TEXT REFERENCES accounts(id);

-- How the resident's consent to a caregiver link was given and who recorded it.
ALTER TABLE caregiver_links ADD COLUMN consent_how TEXT NOT NULL DEFAULT 'paper'
    CHECK (consent_how IN ('paper', 'phone', 'in_person', 'kiosk'));
ALTER TABLE caregiver_links ADD COLUMN consent_recorded_by TEXT;
