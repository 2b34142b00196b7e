-- Phase 4: when a clinic is open and when each practitioner works there.
-- Hours are a week of wall-clock intervals in the clinic's zone, as JSON
-- ({"days": [[["09:00:00","17:00:00"]], …]}, Monday first).

CREATE TABLE clinic_hours (
    clinic_id  BIGINT PRIMARY KEY REFERENCES clinics(id),
    hours      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff_hours (
    staff_id   BIGINT NOT NULL REFERENCES staff(id),
    clinic_id  BIGINT NOT NULL REFERENCES clinics(id),
    hours      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (staff_id, clinic_id)
);

CREATE TABLE closures (
    clinic_id BIGINT NOT NULL REFERENCES clinics(id),
    day       DATE NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (clinic_id, day)
);
