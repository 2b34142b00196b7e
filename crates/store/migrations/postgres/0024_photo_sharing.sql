-- Phase 11: a clinic may show patients their own photos on their page
-- (off until the clinic chooses it).
ALTER TABLE clinics ADD COLUMN share_photos BOOLEAN NOT NULL DEFAULT FALSE;
