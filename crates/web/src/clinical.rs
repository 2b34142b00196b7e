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

/// The clinic's price list for quoting.
pub async fn clinic_price_list(
    st: &AppState,
    clinic_id: i64,
) -> Result<needlepoint_domain::pricing::PriceList, StoreError> {
    let pricing = st.store.clinic_pricing(clinic_id).await?;
    let items: Vec<_> = st
        .store
        .price_items(clinic_id)
        .await?
        .into_iter()
        .filter(|i| i.active)
        .map(|i| i.details)
        .collect();
    Ok(needlepoint_domain::clinic::price_list(&pricing, &items))
}

/// A quote for a plan, or why there is none (a missing price).
pub async fn quote_for(
    st: &AppState,
    clinic_id: i64,
    plan: &needlepoint_domain::plan::Plan,
) -> Result<Result<needlepoint_domain::pricing::Quote, Invalid>, StoreError> {
    let list = clinic_price_list(st, clinic_id).await?;
    let areas: Vec<String> = plan.areas.iter().map(|a| a.area.clone()).collect();
    Ok(list.quote(&areas, plan.sessions, &plan.addons))
}

#[derive(Debug)]
pub enum PlanError {
    /// Screen (again) before planning, and why.
    NeedsScreening(String),
    Invalid(Invalid),
    Store(StoreError),
}

impl From<StoreError> for PlanError {
    fn from(e: StoreError) -> Self {
        PlanError::Store(e)
    }
}

/// Proposes and saves a plan from the patient's current history and their
/// latest screening, which must be current.
pub async fn create_plan(
    st: &AppState,
    p: &Patient,
    device: &str,
    actor: &Actor,
) -> Result<needlepoint_store::PlanRecord, PlanError> {
    let kb = clinic_kb(st, p.clinic_id).await?;
    let today = clinic_today(st, p.clinic_id).await?;
    let current = st.store.current_history(p.id).await?;
    let Some(s) = st.store.screenings(p.id).await?.into_iter().next() else {
        return Err(PlanError::NeedsScreening(
            "Screen the patient before planning.".into(),
        ));
    };
    if let Some(why) = freshness(
        &s,
        current.as_ref().map(|v| v.version),
        kb.screening.max_age_days,
        today,
    )
    .stale
    {
        return Err(PlanError::NeedsScreening(format!(
            "The latest screening is stale: {why} Screen again before planning."
        )));
    }
    let Some(model) = kb.devices.iter().find(|d| d.code == device) else {
        return Err(PlanError::Invalid(Invalid::one(
            "device",
            "Choose a device.",
        )));
    };
    let history = with_birth_date(p, current.as_ref());
    let proposal = needlepoint_domain::planning::propose(&kb, &history, &s.result, model, today)
        .map_err(PlanError::Invalid)?;
    let plan = needlepoint_domain::plan::Plan::from_proposal(&proposal, device);
    let quote = quote_for(st, p.clinic_id, &plan).await?.ok();
    Ok(st
        .store
        .create_plan(
            p.id,
            p.clinic_id,
            s.id,
            &proposal,
            &plan,
            &[],
            quote.as_ref(),
            actor,
            needlepoint_store::now(),
        )
        .await?)
}

/// The consent document for the plan's current version, with the
/// patient's choices appended, and its SHA-256: what is signed and kept.
pub fn frozen_consent(
    document: &str,
    photo_use: needlepoint_domain::plan::PhotoUse,
    typed_name: &str,
    signed_on: Date,
) -> (String, String) {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{document}\nPhoto use chosen: {}\nSigned by (typed name): {typed_name}\nDate: {signed_on}\n",
        photo_use.label()
    );
    let hash = crate::auth::hex(&Sha256::digest(text.as_bytes()));
    (text, hash)
}

/// A drawn signature: a PNG data URL of sensible size.
pub fn check_signature(data_url: &str) -> Result<(), String> {
    const PREFIX: &str = "data:image/png;base64,";
    const MAX_BYTES: usize = 300 * 1024;
    let Some(b64) = data_url.strip_prefix(PREFIX) else {
        return Err("Draw your signature in the box.".into());
    };
    if b64.len() > MAX_BYTES {
        return Err("The signature image is too large.".into());
    }
    // The first bytes of a PNG ("\x89PNG") are "iVBORw0KGgo" in base64.
    if !b64.starts_with("iVBORw0KGgo") || b64.len() < 200 {
        return Err("Draw your signature in the box.".into());
    }
    Ok(())
}
