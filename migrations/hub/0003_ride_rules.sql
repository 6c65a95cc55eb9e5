-- Ride rules: recurring rides, eligibility, outcomes, the no-show rule and the call-back queue.

-- Eligibility: the year of birth (not the date: enough for an age rule) and the target groups a
-- resident was found to belong to when registered (e.g. no_car, low_income, refugee).
ALTER TABLE residents ADD COLUMN birth_year INTEGER CHECK (birth_year BETWEEN 1900 AND 2100);
ALTER TABLE residents ADD COLUMN target_groups TEXT NOT NULL DEFAULT '[]';

-- A series of rides on fixed weekdays (e.g. dialysis three times a week). Its rides are made by
-- the hub, one per date and leg, and planned like any other ride.
CREATE TABLE ride_series (
    id                  TEXT PRIMARY KEY,
    region_id           TEXT NOT NULL REFERENCES regions(id),
    resident_id         TEXT NOT NULL REFERENCES residents(id),
    village_id          TEXT NOT NULL REFERENCES villages(id),
    caregiver_id        TEXT REFERENCES caregivers(id),
    from_stop_id        TEXT REFERENCES stops(id),
    from_destination_id TEXT REFERENCES destinations(id),
    from_home           INTEGER NOT NULL DEFAULT 0 CHECK (from_home IN (0, 1)),
    to_stop_id          TEXT REFERENCES stops(id),
    to_destination_id   TEXT REFERENCES destinations(id),
    to_home             INTEGER NOT NULL DEFAULT 0 CHECK (to_home IN (0, 1)),
    weekdays            TEXT NOT NULL,   -- JSON list: ["mon", "wed", "fri"]
    appointment_time    TEXT,            -- local HH:MM: arrive by
    pickup_time         TEXT,            -- or: local HH:MM desired pickup
    return_pickup_time  TEXT,            -- local HH:MM: the way back, from the destination
    first_date          TEXT NOT NULL,
    last_date           TEXT,
    passengers          INTEGER NOT NULL DEFAULT 1 CHECK (passengers BETWEEN 1 AND 8),
    wheelchair          INTEGER NOT NULL DEFAULT 0 CHECK (wheelchair IN (0, 1)),
    walker              INTEGER NOT NULL DEFAULT 0 CHECK (walker IN (0, 1)),
    channel             TEXT NOT NULL CHECK (channel IN ('kiosk', 'web', 'phone')),
    booked_by           TEXT NOT NULL,
    generated_until     TEXT,            -- the last date rides were made for
    archived_at         TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CHECK (appointment_time IS NOT NULL OR pickup_time IS NOT NULL),
    CHECK (from_home + (from_stop_id IS NOT NULL) + (from_destination_id IS NOT NULL) = 1),
    CHECK (to_home + (to_stop_id IS NOT NULL) + (to_destination_id IS NOT NULL) = 1)
);

-- Rides of a series: one per series, date and leg, however often the series is generated.
ALTER TABLE ride_requests ADD COLUMN series_id TEXT REFERENCES ride_series(id);
ALTER TABLE ride_requests ADD COLUMN series_date TEXT;
ALTER TABLE ride_requests ADD COLUMN series_leg TEXT CHECK (series_leg IN ('out', 'back'));
CREATE UNIQUE INDEX ride_requests_series ON ride_requests(series_id, series_date, series_leg)
    WHERE series_id IS NOT NULL;

-- The caregiver (Kümmerer:in) who booked for the resident, if one did.
ALTER TABLE ride_requests ADD COLUMN caregiver_id TEXT REFERENCES caregivers(id);
-- How the ride ended: done, cancelled, late_cancellation, no_show, turned_down.
ALTER TABLE ride_requests ADD COLUMN outcome TEXT CHECK (outcome IN
    ('done', 'cancelled', 'late_cancellation', 'no_show', 'turned_down'));
-- A notice given with the booking (e.g. the no-show warning), JSON.
ALTER TABLE ride_requests ADD COLUMN notice TEXT;
CREATE INDEX ride_requests_outcome ON ride_requests(resident_id, outcome);

-- Requests that could not be served as asked (and residents who asked to be phoned), for the
-- dispatcher or counsellor to phone about. Phone numbers are read from the resident or caregiver
-- when the queue is shown, not copied here.
CREATE TABLE call_backs (
    id               TEXT PRIMARY KEY,
    region_id        TEXT NOT NULL REFERENCES regions(id),
    kind             TEXT NOT NULL CHECK (kind IN ('ride', 'counselling')),
    ride_request_id  TEXT REFERENCES ride_requests(id),
    resident_id      TEXT REFERENCES residents(id),
    contact_name     TEXT,            -- only when no resident record exists (asked at a kiosk)
    contact_phone    TEXT,
    topic            TEXT,            -- counselling topic category
    reason           TEXT NOT NULL,   -- a reason code, e.g. no_capacity_at_that_time
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    resolution       TEXT CHECK (resolution IN ('served', 'rebooked', 'turned_down', 'unreachable', 'cancelled')),
    resolved_by      TEXT,
    resolved_at      TEXT,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- One open call-back per ride.
CREATE UNIQUE INDEX call_backs_open_ride ON call_backs(ride_request_id)
    WHERE ride_request_id IS NOT NULL AND status = 'open';
CREATE INDEX call_backs_region ON call_backs(region_id, status, created_at);
