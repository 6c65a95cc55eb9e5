-- The device (and its region) the replica, the cursor and the outbox belong to. Set on the first
-- open after enrolment; when the kiosk is enrolled again as another device or into another
-- region, the replica and cursor are emptied so no data of the old region stays (see
-- `Store::adopt`). NULL before the first enrolment and on databases made before this migration.
ALTER TABLE sync_state ADD COLUMN device_id TEXT;
ALTER TABLE sync_state ADD COLUMN region_id TEXT;
