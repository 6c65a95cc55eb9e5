-- The evening-before re-optimisation: one row per region and date, claimed before the run and
-- finished after it, so a date is planned once even when the hub restarts. A row without
-- finished_at is a run that was cut off (crash, shutdown): it is run again.
CREATE TABLE plan_runs (
    region_id    TEXT NOT NULL REFERENCES regions(id),
    date         TEXT NOT NULL,   -- the planned local date, YYYY-MM-DD
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    result       TEXT,            -- JSON: the figures, or {"error": ...}
    PRIMARY KEY (region_id, date)
);
