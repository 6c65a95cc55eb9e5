-- Ride planning: what the planner answered and scheduled.

-- When the planner could not serve a request as asked: the reason and the nearest alternatives
-- (JSON), shown to whoever booked and kept for the dispatcher's call-back queue.
ALTER TABLE ride_requests ADD COLUMN planning TEXT;
-- The planned start of boarding and of alighting, as last scheduled.
ALTER TABLE ride_requests ADD COLUMN planned_pickup_at TEXT;
ALTER TABLE ride_requests ADD COLUMN planned_dropoff_at TEXT;

-- Where the driver's break lies in the planned stop sequence of a shift: before the stop at
-- this position (the sequence's length: after the last stop), and when it starts.
ALTER TABLE shifts ADD COLUMN planned_break_position INTEGER;
ALTER TABLE shifts ADD COLUMN planned_break_at TEXT;
