-- Phase 3: each clinic's tax and currency, typed price items (areas,
-- bundles, packages, add-ons), treatment plans, signed consents and links
-- to sign them remotely.

ALTER TABLE clinics ADD COLUMN currency TEXT NOT NULL DEFAULT 'GBP';
ALTER TABLE clinics ADD COLUMN tax_rate_bp BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clinics ADD COLUMN tax_included BOOLEAN NOT NULL DEFAULT TRUE;

ALTER TABLE price_items ADD COLUMN kind TEXT NOT NULL DEFAULT 'other'
    CHECK (kind IN ('area', 'bundle', 'package', 'addon', 'other'));
ALTER TABLE price_items ADD COLUMN areas TEXT NOT NULL DEFAULT '';
ALTER TABLE price_items ADD COLUMN sessions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE price_items ADD COLUMN discount_bp BIGINT NOT NULL DEFAULT 0;

CREATE TABLE plans (
    id             BIGSERIAL PRIMARY KEY,
    patient_id     BIGINT NOT NULL REFERENCES patients(id),
    clinic_id      BIGINT NOT NULL REFERENCES clinics(id),
    screening_id   BIGINT NOT NULL REFERENCES screenings(id),
    status         TEXT NOT NULL CHECK (status IN ('proposed', 'accepted', 'in_progress', 'completed', 'cancelled')),
    version        BIGINT NOT NULL DEFAULT 1,
    proposal       TEXT NOT NULL,
    plan           TEXT NOT NULL,
    flags          TEXT NOT NULL,
    quote          TEXT,
    cancel_reason  TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     BIGINT NOT NULL REFERENCES staff(id),
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX plans_by_patient ON plans (patient_id, id);

CREATE TABLE consents (
    id            BIGSERIAL PRIMARY KEY,
    plan_id       BIGINT NOT NULL REFERENCES plans(id),
    plan_version  BIGINT NOT NULL,
    text          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    photo_use     TEXT NOT NULL,
    typed_name    TEXT NOT NULL,
    signature     TEXT NOT NULL,
    signed_at     TIMESTAMPTZ NOT NULL,
    signed_via    TEXT NOT NULL CHECK (signed_via IN ('clinic', 'link')),
    witness_id    BIGINT REFERENCES staff(id),
    ip            TEXT
);
CREATE INDEX consents_by_plan ON consents (plan_id);

CREATE TABLE consent_links (
    id         BIGSERIAL PRIMARY KEY,
    plan_id    BIGINT NOT NULL REFERENCES plans(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT NOT NULL REFERENCES staff(id),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

-- A signed consent is frozen: its text, hash and signature never change.
CREATE TRIGGER consents_immutable BEFORE UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION append_only();
