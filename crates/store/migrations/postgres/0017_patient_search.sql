-- Phase 9: patient search through an index. The application writes each
-- patient's folded search text, sort key and family key
-- (needlepoint_domain::patient_search) with the row; a pg_trgm GIN index
-- over the text serves substring search. Sort keys compare byte by byte
-- (COLLATE "C"), as on SQLite, so both list patients in the same order.
-- pg_trgm is a trusted extension: the database's owner may create it. It
-- lives in `public`, whichever schema Needlepoint's tables are in.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

ALTER TABLE patients ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN sort_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN family_key TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE INDEX patients_search_trgm ON patients USING gin (search_text public.gin_trgm_ops);
CREATE INDEX patients_by_clinic_sort ON patients (clinic_id, sort_key, id);
CREATE INDEX patients_by_sort ON patients (sort_key, id);
CREATE INDEX patients_by_family_key ON patients (family_key, sort_key, id);
-- Lists no longer order by the raw names.
DROP INDEX IF EXISTS patients_by_clinic_name;
