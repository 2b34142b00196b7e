-- Phase 6: a recall reaches the same maker's lot at every clinic of the
-- organisation, found by its lot number.
CREATE INDEX lots_number ON lots (lot_number);

-- A chart opened on another day than its appointment's keeps the
-- clinician's reason.
ALTER TABLE charts ADD COLUMN off_day_reason TEXT;
