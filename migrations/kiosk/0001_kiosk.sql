-- The kiosk's own database: a replica of what the hub's change log lets this kiosk see, its
-- position in that log, and the outbox of the kiosk's writes. Instants are TEXT in RFC 3339 UTC
-- ("2026-11-23T08:00:00Z"); JSON columns hold objects as text.

-- The latest body of every live entity the kiosk shows (villages, stops, slots, ...), by the
-- hub's table name and id. A cancelled entity is removed.
CREATE TABLE replica (
    kind  TEXT NOT NULL,
    id    TEXT NOT NULL,
    seq   INTEGER NOT NULL,   -- the change that wrote this body
    body  TEXT NOT NULL CHECK (json_valid(body)),
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- One row: the seq of the last change applied. It only moves in the transaction that applied
-- the changes up to it.
CREATE TABLE sync_state (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    cursor  INTEGER NOT NULL CHECK (cursor >= 0)
);
INSERT INTO sync_state (one, cursor) VALUES (1, 0);

-- The kiosk's writes, kept until the hub has answered and afterwards without personal data so a
-- ticket can be reprinted. The kind is not constrained here: new kinds come with new code, not
-- with a table rebuild.
CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,             -- client-made UUID, sent unchanged on every repeat
    position      INTEGER NOT NULL UNIQUE,      -- enqueue order; the clock may jump, this does not
    kind          TEXT NOT NULL,
    booking_code  TEXT NOT NULL,                -- derived from id; the hub's code once accepted
    body          TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    created_at    TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'refused')),
    answer        TEXT CHECK (answer IS NULL OR json_valid(answer)),   -- the hub's outcome
    answered_at   TEXT,
    CHECK ((state = 'pending') = (answer IS NULL)),
    CHECK ((answer IS NULL) = (answered_at IS NULL))
);
CREATE INDEX outbox_pending ON outbox(position) WHERE state = 'pending';
CREATE INDEX outbox_booking_code ON outbox(booking_code);
