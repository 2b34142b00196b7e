-- Phase 6: an appointment's kind is one of the four the product knows
-- (the knowledge base gives each its length); SQLite cannot add a CHECK to
-- an existing table, so triggers refuse any other, as a CHECK would.
CREATE TRIGGER appointments_kind_insert BEFORE INSERT ON appointments
WHEN NEW.kind NOT IN ('consultation', 'session', 'follow_up', 'home_care_review')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: appointments.kind');
END;

CREATE TRIGGER appointments_kind_update BEFORE UPDATE OF kind ON appointments
WHEN NEW.kind NOT IN ('consultation', 'session', 'follow_up', 'home_care_review')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: appointments.kind');
END;
