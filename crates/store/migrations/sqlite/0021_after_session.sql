-- Phase 11: after the session. Check-ins with their triage, the
-- adverse-event register, and the patient's own sign-in.

-- A check-in due on a day after a signed session: its link is sent at
-- `due_at` and works once, until `expires_at`. The answers, the triage's
-- advice and its findings are kept as the patient gave them; a flagged
-- check-in (advice other than reassure) waits for a clinician's review.
CREATE TABLE checkins (
    id           INTEGER PRIMARY KEY,
    clinic_id    INTEGER NOT NULL REFERENCES clinics(id),
    patient_id   INTEGER NOT NULL REFERENCES patients(id),
    chart_id     INTEGER NOT NULL REFERENCES charts(id),
    day          INTEGER NOT NULL,
    due_at       TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    answered_at  TEXT,
    answers      TEXT,
    advice       TEXT CHECK (advice IN ('reassure', 'tell_us_within_days', 'call_today', 'emergency')),
    findings     TEXT,
    photo_id     INTEGER REFERENCES photos(id),
    reviewed_at  TEXT,
    reviewed_by  INTEGER REFERENCES staff(id),
    review_note  TEXT,
    UNIQUE (chart_id, day)
);
CREATE INDEX checkins_by_patient ON checkins (patient_id, due_at);
-- Today's lists: flagged and unanswered check-ins not yet reviewed.
CREATE INDEX checkins_open ON checkins (clinic_id, due_at) WHERE reviewed_at IS NULL;

-- An adverse event after a session, signed when recorded; every later
-- change is a new signed version with its reason (the first has none).
CREATE TABLE adverse_events (
    id          INTEGER PRIMARY KEY,
    clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    chart_id    INTEGER NOT NULL REFERENCES charts(id),
    checkin_id  INTEGER REFERENCES checkins(id),
    term        TEXT NOT NULL,
    grade       INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 5),
    serious     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES staff(id)
);
CREATE INDEX adverse_events_by_patient ON adverse_events (patient_id);
CREATE INDEX adverse_events_by_chart ON adverse_events (chart_id);
CREATE TABLE adverse_event_versions (
    id               INTEGER PRIMARY KEY,
    adverse_event_id INTEGER NOT NULL REFERENCES adverse_events(id),
    version          INTEGER NOT NULL,
    event            TEXT NOT NULL,
    zones            TEXT NOT NULL,
    reason           TEXT,
    signed_at        TEXT NOT NULL,
    signed_by        INTEGER NOT NULL REFERENCES staff(id),
    UNIQUE (adverse_event_id, version)
);
-- The lots suspected: a lot's page lists its events, so a cluster shows.
CREATE TABLE adverse_event_lots (
    adverse_event_id INTEGER NOT NULL REFERENCES adverse_events(id),
    lot_id           INTEGER NOT NULL REFERENCES lots(id),
    PRIMARY KEY (adverse_event_id, lot_id)
);
CREATE INDEX adverse_event_lots_by_lot ON adverse_event_lots (lot_id);

-- The patient's own sign-in: a one-time code (and a single-use link) sent
-- to an address on file. Only hashes are kept.
CREATE TABLE patient_codes (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    address     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    link_hash   TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX patient_codes_by_address ON patient_codes (address, expires_at);
-- Wrong codes per address, known or not (so that a lock says nothing of
-- whether a patient has it): enough of them lock sign-in for a while.
CREATE TABLE patient_sign_in_failures (
    address       TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    first_at      TEXT NOT NULL,
    locked_until  TEXT
);
CREATE TABLE patient_sessions (
    token_hash  TEXT PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    created_at  TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX patient_sessions_by_patient ON patient_sessions (patient_id);

-- A patient signs in by the e-mail or phone they gave: found by either
-- without reading every patient (a phone by its digits alone).
CREATE INDEX patients_by_email ON patients (lower(email));
CREATE INDEX patients_by_phone_digits ON patients (
    replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '(', ''), ')', ''), '-', ''), '.', ''));
