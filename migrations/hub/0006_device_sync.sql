-- Kiosk sync: the permanent key of kiosk and booking, the hub's later answers to a kiosk's own
-- bookings in the change log, and the rule that a slot set aside for a kiosk is booked there.

-- Every outbox entry a device sent, with the hash of what it asked and the hub's first answer
-- (an accepted record or a refusal, as the ack's outcome in JSON). A repeat of the same entry
-- gets this answer again; the same id with other content is refused. Never deleted: a kiosk may
-- come back after weeks and send an entry again.
CREATE TABLE device_writes (
    device_id    TEXT NOT NULL REFERENCES devices(id),
    entry_id     TEXT NOT NULL,   -- the kiosk's UUID; also the id of the record it made
    kind         TEXT NOT NULL CHECK (kind IN ('ride_request', 'appointment', 'call_back')),
    body_sha256  TEXT NOT NULL,   -- SHA-256 of the entry's body as the kiosk sent it
    answer       TEXT NOT NULL,   -- JSON: {"outcome": "accepted", "record": …} or a refusal
    first_at     TEXT NOT NULL,   -- when the hub first answered the entry
    PRIMARY KEY (device_id, entry_id)
) WITHOUT ROWID;
CREATE INDEX device_writes_entry ON device_writes(entry_id);

-- The hub's later answers to a kiosk's own bookings (the evening planner confirming a ride booked
-- offline, a cancelled visit calling off an appointment) reach the kiosk through its region's
-- change log. The body is reduced to what the kiosk's ticket shows: no resident, no topic.
-- The sync sends these lines only to the device that made the booking.
CREATE TRIGGER device_ride_answer AFTER UPDATE ON ride_requests
WHEN NEW.channel = 'kiosk' AND NEW.booked_by LIKE 'device:%'
    AND (OLD.status IS NOT NEW.status
         OR OLD.pickup_window_start IS NOT NEW.pickup_window_start
         OR OLD.pickup_window_end IS NOT NEW.pickup_window_end
         OR OLD.planning IS NOT NEW.planning)
BEGIN
    INSERT INTO change_log (region_id, seq, at, kind, entity_id, op, body)
    VALUES (NEW.region_id,
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM change_log WHERE region_id = NEW.region_id),
            strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'ride_requests', NEW.id, 'upsert',
            json_object('id', NEW.id, 'booking_code', NEW.booking_code, 'status', NEW.status,
                        'pickup_at', NEW.pickup_at, 'appointment_at', NEW.appointment_at,
                        'pickup_window_start', NEW.pickup_window_start,
                        'pickup_window_end', NEW.pickup_window_end,
                        'planning', json(NEW.planning)));
END;

CREATE TRIGGER device_appointment_answer AFTER UPDATE OF status ON appointments
WHEN NEW.channel = 'kiosk' AND NEW.booked_by LIKE 'device:%' AND OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO change_log (region_id, seq, at, kind, entity_id, op, body)
    VALUES (NEW.region_id,
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM change_log WHERE region_id = NEW.region_id),
            strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'appointments', NEW.id, 'upsert',
            json_object('id', NEW.id, 'booking_code', NEW.booking_code, 'status', NEW.status,
                        'slot_id', NEW.slot_id, 'starts_at', NEW.starts_at));
END;

-- A slot set aside for a kiosk (its share, which it may confirm offline) is not given away
-- through the web, the phone or another kiosk: otherwise the kiosk's offline confirmation could
-- arrive to find it taken. Checked here so every path that books is held to it.
CREATE TRIGGER appointments_reserved_slot BEFORE INSERT ON appointments
WHEN NEW.status <> 'cancelled' AND EXISTS (
    SELECT 1 FROM slots s
    WHERE s.id = NEW.slot_id AND s.reserved_for_device_id IS NOT NULL
      AND (NEW.channel IN ('web', 'phone', 'counsellor')
           OR (NEW.booked_by LIKE 'device:%'
               AND NEW.booked_by <> 'device:' || s.reserved_for_device_id)))
BEGIN
    SELECT RAISE(ABORT, 'this slot is set aside for the kiosk of its village: book it there or choose another slot');
END;
