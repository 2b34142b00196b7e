-- Phase 9: pages that read only what they show.
--
-- Each clinic's number of patients, kept by triggers in the same
-- transaction as the patient's rows: Today and Reports read 50 numbers
-- instead of counting a million rows. Statement triggers with transition
-- tables add a bulk insert's patients per clinic in one step.
CREATE TABLE clinic_patient_counts (
    clinic_id BIGINT PRIMARY KEY REFERENCES clinics (id),
    patients BIGINT NOT NULL
);
INSERT INTO clinic_patient_counts (clinic_id, patients)
    SELECT clinic_id, COUNT(*) FROM patients GROUP BY clinic_id;

CREATE FUNCTION clinic_patient_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO clinic_patient_counts (clinic_id, patients)
        SELECT clinic_id, COUNT(*) FROM added GROUP BY clinic_id
    ON CONFLICT (clinic_id) DO UPDATE
        SET patients = clinic_patient_counts.patients + EXCLUDED.patients;
    RETURN NULL;
END $$;
CREATE FUNCTION clinic_patient_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE clinic_patient_counts c SET patients = c.patients - r.n
    FROM (SELECT clinic_id, COUNT(*) AS n FROM removed GROUP BY clinic_id) r
    WHERE c.clinic_id = r.clinic_id;
    RETURN NULL;
END $$;
-- A patient moved to another clinic: out of one count, into the other.
CREATE FUNCTION clinic_patient_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE clinic_patient_counts c SET patients = c.patients - r.n
    FROM (SELECT o.clinic_id, COUNT(*) AS n FROM removed o JOIN added a ON a.id = o.id
          WHERE a.clinic_id <> o.clinic_id GROUP BY o.clinic_id) r
    WHERE c.clinic_id = r.clinic_id;
    INSERT INTO clinic_patient_counts (clinic_id, patients)
        SELECT a.clinic_id, COUNT(*) FROM added a JOIN removed o ON o.id = a.id
        WHERE a.clinic_id <> o.clinic_id GROUP BY a.clinic_id
    ON CONFLICT (clinic_id) DO UPDATE
        SET patients = clinic_patient_counts.patients + EXCLUDED.patients;
    RETURN NULL;
END $$;
CREATE TRIGGER clinic_patient_counts_insert AFTER INSERT ON patients
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION clinic_patient_counts_add();
CREATE TRIGGER clinic_patient_counts_delete AFTER DELETE ON patients
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION clinic_patient_counts_remove();
CREATE TRIGGER clinic_patient_counts_update AFTER UPDATE ON patients
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_patient_counts_move();

-- An item's usable stock sums its lots.
CREATE INDEX lots_by_item ON lots (item_id);
-- A clinic's newest patients (Today's "recently added"), and a
-- practitioner's calendar feed.
CREATE INDEX patients_by_clinic_id ON patients (clinic_id, id);
CREATE INDEX appointments_by_practitioner ON appointments (practitioner_id, starts_at);
