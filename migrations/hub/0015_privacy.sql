-- Personal data of residents (issue 7, hub/src/privacy.rs): how long ride details are kept per
-- region, what each retention run removed, and which residents were erased.

-- Days after which the details of a finished ride (notes, planner answers, caregiver who booked,
-- call-back contact data) are removed. A region without a row keeps them 90 days.
CREATE TABLE privacy_settings (
    region_id       TEXT PRIMARY KEY REFERENCES regions(id),
    retention_days  INTEGER NOT NULL CHECK (retention_days BETWEEN 30 AND 3650),
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL   -- the actor, as in the audit log
) WITHOUT ROWID;

-- One row per region and retention run: when, up to which instant, and how many rows it cleaned.
CREATE TABLE retention_runs (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    region_id       TEXT NOT NULL REFERENCES regions(id),
    ran_at          TEXT NOT NULL,
    cutoff          TEXT NOT NULL,   -- rides before this instant were cleaned
    retention_days  INTEGER NOT NULL,
    rides           INTEGER NOT NULL,
    call_backs      INTEGER NOT NULL,
    ran_by          TEXT NOT NULL
);
CREATE INDEX retention_runs_region ON retention_runs(region_id, seq);

-- Residents whose personal data was erased. The resident row stays, overwritten, so rides and
-- appointments keep counting in the statistics as anonymous rows; this row records only when
-- and by whom (the 'erase' audit line says the same).
CREATE TABLE erasures (
    resident_id  TEXT PRIMARY KEY REFERENCES residents(id),
    region_id    TEXT NOT NULL REFERENCES regions(id),
    erased_at    TEXT NOT NULL,
    erased_by    TEXT NOT NULL
) WITHOUT ROWID;
