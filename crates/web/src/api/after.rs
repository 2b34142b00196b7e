//! After the session over JSON: check-ins with their triage and review,
//! the adverse-event register (recorded, amended, by patient and by lot)
//! and the home-care log; the same rules and refusals as the pages.

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use needlepoint_domain::adverse::AdverseInput;
use needlepoint_practice::adverse::{self, Suspects};
use needlepoint_practice::{access, checkins, homecare};
use needlepoint_store::{AdverseRecord, Checkin, HomeCareEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A check-in question's answer: 0 is no (or none); levels run to 3 (severe),
/// pain to 10.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerOut {
    pub question: String,
    pub level: u8,
}

/// A check-in after a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckinOut {
    pub id: i64,
    pub patient_id: i64,
    /// The signed session (chart) it follows.
    pub session_id: i64,
    /// The day after the session it was sent for.
    pub day: u32,
    pub due_at: String,
    pub expires_at: String,
    pub answered_at: Option<String>,
    /// Each question's answer.
    pub answers: Vec<AnswerOut>,
    pub note: Option<String>,
    /// reassure, tell_us_within_days, call_today or emergency.
    pub advice: Option<needlepoint_domain::triage::Advice>,
    pub findings: Vec<String>,
    /// Flagged: answered with a warning sign and not yet reviewed.
    pub flagged: bool,
    pub photo_id: Option<i64>,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<i64>,
    pub review_note: Option<String>,
}

impl From<Checkin> for CheckinOut {
    fn from(c: Checkin) -> Self {
        CheckinOut {
            flagged: c.flagged(),
            id: c.id,
            patient_id: c.patient_id,
            session_id: c.chart_id,
            day: c.day,
            due_at: c.due_at.to_string(),
            expires_at: c.expires_at.to_string(),
            answered_at: c.answered_at.map(|t| t.to_string()),
            answers: c
                .answers
                .as_ref()
                .map(|a| {
                    a.levels
                        .iter()
                        .map(|(q, l)| AnswerOut {
                            question: q.clone(),
                            level: *l,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            note: c.answers.map(|a| a.note).filter(|n| !n.is_empty()),
            advice: c.advice,
            findings: c.findings,
            photo_id: c.photo_id,
            reviewed_at: c.reviewed_at.map(|t| t.to_string()),
            reviewed_by: c.reviewed_by,
            review_note: c.review_note,
        }
    }
}

async fn checkin_of(st: &AppState, caller: &Caller, id: i64) -> Result<Checkin, ApiError> {
    let c = st.store.checkin(id).await?;
    if !caller.sees_clinic(c.clinic_id) {
        return Err(ApiError::NotFound);
    }
    Ok(c)
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/checkins", tag = "after the session", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The patient's check-ins, by the day they are due", body = [CheckinOut]), (status = 404, body = ErrorBody)))]
pub async fn list_checkins(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<CheckinOut>>, ApiError> {
    access::patient(&st, &caller, id).await?;
    Ok(Json(
        st.store
            .patient_checkins(id)
            .await?
            .into_iter()
            .map(CheckinOut::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/checkins/{id}", tag = "after the session", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CheckinOut), (status = 404, body = ErrorBody)))]
pub async fn get_checkin(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<CheckinOut>, ApiError> {
    Ok(Json(checkin_of(&st, &caller, id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    /// What was done (may be empty).
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/checkins/{id}/review", tag = "after the session", params(("id" = i64, Path)),
    request_body = ReviewIn, security(("bearer" = [])),
    responses((status = 200, body = CheckinOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn review_checkin(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ReviewIn>,
) -> Result<Json<CheckinOut>, ApiError> {
    checkin_of(&st, &caller, id).await?;
    Ok(Json(
        checkins::review(&st, &caller, id, &b.note).await?.into(),
    ))
}

/// One signed version of an adverse event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdverseVersionOut {
    pub version: i64,
    /// The CTCAE term's code in the knowledge base.
    pub term: String,
    pub specify: Option<String>,
    pub onset: String,
    pub grade: u8,
    /// CTCAE's words for the grade of the term (wording not yet verified
    /// against NCI's list unless `wording_verified`).
    pub grade_words: String,
    pub wording_verified: bool,
    pub expected: bool,
    pub serious: bool,
    pub actions: String,
    pub outcome: needlepoint_domain::adverse::Outcome,
    pub resolved_on: Option<String>,
    pub zones: Vec<String>,
    /// Why it was amended; none for the first record.
    pub reason: Option<String>,
    pub signed_at: String,
    pub signed_by: i64,
}

/// An adverse event with every signed version, the latest last.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdverseOut {
    pub id: i64,
    pub patient_id: i64,
    pub session_id: i64,
    pub checkin_id: Option<i64>,
    /// The lots suspected.
    pub lot_ids: Vec<i64>,
    pub versions: Vec<AdverseVersionOut>,
}

async fn adverse_out(st: &AppState, e: AdverseRecord) -> Result<AdverseOut, ApiError> {
    let kb = st.clinic_kb(e.clinic_id).await?;
    Ok(AdverseOut {
        id: e.id,
        patient_id: e.patient_id,
        session_id: e.chart_id,
        checkin_id: e.checkin_id,
        lot_ids: e.lot_ids,
        versions: e
            .versions
            .into_iter()
            .map(|v| {
                let term = kb.ae_terms.iter().find(|t| t.code == v.event.term);
                AdverseVersionOut {
                    version: v.version,
                    grade_words: term
                        .and_then(|t| needlepoint_domain::adverse::grade_words(t, v.event.grade))
                        .unwrap_or("")
                        .to_string(),
                    wording_verified: term.is_some_and(|t| t.wording_verified),
                    term: v.event.term,
                    specify: v.event.specify,
                    onset: v.event.onset.to_string(),
                    grade: v.event.grade,
                    expected: v.event.expected,
                    serious: v.event.serious,
                    actions: v.event.actions,
                    outcome: v.event.outcome,
                    resolved_on: v.event.resolved_on.map(|d| d.to_string()),
                    zones: v.zones,
                    reason: v.reason,
                    signed_at: v.signed_at.to_string(),
                    signed_by: v.signed_by,
                }
            })
            .collect(),
    })
}

/// An adverse event as recorded or amended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdverseIn {
    /// A term's code from the knowledge base's `ae_terms`.
    pub term: String,
    /// Required for `skin_other`.
    #[serde(default)]
    pub specify: String,
    /// `YYYY-MM-DD`: on or after the session, not in the future.
    pub onset: String,
    /// 1 to 5, one the term has.
    pub grade: i64,
    #[serde(default)]
    pub expected: bool,
    /// Grades 4 and 5 are always serious.
    #[serde(default)]
    pub serious: bool,
    #[serde(default)]
    pub actions: String,
    /// ongoing, resolved, resolved_with_sequelae or fatal.
    pub outcome: String,
    /// `YYYY-MM-DD`, once resolved.
    #[serde(default)]
    pub resolved_on: String,
    /// Zones of the session suspected.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Lots used at the session suspected (on recording only).
    #[serde(default)]
    pub lot_ids: Vec<i64>,
    /// The check-in it was raised from.
    pub checkin_id: Option<i64>,
    /// Amending: the version amended…
    pub version: Option<i64>,
    /// …and why.
    #[serde(default)]
    pub reason: String,
}

impl AdverseIn {
    fn input<'a>(&'a self, grade: &'a str) -> AdverseInput<'a> {
        AdverseInput {
            term: &self.term,
            specify: &self.specify,
            onset: &self.onset,
            grade,
            expected: self.expected,
            serious: self.serious,
            actions: &self.actions,
            outcome: &self.outcome,
            resolved_on: &self.resolved_on,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/adverse-events", tag = "after the session", params(("id" = i64, Path)),
    request_body = AdverseIn, security(("bearer" = [])),
    responses((status = 201, body = AdverseOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_adverse_event(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AdverseIn>,
) -> Result<(StatusCode, Json<AdverseOut>), ApiError> {
    let grade = b.grade.to_string();
    let suspects = Suspects {
        zones: b.zones.clone(),
        lot_ids: b.lot_ids.clone(),
        checkin_id: b.checkin_id,
    };
    let e = adverse::record(&st, &caller, id, &b.input(&grade), &suspects).await?;
    Ok((StatusCode::CREATED, Json(adverse_out(&st, e).await?)))
}

#[utoipa::path(get, path = "/api/v1/adverse-events/{id}", tag = "after the session", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AdverseOut), (status = 404, body = ErrorBody)))]
pub async fn get_adverse_event(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<AdverseOut>, ApiError> {
    let e = adverse::load(&st, &caller, id).await?;
    Ok(Json(adverse_out(&st, e).await?))
}

#[utoipa::path(post, path = "/api/v1/adverse-events/{id}/amendments", tag = "after the session", params(("id" = i64, Path)),
    request_body = AdverseIn, security(("bearer" = [])),
    responses((status = 200, body = AdverseOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn amend_adverse_event(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AdverseIn>,
) -> Result<Json<AdverseOut>, ApiError> {
    let grade = b.grade.to_string();
    let Some(version) = b.version else {
        return Err(needlepoint_domain::Invalid::one(
            "version",
            "Give the version you are amending.",
        )
        .into());
    };
    let e = adverse::amend(
        &st,
        &caller,
        id,
        version,
        &b.input(&grade),
        b.zones.clone(),
        &b.reason,
    )
    .await?;
    Ok(Json(adverse_out(&st, e).await?))
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/adverse-events", tag = "after the session", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = [AdverseOut]), (status = 404, body = ErrorBody)))]
pub async fn list_adverse_events(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AdverseOut>>, ApiError> {
    access::patient(&st, &caller, id).await?;
    let mut out = vec![];
    for e in st.store.patient_adverse_events(id).await? {
        out.push(adverse_out(&st, e).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/lots/{id}/adverse-events", tag = "inventory", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The adverse events the lot is suspected in", body = [AdverseOut]), (status = 404, body = ErrorBody)))]
pub async fn lot_adverse_events(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AdverseOut>>, ApiError> {
    access::lot(&st, &caller, id).await?;
    let mut out = vec![];
    for e in st.store.lot_adverse_events(id).await? {
        out.push(adverse_out(&st, e).await?);
    }
    Ok(Json(out))
}

/// A home rolling as logged.
#[derive(Debug, Serialize, ToSchema)]
pub struct HomeCareOut {
    pub id: i64,
    pub patient_id: i64,
    pub used_on: String,
    /// An area's code in the knowledge base.
    pub area: String,
    pub needle_um: u32,
    pub inflamed: bool,
    /// The clinic's home-care advice it was given, as the patient saw it.
    pub warnings: Vec<String>,
    pub logged_at: String,
    /// Staff who logged it; none when the patient did.
    pub logged_by: Option<i64>,
}

impl From<HomeCareEntry> for HomeCareOut {
    fn from(e: HomeCareEntry) -> Self {
        HomeCareOut {
            id: e.id,
            patient_id: e.patient_id,
            used_on: e.used_on.to_string(),
            area: e.area,
            needle_um: e.needle_um,
            inflamed: e.inflamed,
            warnings: e.warnings,
            logged_at: e.logged_at.to_string(),
            logged_by: e.logged_by,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HomeCareIn {
    /// `YYYY-MM-DD`, not in the future, within the last 90 days.
    pub used_on: String,
    pub area: String,
    /// As printed on the roller, e.g. `"0.25"`.
    pub needle_mm: String,
    /// Whether the skin was red, sore, broken or spotty.
    pub inflamed: bool,
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/home-care", tag = "after the session", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = [HomeCareOut]), (status = 404, body = ErrorBody)))]
pub async fn list_home_care(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<HomeCareOut>>, ApiError> {
    access::patient(&st, &caller, id).await?;
    Ok(Json(
        st.store
            .home_care(id)
            .await?
            .into_iter()
            .map(HomeCareOut::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/patients/{id}/home-care", tag = "after the session", params(("id" = i64, Path)),
    request_body = HomeCareIn, security(("bearer" = [])),
    responses((status = 201, body = HomeCareOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn log_home_care(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<HomeCareIn>,
) -> Result<(StatusCode, Json<HomeCareOut>), ApiError> {
    let p = access::patient(&st, &caller, id).await?;
    let input = needlepoint_domain::homecare::HomeUseInput {
        on: &b.used_on,
        area: &b.area,
        needle_mm: &b.needle_mm,
        inflamed: b.inflamed,
    };
    let e = homecare::log(&st, &p, &input, Some(b.inflamed), &caller.audit).await?;
    Ok((StatusCode::CREATED, Json(e.into())))
}
