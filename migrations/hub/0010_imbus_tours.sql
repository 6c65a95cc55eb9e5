-- IMBUS tours (issue 6): what the tour planner needs (each village's frequency and visit length,
-- the buses with their working time, the counsellors, closed days), what it made (plans and their
-- regular patterns), and how a visit changed after publication.

-- A visit every this many weeks (1 weekly, 2 fortnightly, 4 every four weeks); NULL: the village
-- is not on the IMBUS tour.
ALTER TABLE villages ADD COLUMN imbus_every_weeks INTEGER CHECK (imbus_every_weeks BETWEEN 1 AND 8);
-- How long the bus stands in the village, minutes.
ALTER TABLE villages ADD COLUMN imbus_visit_minutes INTEGER NOT NULL DEFAULT 90
    CHECK (imbus_visit_minutes BETWEEN 15 AND 480);
-- Where the IMBUS stands in the village; NULL: the village's first live stop by name.
ALTER TABLE villages ADD COLUMN imbus_stop_id TEXT REFERENCES stops(id);

-- A counselling bus. Times are HH:MM wall clock in the region's time zone.
CREATE TABLE imbus_buses (
    id            TEXT PRIMARY KEY,
    region_id     TEXT NOT NULL REFERENCES regions(id),
    name          TEXT NOT NULL,
    depot_name    TEXT NOT NULL,
    depot_lat     REAL NOT NULL CHECK (depot_lat BETWEEN -90 AND 90),
    depot_lon     REAL NOT NULL CHECK (depot_lon BETWEEN -180 AND 180),
    weekdays      TEXT NOT NULL DEFAULT '["mon","tue","wed","thu","fri"]',   -- JSON array
    day_start     TEXT NOT NULL,
    day_end       TEXT NOT NULL,
    break_minutes INTEGER NOT NULL DEFAULT 30 CHECK (break_minutes BETWEEN 0 AND 120),
    break_from    TEXT NOT NULL DEFAULT '11:30',
    break_until   TEXT NOT NULL DEFAULT '13:30',
    archived_at   TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (day_end > day_start)
);

-- A counsellor who staffs the bus, with the weekdays they work; `account_id` links the
-- health-worker account that sees the day view.
CREATE TABLE imbus_counsellors (
    id          TEXT PRIMARY KEY,
    region_id   TEXT NOT NULL REFERENCES regions(id),
    name        TEXT NOT NULL,
    account_id  TEXT REFERENCES accounts(id),
    weekdays    TEXT NOT NULL DEFAULT '["mon","tue","wed","thu","fri"]',   -- JSON array
    archived_at TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- A day without IMBUS: for the whole region (public holiday, blocked day; both ids NULL), for
-- one bus (workshop), or for one counsellor (absence).
CREATE TABLE imbus_closed_days (
    id            TEXT PRIMARY KEY,
    region_id     TEXT NOT NULL REFERENCES regions(id),
    date          TEXT NOT NULL,   -- local date YYYY-MM-DD
    bus_id        TEXT REFERENCES imbus_buses(id),
    counsellor_id TEXT REFERENCES imbus_counsellors(id),
    reason        TEXT NOT NULL,
    archived_at   TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (bus_id IS NULL OR counsellor_id IS NULL)
);
CREATE INDEX imbus_closed_days_date ON imbus_closed_days(region_id, date);

-- A planned cycle: the period from `first_day` (a Monday) over `weeks` weeks. A draft becomes
-- published (its visits are published) and is superseded by the next published plan.
CREATE TABLE tour_plans (
    id           TEXT PRIMARY KEY,
    region_id    TEXT NOT NULL REFERENCES regions(id),
    first_day    TEXT NOT NULL,
    weeks        INTEGER NOT NULL CHECK (weeks BETWEEN 1 AND 8),
    seed         INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'superseded')),
    figures      TEXT NOT NULL,               -- JSON: the planner's figures
    moves        TEXT NOT NULL DEFAULT '[]',  -- JSON: patterns moved against the plan before, and why
    visits       TEXT NOT NULL DEFAULT '[]',  -- JSON: the planned visits of the period (day, times)
    unmet        TEXT NOT NULL DEFAULT '[]',  -- JSON: visits the plan could not give, and why
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    published_at TEXT,
    publication  TEXT                          -- JSON: what publishing changed (visits made, kept, moved, cancelled)
);
CREATE INDEX tour_plans_region ON tour_plans(region_id, first_day);

-- A village's regular appointment in a plan: the same weekday and time every `every_weeks`
-- weeks from week `week_offset`. The next plan starts from these to move as little as possible.
CREATE TABLE tour_patterns (
    plan_id     TEXT NOT NULL REFERENCES tour_plans(id),
    village_id  TEXT NOT NULL REFERENCES villages(id),
    bus_id      TEXT NOT NULL REFERENCES imbus_buses(id),
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),   -- 0 Monday
    week_offset INTEGER NOT NULL CHECK (week_offset >= 0),
    every_weeks INTEGER NOT NULL CHECK (every_weeks BETWEEN 1 AND 8),
    start_time  TEXT NOT NULL,
    end_time    TEXT NOT NULL,
    PRIMARY KEY (plan_id, village_id)
) WITHOUT ROWID;

-- Where a visit comes from and how it changed: its bus, counsellor and plan; a replacement for a
-- closed pattern day; the start before an admin moved it and the reason shown to residents
-- (a cancelled visit's reason stays in `cancel_reason`); the minutes at its end kept free of
-- slots for people who just come by.
ALTER TABLE imbus_visits ADD COLUMN bus_id TEXT REFERENCES imbus_buses(id);
ALTER TABLE imbus_visits ADD COLUMN counsellor_id TEXT REFERENCES imbus_counsellors(id);
ALTER TABLE imbus_visits ADD COLUMN plan_id TEXT REFERENCES tour_plans(id);
ALTER TABLE imbus_visits ADD COLUMN replacement INTEGER NOT NULL DEFAULT 0 CHECK (replacement IN (0, 1));
ALTER TABLE imbus_visits ADD COLUMN moved_from TEXT;
ALTER TABLE imbus_visits ADD COLUMN change_reason TEXT;
ALTER TABLE imbus_visits ADD COLUMN walk_in_minutes INTEGER NOT NULL DEFAULT 0
    CHECK (walk_in_minutes >= 0);

-- A kiosk learns that its own booking moved with its visit (the ticket's fields only), like the
-- status changes of migration 0006.
CREATE TRIGGER device_appointment_moved AFTER UPDATE OF starts_at ON appointments
WHEN NEW.channel = 'kiosk' AND NEW.booked_by LIKE 'device:%' AND OLD.starts_at IS NOT NEW.starts_at
BEGIN
    INSERT INTO change_log (region_id, seq, at, kind, entity_id, op, body)
    VALUES (NEW.region_id,
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM change_log WHERE region_id = NEW.region_id),
            strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'appointments', NEW.id, 'upsert',
            json_object('id', NEW.id, 'booking_code', NEW.booking_code, 'status', NEW.status,
                        'slot_id', NEW.slot_id, 'starts_at', NEW.starts_at));
END;
