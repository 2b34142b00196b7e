//! What pages and API share for screening: a clinic's knowledge base with
//! its overrides, the clinic's today, running a screening, and whether the
//! latest one is still current.

use crate::AppState;
use jiff::civil::Date;
use needlepoint_domain::history::PatientHistory;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::screening::screen;
use needlepoint_domain::Invalid;
use needlepoint_store::{Actor, HistoryVersion, Patient, ScreeningRecord, StoreError};

/// The knowledge base as this clinic uses it: the shipped one with the
/// clinic's overrides applied, latest last.
pub async fn clinic_kb(st: &AppState, clinic_id: i64) -> Result<KnowledgeBase, StoreError> {
    let mut kb = (*st.kb).clone();
    for o in st.store.knowledge_overrides(clinic_id).await? {
        // Values were checked when saved; a later knowledge base may have
        // dropped the key, which is logged and skipped rather than fatal.
        if let Err(e) = kb.apply_override(&o.key, &o.value) {
            tracing::warn!(key = %o.key, error = %e, "clinic override no longer applies");
        }
    }
    Ok(kb)
}

/// Today's date where the clinic is.
pub async fn clinic_today(st: &AppState, clinic_id: i64) -> Result<Date, StoreError> {
    let c = st.store.clinic(clinic_id).await?;
    let tz = jiff::tz::TimeZone::get(&c.details.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    Ok(needlepoint_store::now().to_zoned(tz).date())
}

/// The history to screen: the latest version, with the date of birth from
/// the patient's record (the one place it is kept up to date).
pub fn with_birth_date(p: &Patient, h: Option<&HistoryVersion>) -> PatientHistory {
    let mut history = h.map(|v| v.history.clone()).unwrap_or_default();
    history.date_of_birth = Some(p.details.date_of_birth);
    history
}

#[derive(Debug)]
pub enum ScreenError {
    /// No history recorded yet.
    NoHistory,
    Invalid(Invalid),
    Store(StoreError),
}

impl From<StoreError> for ScreenError {
    fn from(e: StoreError) -> Self {
        ScreenError::Store(e)
    }
}

/// Screens the patient's current history for `areas` on `on` and saves it.
pub async fn run_screening(
    st: &AppState,
    p: &Patient,
    areas: &[String],
    on: Date,
    actor: &Actor,
) -> Result<ScreeningRecord, ScreenError> {
    let kb = clinic_kb(st, p.clinic_id).await?;
    let version = st
        .store
        .current_history(p.id)
        .await?
        .ok_or(ScreenError::NoHistory)?;
    let history = with_birth_date(p, Some(&version));
    let result = screen(&kb, &history, areas, on).map_err(ScreenError::Invalid)?;
    Ok(st
        .store
        .record_screening(p.id, version.id, &result, actor, needlepoint_store::now())
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
