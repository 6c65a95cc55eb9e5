-- Who a kiosk ride is for: the streets of each village (a new resident picks their own from the
-- list), the resident number printed on kiosk tickets, and the caregiver's kiosk PIN.

-- The village's street names, a JSON array of short texts (see domain::places::Village).
ALTER TABLE villages ADD COLUMN streets TEXT NOT NULL DEFAULT '[]';

-- Six digits and a Damm check digit (protocol::ResidentNumber), assigned by the hub when a kiosk
-- first needs it; unique in the region.
ALTER TABLE residents ADD COLUMN kiosk_number TEXT;
CREATE UNIQUE INDEX residents_kiosk_number ON residents(region_id, kiosk_number)
    WHERE kiosk_number IS NOT NULL;

-- A caregiver's kiosk PIN: six digits, stored only as an argon2id PHC string, in a table of its
-- own so no API read of a caregiver ever shows the hash. After five wrong tries in a row the PIN
-- is locked for 15 minutes (`locked_until`); a right PIN or a new PIN resets the count.
CREATE TABLE caregiver_kiosk_pins (
    caregiver_id  TEXT PRIMARY KEY REFERENCES caregivers(id),
    pin_hash      TEXT NOT NULL,
    failed_tries  INTEGER NOT NULL DEFAULT 0 CHECK (failed_tries >= 0),
    locked_until  TEXT,            -- UTC instant; NULL when not locked
    set_at        TEXT NOT NULL,
    set_by        TEXT NOT NULL    -- the actor, as in the audit log
) WITHOUT ROWID;
