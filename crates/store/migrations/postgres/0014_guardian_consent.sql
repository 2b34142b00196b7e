-- Phase 7: a patient under the age the knowledge base names (18) signs
-- with a parent or guardian, whose typed name (with how they are related)
-- and drawn signature are kept beside the patient's. NULL for adults.
ALTER TABLE consents ADD COLUMN guardian_name TEXT;
ALTER TABLE consents ADD COLUMN guardian_signature TEXT;
