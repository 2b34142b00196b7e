-- Phase 9: a whole birth date typed into the patient search ("13/03/1997")
-- is looked up here, about fifty patients on a 1,000,000-patient chain,
-- instead of through the trigram index, where "199" and "/19" are in every
-- patient's text and made each such search read most of it.
CREATE INDEX patients_by_birth_date ON patients (date_of_birth);
