-- Phase 9: pages that read only what they show.
--
-- Each clinic's number of patients, kept by triggers in the same
-- transaction as the patient's row: Today and Reports read 50 numbers
-- instead of counting a million rows.
CREATE TABLE clinic_patient_counts (
    clinic_id INTEGER PRIMARY KEY REFERENCES clinics (id),
    patients INTEGER NOT NULL
);
INSERT INTO clinic_patient_counts (clinic_id, patients)
    SELECT clinic_id, COUNT(*) FROM patients GROUP BY clinic_id;
CREATE TRIGGER clinic_patient_counts_insert AFTER INSERT ON patients BEGIN
    INSERT INTO clinic_patient_counts (clinic_id, patients) VALUES (new.clinic_id, 1)
    ON CONFLICT (clinic_id) DO UPDATE SET patients = patients + 1;
END;
CREATE TRIGGER clinic_patient_counts_delete AFTER DELETE ON patients BEGIN
    UPDATE clinic_patient_counts SET patients = patients - 1 WHERE clinic_id = old.clinic_id;
END;
CREATE TRIGGER clinic_patient_counts_move AFTER UPDATE OF clinic_id ON patients
WHEN old.clinic_id <> new.clinic_id BEGIN
    UPDATE clinic_patient_counts SET patients = patients - 1 WHERE clinic_id = old.clinic_id;
    INSERT INTO clinic_patient_counts (clinic_id, patients) VALUES (new.clinic_id, 1)
    ON CONFLICT (clinic_id) DO UPDATE SET patients = patients + 1;
END;

-- An item's usable stock sums its lots.
CREATE INDEX lots_by_item ON lots (item_id);
-- A clinic's newest patients (Today's "recently added"), and a
-- practitioner's calendar feed.
CREATE INDEX patients_by_clinic_id ON patients (clinic_id, id);
CREATE INDEX appointments_by_practitioner ON appointments (practitioner_id, starts_at);
