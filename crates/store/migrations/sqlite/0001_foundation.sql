-- Foundation: the organisation, its clinics and staff, patients, the audit log.
-- Times are UTC instants stored as fixed-width RFC 3339 text
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ) so that text order is time order.
-- Dates are YYYY-MM-DD text. Integers are 64-bit.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE clinics (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    name            TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    address         TEXT,
    phone           TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE staff (
    id                  INTEGER PRIMARY KEY,
    organisation_id     INTEGER NOT NULL REFERENCES organisations(id),
    email               TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('owner', 'clinician', 'front_desk')),
    password_hash       TEXT NOT NULL,
    active              INTEGER NOT NULL DEFAULT 1,
    is_practitioner     INTEGER NOT NULL DEFAULT 0,
    profession          TEXT,
    registration_number TEXT,
    created_at          TEXT NOT NULL
);

CREATE TABLE staff_clinics (
    staff_id  INTEGER NOT NULL REFERENCES staff(id),
    clinic_id INTEGER NOT NULL REFERENCES clinics(id),
    PRIMARY KEY (staff_id, clinic_id)
);
CREATE INDEX staff_clinics_by_clinic ON staff_clinics (clinic_id);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
    name       TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (clinic_id, name)
);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    clinic_id     INTEGER NOT NULL REFERENCES clinics(id),
    name          TEXT NOT NULL,
    model         TEXT NOT NULL,
    serial_number TEXT,
    max_depth_um  INTEGER NOT NULL CHECK (max_depth_um >= 0),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    UNIQUE (clinic_id, name)
);

CREATE TABLE price_items (
    id           INTEGER PRIMARY KEY,
    clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    UNIQUE (clinic_id, code)
);

CREATE TABLE patients (
    id            INTEGER PRIMARY KEY,
    clinic_id     INTEGER NOT NULL REFERENCES clinics(id),
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    sex           TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    email         TEXT,
    phone         TEXT,
    address       TEXT,
    notes         TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX patients_by_clinic_name ON patients (clinic_id, family_name, given_name);

CREATE TABLE clinical_notes (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    author_id  INTEGER NOT NULL REFERENCES staff(id),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX clinical_notes_by_patient ON clinical_notes (patient_id, created_at);

CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip         TEXT,
    user_agent TEXT
);

CREATE TABLE login_attempts (
    id      INTEGER PRIMARY KEY,
    email   TEXT NOT NULL,
    ip      TEXT,
    at      TEXT NOT NULL,
    success INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_email ON login_attempts (email, at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff(id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'clinician', 'front_desk')),
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- The audit trail is append-only: the database itself refuses changes.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    actor_label TEXT NOT NULL,
    channel     TEXT NOT NULL,
    ip          TEXT,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   INTEGER,
    patient_id  INTEGER,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_by_patient ON audit_log (patient_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
