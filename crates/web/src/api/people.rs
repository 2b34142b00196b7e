//! Who you are, your clinics, the organisation's staff, tokens and audit.

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use needlepoint_domain::Invalid;
use needlepoint_practice::accounts;
use needlepoint_practice::signin::{self, TOKEN_PREFIX};
use needlepoint_store::{ApiToken, AuditEntry, Clinic, Staff};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffOut {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `owner`, `clinician` or `front_desk`
    pub role: String,
    pub active: bool,
    pub practitioner: bool,
    pub profession: Option<String>,
    pub registration_number: Option<String>,
}

impl From<Staff> for StaffOut {
    fn from(s: Staff) -> Self {
        StaffOut {
            id: s.id,
            name: s.name,
            email: s.email,
            role: s.role.as_str().into(),
            active: s.active,
            practitioner: s.practitioner.is_some(),
            profession: s.practitioner.as_ref().map(|p| p.profession.clone()),
            registration_number: s.practitioner.and_then(|p| p.registration_number),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub staff: StaffOut,
    /// The role this request acts with (a token's may be narrower).
    pub acting_role: String,
    pub clinic_ids: Vec<i64>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = MeOut), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> Json<MeOut> {
    Json(MeOut {
        acting_role: caller.role.as_str().into(),
        clinic_ids: caller.clinic_ids.clone(),
        staff: caller.staff.clone().into(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicOut {
    pub id: i64,
    pub name: String,
    /// IANA zone; times are stored in UTC and shown in this zone.
    pub time_zone: String,
    pub address: Option<String>,
    pub phone: Option<String>,
}

impl From<Clinic> for ClinicOut {
    fn from(c: Clinic) -> Self {
        ClinicOut {
            id: c.id,
            name: c.details.name,
            time_zone: c.details.time_zone,
            address: c.details.address,
            phone: c.details.phone,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/clinics", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = [ClinicOut])))]
pub async fn list_clinics(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ClinicOut>>, ApiError> {
    Ok(Json(
        st.store
            .clinics_for_staff(caller.staff.id)
            .await?
            .into_iter()
            .map(ClinicOut::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/staff", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = [StaffOut]), (status = 403, body = ErrorBody)))]
pub async fn list_staff(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StaffOut>>, ApiError> {
    Ok(Json(
        st.store
            .list_staff(caller.staff.organisation_id)
            .await?
            .into_iter()
            .map(StaffOut::from)
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenOut {
    fn from(t: ApiToken) -> Self {
        TokenOut {
            id: t.id,
            name: t.name,
            role: t.role.as_str().into(),
            created_at: t.created_at.to_string(),
            last_used_at: t.last_used_at.map(|x| x.to_string()),
            revoked_at: t.revoked_at.map(|x| x.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    pub name: String,
    /// `owner`, `clinician` or `front_desk`; no more than your own role.
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    #[serde(flatten)]
    pub info: TokenOut,
    /// The secret, shown only in this response.
    pub token: String,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = [TokenOut])))]
pub async fn list_tokens(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenOut>>, ApiError> {
    Ok(Json(
        st.store
            .list_api_tokens(caller.staff.id)
            .await?
            .into_iter()
            .map(TokenOut::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "people", request_body = TokenIn, security(("bearer" = [])),
    responses((status = 201, body = TokenCreated), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TokenIn>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let token = format!("{TOKEN_PREFIX}{}", signin::random_token());
    let hash = signin::token_hash(&token);
    let info = accounts::create_token(&st, &caller, &body.name, &body.role, &hash).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            info: info.into(),
            token,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "people", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    accounts::revoke_token(&st, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub channel: String,
    pub ip: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub patient_id: Option<i64>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditOut {
    fn from(e: AuditEntry) -> Self {
        AuditOut {
            id: e.id,
            at: e.at.to_string(),
            actor_id: e.actor_id,
            actor: e.actor_label,
            channel: e.channel,
            ip: e.ip,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            patient_id: e.patient_id,
            detail: e.detail,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this patient's events.
    pub patient_id: Option<i64>,
    /// 1–1000, default 100
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "people", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = [AuditOut]), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(st): State<AppState>,
    _caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditOut>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Invalid::one("limit", "Use a limit from 1 to 1000.").into());
    }
    let entries = match q.patient_id {
        Some(p) => st.store.patient_audit(p, limit).await?,
        None => st.store.recent_audit(limit).await?,
    };
    Ok(Json(entries.into_iter().map(AuditOut::from).collect()))
}
