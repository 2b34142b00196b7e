-- Phase 11: a patient updates her health answers from her own page. The
-- intake link she answers is made by no staff member.
ALTER TABLE intake_links ALTER COLUMN created_by DROP NOT NULL;
