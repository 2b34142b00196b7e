-- Phase 5: charting a session, the clinic's stock of needles and products
-- with their lots, recalls, and photos.

-- A medical director gives the second sign-off of a session with an override.
ALTER TABLE staff ADD COLUMN medical_director BOOLEAN NOT NULL DEFAULT FALSE;

-- What a clinic stocks: needle cartridges, rollers and products.
CREATE TABLE supply_items (
    id            BIGSERIAL PRIMARY KEY,
    clinic_id     BIGINT NOT NULL REFERENCES clinics(id),
    kind          TEXT NOT NULL CHECK (kind IN ('cartridge', 'roller', 'product')),
    name          TEXT NOT NULL,
    supplier      TEXT NOT NULL,
    -- A product made for intradermal contact (sterile, for use on needled skin).
    intradermal   BOOLEAN NOT NULL DEFAULT FALSE,
    -- At or below this many usable units the dashboard says to reorder.
    reorder_at    BIGINT NOT NULL DEFAULT 0,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (clinic_id, name)
);

CREATE TABLE lots (
    id            BIGSERIAL PRIMARY KEY,
    item_id       BIGINT NOT NULL REFERENCES supply_items(id),
    clinic_id     BIGINT NOT NULL REFERENCES clinics(id),
    lot_number    TEXT NOT NULL,
    expires_on    DATE NOT NULL,
    quantity      BIGINT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    recalled_at   TIMESTAMPTZ,
    recall_reason TEXT,
    -- When the patients who had it were sent a message.
    recall_notified_at TIMESTAMPTZ,
    UNIQUE (item_id, lot_number)
);
CREATE INDEX lots_clinic ON lots (clinic_id);

-- Every change of a lot's quantity, with why.
CREATE TABLE stock_movements (
    id         BIGSERIAL PRIMARY KEY,
    lot_id     BIGINT NOT NULL REFERENCES lots(id),
    delta      BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    chart_id   BIGINT,
    at         TIMESTAMPTZ NOT NULL,
    by_id      BIGINT REFERENCES staff(id)
);
CREATE INDEX stock_movements_lot ON stock_movements (lot_id);

-- A session's chart: one per appointment.
CREATE TABLE charts (
    id              BIGSERIAL PRIMARY KEY,
    clinic_id       BIGINT NOT NULL REFERENCES clinics(id),
    patient_id      BIGINT NOT NULL REFERENCES patients(id),
    plan_id         BIGINT REFERENCES plans(id),
    appointment_id  BIGINT NOT NULL UNIQUE REFERENCES appointments(id),
    session_number  BIGINT,
    status          TEXT NOT NULL CHECK (status IN ('checklist', 'in_progress', 'signed')),
    -- Anaesthetic and antiviral as recorded (JSON).
    checklist       TEXT NOT NULL,
    -- The checklist as it stood when needling started (JSON).
    started_checks  TEXT,
    started_at      TIMESTAMPTZ,
    started_by      BIGINT REFERENCES staff(id),
    zones           TEXT NOT NULL,
    signed_at       TIMESTAMPTZ,
    signed_by       BIGINT REFERENCES staff(id),
    needs_cosign    BOOLEAN NOT NULL DEFAULT FALSE,
    cosigned_at     TIMESTAMPTZ,
    cosigned_by     BIGINT REFERENCES staff(id),
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX charts_patient ON charts (patient_id);

-- A signed chart never changes, except for its second sign-off.
CREATE FUNCTION charts_signed_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'charts are never deleted';
    END IF;
    IF OLD.status = 'signed' AND (NEW.status IS DISTINCT FROM OLD.status OR NEW.zones IS DISTINCT FROM OLD.zones
        OR NEW.checklist IS DISTINCT FROM OLD.checklist OR NEW.signed_at IS DISTINCT FROM OLD.signed_at
        OR NEW.signed_by IS DISTINCT FROM OLD.signed_by OR NEW.patient_id IS DISTINCT FROM OLD.patient_id
        OR OLD.cosigned_at IS NOT NULL) THEN
        RAISE EXCEPTION 'a signed chart is read-only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER charts_signed_read_only BEFORE UPDATE OR DELETE ON charts
    FOR EACH ROW EXECUTE FUNCTION charts_signed_read_only();

-- Which lots a session used. Patient and clinic are copied here so a
-- recall finds everyone from one index.
CREATE TABLE chart_lots (
    id          BIGSERIAL PRIMARY KEY,
    chart_id    BIGINT NOT NULL REFERENCES charts(id),
    lot_id      BIGINT NOT NULL REFERENCES lots(id),
    patient_id  BIGINT NOT NULL REFERENCES patients(id),
    clinic_id   BIGINT NOT NULL REFERENCES clinics(id),
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    -- A product not made for intradermal contact: the warning shown.
    warning     TEXT,
    used_at     TIMESTAMPTZ NOT NULL,
    created_by  BIGINT REFERENCES staff(id),
    UNIQUE (chart_id, lot_id)
);
CREATE INDEX chart_lots_lot ON chart_lots (lot_id);

CREATE FUNCTION chart_lots_signed_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'chart_lots rows are not changed';
    END IF;
    IF (SELECT status FROM charts WHERE id = COALESCE(NEW.chart_id, OLD.chart_id)) = 'signed' THEN
        RAISE EXCEPTION 'a signed chart is read-only';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER chart_lots_signed_read_only BEFORE INSERT OR UPDATE OR DELETE ON chart_lots
    FOR EACH ROW EXECUTE FUNCTION chart_lots_signed_read_only();

-- Corrections to a signed chart, beside the original; never changed.
CREATE TABLE chart_amendments (
    id          BIGSERIAL PRIMARY KEY,
    chart_id    BIGINT NOT NULL REFERENCES charts(id),
    zone        TEXT,
    text        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  BIGINT NOT NULL REFERENCES staff(id)
);
CREATE INDEX chart_amendments_chart ON chart_amendments (chart_id);
CREATE TRIGGER chart_amendments_immutable BEFORE UPDATE OR DELETE ON chart_amendments
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- Photos: the file is kept content-addressed (by its SHA-256) in the data
-- folder; the record says whose it is and which view.
CREATE TABLE photos (
    id          BIGSERIAL PRIMARY KEY,
    clinic_id   BIGINT NOT NULL REFERENCES clinics(id),
    patient_id  BIGINT NOT NULL REFERENCES patients(id),
    chart_id    BIGINT REFERENCES charts(id),
    view        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    width       BIGINT NOT NULL,
    height      BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  BIGINT REFERENCES staff(id)
);
CREATE INDEX photos_patient ON photos (patient_id);
