-- Foundation: the organisation, its clinics and staff, patients, the audit log.
-- Times are TIMESTAMPTZ (UTC instants); integers are BIGINT throughout so the
-- Rust side reads every one as i64.

CREATE TABLE organisations (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE clinics (
    id              BIGSERIAL PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    name            TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    address         TEXT,
    phone           TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff (
    id                  BIGSERIAL PRIMARY KEY,
    organisation_id     BIGINT NOT NULL REFERENCES organisations(id),
    email               TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('owner', 'clinician', 'front_desk')),
    password_hash       TEXT NOT NULL,
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    is_practitioner     BOOLEAN NOT NULL DEFAULT FALSE,
    profession          TEXT,
    registration_number TEXT,
    created_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff_clinics (
    staff_id  BIGINT NOT NULL REFERENCES staff(id),
    clinic_id BIGINT NOT NULL REFERENCES clinics(id),
    PRIMARY KEY (staff_id, clinic_id)
);
CREATE INDEX staff_clinics_by_clinic ON staff_clinics (clinic_id);

CREATE TABLE rooms (
    id         BIGSERIAL PRIMARY KEY,
    clinic_id  BIGINT NOT NULL REFERENCES clinics(id),
    name       TEXT NOT NULL,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (clinic_id, name)
);

CREATE TABLE devices (
    id            BIGSERIAL PRIMARY KEY,
    clinic_id     BIGINT NOT NULL REFERENCES clinics(id),
    name          TEXT NOT NULL,
    model         TEXT NOT NULL,
    serial_number TEXT,
    max_depth_um  BIGINT NOT NULL CHECK (max_depth_um >= 0),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (clinic_id, name)
);

CREATE TABLE price_items (
    id           BIGSERIAL PRIMARY KEY,
    clinic_id    BIGINT NOT NULL REFERENCES clinics(id),
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (clinic_id, code)
);

CREATE TABLE patients (
    id            BIGSERIAL PRIMARY KEY,
    clinic_id     BIGINT NOT NULL REFERENCES clinics(id),
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    date_of_birth DATE NOT NULL,
    sex           TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    email         TEXT,
    phone         TEXT,
    address       TEXT,
    notes         TEXT,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX patients_by_clinic_name ON patients (clinic_id, family_name, given_name);

CREATE TABLE clinical_notes (
    id         BIGSERIAL PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    author_id  BIGINT NOT NULL REFERENCES staff(id),
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX clinical_notes_by_patient ON clinical_notes (patient_id, created_at);

CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   BIGINT NOT NULL REFERENCES staff(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ip         TEXT,
    user_agent TEXT
);

CREATE TABLE login_attempts (
    id      BIGSERIAL PRIMARY KEY,
    email   TEXT NOT NULL,
    ip      TEXT,
    at      TIMESTAMPTZ NOT NULL,
    success BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_by_email ON login_attempts (email, at);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    staff_id     BIGINT NOT NULL REFERENCES staff(id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'clinician', 'front_desk')),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

-- The audit trail is append-only: the database itself refuses changes.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    BIGINT,
    actor_label TEXT NOT NULL,
    channel     TEXT NOT NULL,
    ip          TEXT,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   BIGINT,
    patient_id  BIGINT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_by_patient ON audit_log (patient_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
