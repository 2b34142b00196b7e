-- Phase 11: the home-care log. A patient (or staff for her) records each
-- home rolling; the warnings the clinic's home-care rules gave are kept
-- with it, as she saw them.
CREATE TABLE home_care_uses (
    id         INTEGER PRIMARY KEY,
    clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    used_on    TEXT NOT NULL,
    area       TEXT NOT NULL,
    needle_um  INTEGER NOT NULL CHECK (needle_um > 0),
    inflamed   INTEGER NOT NULL,
    warnings   TEXT NOT NULL,
    logged_at  TEXT NOT NULL,
    -- Staff who logged it for her; none when she logged it herself.
    logged_by  INTEGER REFERENCES staff(id)
);
CREATE INDEX home_care_uses_by_patient ON home_care_uses (patient_id, used_on);
