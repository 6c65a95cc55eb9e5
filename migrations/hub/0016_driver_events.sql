-- 0016_driver_events (issue 7): what drivers mark on their phone page (picked up, dropped off,
-- no-show), each event once. The id is made by the phone when the page is drawn, so a form sent
-- twice, or a queued event sent again after a lost answer, is recorded once: a repeat with the
-- same content gets the first answer, other content under the same id is refused.
CREATE TABLE driver_events (
    id             TEXT PRIMARY KEY,   -- the client-made UUID
    route_stop_id  TEXT NOT NULL REFERENCES route_stops(id),
    kind           TEXT NOT NULL CHECK (kind IN ('picked_up', 'dropped_off', 'no_show')),
    at             TEXT NOT NULL,      -- when it happened, as recorded (UTC)
    sent_at        TEXT,               -- the tap time the phone sent, as sent; NULL without script
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    recorded_at    TEXT NOT NULL       -- when the hub received it
);
CREATE INDEX driver_events_stop ON driver_events(route_stop_id);
