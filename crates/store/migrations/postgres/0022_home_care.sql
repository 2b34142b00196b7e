-- Phase 11: the home-care log. A patient (or staff for her) records each
-- home rolling; the warnings the clinic's home-care rules gave are kept
-- with it, as she saw them.
CREATE TABLE home_care_uses (
    id         BIGSERIAL PRIMARY KEY,
    clinic_id  BIGINT NOT NULL REFERENCES clinics(id),
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    used_on    DATE NOT NULL,
    area       TEXT NOT NULL,
    needle_um  BIGINT NOT NULL CHECK (needle_um > 0),
    inflamed   BOOLEAN NOT NULL,
    warnings   TEXT NOT NULL,
    logged_at  TIMESTAMPTZ NOT NULL,
    logged_by  BIGINT REFERENCES staff(id)
);
CREATE INDEX home_care_uses_by_patient ON home_care_uses (patient_id, used_on);
