//! Patients and clinical notes over JSON.

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use needlepoint_domain::{Invalid, PatientInput};
use needlepoint_practice::patients;
use needlepoint_store::{ClinicalNote, Patient};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientOut {
    pub id: i64,
    pub clinic_id: i64,
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`
    pub date_of_birth: String,
    /// `female`, `male`, `other` or `unknown`
    pub sex: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    /// Send this back when updating, so a concurrent change is not overwritten.
    pub version: i64,
    /// RFC 3339, UTC
    pub created_at: String,
    pub updated_at: String,
}

impl From<Patient> for PatientOut {
    fn from(p: Patient) -> Self {
        let d = p.details;
        PatientOut {
            id: p.id,
            clinic_id: p.clinic_id,
            given_name: d.given_name,
            family_name: d.family_name,
            date_of_birth: d.date_of_birth.to_string(),
            sex: d.sex.as_str().into(),
            email: d.email.map(|e| e.to_string()),
            phone: d.phone,
            address: d.address,
            notes: d.notes,
            version: p.version,
            created_at: p.created_at.to_string(),
            updated_at: p.updated_at.to_string(),
        }
    }
}

/// A new patient. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientCreate {
    /// Required when you belong to more than one clinic.
    pub clinic_id: Option<i64>,
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`, not in the future
    pub date_of_birth: String,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// New details for a patient, with the version they were read at.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientUpdate {
    pub version: i64,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl PatientCreate {
    fn input(self) -> PatientInput {
        PatientInput {
            given_name: self.given_name,
            family_name: self.family_name,
            date_of_birth: self.date_of_birth,
            sex: self.sex.unwrap_or_default(),
            email: self.email.unwrap_or_default(),
            phone: self.phone.unwrap_or_default(),
            address: self.address.unwrap_or_default(),
            notes: self.notes.unwrap_or_default(),
        }
    }
}

impl PatientUpdate {
    fn input(self) -> PatientInput {
        PatientInput {
            given_name: self.given_name,
            family_name: self.family_name,
            date_of_birth: self.date_of_birth,
            sex: self.sex.unwrap_or_default(),
            email: self.email.unwrap_or_default(),
            phone: self.phone.unwrap_or_default(),
            address: self.address.unwrap_or_default(),
            notes: self.notes.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientList {
    /// Patients matching, counted up to 1,000.
    pub total: i64,
    /// More than `total` match: counting stops at 1,000.
    pub more: bool,
    pub limit: i64,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
    pub patients: Vec<PatientOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientQuery {
    /// Words that must all appear in the name, e-mail, phone or birth date.
    #[serde(default)]
    pub q: String,
    pub clinic_id: Option<i64>,
    /// 1–200, default 50
    pub limit: Option<i64>,
    /// The `next` of the page before; omit for the first page.
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(PatientQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PatientList), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn list_patients(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<PatientQuery>,
) -> Result<Json<PatientList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Invalid::one("limit", "Use a limit from 1 to 200.").into());
    }
    let after = q
        .after
        .as_deref()
        .map(|a| needlepoint_domain::patient_search::Cursor::parse("after", a))
        .transpose()
        .map_err(|e| Invalid::one(e.field, e.message))?;
    let page = st
        .store
        .search_patients(caller.staff.id, q.clinic_id, &q.q, limit, after.as_ref())
        .await?;
    Ok(Json(PatientList {
        total: page.total,
        more: page.more,
        limit,
        next: page.next.map(|c| c.to_string()),
        patients: page.patients.into_iter().map(PatientOut::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", request_body = PatientCreate,
    security(("bearer" = [])),
    responses((status = 201, body = PatientOut), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_patient(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PatientCreate>,
) -> Result<(StatusCode, Json<PatientOut>), ApiError> {
    let clinic_id = body.clinic_id;
    let p = patients::register(&st, &caller, clinic_id, &body.input()).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = PatientOut), (status = 404, body = ErrorBody)))]
pub async fn get_patient(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<PatientOut>, ApiError> {
    let p = patients::view(&st, &caller, id).await?;
    Ok(Json(p.into()))
}

#[utoipa::path(put, path = "/api/v1/patients/{id}", tag = "patients", params(("id" = i64, Path)),
    request_body = PatientUpdate, security(("bearer" = [])),
    responses((status = 200, body = PatientOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Changed by someone else since `version`"),
        (status = 422, body = ErrorBody)))]
pub async fn update_patient(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PatientUpdate>,
) -> Result<Json<PatientOut>, ApiError> {
    let version = body.version;
    let p = patients::update(&st, &caller, id, version, &body.input()).await?;
    Ok(Json(p.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteOut {
    pub id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub created_at: String,
}

impl From<ClinicalNote> for NoteOut {
    fn from(n: ClinicalNote) -> Self {
        NoteOut {
            id: n.id,
            author_id: n.author_id,
            author_name: n.author_name,
            body: n.body,
            created_at: n.created_at.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    pub body: String,
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/notes", tag = "patients", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = [NoteOut]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_notes(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<NoteOut>>, ApiError> {
    Ok(Json(
        patients::notes(&st, &caller, id)
            .await?
            .into_iter()
            .map(NoteOut::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/patients/{id}/notes", tag = "patients", params(("id" = i64, Path)),
    request_body = NoteIn, security(("bearer" = [])),
    responses((status = 201, body = NoteOut), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_note(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NoteIn>,
) -> Result<(StatusCode, Json<NoteOut>), ApiError> {
    let n = patients::add_note(&st, &caller, id, &body.body).await?;
    Ok((StatusCode::CREATED, Json(n.into())))
}
