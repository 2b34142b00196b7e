-- Phase 4 (last part): moving appointments, a cancellation policy per
-- clinic, and message templates a clinic edits.

-- A session booked outside its healing window keeps the clinician's reason;
-- a moved appointment keeps the wall-clock time it was moved from.
ALTER TABLE appointments ADD COLUMN window_override TEXT;
ALTER TABLE appointments ADD COLUMN moved_from TEXT;
-- Who cancelled, and the fee charged for a late cancellation or no-show
-- (minor units; billed in a later phase).
ALTER TABLE appointments ADD COLUMN cancelled_by TEXT CHECK (cancelled_by IN ('patient', 'clinic'));
ALTER TABLE appointments ADD COLUMN fee_minor INTEGER;

-- The policy: a patient who cancels with less notice than this, or does not
-- come, is charged the fee. Zero hours: no policy.
ALTER TABLE clinics ADD COLUMN cancel_notice_hours INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clinics ADD COLUMN late_cancel_fee_minor INTEGER NOT NULL DEFAULT 0;

-- A clinic's wording of a message; the shipped wording applies until set.
CREATE TABLE message_templates (
    clinic_id   INTEGER NOT NULL REFERENCES clinics(id),
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  INTEGER REFERENCES staff(id),
    PRIMARY KEY (clinic_id, kind)
);

-- One unsent message of each kind per appointment. A moved appointment's
-- unsent reminders are cancelled and new ones queued for its new time.
DROP INDEX messages_once;
CREATE UNIQUE INDEX messages_once ON messages (appointment_id, kind) WHERE status IN ('pending', 'failed');
