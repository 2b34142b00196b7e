-- Phase 4: the outbox. A message is written in the same transaction as what
-- caused it and stays until it is sent; a failed send is retried later.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
    patient_id      INTEGER REFERENCES patients(id),
    appointment_id  INTEGER REFERENCES appointments(id),
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    attachment      TEXT,
    due_at          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_due ON messages (status, due_at);
CREATE INDEX messages_by_clinic ON messages (clinic_id, id);
-- One reminder of each kind per appointment, however often it is queued.
CREATE UNIQUE INDEX messages_once ON messages (appointment_id, kind);
