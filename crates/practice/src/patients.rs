//! The patient's record: registering and correcting a patient, every view
//! of it in the audit trail, and the clinical notes kept with it.

use crate::{access, Actor, Context, Error, Result};
use needlepoint_domain::{Invalid, PatientInput};
use needlepoint_store::{AuditEvent, ClinicalNote, Patient};

/// Longest clinical note: a page or two, not a document store.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// The clinic a new patient joins: the one named, or the actor's only one.
fn clinic_for(actor: &Actor, asked: Option<i64>) -> std::result::Result<i64, &'static str> {
    match (asked, actor.clinic_ids.as_slice()) {
        (Some(id), _) if actor.sees_clinic(id) => Ok(id),
        (Some(_), _) => Err("Choose one of your clinics."),
        (None, [only]) => Ok(*only),
        (None, _) => Err("You work at several clinics: choose one."),
    }
}

/// Registers a patient at one of the actor's clinics; the date of birth is
/// checked against the clinic's today. Every problem is reported at once.
pub async fn register(
    cx: &Context,
    actor: &Actor,
    clinic_id: Option<i64>,
    input: &PatientInput,
) -> Result<Patient> {
    let clinic = clinic_for(actor, clinic_id);
    let today = match clinic {
        Ok(id) => cx.clinic_today(id).await?,
        Err(_) => cx.today_in("UTC"),
    };
    let details = input.validate(today);
    let mut inv = details.as_ref().err().cloned().unwrap_or_default();
    if let Err(m) = clinic {
        inv.push("clinic_id", m);
    }
    inv.into_result()?;
    let (Ok(clinic_id), Ok(details)) = (clinic, details) else {
        unreachable!("checked above");
    };
    Ok(cx
        .store
        .create_patient(clinic_id, &details, &actor.audit, cx.now())
        .await?)
}

/// The patient, and the view recorded in the audit trail.
pub async fn view(cx: &Context, actor: &Actor, id: i64) -> Result<Patient> {
    let p = access::patient(cx, actor, id).await?;
    let ev = AuditEvent::new("view", "patient", Some(id)).patient(id);
    cx.store.record_audit(&actor.audit, &ev, cx.now()).await?;
    Ok(p)
}

/// Corrects the patient's details, if `version` is still the one on record
/// (else `Conflict`: someone changed them since).
pub async fn update(
    cx: &Context,
    actor: &Actor,
    id: i64,
    version: i64,
    input: &PatientInput,
) -> Result<Patient> {
    let p = access::patient(cx, actor, id).await?;
    let details = input.validate(cx.clinic_today(p.clinic_id).await?)?;
    Ok(cx
        .store
        .update_patient(id, version, &details, &actor.audit, cx.now())
        .await?)
}

fn clinical_only(actor: &Actor) -> Result<()> {
    if actor.is_clinical() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "Clinical notes are for clinicians and owners.".into(),
        ))
    }
}

/// The patient's clinical notes, oldest first; the view is audited.
pub async fn notes(cx: &Context, actor: &Actor, id: i64) -> Result<Vec<ClinicalNote>> {
    access::patient(cx, actor, id).await?;
    clinical_only(actor)?;
    let ev = AuditEvent::new("view", "clinical_notes", Some(id)).patient(id);
    cx.store.record_audit(&actor.audit, &ev, cx.now()).await?;
    Ok(cx.store.clinical_notes(id).await?)
}

/// Adds a note signed by the actor; notes are never edited afterwards.
pub async fn add_note(cx: &Context, actor: &Actor, id: i64, body: &str) -> Result<ClinicalNote> {
    access::patient(cx, actor, id).await?;
    clinical_only(actor)?;
    let body = needlepoint_domain::validation::required_text("body", body, MAX_NOTE_CHARS)
        .map_err(|e| Invalid { errors: vec![e] })?;
    Ok(cx
        .store
        .add_clinical_note(id, actor.staff.id, &body, &actor.audit, cx.now())
        .await?)
}
