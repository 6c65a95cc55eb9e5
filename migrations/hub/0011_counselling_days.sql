-- Counselling operations at IMBUS visits (issue 6): people who just came by, counted by topic;
-- the waiting list of each visit; and the notices to caregivers that a sender (SMS or e-mail
-- gateway, not part of the hub yet) passes on. Code: hub/src/counselling/.

-- People who came to a visit without an appointment: a count per topic, never a person.
-- The id is the client's UUID; repeats are answered from `idempotent_creates` (kind `walk_ins`).
CREATE TABLE walk_ins (
    id           TEXT PRIMARY KEY,
    region_id    TEXT NOT NULL REFERENCES regions(id),
    visit_id     TEXT NOT NULL REFERENCES imbus_visits(id),
    village_id   TEXT NOT NULL REFERENCES villages(id),   -- the visit's, for statistics
    topic        TEXT NOT NULL CHECK (topic IN
                     ('health', 'care', 'money', 'housing', 'loneliness', 'addiction', 'family', 'other')),
    count        INTEGER NOT NULL CHECK (count BETWEEN 1 AND 50),
    recorded_by  TEXT NOT NULL,   -- the actor, as in the audit log
    created_at   TEXT NOT NULL
);
CREATE INDEX walk_ins_visit ON walk_ins(visit_id);

-- Residents waiting for a slot of a visit, first come first served (created_at, then rowid).
-- When an appointment on a slot of the visit is cancelled, the oldest waiting entry gets the
-- slot in the same transaction and becomes `booked` with that appointment. When the visit is
-- cancelled, its waiting entries end as `visit_cancelled` (trigger below); a moved visit keeps
-- them waiting.
CREATE TABLE waiting_list (
    id              TEXT PRIMARY KEY,   -- client-made UUID
    region_id       TEXT NOT NULL REFERENCES regions(id),
    visit_id        TEXT NOT NULL REFERENCES imbus_visits(id),
    resident_id     TEXT NOT NULL REFERENCES residents(id),
    topic           TEXT NOT NULL CHECK (topic IN
                        ('health', 'care', 'money', 'housing', 'loneliness', 'addiction', 'family', 'other')),
    caregiver_id    TEXT REFERENCES caregivers(id),   -- whom to tell; linked to the resident
    status          TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'booked', 'withdrawn', 'visit_cancelled')),
    appointment_id  TEXT REFERENCES appointments(id),
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK ((status = 'booked') = (appointment_id IS NOT NULL))
);
CREATE INDEX waiting_list_visit ON waiting_list(visit_id, status, created_at);
-- A resident waits at most once per visit.
CREATE UNIQUE INDEX waiting_list_once ON waiting_list(visit_id, resident_id) WHERE status = 'waiting';

-- What a caregiver is to be told, as structured data; the German text is rendered when listed.
-- A notice is about a booked appointment (`appointment_id`) or a waiting-list entry
-- (`waiting_id`; a slot given from the list names both). `old_start`/`new_start` are the
-- appointment's start before and after, or for a waiting entry the visit's (UTC instants).
CREATE TABLE notices (
    id              TEXT PRIMARY KEY,
    region_id       TEXT NOT NULL REFERENCES regions(id),
    caregiver_id    TEXT NOT NULL REFERENCES caregivers(id),
    resident_id     TEXT NOT NULL REFERENCES residents(id),
    kind            TEXT NOT NULL CHECK (kind IN ('slot_given', 'visit_cancelled', 'visit_moved')),
    appointment_id  TEXT REFERENCES appointments(id),
    waiting_id      TEXT REFERENCES waiting_list(id),
    visit_id        TEXT NOT NULL REFERENCES imbus_visits(id),
    old_start       TEXT,
    new_start       TEXT,
    reason          TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,   -- NULL until a sender marks it sent
    sent_by         TEXT,
    CHECK (appointment_id IS NOT NULL OR waiting_id IS NOT NULL)
);
CREATE INDEX notices_region ON notices(region_id, sent_at, created_at);

-- A cancelled or moved visit tells the caregivers of every resident booked on it, whichever path
-- changed the visit (the API's cancel, a move endpoint, the tour re-plan, an import): one notice
-- per booked appointment and live caregiver link. A move takes the appointment's start when the
-- trigger fires as the old time and shifts it by the visit's move, so a move changes the visit
-- before its slots. Ids are random UUIDs (version 4) made here.
--
-- The residents still waiting for a slot of the visit are told too: the entry's caregiver while
-- still linked, or, when the entry names none, every live caregiver linked to the resident (as
-- for a slot given from the list); nobody for an archived resident. A cancel ends their entries
-- as `visit_cancelled` after the notices are queued; a move leaves them waiting for the moved
-- visit.
CREATE TRIGGER visit_cancelled_notices AFTER UPDATE OF status ON imbus_visits
WHEN NEW.status = 'cancelled' AND OLD.status IS NOT 'cancelled'
BEGIN
    INSERT INTO notices (id, region_id, caregiver_id, resident_id, kind, appointment_id, visit_id,
                         old_start, new_start, reason, created_at)
    SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                 || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2)
                 || '-' || hex(randomblob(6))),
           a.region_id, l.caregiver_id, a.resident_id, 'visit_cancelled', a.id, NEW.id,
           a.starts_at, NULL, NEW.cancel_reason, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM appointments a
    JOIN slots s ON s.id = a.slot_id
    JOIN caregiver_links l ON l.resident_id = a.resident_id AND l.archived_at IS NULL
    JOIN caregivers c ON c.id = l.caregiver_id AND c.archived_at IS NULL
    WHERE s.visit_id = NEW.id AND a.status = 'booked'
    ORDER BY a.starts_at, a.id, c.id;
    INSERT INTO notices (id, region_id, caregiver_id, resident_id, kind, waiting_id, visit_id,
                         old_start, new_start, reason, created_at)
    SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                 || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2)
                 || '-' || hex(randomblob(6))),
           w.region_id, l.caregiver_id, w.resident_id, 'visit_cancelled', w.id, NEW.id,
           OLD.starts_at, NULL, NEW.cancel_reason, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM waiting_list w
    JOIN residents r ON r.id = w.resident_id AND r.archived_at IS NULL
    JOIN caregiver_links l ON l.resident_id = w.resident_id AND l.archived_at IS NULL
                          AND (w.caregiver_id IS NULL OR l.caregiver_id = w.caregiver_id)
    JOIN caregivers c ON c.id = l.caregiver_id AND c.archived_at IS NULL
    WHERE w.visit_id = NEW.id AND w.status = 'waiting'
    ORDER BY w.created_at, w.rowid, c.id;
    UPDATE waiting_list SET status = 'visit_cancelled',
                            updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    WHERE visit_id = NEW.id AND status = 'waiting';
END;

CREATE TRIGGER visit_moved_notices AFTER UPDATE OF starts_at ON imbus_visits
WHEN NEW.starts_at IS NOT OLD.starts_at AND NEW.status <> 'cancelled'
BEGIN
    INSERT INTO notices (id, region_id, caregiver_id, resident_id, kind, appointment_id, visit_id,
                         old_start, new_start, reason, created_at)
    SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                 || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2)
                 || '-' || hex(randomblob(6))),
           a.region_id, l.caregiver_id, a.resident_id, 'visit_moved', a.id, NEW.id,
           a.starts_at,
           strftime('%Y-%m-%dT%H:%M:%SZ',
                    unixepoch(a.starts_at) + unixepoch(NEW.starts_at) - unixepoch(OLD.starts_at),
                    'unixepoch'),
           NEW.change_reason, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM appointments a
    JOIN slots s ON s.id = a.slot_id
    JOIN caregiver_links l ON l.resident_id = a.resident_id AND l.archived_at IS NULL
    JOIN caregivers c ON c.id = l.caregiver_id AND c.archived_at IS NULL
    WHERE s.visit_id = NEW.id AND a.status = 'booked'
    ORDER BY a.starts_at, a.id, c.id;
    INSERT INTO notices (id, region_id, caregiver_id, resident_id, kind, waiting_id, visit_id,
                         old_start, new_start, reason, created_at)
    SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                 || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2)
                 || '-' || hex(randomblob(6))),
           w.region_id, l.caregiver_id, w.resident_id, 'visit_moved', w.id, NEW.id,
           OLD.starts_at, NEW.starts_at, NEW.change_reason, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM waiting_list w
    JOIN residents r ON r.id = w.resident_id AND r.archived_at IS NULL
    JOIN caregiver_links l ON l.resident_id = w.resident_id AND l.archived_at IS NULL
                          AND (w.caregiver_id IS NULL OR l.caregiver_id = w.caregiver_id)
    JOIN caregivers c ON c.id = l.caregiver_id AND c.archived_at IS NULL
    WHERE w.visit_id = NEW.id AND w.status = 'waiting'
    ORDER BY w.created_at, w.rowid, c.id;
END;
