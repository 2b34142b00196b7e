-- Phase 2: patient histories (immutable versions), screenings (immutable)
-- and clinicians' overrides of them, clinics' overrides of knowledge-base
-- values, and intake links with the answers they bring in.

CREATE TABLE patient_histories (
    id          BIGSERIAL PRIMARY KEY,
    patient_id  BIGINT NOT NULL REFERENCES patients(id),
    version     BIGINT NOT NULL,
    history     TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('clinician', 'intake', 'api')),
    note        TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  BIGINT REFERENCES staff(id),
    UNIQUE (patient_id, version)
);

CREATE TABLE screenings (
    id                BIGSERIAL PRIMARY KEY,
    patient_id        BIGINT NOT NULL REFERENCES patients(id),
    history_id        BIGINT NOT NULL REFERENCES patient_histories(id),
    screened_on       DATE NOT NULL,
    status            TEXT NOT NULL,
    knowledge_version TEXT NOT NULL,
    result            TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    created_by        BIGINT REFERENCES staff(id)
);
CREATE INDEX screenings_by_patient ON screenings (patient_id, id);

CREATE TABLE screening_overrides (
    id            BIGSERIAL PRIMARY KEY,
    screening_id  BIGINT NOT NULL REFERENCES screenings(id),
    status        TEXT NOT NULL,
    justification TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    BIGINT NOT NULL REFERENCES staff(id)
);

CREATE TABLE knowledge_overrides (
    id         BIGSERIAL PRIMARY KEY,
    clinic_id  BIGINT NOT NULL REFERENCES clinics(id),
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT NOT NULL REFERENCES staff(id)
);
CREATE INDEX knowledge_overrides_by_clinic ON knowledge_overrides (clinic_id, id);

CREATE TABLE intake_links (
    id         BIGSERIAL PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT NOT NULL REFERENCES staff(id),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE TABLE intake_submissions (
    id           BIGSERIAL PRIMARY KEY,
    link_id      BIGINT NOT NULL UNIQUE REFERENCES intake_links(id),
    patient_id   BIGINT NOT NULL REFERENCES patients(id),
    history      TEXT NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL,
    reviewed_at  TIMESTAMPTZ,
    reviewed_by  BIGINT REFERENCES staff(id),
    history_id   BIGINT REFERENCES patient_histories(id)
);

-- What was known, what was concluded and what was overridden stay as written.
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER patient_histories_immutable BEFORE UPDATE OR DELETE ON patient_histories
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER screenings_immutable BEFORE UPDATE OR DELETE ON screenings
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER screening_overrides_immutable BEFORE UPDATE OR DELETE ON screening_overrides
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER knowledge_overrides_immutable BEFORE UPDATE OR DELETE ON knowledge_overrides
    FOR EACH ROW EXECUTE FUNCTION append_only();
