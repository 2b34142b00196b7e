//! Screening: running the rules over the patient's current history for
//! the areas asked about, and whether the latest screening is still current.

use crate::{Actor, Context, Error, Result};
use jiff::civil::Date;
use needlepoint_domain::history::PatientHistory;
use needlepoint_domain::screening::screen;
use needlepoint_store::{HistoryVersion, Patient, ScreeningRecord};

/// The history to screen: the latest version, with the date of birth from
/// the patient's record (the one place it is kept up to date).
pub fn with_birth_date(p: &Patient, h: Option<&HistoryVersion>) -> PatientHistory {
    let mut history = h.map(|v| v.history.clone()).unwrap_or_default();
    history.date_of_birth = Some(p.details.date_of_birth);
    history
}

/// Screens the patient's current history for `areas` on `on` (the clinic's
/// today when not given) and saves it. Only clinicians screen, at their
/// own clinics, once a history is recorded.
/// How far ahead a screening may look: input sanity, not a clinical rule.
pub const SCREEN_AHEAD_DAYS: i64 = 365;

pub async fn run(
    cx: &Context,
    actor: &Actor,
    p: &Patient,
    areas: &[String],
    on: Option<Date>,
) -> Result<ScreeningRecord> {
    crate::access::clinic(actor, p.clinic_id)?;
    if !actor.is_clinical() {
        return Err(Error::Forbidden(
            "Only a clinician screens a patient.".into(),
        ));
    }
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let version = cx
        .store
        .current_history(p.id)
        .await?
        .ok_or_else(|| Error::refused("Record the patient's history first."))?;
    let history = with_birth_date(p, Some(&version));
    let today = cx.clinic_today(p.clinic_id).await?;
    let on = on.unwrap_or(today);
    // A screening answers "may this patient be treated then?": for today or
    // a planned day ahead, never the past nor a date so far off that a
    // deferral would read as cleared (9999-12-31).
    let latest = today + jiff::Span::new().days(SCREEN_AHEAD_DAYS);
    if on < today || on > latest {
        return Err(Error::invalid(
            "date",
            format!("Screen for today ({today}) or a day up to a year ahead ({latest})."),
        ));
    }
    let result = screen(&kb, &history, areas, on)?;
    Ok(cx
        .store
        .record_screening(p.id, version.id, &result, &actor.audit, cx.now())
        .await?)
}

/// How current the latest screening is.
#[derive(Debug, Clone)]
pub struct Freshness {
    pub age_days: i64,
    /// Why it should not be relied on, if it should not.
    pub stale: Option<String>,
}

pub fn freshness(
    s: &ScreeningRecord,
    current_history: Option<i64>,
    max_age_days: u32,
    today: Date,
) -> Freshness {
    let age_days = (today - s.result.on).get_days() as i64;
    let stale = if current_history.is_some_and(|v| v > s.history_version) {
        Some("The history has changed since this screening.".to_string())
    } else if age_days > i64::from(max_age_days) {
        Some(format!(
            "Older than the clinic's limit of {max_age_days} days."
        ))
    } else {
        None
    };
    Freshness { age_days, stale }
}

/// What a patient's screenings are judged against now: the clinic's age
/// limit, the current history's version and the clinic's today.
#[derive(Debug, Clone)]
pub struct Currency {
    max_age_days: u32,
    current_history: Option<i64>,
    today: Date,
}

impl Currency {
    pub async fn of(cx: &Context, p: &Patient) -> Result<Currency, needlepoint_store::StoreError> {
        Ok(Currency {
            max_age_days: cx.clinic_kb(p.clinic_id).await?.screening.max_age_days,
            current_history: cx.store.current_history(p.id).await?.map(|v| v.version),
            today: cx.clinic_today(p.clinic_id).await?,
        })
    }

    /// The clinic's today, the day a new screening is for by default.
    pub fn today(&self) -> Date {
        self.today
    }

    /// How current one of the patient's screenings is.
    pub fn of_screening(&self, s: &ScreeningRecord) -> Freshness {
        freshness(s, self.current_history, self.max_age_days, self.today)
    }
}

/// Screens a history that is not saved (the API's `POST /screen`) for the
/// areas asked (its concerns' when none), on `on` or the clinic's today.
pub async fn screen_unsaved(
    cx: &Context,
    clinic_id: i64,
    history: &PatientHistory,
    areas: &[String],
    on: Option<Date>,
) -> Result<needlepoint_domain::screening::Screening> {
    let kb = cx.clinic_kb(clinic_id).await?;
    let on = match on {
        Some(d) => d,
        None => cx.clinic_today(clinic_id).await?,
    };
    history.validate(&kb, on)?;
    let areas = if areas.is_empty() {
        history.concern_areas()
    } else {
        areas.to_vec()
    };
    Ok(screen(&kb, history, &areas, on)?)
}

/// A screening of a patient the actor may see; the view is audited.
pub async fn view(cx: &Context, actor: &Actor, screening_id: i64) -> Result<ScreeningRecord> {
    let s = cx.store.screening(screening_id).await?;
    crate::access::patient(cx, actor, s.patient_id).await?;
    let ev = needlepoint_store::AuditEvent::new("view", "screening", Some(screening_id))
        .patient(s.patient_id);
    cx.store.record_audit(&actor.audit, &ev, cx.now()).await?;
    Ok(s)
}

/// A clinician decides the outcome against the rules' (`status` as
/// typed), with a justification kept beside the screening.
pub async fn override_outcome(
    cx: &Context,
    actor: &Actor,
    screening_id: i64,
    status: &str,
    justification: &str,
) -> Result<ScreeningRecord> {
    let s = cx.store.screening(screening_id).await?;
    crate::access::patient(cx, actor, s.patient_id).await?;
    if !actor.is_clinical() {
        return Err(Error::Forbidden(
            "Only a clinician overrides a screening.".into(),
        ));
    }
    let mut inv = needlepoint_domain::Invalid::default();
    let status = needlepoint_domain::screening::Status::parse(status);
    if status.is_none() {
        inv.push("status", "Choose the outcome you decide on: eligible, eligible_with_precautions, deferred, needs_physician_approval or not_eligible.");
    }
    let why = inv.check(needlepoint_domain::validation::required_text(
        "justification",
        justification,
        2000,
    ));
    inv.into_result()?;
    let (Some(status), Some(why)) = (status, why) else {
        unreachable!("checked above");
    };
    cx.store
        .override_screening(screening_id, status, &why, &actor.audit, cx.now())
        .await?;
    Ok(cx.store.screening(screening_id).await?)
}
