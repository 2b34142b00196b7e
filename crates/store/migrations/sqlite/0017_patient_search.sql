-- Phase 9: patient search through an index. The application writes each
-- patient's folded search text, sort key and family key
-- (needlepoint_domain::patient_search) with the row; an FTS5 trigram index
-- over the text is kept in step by triggers, in the same transaction.
ALTER TABLE patients ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN sort_key TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN family_key TEXT NOT NULL DEFAULT '';

CREATE VIRTUAL TABLE patient_search USING fts5(
    search_text, content = 'patients', content_rowid = 'id', tokenize = 'trigram'
);
-- Every existing row indexed (with its empty text) before the triggers: an
-- FTS5 'delete' of a row the index never had corrupts it. Migrating then
-- writes each existing patient's keys, through the update trigger.
INSERT INTO patient_search (patient_search) VALUES ('rebuild');
CREATE TRIGGER patient_search_insert AFTER INSERT ON patients BEGIN
    INSERT INTO patient_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER patient_search_delete AFTER DELETE ON patients BEGIN
    INSERT INTO patient_search (patient_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER patient_search_update AFTER UPDATE OF search_text ON patients BEGIN
    INSERT INTO patient_search (patient_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO patient_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

-- Lists in order, a page at a time: per clinic and across clinics.
CREATE INDEX patients_by_clinic_sort ON patients (clinic_id, sort_key, id);
CREATE INDEX patients_by_sort ON patients (sort_key, id);
CREATE INDEX patients_by_family_key ON patients (family_key, sort_key, id);
-- Lists no longer order by the raw names.
DROP INDEX IF EXISTS patients_by_clinic_name;
