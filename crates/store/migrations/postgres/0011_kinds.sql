-- Phase 6: an appointment's kind is one of the four the product knows
-- (the knowledge base gives each its length).
ALTER TABLE appointments ADD CONSTRAINT appointments_kind_check
    CHECK (kind IN ('consultation', 'session', 'follow_up', 'home_care_review'));
