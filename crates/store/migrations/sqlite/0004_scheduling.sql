-- Phase 4 (first part): appointments, and the table that makes a double
-- booking impossible in the database itself.
--
-- Every appointment claims each of its resources (practitioner, room,
-- device) for every 5-minute slot it overlaps. The primary key admits one
-- claim per resource and slot, so of two bookings that overlap on any
-- resource only one can commit, whatever the application checked before.

CREATE TABLE appointments (
    id              INTEGER PRIMARY KEY,
    clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
    patient_id      INTEGER NOT NULL REFERENCES patients(id),
    plan_id         INTEGER REFERENCES plans(id),
    session_number  INTEGER,
    kind            TEXT NOT NULL,
    practitioner_id INTEGER REFERENCES staff(id),
    room_id         INTEGER REFERENCES rooms(id),
    device_id       INTEGER REFERENCES devices(id),
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    -- The wall-clock start where the clinic is, kept so that a change in
    -- the zone's rules can be noticed.
    local_start     TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'completed', 'cancelled', 'no_show')),
    cancel_reason   TEXT,
    created_at      TEXT NOT NULL,
    created_by      INTEGER REFERENCES staff(id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX appointments_by_clinic_time ON appointments (clinic_id, starts_at);
CREATE INDEX appointments_by_patient ON appointments (patient_id, starts_at);

CREATE TABLE booked_slots (
    resource       TEXT NOT NULL CHECK (resource IN ('practitioner', 'room', 'device')),
    resource_id    INTEGER NOT NULL,
    slot           INTEGER NOT NULL,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    PRIMARY KEY (resource, resource_id, slot)
);
CREATE INDEX booked_slots_by_appointment ON booked_slots (appointment_id);
