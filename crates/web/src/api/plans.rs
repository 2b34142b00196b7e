//! Plans, quotes and consents over JSON. Consents are signed on screen by
//! the patient; the API reads them.

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use needlepoint_domain::plan::{Plan, PlanStatus};
use needlepoint_domain::Invalid;
use needlepoint_practice::access;
use needlepoint_practice::planning;
use needlepoint_store::{Patient, PlanRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentOut {
    pub id: i64,
    pub plan_version: i64,
    pub signed_at: String,
    pub signed_via: String,
    pub typed_name: String,
    /// For a patient under age: the parent or guardian who signed too, with
    /// how they are related.
    pub guardian_name: Option<String>,
    pub photo_use: String,
    /// SHA-256 of `text`, the exact document signed.
    pub sha256: String,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    pub id: i64,
    pub patient_id: i64,
    pub status: needlepoint_domain::plan::PlanStatus,
    /// Send it back when editing.
    pub version: i64,
    /// The plan as agreed (the format PUT takes).
    #[schema(value_type = Object)]
    pub plan: Plan,
    /// The knowledge base's proposal it started from.
    #[schema(value_type = Object)]
    pub proposal: needlepoint_domain::planning::Proposal,
    /// Values outside the guideline, with their reasons.
    #[schema(value_type = Vec<Object>)]
    pub flags: Vec<needlepoint_domain::plan::Flag>,
    /// Amounts in minor units; frozen once accepted.
    #[schema(value_type = Object)]
    pub quote: Option<needlepoint_domain::pricing::Quote>,
    pub cancel_reason: Option<String>,
    /// Whether a signed consent covers this version.
    pub consented: bool,
    pub consents: Vec<ConsentOut>,
}

async fn out(st: &AppState, r: PlanRecord) -> Result<PlanOut, ApiError> {
    let consents: Vec<ConsentOut> = st
        .store
        .consents(r.id)
        .await?
        .into_iter()
        .map(|c| ConsentOut {
            id: c.id,
            plan_version: c.plan_version,
            signed_at: c.signed_at.to_string(),
            signed_via: c.signed_via,
            typed_name: c.typed_name,
            guardian_name: c.guardian_name,
            photo_use: c.photo_use,
            sha256: c.sha256,
            text: c.text,
        })
        .collect();
    Ok(PlanOut {
        id: r.id,
        patient_id: r.patient_id,
        status: r.status,
        version: r.version,
        consented: consents.iter().any(|c| c.plan_version == r.version),
        plan: r.plan,
        proposal: r.proposal,
        flags: r.flags,
        quote: r.quote,
        cancel_reason: r.cancel_reason,
        consents,
    })
}

async fn own_plan(
    st: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(Patient, PlanRecord), ApiError> {
    let r = st.store.plan(id).await?;
    let p = access::patient(st, caller, r.patient_id).await?;
    Ok((p, r))
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/plans", tag = "plans", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = [PlanOut]), (status = 404, body = ErrorBody)))]
pub async fn list_plans(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<PlanOut>>, ApiError> {
    access::patient(&st, &caller, id).await?;
    let mut list = vec![];
    for r in st.store.plans(id).await? {
        list.push(out(&st, r).await?);
    }
    Ok(Json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// A device code from the knowledge base: `skinpen`, `exceed`, `medical_roller`.
    pub device: String,
}

#[utoipa::path(post, path = "/api/v1/patients/{id}/plans", tag = "plans", params(("id" = i64, Path)), request_body = NewPlan,
    security(("bearer" = [])),
    responses((status = 201, body = PlanOut), (status = 409, body = ErrorBody, description = "Screen (again) first"),
        (status = 422, body = ErrorBody)))]
pub async fn create_plan(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewPlan>,
) -> Result<(StatusCode, Json<PlanOut>), ApiError> {
    let p = access::patient(&st, &caller, id).await?;
    let r = planning::create(&st, &caller, &p, &body.device).await?;
    Ok((StatusCode::CREATED, Json(out(&st, r).await?)))
}

#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = PlanOut), (status = 404, body = ErrorBody)))]
pub async fn get_plan(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<PlanOut>, ApiError> {
    let (_, r) = own_plan(&st, &caller, id).await?;
    Ok(Json(out(&st, r).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanEdit {
    pub version: i64,
    /// The whole plan, as GET returns it; a value outside the guideline
    /// needs its reason (`tracks[].sessions_reason`, `tracks[].interval_reason`,
    /// `areas[].reason`).
    #[schema(value_type = Object)]
    pub plan: Plan,
}

#[utoipa::path(put, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = i64, Path)), request_body = PlanEdit,
    security(("bearer" = [])),
    responses((status = 200, body = PlanOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_plan(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PlanEdit>,
) -> Result<Json<PlanOut>, ApiError> {
    let saved = planning::edit(&st, &caller, id, body.version, &body.plan).await?;
    Ok(Json(out(&st, saved).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `accepted`, `in_progress`, `completed` or `cancelled`.
    pub status: String,
    /// Required to cancel.
    #[serde(default)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/plans/{id}/status", tag = "plans", params(("id" = i64, Path)), request_body = StatusChange,
    security(("bearer" = [])),
    responses((status = 200, body = PlanOut), (status = 409, body = ErrorBody, description = "Not allowed from the current state, or no covering consent"),
        (status = 422, body = ErrorBody)))]
pub async fn plan_status(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<StatusChange>,
) -> Result<Json<PlanOut>, ApiError> {
    let to = PlanStatus::parse(&body.status).ok_or_else(|| {
        ApiError::from(Invalid::one(
            "status",
            "Use accepted, in_progress, completed or cancelled.",
        ))
    })?;
    let r = planning::set_status(&st, &caller, id, to, body.reason.as_deref()).await?;
    Ok(Json(out(&st, r).await?))
}
