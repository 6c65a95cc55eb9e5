-- Find help: the needs a destination helps with, and outbox kinds the kiosk sync did not know.

-- The needs (the sociolance's groups) a health or social service helps with, as a JSON array of
-- codes: homelessness, alcohol, anxiety, loneliness, dementia, family_strain (checked by the
-- domain code, `hub/src/domain/places.rs`). Empty: not a "find help" service.
ALTER TABLE destinations ADD COLUMN helps_with TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(helps_with) AND json_type(helps_with) = 'array');

-- device_writes without the CHECK on its kind: the kinds are the protocol's `OutboxKind`, which
-- grows (a cancellation by booking code now) and is the only writer; a new kind should not need
-- a table rebuild again. Rebuilt the SQLite way; nothing references this table.
CREATE TABLE device_writes_new (
    device_id    TEXT NOT NULL REFERENCES devices(id),
    entry_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    body_sha256  TEXT NOT NULL,
    answer       TEXT NOT NULL,
    first_at     TEXT NOT NULL,
    PRIMARY KEY (device_id, entry_id)
) WITHOUT ROWID;
INSERT INTO device_writes_new (device_id, entry_id, kind, body_sha256, answer, first_at)
    SELECT device_id, entry_id, kind, body_sha256, answer, first_at FROM device_writes;
DROP TABLE device_writes;
ALTER TABLE device_writes_new RENAME TO device_writes;
CREATE INDEX device_writes_entry ON device_writes(entry_id);
