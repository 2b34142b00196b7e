//! The patient's medical history: each change a new version (never an
//! edit), checked as a whole; a patient's own answers, sent through a
//! single-use link, wait for a clinician to confirm them.

use crate::{access, Actor, Context, Error, Result};
use needlepoint_domain::history::PatientHistory;
use needlepoint_domain::Invalid;
use needlepoint_store::{
    AuditEvent, HistoryVersion, IntakeLink, IntakeSubmission, LinkRefusal, Patient,
};

/// The patient and their current history (with the date of birth from the
/// record); the view is audited.
pub async fn view(
    cx: &Context,
    actor: &Actor,
    patient_id: i64,
) -> Result<(Patient, Option<HistoryVersion>)> {
    let p = access::patient(cx, actor, patient_id).await?;
    let current = cx.store.current_history(patient_id).await?;
    let ev = AuditEvent::new("view", "history", current.as_ref().map(|v| v.id)).patient(patient_id);
    cx.store.record_audit(&actor.audit, &ev, cx.now()).await?;
    Ok((p, current))
}

/// Records a clinician's version of the history after checking it whole
/// against the clinic's rules as of today. `source` says where it was
/// written (`clinician` on the pages, `api`). The date of birth is the
/// patient record's; a different one is refused.
pub async fn record(
    cx: &Context,
    actor: &Actor,
    patient_id: i64,
    h: &PatientHistory,
    source: &str,
) -> Result<HistoryVersion> {
    let p = access::patient(cx, actor, patient_id).await?;
    if !actor.is_clinical() {
        return Err(Error::Forbidden(
            "Only a clinician records the medical history.".into(),
        ));
    }
    if h.date_of_birth
        .is_some_and(|d| d != p.details.date_of_birth)
    {
        return Err(Error::invalid(
            "date_of_birth",
            "Change the date of birth on the patient's details.",
        ));
    }
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let mut h = h.clone();
    h.date_of_birth = Some(p.details.date_of_birth);
    h.validate(&kb, cx.clinic_today(p.clinic_id).await?)?;
    Ok(cx
        .store
        .add_history_version(patient_id, &h, source, None, &actor.audit, cx.now())
        .await?)
}

/// Confirms a patient's submitted answers into a new version: added to
/// what is recorded, never replacing it.
pub async fn confirm_intake(
    cx: &Context,
    actor: &Actor,
    patient_id: i64,
    submission_id: i64,
) -> Result<HistoryVersion> {
    let p = access::patient(cx, actor, patient_id).await?;
    let answers = cx
        .store
        .pending_intakes(patient_id)
        .await?
        .into_iter()
        .find(|s| s.id == submission_id)
        .ok_or(Error::NotFound)?;
    let current = cx.store.current_history(patient_id).await?;
    let merged = merge(
        &crate::screening::with_birth_date(&p, current.as_ref()),
        &answers.history,
    );
    Ok(cx
        .store
        .confirm_intake(submission_id, &merged, &actor.audit, cx.now())
        .await?)
}

/// Makes a single-use intake link for the patient, valid for
/// [`crate::planning::LINK_DAYS`]; only the token's hash is kept.
pub async fn create_intake_link(
    cx: &Context,
    actor: &Actor,
    patient_id: i64,
    token_hash: &str,
) -> Result<IntakeLink> {
    access::patient(cx, actor, patient_id).await?;
    let now = cx.now();
    let expires = now + jiff::SignedDuration::from_hours(24 * crate::planning::LINK_DAYS);
    Ok(cx
        .store
        .create_intake_link(patient_id, token_hash, expires, &actor.audit, now)
        .await?)
}

/// The link a patient opened, or why it cannot be used.
pub async fn intake_link(
    cx: &Context,
    token_hash: &str,
) -> Result<std::result::Result<IntakeLink, LinkRefusal>> {
    Ok(cx.store.intake_link(token_hash, cx.now()).await?)
}

/// Stores a patient's answers, checked whole as of the clinic's today, and
/// uses up the link in the same transaction.
pub async fn submit_intake(
    cx: &Context,
    token_hash: &str,
    answers: &PatientHistory,
) -> Result<std::result::Result<IntakeSubmission, LinkRefusal>> {
    let link = match intake_link(cx, token_hash).await? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    let p = cx.store.patient(link.patient_id).await?;
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let mut h = answers.clone();
    h.date_of_birth = Some(p.details.date_of_birth);
    h.validate(&kb, cx.clinic_today(p.clinic_id).await?)
        .map_err(|e: Invalid| Error::Invalid(e))?;
    Ok(cx.store.submit_intake(token_hash, &h, cx.now()).await?)
}

/// Adds to `base` what `answers` has that it lacks, and takes the patient's
/// current answers on pregnancy, breastfeeding and skin type. Nothing a
/// clinician recorded is dropped by confirming a patient's answers.
pub fn merge(base: &PatientHistory, answers: &PatientHistory) -> PatientHistory {
    let mut h = base.clone();
    h.pregnant = answers.pregnant;
    h.breastfeeding = answers.breastfeeding;
    h.fitzpatrick = answers.fitzpatrick.or(base.fitzpatrick);
    fn add<T: PartialEq + Clone>(to: &mut Vec<T>, from: &[T]) {
        for x in from {
            if !to.contains(x) {
                to.push(x.clone());
            }
        }
    }
    add(&mut h.conditions, &answers.conditions);
    add(&mut h.medications, &answers.medications);
    add(&mut h.allergies, &answers.allergies);
    add(&mut h.events, &answers.events);
    add(&mut h.concerns, &answers.concerns);
    add(&mut h.notes, &answers.notes);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use needlepoint_domain::history::AllergyEntry;

    #[test]
    fn confirming_answers_adds_and_never_drops() {
        let base = PatientHistory {
            fitzpatrick: Some(3),
            allergies: vec![AllergyEntry {
                code: "nickel".into(),
                note: None,
            }],
            ..Default::default()
        };
        let answers = PatientHistory {
            pregnant: true,
            allergies: vec![
                AllergyEntry {
                    code: "nickel".into(),
                    note: None,
                },
                AllergyEntry {
                    code: "topical_anaesthetic".into(),
                    note: None,
                },
            ],
            ..Default::default()
        };
        let m = merge(&base, &answers);
        assert!(m.pregnant);
        assert_eq!(
            m.fitzpatrick,
            Some(3),
            "kept when the patient did not answer"
        );
        assert_eq!(m.allergies.len(), 2, "no duplicate, nothing dropped");
    }
}
