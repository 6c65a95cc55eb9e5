-- 0014_caregiver_web (issue 7): caregivers' requests to act for a resident, as they wait for the
-- resident's consent. A caregiver types the resident's number (from a ticket) and name; the
-- request is kept whether or not they match anyone, so the answer never tells whether a number
-- exists. `resident_id` is set only when number and name match a live resident of the region. A
-- dispatcher asks the resident and confirms (which makes the caregiver link, with how consent was
-- given) or refuses; the caregiver sees nothing of the resident before.
CREATE TABLE caregiver_link_requests (
    id             TEXT PRIMARY KEY,
    region_id      TEXT NOT NULL REFERENCES regions(id),
    caregiver_id   TEXT NOT NULL REFERENCES caregivers(id),
    resident_id    TEXT REFERENCES residents(id),
    given_number   TEXT NOT NULL,   -- as typed (normalised), for the dispatcher's call
    given_name     TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'confirmed', 'refused')),
    decided_by     TEXT,            -- the audit label of the dispatcher who decided
    decided_at     TEXT,
    link_id        TEXT REFERENCES caregiver_links(id),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (status <> 'confirmed' OR (resident_id IS NOT NULL AND link_id IS NOT NULL))
);
CREATE INDEX caregiver_link_requests_region ON caregiver_link_requests(region_id, status);
CREATE INDEX caregiver_link_requests_caregiver ON caregiver_link_requests(caregiver_id);
