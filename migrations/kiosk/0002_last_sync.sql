-- When the kiosk last got an answer from its hub (RFC 3339 UTC), for heartbeats and the service
-- screen. NULL before the first sync. Written in the transaction that applies a response.
ALTER TABLE sync_state ADD COLUMN last_sync_at TEXT;
