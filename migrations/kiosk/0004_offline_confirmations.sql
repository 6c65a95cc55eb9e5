-- An appointment the kiosk confirmed itself, before the hub answered, for a slot the hub set aside
-- for this kiosk: the slot and its time as the resident was shown them (JSON object with slot_id,
-- starts_at, ends_at). NULL for every other entry. Nothing personal: it outlives the answer.
ALTER TABLE outbox ADD COLUMN confirmed_offline TEXT
    CHECK (confirmed_offline IS NULL OR (json_valid(confirmed_offline)
                                         AND json_type(confirmed_offline) = 'object'));

-- The kiosk's appointments by slot: before it gives a slot it looks for another entry holding it.
CREATE INDEX outbox_appointment_slot ON outbox(json_extract(body, '$.slot_id'))
    WHERE kind = 'appointment';
