-- The hub's domain: regions and their places, people, vehicles, rides, counselling, devices,
-- accounts, and the logs. Instants are TEXT in RFC 3339 UTC ("2026-11-23T08:00:00Z"); local
-- wall-clock values (opening hours, weekly consultation hours) are "HH:MM" in the region's zone.
-- Ids are client-made UUIDs (TEXT). Nothing is deleted by the API: cancelling sets a status or
-- archived_at, so foreign keys and history stay intact; erasure of people comes with its own path.

CREATE TABLE regions (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    time_zone               TEXT NOT NULL DEFAULT 'Europe/Berlin',
    phone                   TEXT,
    settings                TEXT NOT NULL DEFAULT '{}',   -- JSON object
    target_groups           TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    destination_categories  TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    archived_at             TEXT,
    version                 INTEGER NOT NULL DEFAULT 1,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
);

CREATE TABLE villages (
    id            TEXT PRIMARY KEY,
    region_id     TEXT NOT NULL REFERENCES regions(id),
    name          TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    lat           REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon           REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    archived_at   TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX villages_region ON villages(region_id);

CREATE TABLE stops (
    id           TEXT PRIMARY KEY,
    region_id    TEXT NOT NULL REFERENCES regions(id),
    village_id   TEXT NOT NULL REFERENCES villages(id),
    name         TEXT NOT NULL,
    lat          REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon          REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    step_free    INTEGER NOT NULL DEFAULT 1 CHECK (step_free IN (0, 1)),
    archived_at  TEXT,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX stops_village ON stops(village_id);

CREATE TABLE destinations (
    id             TEXT PRIMARY KEY,
    region_id      TEXT NOT NULL REFERENCES regions(id),
    name           TEXT NOT NULL,
    category       TEXT NOT NULL,
    street         TEXT NOT NULL,
    postcode       TEXT NOT NULL,
    city           TEXT NOT NULL,
    lat            REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon            REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    phone          TEXT,
    opening_hours  TEXT NOT NULL DEFAULT '[]',   -- JSON: [{"weekday":"mon","open":"08:00","close":"12:00"}]
    step_free      INTEGER NOT NULL DEFAULT 0 CHECK (step_free IN (0, 1)),
    archived_at    TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX destinations_region ON destinations(region_id);

CREATE TABLE residents (
    id               TEXT PRIMARY KEY,
    region_id        TEXT NOT NULL REFERENCES regions(id),
    name             TEXT NOT NULL,
    phone            TEXT,
    street           TEXT NOT NULL,
    village_id       TEXT NOT NULL REFERENCES villages(id),
    lat              REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon              REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    uses_walker      INTEGER NOT NULL DEFAULT 0 CHECK (uses_walker IN (0, 1)),
    uses_wheelchair  INTEGER NOT NULL DEFAULT 0 CHECK (uses_wheelchair IN (0, 1)),
    needs_companion  INTEGER NOT NULL DEFAULT 0 CHECK (needs_companion IN (0, 1)),
    language         TEXT NOT NULL DEFAULT 'de',
    consent_at       TEXT NOT NULL,
    consent_given_to TEXT NOT NULL,
    consent_purpose  TEXT NOT NULL,
    archived_at      TEXT,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX residents_village ON residents(village_id);

CREATE TABLE caregivers (
    id           TEXT PRIMARY KEY,
    region_id    TEXT NOT NULL REFERENCES regions(id),
    name         TEXT NOT NULL,
    phone        TEXT,
    email        TEXT,
    village_id   TEXT REFERENCES villages(id),
    archived_at  TEXT,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE caregiver_links (
    id            TEXT PRIMARY KEY,
    region_id     TEXT NOT NULL REFERENCES regions(id),
    caregiver_id  TEXT NOT NULL REFERENCES caregivers(id),
    resident_id   TEXT NOT NULL REFERENCES residents(id),
    consent_at    TEXT NOT NULL,   -- when the resident agreed that this caregiver acts for them
    archived_at   TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
-- One live link per pair; an archived link may be renewed by a new one.
CREATE UNIQUE INDEX caregiver_links_pair ON caregiver_links(caregiver_id, resident_id)
    WHERE archived_at IS NULL;

CREATE TABLE vehicles (
    id                 TEXT PRIMARY KEY,
    region_id          TEXT NOT NULL REFERENCES regions(id),
    name               TEXT NOT NULL,
    seats              INTEGER NOT NULL CHECK (seats BETWEEN 1 AND 60),
    wheelchair_places  INTEGER NOT NULL DEFAULT 0 CHECK (wheelchair_places BETWEEN 0 AND 10),
    depot_name         TEXT NOT NULL,
    depot_lat          REAL NOT NULL CHECK (depot_lat BETWEEN -90 AND 90),
    depot_lon          REAL NOT NULL CHECK (depot_lon BETWEEN -180 AND 180),
    archived_at        TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

CREATE TABLE shifts (
    id              TEXT PRIMARY KEY,
    region_id       TEXT NOT NULL REFERENCES regions(id),
    vehicle_id      TEXT NOT NULL REFERENCES vehicles(id),
    driver_name     TEXT,
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    break_after     TEXT,            -- earliest start of the break
    break_minutes   INTEGER NOT NULL DEFAULT 0 CHECK (break_minutes BETWEEN 0 AND 180),
    status          TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'cancelled')),
    cancel_reason   TEXT,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX shifts_day ON shifts(region_id, starts_at);

CREATE TABLE ride_requests (
    id                  TEXT PRIMARY KEY,
    region_id           TEXT NOT NULL REFERENCES regions(id),
    booking_code        TEXT NOT NULL,
    resident_id         TEXT NOT NULL REFERENCES residents(id),
    village_id          TEXT NOT NULL REFERENCES villages(id),  -- the resident's village, for filters
    from_stop_id        TEXT REFERENCES stops(id),
    from_destination_id TEXT REFERENCES destinations(id),
    from_home           INTEGER NOT NULL DEFAULT 0 CHECK (from_home IN (0, 1)),
    to_stop_id          TEXT REFERENCES stops(id),
    to_destination_id   TEXT REFERENCES destinations(id),
    to_home             INTEGER NOT NULL DEFAULT 0 CHECK (to_home IN (0, 1)),
    appointment_at      TEXT,        -- arrive not later than this
    pickup_at           TEXT,        -- or: desired pickup time
    return_of           TEXT REFERENCES ride_requests(id),
    passengers          INTEGER NOT NULL DEFAULT 1 CHECK (passengers BETWEEN 1 AND 8),
    wheelchair          INTEGER NOT NULL DEFAULT 0 CHECK (wheelchair IN (0, 1)),
    walker              INTEGER NOT NULL DEFAULT 0 CHECK (walker IN (0, 1)),
    status              TEXT NOT NULL DEFAULT 'requested' CHECK (status IN
                            ('requested', 'planned', 'confirmed', 'picked_up', 'done', 'no_show', 'cancelled')),
    status_reason       TEXT,
    channel             TEXT NOT NULL CHECK (channel IN ('kiosk', 'web', 'phone')),
    booked_by           TEXT NOT NULL,  -- who booked (set by the hub): an account, a caregiver or a kiosk
    shift_id            TEXT REFERENCES shifts(id),
    pickup_window_start TEXT,        -- the promised window, once there is one
    pickup_window_end   TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CHECK (appointment_at IS NOT NULL OR pickup_at IS NOT NULL),
    CHECK (from_home + (from_stop_id IS NOT NULL) + (from_destination_id IS NOT NULL) = 1),
    CHECK (to_home + (to_stop_id IS NOT NULL) + (to_destination_id IS NOT NULL) = 1)
);
CREATE UNIQUE INDEX ride_requests_code ON ride_requests(region_id, booking_code);
CREATE INDEX ride_requests_day ON ride_requests(region_id, appointment_at, pickup_at);

-- The planned stop sequence of a shift, written by the planner.
CREATE TABLE route_stops (
    id              TEXT PRIMARY KEY,
    region_id       TEXT NOT NULL REFERENCES regions(id),
    shift_id        TEXT NOT NULL REFERENCES shifts(id),
    position        INTEGER NOT NULL CHECK (position >= 0),
    ride_request_id TEXT NOT NULL REFERENCES ride_requests(id),
    kind            TEXT NOT NULL CHECK (kind IN ('pickup', 'dropoff')),
    planned_at      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'done', 'no_show', 'cancelled')),
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX route_stops_shift ON route_stops(shift_id, position);

CREATE TABLE imbus_visits (
    id            TEXT PRIMARY KEY,
    region_id     TEXT NOT NULL REFERENCES regions(id),
    village_id    TEXT NOT NULL REFERENCES villages(id),
    stop_id       TEXT NOT NULL REFERENCES stops(id),
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    counsellor    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'published', 'cancelled')),
    cancel_reason TEXT,   -- shown to residents
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX imbus_visits_day ON imbus_visits(region_id, starts_at);

CREATE TABLE devices (
    id                  TEXT PRIMARY KEY,
    region_id           TEXT NOT NULL REFERENCES regions(id),
    name                TEXT NOT NULL,
    stop_id             TEXT NOT NULL REFERENCES stops(id),
    village_id          TEXT NOT NULL REFERENCES villages(id),
    status              TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'revoked')),
    cert_fingerprint    TEXT,
    last_seen_at        TEXT,
    software_version    TEXT,
    settings            TEXT NOT NULL DEFAULT '{}',
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX devices_fingerprint ON devices(cert_fingerprint) WHERE cert_fingerprint IS NOT NULL;

-- Weekly consultation hours of a health worker at a kiosk (Gesundheitskiosk).
CREATE TABLE consultation_hours (
    id             TEXT PRIMARY KEY,
    region_id      TEXT NOT NULL REFERENCES regions(id),
    device_id      TEXT NOT NULL REFERENCES devices(id),
    weekday        TEXT NOT NULL CHECK (weekday IN ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')),
    start_time     TEXT NOT NULL,
    end_time       TEXT NOT NULL,
    health_worker  TEXT NOT NULL,
    valid_from     TEXT NOT NULL,   -- local date YYYY-MM-DD
    valid_until    TEXT,
    archived_at    TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK (end_time > start_time)
);

-- A bookable slot, either at an IMBUS visit or in consultation hours at a kiosk.
CREATE TABLE slots (
    id                     TEXT PRIMARY KEY,
    region_id              TEXT NOT NULL REFERENCES regions(id),
    village_id             TEXT NOT NULL REFERENCES villages(id),
    visit_id               TEXT REFERENCES imbus_visits(id),
    consultation_hours_id  TEXT REFERENCES consultation_hours(id),
    starts_at              TEXT NOT NULL,
    ends_at                TEXT NOT NULL,
    reserved_for_device_id TEXT REFERENCES devices(id),   -- the kiosk that may confirm it offline
    status                 TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
    version                INTEGER NOT NULL DEFAULT 1,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK ((visit_id IS NULL) <> (consultation_hours_id IS NULL))
);
CREATE INDEX slots_day ON slots(region_id, starts_at);

CREATE TABLE appointments (
    id            TEXT PRIMARY KEY,
    region_id     TEXT NOT NULL REFERENCES regions(id),
    booking_code  TEXT NOT NULL,
    slot_id       TEXT NOT NULL REFERENCES slots(id),
    village_id    TEXT NOT NULL REFERENCES villages(id),
    starts_at     TEXT NOT NULL,   -- copied from the slot, for filters
    resident_id   TEXT REFERENCES residents(id),
    topic         TEXT NOT NULL CHECK (topic IN
                      ('health', 'care', 'money', 'housing', 'loneliness', 'addiction', 'family', 'other')),
    channel       TEXT NOT NULL CHECK (channel IN ('kiosk', 'web', 'phone', 'counsellor')),
    booked_by     TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'attended', 'no_show', 'cancelled')),
    referral      TEXT,   -- where the counsellor referred to (a destination category), never a diagnosis
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
-- No slot is ever given twice: at most one appointment that is not cancelled per slot.
CREATE UNIQUE INDEX appointments_one_per_slot ON appointments(slot_id) WHERE status <> 'cancelled';
CREATE UNIQUE INDEX appointments_code ON appointments(region_id, booking_code);

CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    region_id      TEXT REFERENCES regions(id),   -- NULL: hub-wide (admins)
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'dispatcher', 'health_worker', 'driver', 'caregiver')),
    caregiver_id   TEXT REFERENCES caregivers(id),
    password_hash  TEXT,           -- argon2id PHC string; NULL until a password is set
    archived_at    TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX accounts_username ON accounts(username);

-- Who touched what, when. Personal data reads are logged too. Append-only.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('create', 'read', 'list', 'update', 'cancel', 'import', 'export', 'erase')),
    kind        TEXT NOT NULL,
    entity_id   TEXT,
    region_id   TEXT,
    request_id  TEXT
);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

-- What kiosks sync from: every change of data a kiosk shows, in order, per region.
CREATE TABLE change_log (
    region_id  TEXT NOT NULL REFERENCES regions(id),
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('upsert', 'cancel')),
    body       TEXT NOT NULL,   -- JSON of the entity after the change
    PRIMARY KEY (region_id, seq)
) WITHOUT ROWID;

-- Creates are idempotent: the first answer to a client-made id is kept and returned on repeats.
CREATE TABLE idempotent_creates (
    kind          TEXT NOT NULL,
    id            TEXT NOT NULL,
    request_hash  TEXT NOT NULL,   -- SHA-256 of the canonical request body
    response      TEXT NOT NULL,   -- JSON of the first answer
    created_at    TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
