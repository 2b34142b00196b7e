-- Phase 4: private calendar feeds, one revocable token per practitioner.
CREATE TABLE calendar_feeds (
    id         INTEGER PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
