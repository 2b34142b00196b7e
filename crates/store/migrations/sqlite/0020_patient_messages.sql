-- Phase 10: the patient's page lists the messages sent to her, newest
-- first, without reading the clinic's whole outbox.
CREATE INDEX messages_by_patient ON messages (patient_id, id);
