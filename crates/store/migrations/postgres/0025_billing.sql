-- Phase 12: money. Every figure a person reads (a balance, what is due on
-- an invoice, a package's sessions left) is summed from these append-only
-- entries; none is kept as a number someone could edit.

-- A clinic's billing details and rules.
CREATE TABLE billing_settings (
    clinic_id       BIGINT PRIMARY KEY REFERENCES clinics(id),
    tax_number      TEXT,
    -- Asked when a course is booked; 0 asks none.
    deposit_minor   BIGINT NOT NULL DEFAULT 0 CHECK (deposit_minor >= 0),
    -- A late-cancellation or no-show fee is taken from the deposit.
    fee_from_deposit BOOLEAN NOT NULL DEFAULT TRUE,
    -- Of a cancelled package's unused sessions, the share the clinic keeps.
    package_keep_bp BIGINT NOT NULL DEFAULT 0 CHECK (package_keep_bp BETWEEN 0 AND 10000),
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      BIGINT REFERENCES staff(id)
);

-- The last invoice or credit-note number a clinic issued. It is taken in
-- the issuing transaction, so a failed issue gives its number back.
CREATE TABLE invoice_numbers (
    clinic_id   BIGINT PRIMARY KEY REFERENCES clinics(id),
    last_number BIGINT NOT NULL
);

-- Invoices and credit notes (which credit an invoice), never changed.
CREATE TABLE invoices (
    id BIGSERIAL PRIMARY KEY,
    clinic_id          BIGINT NOT NULL REFERENCES clinics(id),
    patient_id         BIGINT NOT NULL REFERENCES patients(id),
    number             BIGINT NOT NULL,
    credit_note        BOOLEAN NOT NULL,
    credits_invoice_id BIGINT REFERENCES invoices(id),
    reason             TEXT,
    issued_on          DATE NOT NULL,
    issued_at          TIMESTAMPTZ NOT NULL,
    issued_by          BIGINT REFERENCES staff(id),
    currency           TEXT NOT NULL,
    tax_rate_bp        BIGINT NOT NULL,
    tax_included       BOOLEAN NOT NULL,
    lines              TEXT NOT NULL,
    lines_minor        BIGINT NOT NULL,
    tax_minor          BIGINT NOT NULL,
    total_minor        BIGINT NOT NULL CHECK (total_minor >= 0),
    UNIQUE (clinic_id, number),
    CHECK (credit_note = (credits_invoice_id IS NOT NULL))
);
CREATE INDEX invoices_by_patient ON invoices (patient_id, id);
CREATE INDEX invoices_by_day ON invoices (clinic_id, issued_on);

-- What each invoice line billed (a session, a fee, a package), once.
CREATE TABLE billed_sources (
    clinic_id  BIGINT NOT NULL REFERENCES clinics(id),
    source     TEXT NOT NULL,
    invoice_id BIGINT NOT NULL REFERENCES invoices(id),
    PRIMARY KEY (clinic_id, source)
);

-- Money in (a payment) and back out (a refund, of one payment, to its
-- method). A payment not set against an invoice is on account (a deposit).
CREATE TABLE payments (
    id BIGSERIAL PRIMARY KEY,
    clinic_id     BIGINT NOT NULL REFERENCES clinics(id),
    patient_id    BIGINT NOT NULL REFERENCES patients(id),
    refund_of     BIGINT REFERENCES payments(id),
    method        TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    reference     TEXT,
    deposit       BOOLEAN NOT NULL DEFAULT FALSE,
    package_id    BIGINT,
    -- The provider's event, for a payment made online: applied once.
    provider_event TEXT UNIQUE,
    received_on   DATE NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    received_by   BIGINT REFERENCES staff(id)
);
CREATE INDEX payments_by_patient ON payments (patient_id, id);
CREATE INDEX payments_by_day ON payments (clinic_id, received_on);

-- Money set against an invoice; a negative entry gives it back (when a
-- credit note leaves the invoice paid more than it now asks).
CREATE TABLE allocations (
    id BIGSERIAL PRIMARY KEY,
    payment_id   BIGINT NOT NULL REFERENCES payments(id),
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX allocations_by_payment ON allocations (payment_id);
CREATE INDEX allocations_by_invoice ON allocations (invoice_id);

-- A plan's course sold as a package, paid by its invoice.
CREATE TABLE packages (
    id BIGSERIAL PRIMARY KEY,
    clinic_id     BIGINT NOT NULL REFERENCES clinics(id),
    patient_id    BIGINT NOT NULL REFERENCES patients(id),
    plan_id       BIGINT NOT NULL REFERENCES plans(id),
    sessions      BIGINT NOT NULL CHECK (sessions > 0),
    invoice_id    BIGINT NOT NULL REFERENCES invoices(id),
    sold_at       TIMESTAMPTZ NOT NULL,
    sold_by       BIGINT REFERENCES staff(id),
    closed_at     TIMESTAMPTZ,
    closed_reason TEXT
);
CREATE UNIQUE INDEX packages_one_open_per_plan ON packages (plan_id) WHERE closed_at IS NULL;
CREATE INDEX packages_by_patient ON packages (patient_id);

-- Each session drawn from a package, numbered: two drawing the same last
-- session race for one (package, seq) and only one can have it.
CREATE TABLE package_draws (
    id BIGSERIAL PRIMARY KEY,
    package_id BIGINT NOT NULL REFERENCES packages(id),
    seq        BIGINT NOT NULL CHECK (seq > 0),
    chart_id   BIGINT UNIQUE REFERENCES charts(id),
    payment_id BIGINT UNIQUE REFERENCES payments(id),
    drawn_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (package_id, seq)
);

-- A till counted at the end of a day, against what the day's cash says.
CREATE TABLE cash_ups (
    id BIGSERIAL PRIMARY KEY,
    clinic_id      BIGINT NOT NULL REFERENCES clinics(id),
    day            DATE NOT NULL,
    expected_minor BIGINT NOT NULL,
    counted_minor  BIGINT NOT NULL CHECK (counted_minor >= 0),
    note           TEXT,
    recorded_at    TIMESTAMPTZ NOT NULL,
    recorded_by    BIGINT NOT NULL REFERENCES staff(id)
);
CREATE INDEX cash_ups_by_day ON cash_ups (clinic_id, day);
