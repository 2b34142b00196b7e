//! Histories, screenings and the knowledge base over JSON.

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use needlepoint_domain::history::PatientHistory;
use needlepoint_domain::Invalid;
use needlepoint_practice::access;
use needlepoint_practice::history;
use needlepoint_practice::screening;
use needlepoint_store::{HistoryVersion, Patient, ScreeningRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn parse_date(field: &str, s: &Option<String>) -> Result<Option<jiff::civil::Date>, ApiError> {
    s.as_deref()
        .map(|d| needlepoint_domain::patient::parse_date(field, d))
        .transpose()
        .map_err(|e| ApiError::Invalid(Invalid { errors: vec![e] }))
}

/// A history and the areas to screen; nothing is saved.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    /// A patient history (the format of `needlepoint screen`, see the README).
    #[schema(value_type = Object)]
    pub history: PatientHistory,
    /// Area codes; default: the areas of the history's concerns.
    #[serde(default)]
    pub areas: Vec<String>,
    /// `YYYY-MM-DD`; default: today in the clinic.
    pub date: Option<String>,
    /// Whose overrides of the knowledge base apply; default: your first clinic.
    pub clinic_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/screen", tag = "screening", request_body = ScreenRequest,
    security(("bearer" = [])),
    responses((status = 200, description = "The screening, per area, with reasons and sources", body = Object),
        (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn screen_history(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ScreenRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let clinic_id = match body.clinic_id {
        Some(c) if caller.sees_clinic(c) => c,
        Some(_) => return Err(Invalid::one("clinic_id", "Not one of your clinics.").into()),
        None => *caller.clinic_ids.first().ok_or(ApiError::Forbidden)?,
    };
    let on = parse_date("date", &body.date)?;
    let result = screening::screen_unsaved(&st, clinic_id, &body.history, &body.areas, on).await?;
    Ok(Json(
        serde_json::to_value(result).map_err(anyhow::Error::from)?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    pub id: i64,
    pub version: i64,
    pub source: String,
    pub created_at: String,
    pub created_by: Option<String>,
    #[schema(value_type = Object)]
    pub history: PatientHistory,
}

impl From<HistoryVersion> for HistoryOut {
    fn from(v: HistoryVersion) -> Self {
        HistoryOut {
            id: v.id,
            version: v.version,
            source: v.source,
            created_at: v.created_at.to_string(),
            created_by: v.created_by_name,
            history: v.history,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/history", tag = "screening", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = HistoryOut), (status = 404, body = ErrorBody)))]
pub async fn get_history(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<HistoryOut>, ApiError> {
    let (_, v) = history::view(&st, &caller, id).await?;
    let v = v.ok_or(ApiError::NotFound)?;
    Ok(Json(v.into()))
}

#[utoipa::path(put, path = "/api/v1/patients/{id}/history", tag = "screening", params(("id" = i64, Path)),
    request_body(content = Object, description = "The whole history; it becomes a new version (earlier ones are kept). The date of birth comes from the patient's details."),
    security(("bearer" = [])),
    responses((status = 201, body = HistoryOut), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_history(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(history): ApiJson<PatientHistory>,
) -> Result<(StatusCode, Json<HistoryOut>), ApiError> {
    let v = history::record(&st, &caller, id, &history, "api").await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningOut {
    pub id: i64,
    pub history_version: i64,
    /// The outcome in force (a clinician's override, or the engine's).
    pub status: needlepoint_domain::screening::Status,
    /// The outcome in words; a deferral and a stricter rule are said
    /// together ("Deferred until resolved, then needs physician approval").
    pub outcome: String,
    pub age_days: i64,
    /// Why it should not be relied on, when it is stale.
    pub stale: Option<String>,
    pub created_by: Option<String>,
    #[schema(value_type = Object)]
    pub result: needlepoint_domain::screening::Screening,
    #[schema(value_type = Vec<Object>)]
    pub overrides: Vec<needlepoint_store::ScreeningOverride>,
}

async fn out(st: &AppState, p: &Patient, s: ScreeningRecord) -> Result<ScreeningOut, ApiError> {
    let f = screening::Currency::of(st, p).await?.of_screening(&s);
    Ok(ScreeningOut {
        id: s.id,
        history_version: s.history_version,
        status: s.status(),
        outcome: needlepoint_domain::screening::outcome_words(s.status(), s.result.deferral, |d| {
            d.to_string()
        }),
        age_days: f.age_days,
        stale: f.stale,
        created_by: s.created_by_name,
        result: s.result,
        overrides: s.overrides,
    })
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/screenings", tag = "screening", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = [ScreeningOut]), (status = 404, body = ErrorBody)))]
pub async fn list_screenings(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ScreeningOut>>, ApiError> {
    let p = access::patient(&st, &caller, id).await?;
    let mut list = vec![];
    for s in st.store.screenings(id).await? {
        list.push(out(&st, &p, s).await?);
    }
    Ok(Json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScreening {
    /// Area codes; default: the areas of the patient's concerns.
    #[serde(default)]
    pub areas: Vec<String>,
    /// `YYYY-MM-DD`; default: today in the patient's clinic.
    pub date: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/patients/{id}/screenings", tag = "screening", params(("id" = i64, Path)),
    request_body = NewScreening, security(("bearer" = [])),
    responses((status = 201, body = ScreeningOut), (status = 409, body = ErrorBody, description = "No history recorded yet"),
        (status = 422, body = ErrorBody)))]
pub async fn create_screening(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewScreening>,
) -> Result<(StatusCode, Json<ScreeningOut>), ApiError> {
    let p = access::patient(&st, &caller, id).await?;
    let on = parse_date("date", &body.date)?;
    let areas = if body.areas.is_empty() {
        st.store
            .current_history(id)
            .await?
            .map(|v| v.history.concern_areas())
            .unwrap_or_default()
    } else {
        body.areas
    };
    let s = screening::run(&st, &caller, &p, &areas, on).await?;
    Ok((StatusCode::CREATED, Json(out(&st, &p, s).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideIn {
    /// The outcome the clinician decides: `eligible`, `eligible_with_precautions`,
    /// `deferred`, `needs_physician_approval` or `not_eligible`.
    pub status: String,
    /// Why; kept with the screening it overrides.
    pub justification: String,
}

#[utoipa::path(post, path = "/api/v1/screenings/{id}/override", tag = "screening", params(("id" = i64, Path)),
    request_body = OverrideIn, security(("bearer" = [])),
    responses((status = 201, body = ScreeningOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn override_screening(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<OverrideIn>,
) -> Result<(StatusCode, Json<ScreeningOut>), ApiError> {
    let s =
        screening::override_outcome(&st, &caller, id, &body.status, &body.justification).await?;
    let p = st.store.patient(s.patient_id).await?;
    Ok((StatusCode::CREATED, Json(out(&st, &p, s).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KnowledgeQuery {
    /// Whose overrides apply; default: your first clinic.
    pub clinic_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/knowledge", tag = "screening", params(KnowledgeQuery), security(("bearer" = [])),
    responses((status = 200, description = "The knowledge base as the clinic uses it, every entry with its source", body = Object)))]
pub async fn knowledge(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<KnowledgeQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let clinic_id = match q.clinic_id {
        Some(c) if caller.sees_clinic(c) => c,
        Some(_) => return Err(ApiError::NotFound),
        None => *caller.clinic_ids.first().ok_or(ApiError::Forbidden)?,
    };
    let kb = st.clinic_kb(clinic_id).await?;
    Ok(Json(serde_json::to_value(kb).map_err(anyhow::Error::from)?))
}
