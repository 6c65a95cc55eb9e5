-- Kiosk enrolment, device certificates (mutual TLS) and heartbeats.

-- The device CA of each region, made on first need. Its private key is stored in this database
-- file: whoever can read hub.db can mint device certificates of every region, so the file is
-- guarded like the hub's own TLS key (owner-only, encrypted backups). Moving the keys to a
-- separate key store is possible later without changing the certificates already issued.
CREATE TABLE device_cas (
    region_id   TEXT PRIMARY KEY REFERENCES regions(id),
    cert_pem    TEXT NOT NULL,
    key_pem     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- One-time enrolment codes. Only a SHA-256 of the normalised code is kept; the code is shown
-- once, to the admin who asked for it. A new code for a device replaces its unused older ones.
CREATE TABLE enrolment_codes (
    code_hash    TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES devices(id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    replaced_at  TEXT,   -- a newer code was issued for the device, or the device was revoked
    created_by   TEXT NOT NULL
);
CREATE INDEX enrolment_codes_device ON enrolment_codes(device_id);

-- Every client certificate the hub signed. A request over mutual TLS is accepted only for a
-- certificate listed here, not revoked, not expired, of an active device of the CA's region.
CREATE TABLE device_certificates (
    fingerprint  TEXT PRIMARY KEY,   -- SHA-256 of the DER certificate, lowercase hex
    device_id    TEXT NOT NULL REFERENCES devices(id),
    region_id    TEXT NOT NULL REFERENCES regions(id),   -- the region whose CA signed it
    serial       TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX device_certificates_device ON device_certificates(device_id);

-- The latest heartbeat of each device (older ones are not kept).
CREATE TABLE device_heartbeats (
    device_id         TEXT PRIMARY KEY REFERENCES devices(id),
    received_at       TEXT NOT NULL,
    software_version  TEXT NOT NULL,
    uptime_s          INTEGER NOT NULL,
    disk_free_bytes   INTEGER NOT NULL,
    under_voltage     INTEGER NOT NULL CHECK (under_voltage IN (0, 1)),
    throttled         INTEGER NOT NULL CHECK (throttled IN (0, 1)),
    storage           TEXT NOT NULL,
    printer           TEXT NOT NULL CHECK (printer IN ('ok', 'paper_low', 'out', 'offline')),
    last_sync_at      TEXT,   -- as the kiosk reports it
    outbox_len        INTEGER NOT NULL
);

-- The last sync the hub answered for the device (set by the sync endpoint).
ALTER TABLE devices ADD COLUMN last_sync_at TEXT;
