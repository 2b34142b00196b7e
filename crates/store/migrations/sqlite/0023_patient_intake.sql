-- Phase 11: a patient updates her health answers from her own page. The
-- intake link she answers is made by no staff member, so `created_by`
-- may be empty. SQLite cannot drop a NOT NULL in place: both intake
-- tables are rebuilt (the child first out, so that no row is ever
-- without its link), then take their names back (which also renames the
-- child's reference to its parent).
CREATE TABLE intake_links_new (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES staff(id),
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
INSERT INTO intake_links_new (id, patient_id, token_hash, created_at, created_by, expires_at, used_at)
    SELECT id, patient_id, token_hash, created_at, created_by, expires_at, used_at FROM intake_links;
CREATE TABLE intake_submissions_new (
    id           INTEGER PRIMARY KEY,
    link_id      INTEGER NOT NULL UNIQUE REFERENCES intake_links_new(id),
    patient_id   INTEGER NOT NULL REFERENCES patients(id),
    history      TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    reviewed_at  TEXT,
    reviewed_by  INTEGER REFERENCES staff(id),
    history_id   INTEGER REFERENCES patient_histories(id)
);
INSERT INTO intake_submissions_new (id, link_id, patient_id, history, submitted_at, reviewed_at, reviewed_by, history_id)
    SELECT id, link_id, patient_id, history, submitted_at, reviewed_at, reviewed_by, history_id FROM intake_submissions;
DROP TABLE intake_submissions;
DROP TABLE intake_links;
ALTER TABLE intake_links_new RENAME TO intake_links;
ALTER TABLE intake_submissions_new RENAME TO intake_submissions;
