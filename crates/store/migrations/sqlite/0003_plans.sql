-- Phase 3: each clinic's tax and currency, typed price items (areas,
-- bundles, packages, add-ons), treatment plans, signed consents and links
-- to sign them remotely.

ALTER TABLE clinics ADD COLUMN currency TEXT NOT NULL DEFAULT 'GBP';
ALTER TABLE clinics ADD COLUMN tax_rate_bp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clinics ADD COLUMN tax_included INTEGER NOT NULL DEFAULT 1;

ALTER TABLE price_items ADD COLUMN kind TEXT NOT NULL DEFAULT 'other'
    CHECK (kind IN ('area', 'bundle', 'package', 'addon', 'other'));
ALTER TABLE price_items ADD COLUMN areas TEXT NOT NULL DEFAULT '';
ALTER TABLE price_items ADD COLUMN sessions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE price_items ADD COLUMN discount_bp INTEGER NOT NULL DEFAULT 0;

CREATE TABLE plans (
    id             INTEGER PRIMARY KEY,
    patient_id     INTEGER NOT NULL REFERENCES patients(id),
    clinic_id      INTEGER NOT NULL REFERENCES clinics(id),
    screening_id   INTEGER NOT NULL REFERENCES screenings(id),
    status         TEXT NOT NULL CHECK (status IN ('proposed', 'accepted', 'in_progress', 'completed', 'cancelled')),
    version        INTEGER NOT NULL DEFAULT 1,
    proposal       TEXT NOT NULL,
    plan           TEXT NOT NULL,
    flags          TEXT NOT NULL,
    quote          TEXT,
    cancel_reason  TEXT,
    created_at     TEXT NOT NULL,
    created_by     INTEGER NOT NULL REFERENCES staff(id),
    updated_at     TEXT NOT NULL
);
CREATE INDEX plans_by_patient ON plans (patient_id, id);

CREATE TABLE consents (
    id            INTEGER PRIMARY KEY,
    plan_id       INTEGER NOT NULL REFERENCES plans(id),
    plan_version  INTEGER NOT NULL,
    text          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    photo_use     TEXT NOT NULL,
    typed_name    TEXT NOT NULL,
    signature     TEXT NOT NULL,
    signed_at     TEXT NOT NULL,
    signed_via    TEXT NOT NULL CHECK (signed_via IN ('clinic', 'link')),
    witness_id    INTEGER REFERENCES staff(id),
    ip            TEXT
);
CREATE INDEX consents_by_plan ON consents (plan_id);

CREATE TABLE consent_links (
    id         INTEGER PRIMARY KEY,
    plan_id    INTEGER NOT NULL REFERENCES plans(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES staff(id),
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

-- A signed consent is frozen: its text, hash and signature never change.
CREATE TRIGGER consents_immutable_u BEFORE UPDATE ON consents
BEGIN SELECT RAISE(ABORT, 'consents is append-only'); END;
CREATE TRIGGER consents_immutable_d BEFORE DELETE ON consents
BEGIN SELECT RAISE(ABORT, 'consents is append-only'); END;
