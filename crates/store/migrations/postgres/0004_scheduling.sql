-- Phase 4 (first part): appointments, and the table that makes a double
-- booking impossible in the database itself.
--
-- Every appointment claims each of its resources (practitioner, room,
-- device) for every 5-minute slot it overlaps. The primary key admits one
-- claim per resource and slot, so of two bookings that overlap on any
-- resource only one can commit, whatever the application checked before.

CREATE TABLE appointments (
    id              BIGSERIAL PRIMARY KEY,
    clinic_id       BIGINT NOT NULL REFERENCES clinics(id),
    patient_id      BIGINT NOT NULL REFERENCES patients(id),
    plan_id         BIGINT REFERENCES plans(id),
    session_number  BIGINT,
    kind            TEXT NOT NULL,
    practitioner_id BIGINT REFERENCES staff(id),
    room_id         BIGINT REFERENCES rooms(id),
    device_id       BIGINT REFERENCES devices(id),
    starts_at       TIMESTAMPTZ NOT NULL,
    ends_at         TIMESTAMPTZ NOT NULL,
    -- The wall-clock start where the clinic is, kept so that a change in
    -- the zone's rules can be noticed.
    local_start     TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'completed', 'cancelled', 'no_show')),
    cancel_reason   TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      BIGINT REFERENCES staff(id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX appointments_by_clinic_time ON appointments (clinic_id, starts_at);
CREATE INDEX appointments_by_patient ON appointments (patient_id, starts_at);

CREATE TABLE booked_slots (
    resource       TEXT NOT NULL CHECK (resource IN ('practitioner', 'room', 'device')),
    resource_id    BIGINT NOT NULL,
    slot           BIGINT NOT NULL,
    appointment_id BIGINT NOT NULL REFERENCES appointments(id),
    PRIMARY KEY (resource, resource_id, slot)
);
CREATE INDEX booked_slots_by_appointment ON booked_slots (appointment_id);
