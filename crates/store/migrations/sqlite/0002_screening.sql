-- Phase 2: patient histories (immutable versions), screenings (immutable)
-- and clinicians' overrides of them, clinics' overrides of knowledge-base
-- values, and intake links with the answers they bring in.

CREATE TABLE patient_histories (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    version     INTEGER NOT NULL,
    history     TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('clinician', 'intake', 'api')),
    note        TEXT,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES staff(id),
    UNIQUE (patient_id, version)
);

CREATE TABLE screenings (
    id                INTEGER PRIMARY KEY,
    patient_id        INTEGER NOT NULL REFERENCES patients(id),
    history_id        INTEGER NOT NULL REFERENCES patient_histories(id),
    screened_on       TEXT NOT NULL,
    status            TEXT NOT NULL,
    knowledge_version TEXT NOT NULL,
    result            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    created_by        INTEGER REFERENCES staff(id)
);
CREATE INDEX screenings_by_patient ON screenings (patient_id, id);

CREATE TABLE screening_overrides (
    id            INTEGER PRIMARY KEY,
    screening_id  INTEGER NOT NULL REFERENCES screenings(id),
    status        TEXT NOT NULL,
    justification TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    INTEGER NOT NULL REFERENCES staff(id)
);

CREATE TABLE knowledge_overrides (
    id         INTEGER PRIMARY KEY,
    clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES staff(id)
);
CREATE INDEX knowledge_overrides_by_clinic ON knowledge_overrides (clinic_id, id);

CREATE TABLE intake_links (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES staff(id),
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE intake_submissions (
    id           INTEGER PRIMARY KEY,
    link_id      INTEGER NOT NULL UNIQUE REFERENCES intake_links(id),
    patient_id   INTEGER NOT NULL REFERENCES patients(id),
    history      TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    reviewed_at  TEXT,
    reviewed_by  INTEGER REFERENCES staff(id),
    history_id   INTEGER REFERENCES patient_histories(id)
);

-- What was known, what was concluded and what was overridden stay as written.
CREATE TRIGGER patient_histories_immutable_u BEFORE UPDATE ON patient_histories
BEGIN SELECT RAISE(ABORT, 'patient_histories is append-only'); END;
CREATE TRIGGER patient_histories_immutable_d BEFORE DELETE ON patient_histories
BEGIN SELECT RAISE(ABORT, 'patient_histories is append-only'); END;
CREATE TRIGGER screenings_immutable_u BEFORE UPDATE ON screenings
BEGIN SELECT RAISE(ABORT, 'screenings is append-only'); END;
CREATE TRIGGER screenings_immutable_d BEFORE DELETE ON screenings
BEGIN SELECT RAISE(ABORT, 'screenings is append-only'); END;
CREATE TRIGGER screening_overrides_immutable_u BEFORE UPDATE ON screening_overrides
BEGIN SELECT RAISE(ABORT, 'screening_overrides is append-only'); END;
CREATE TRIGGER screening_overrides_immutable_d BEFORE DELETE ON screening_overrides
BEGIN SELECT RAISE(ABORT, 'screening_overrides is append-only'); END;
CREATE TRIGGER knowledge_overrides_immutable_u BEFORE UPDATE ON knowledge_overrides
BEGIN SELECT RAISE(ABORT, 'knowledge_overrides is append-only'); END;
CREATE TRIGGER knowledge_overrides_immutable_d BEFORE DELETE ON knowledge_overrides
BEGIN SELECT RAISE(ABORT, 'knowledge_overrides is append-only'); END;
