-- Phase 5: charting a session, the clinic's stock of needles and products
-- with their lots, recalls, and photos.

-- A medical director gives the second sign-off of a session with an override.
ALTER TABLE staff ADD COLUMN medical_director INTEGER NOT NULL DEFAULT 0;

-- What a clinic stocks: needle cartridges, rollers and products.
CREATE TABLE supply_items (
    id            INTEGER PRIMARY KEY,
    clinic_id     INTEGER NOT NULL REFERENCES clinics(id),
    kind          TEXT NOT NULL CHECK (kind IN ('cartridge', 'roller', 'product')),
    name          TEXT NOT NULL,
    supplier      TEXT NOT NULL,
    -- A product made for intradermal contact (sterile, for use on needled skin).
    intradermal   INTEGER NOT NULL DEFAULT 0,
    -- At or below this many usable units the dashboard says to reorder.
    reorder_at    INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    UNIQUE (clinic_id, name)
);

CREATE TABLE lots (
    id            INTEGER PRIMARY KEY,
    item_id       INTEGER NOT NULL REFERENCES supply_items(id),
    clinic_id     INTEGER NOT NULL REFERENCES clinics(id),
    lot_number    TEXT NOT NULL,
    expires_on    TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    received_at   TEXT NOT NULL,
    recalled_at   TEXT,
    recall_reason TEXT,
    -- When the patients who had it were sent a message.
    recall_notified_at TEXT,
    UNIQUE (item_id, lot_number)
);
CREATE INDEX lots_clinic ON lots (clinic_id);

-- Every change of a lot's quantity, with why.
CREATE TABLE stock_movements (
    id         INTEGER PRIMARY KEY,
    lot_id     INTEGER NOT NULL REFERENCES lots(id),
    delta      INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    chart_id   INTEGER,
    at         TEXT NOT NULL,
    by_id      INTEGER REFERENCES staff(id)
);
CREATE INDEX stock_movements_lot ON stock_movements (lot_id);

-- A session's chart: one per appointment.
CREATE TABLE charts (
    id              INTEGER PRIMARY KEY,
    clinic_id       INTEGER NOT NULL REFERENCES clinics(id),
    patient_id      INTEGER NOT NULL REFERENCES patients(id),
    plan_id         INTEGER REFERENCES plans(id),
    appointment_id  INTEGER NOT NULL UNIQUE REFERENCES appointments(id),
    session_number  INTEGER,
    status          TEXT NOT NULL CHECK (status IN ('checklist', 'in_progress', 'signed')),
    -- Anaesthetic and antiviral as recorded (JSON).
    checklist       TEXT NOT NULL,
    -- The checklist as it stood when needling started (JSON).
    started_checks  TEXT,
    started_at      TEXT,
    started_by      INTEGER REFERENCES staff(id),
    zones           TEXT NOT NULL,
    signed_at       TEXT,
    signed_by       INTEGER REFERENCES staff(id),
    needs_cosign    INTEGER NOT NULL DEFAULT 0,
    cosigned_at     TEXT,
    cosigned_by     INTEGER REFERENCES staff(id),
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX charts_patient ON charts (patient_id);

-- A signed chart never changes, except for its second sign-off.
CREATE TRIGGER charts_signed_read_only BEFORE UPDATE ON charts
WHEN OLD.status = 'signed' AND (NEW.status IS NOT OLD.status OR NEW.zones IS NOT OLD.zones
    OR NEW.checklist IS NOT OLD.checklist OR NEW.signed_at IS NOT OLD.signed_at
    OR NEW.signed_by IS NOT OLD.signed_by OR NEW.patient_id IS NOT OLD.patient_id
    OR OLD.cosigned_at IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'a signed chart is read-only'); END;
CREATE TRIGGER charts_no_delete BEFORE DELETE ON charts
BEGIN SELECT RAISE(ABORT, 'charts are never deleted'); END;

-- Which lots a session used. Patient and clinic are copied here so a
-- recall finds everyone from one index.
CREATE TABLE chart_lots (
    id          INTEGER PRIMARY KEY,
    chart_id    INTEGER NOT NULL REFERENCES charts(id),
    lot_id      INTEGER NOT NULL REFERENCES lots(id),
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    -- A product not made for intradermal contact: the warning shown.
    warning     TEXT,
    used_at     TEXT NOT NULL,
    created_by  INTEGER REFERENCES staff(id),
    UNIQUE (chart_id, lot_id)
);
CREATE INDEX chart_lots_lot ON chart_lots (lot_id);

CREATE TRIGGER chart_lots_signed_i BEFORE INSERT ON chart_lots
WHEN (SELECT status FROM charts WHERE id = NEW.chart_id) = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed chart is read-only'); END;
CREATE TRIGGER chart_lots_signed_u BEFORE UPDATE ON chart_lots
BEGIN SELECT RAISE(ABORT, 'chart_lots rows are not changed'); END;
CREATE TRIGGER chart_lots_signed_d BEFORE DELETE ON chart_lots
WHEN (SELECT status FROM charts WHERE id = OLD.chart_id) = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed chart is read-only'); END;

-- Corrections to a signed chart, beside the original; never changed.
CREATE TABLE chart_amendments (
    id          INTEGER PRIMARY KEY,
    chart_id    INTEGER NOT NULL REFERENCES charts(id),
    zone        TEXT,
    text        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES staff(id)
);
CREATE INDEX chart_amendments_chart ON chart_amendments (chart_id);
CREATE TRIGGER chart_amendments_immutable_u BEFORE UPDATE ON chart_amendments
BEGIN SELECT RAISE(ABORT, 'chart_amendments is append-only'); END;
CREATE TRIGGER chart_amendments_immutable_d BEFORE DELETE ON chart_amendments
BEGIN SELECT RAISE(ABORT, 'chart_amendments is append-only'); END;

-- Photos: the file is kept content-addressed (by its SHA-256) in the data
-- folder; the record says whose it is and which view.
CREATE TABLE photos (
    id          INTEGER PRIMARY KEY,
    clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    chart_id    INTEGER REFERENCES charts(id),
    view        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES staff(id)
);
CREATE INDEX photos_patient ON photos (patient_id);
