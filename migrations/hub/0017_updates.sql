-- 0017_updates (issue 8): kiosk software updates. A release is a signed package kept in the
-- hub's data directory (`updates/<version>.pkg`); a roll-out stages a release for one kiosk or
-- for every kiosk of a region; kiosks report what became of it in their heartbeats.

-- Releases added with `hub update add` after their signature was checked with the release key.
CREATE TABLE update_releases (
    version     TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,       -- of the package, lowercase hex
    size        INTEGER NOT NULL CHECK (size > 0),
    signature   TEXT NOT NULL,       -- Ed25519 over protocol::update::signed_message, hex
    path        TEXT NOT NULL,       -- file name under <data_dir>/updates/
    added_by    TEXT NOT NULL,
    added_at    TEXT NOT NULL
);

-- Roll-outs, newest last (rowid). A kiosk's target is the newest roll-out for it or for all of its
-- region whose release it has not rolled back. The id is made by the client: a repeat with the
-- same content gets the first answer.
CREATE TABLE update_rollouts (
    id          TEXT PRIMARY KEY,
    version     TEXT NOT NULL REFERENCES update_releases(version),
    region_id   TEXT NOT NULL REFERENCES regions(id),
    device_id   TEXT REFERENCES devices(id),   -- NULL: every kiosk of the region
    staged_by   TEXT NOT NULL,
    staged_at   TEXT NOT NULL
);
CREATE INDEX update_rollouts_region ON update_rollouts(region_id);

-- The last update event each kiosk reported (heartbeat field `update`).
CREATE TABLE device_updates (
    device_id         TEXT PRIMARY KEY REFERENCES devices(id),
    version           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'healthy', 'rolled_back', 'refused')),
    previous_version  TEXT,
    detail            TEXT,
    at                TEXT NOT NULL,   -- when it happened, as the kiosk says
    received_at       TEXT NOT NULL
);

-- Versions a kiosk rolled back: never offered to it again, and not staged for it again.
CREATE TABLE device_update_failures (
    device_id   TEXT NOT NULL REFERENCES devices(id),
    version     TEXT NOT NULL,
    detail      TEXT,
    failed_at   TEXT NOT NULL,
    PRIMARY KEY (device_id, version)
);
