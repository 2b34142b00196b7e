//! Session charts, stock, lots and recalls over JSON: the same rules and
//! refusals as the pages (see [`needlepoint_practice::charting`]).

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use needlepoint_domain::charting::{AmendmentInput, ZoneInput};
use needlepoint_practice::charting::{self, ChecklistInput, Session};
use needlepoint_practice::{access, stock};
use needlepoint_store::{Chart, Lot, LotUse, SupplyItem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A session's chart with its checklist as evaluated now.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub plan_id: Option<i64>,
    pub appointment_id: i64,
    pub session_number: Option<i64>,
    pub status: needlepoint_domain::charting::ChartStatus,
    /// What was recorded: anaesthetic and antiviral.
    pub checklist: serde_json::Value,
    /// Each checklist item with its state, why it is there and its source.
    pub checks: serde_json::Value,
    /// Whether needling may start.
    pub ready: bool,
    /// Zone records: zone, depth (µm), passes, device, speed, endpoint,
    /// notes, override_reason, flag.
    pub zones: serde_json::Value,
    pub lots: serde_json::Value,
    pub signed_at: Option<String>,
    pub signed_by: Option<i64>,
    pub needs_cosign: bool,
    /// Why the chart was opened on another day than the appointment's.
    pub off_day_reason: Option<String>,
    pub cosigned_at: Option<String>,
    pub cosigned_by: Option<i64>,
    pub amendments: serde_json::Value,
    /// Send this back when signing.
    pub version: i64,
}

fn v<T: Serialize>(x: &T) -> serde_json::Value {
    serde_json::to_value(x).unwrap_or_default()
}

fn out(cx: &Session) -> SessionOut {
    let c: &Chart = &cx.chart;
    SessionOut {
        id: c.id,
        clinic_id: c.clinic_id,
        patient_id: c.patient_id,
        plan_id: c.plan_id,
        appointment_id: c.appointment_id,
        session_number: c.session_number,
        status: c.status,
        checklist: v(&c.checklist),
        checks: v(&cx.checks),
        ready: cx.ready(),
        zones: v(&c.zones),
        lots: v(&c.lots),
        signed_at: c.signed_at.map(|t| t.to_string()),
        signed_by: c.signed_by,
        needs_cosign: c.needs_cosign,
        off_day_reason: c.off_day_reason.clone(),
        cosigned_at: c.cosigned_at.map(|t| t.to_string()),
        cosigned_by: c.cosigned_by,
        amendments: v(&c.amendments),
        version: c.version,
    }
}

/// The chart as it now stands.
async fn fresh(st: &AppState, c: Chart) -> Result<Json<SessionOut>, ApiError> {
    Ok(Json(out(&charting::session(st, c).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    /// Why the chart is opened on another day than the appointment's;
    /// required then, ignored on the day.
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/session", tag = "charting", params(("id" = i64, Path), OpenQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The session's chart, opened on first use", body = SessionOut),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Another day than the appointment's, and no reason given")))]
pub async fn open_session(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<OpenQuery>,
) -> Result<Json<SessionOut>, ApiError> {
    let a = access::appointment(&st, &caller, id).await?;
    let c = charting::open(&st, &caller, &a, q.reason.as_deref()).await?;
    fresh(&st, c).await
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "charting", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 404, body = ErrorBody)))]
pub async fn get_session(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<SessionOut>, ApiError> {
    Ok(Json(out(&charting::load(&st, &caller, id).await?)))
}

/// One step of the aftercare: its window in hours after the session (and
/// in words), and what to do or expect.
#[derive(Debug, Serialize, ToSchema)]
pub struct AftercareStepOut {
    pub from_hours: u32,
    pub to_hours: u32,
    /// "For the first 8 hours", "Days 3 to 7", "From day 7".
    pub window: String,
    pub text: String,
}

/// Warning signs of one urgency, with what the patient does.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningSignsOut {
    /// `emergency`, `today` or `days`.
    pub urgency: &'static str,
    pub instruction: &'static str,
    pub signs: Vec<String>,
}

/// A session's aftercare sheet, as the patient is sent it when the chart
/// is signed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AftercareOut {
    pub session_id: i64,
    pub duties: Vec<AftercareStepOut>,
    pub expect: Vec<AftercareStepOut>,
    /// What was put on the skin at the session.
    pub products: Vec<String>,
    /// Most urgent first.
    pub warnings: Vec<WarningSignsOut>,
    /// The whole sheet as the message's plain text.
    pub text: String,
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}/aftercare", tag = "charting", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AftercareOut), (status = 404, body = ErrorBody)))]
pub async fn get_aftercare(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<AftercareOut>, ApiError> {
    use needlepoint_domain::knowledge::Urgency;
    let sx = charting::load(&st, &caller, id).await?;
    let sheet = charting::aftercare_sheet(&st, &sx).await?;
    let steps = |list: &[needlepoint_domain::aftercare::Step]| {
        list.iter()
            .map(|s| AftercareStepOut {
                from_hours: s.from_hours,
                to_hours: s.to_hours,
                window: s.window.clone(),
                text: s.text.clone(),
            })
            .collect()
    };
    Ok(Json(AftercareOut {
        session_id: id,
        duties: steps(&sheet.duties),
        expect: steps(&sheet.expect),
        products: sheet.products.clone(),
        warnings: sheet
            .warnings
            .iter()
            .map(|(u, signs)| WarningSignsOut {
                urgency: match u {
                    Urgency::Emergency => "emergency",
                    Urgency::Today => "today",
                    Urgency::Days => "days",
                },
                instruction: u.instruction(),
                signs: signs.clone(),
            })
            .collect(),
        text: sheet.text(),
    }))
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/sessions", tag = "charting", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = [SessionOut]), (status = 404, body = ErrorBody)))]
pub async fn list_sessions(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<SessionOut>>, ApiError> {
    access::patient(&st, &caller, id).await?;
    let mut list = vec![];
    for c in st.store.patient_charts(id).await? {
        list.push(out(&charting::session(&st, c).await?));
    }
    Ok(Json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistIn {
    /// When the numbing cream went on: `HH:MM` today in the clinic's zone.
    #[serde(default)]
    pub anaesthetic_at: String,
    /// Why no anaesthetic was used, instead of a time.
    #[serde(default)]
    pub no_anaesthetic_reason: String,
    #[serde(default)]
    pub antiviral_taken: bool,
}

#[utoipa::path(put, path = "/api/v1/sessions/{id}/checklist", tag = "charting", params(("id" = i64, Path)),
    request_body = ChecklistIn, security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_checklist(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ChecklistIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let cx = charting::load(&st, &caller, id).await?;
    let input = ChecklistInput {
        anaesthetic_at: &b.anaesthetic_at,
        no_anaesthetic_reason: &b.no_anaesthetic_reason,
        antiviral_taken: b.antiviral_taken,
        applied_now: false,
    };
    let c = charting::save_checklist(&st, &caller, &cx, &input).await?;
    fresh(&st, c).await
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/start", tag = "charting", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 409, description = "A checklist item is not done", body = ErrorBody)))]
pub async fn start_session(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<SessionOut>, ApiError> {
    let cx = charting::load(&st, &caller, id).await?;
    let c = charting::start(&st, &caller, &cx).await?;
    fresh(&st, c).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneIn {
    /// Millimetres, e.g. `"0.75"`.
    pub depth: String,
    pub passes: String,
    /// A device code from the knowledge base (`skinpen`, `exceed`, …).
    pub device: String,
    #[serde(default)]
    pub speed: String,
    /// `erythema`, `pinpoint_bleeding` or `not_reached`.
    pub endpoint: String,
    #[serde(default)]
    pub notes: String,
    /// Needed above the area's usual range; the zone is then flagged.
    #[serde(default)]
    pub override_reason: String,
}

#[utoipa::path(put, path = "/api/v1/sessions/{id}/zones/{zone}", tag = "charting",
    params(("id" = i64, Path), ("zone" = String, Path, description = "An area code")),
    request_body = ZoneIn, security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_zone(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, zone)): Path<(i64, String)>,
    ApiJson(b): ApiJson<ZoneIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let cx = charting::load(&st, &caller, id).await?;
    let input = ZoneInput {
        zone,
        depth: b.depth,
        passes: b.passes,
        device: b.device,
        speed: b.speed,
        endpoint: b.endpoint,
        notes: b.notes,
        override_reason: b.override_reason,
    };
    let c = charting::save_zone(&st, &caller, &cx, &input).await?;
    fresh(&st, c).await
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}/zones/{zone}", tag = "charting",
    params(("id" = i64, Path), ("zone" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_zone(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, zone)): Path<(i64, String)>,
) -> Result<Json<SessionOut>, ApiError> {
    let sx = charting::load(&st, &caller, id).await?;
    let c = charting::remove_zone(&st, &caller, &sx, &zone).await?;
    fresh(&st, c).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotUseIn {
    pub lot_id: i64,
    #[serde(default)]
    pub quantity: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/lots", tag = "charting", params(("id" = i64, Path)),
    request_body = LotUseIn, security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 409, body = ErrorBody),
        (status = 422, description = "Expired, recalled or not in stock", body = ErrorBody)))]
pub async fn add_session_lot(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<LotUseIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let cx = charting::load(&st, &caller, id).await?;
    let q = b.quantity.unwrap_or(1).to_string();
    let c = charting::add_lot(&st, &caller, &cx, &b.lot_id.to_string(), &q).await?;
    fresh(&st, c).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The `version` of the chart you are signing.
    pub version: i64,
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/sign", tag = "charting", params(("id" = i64, Path)),
    request_body = SignIn, security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 409, body = ErrorBody)))]
pub async fn sign_session(
    State(st): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SignIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let cx = charting::load(&st, &caller, id).await?;
    let site = crate::view::site_url(&st, &headers);
    let c = charting::sign(&st, &caller, &cx, b.version, &site).await?;
    fresh(&st, c).await
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/cosign", tag = "charting", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 409, body = ErrorBody)))]
pub async fn cosign_session(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<SessionOut>, ApiError> {
    let cx = charting::load(&st, &caller, id).await?;
    let c = charting::cosign(&st, &caller, &cx).await?;
    fresh(&st, c).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentIn {
    /// A zone's code, or empty for the session as a whole.
    #[serde(default)]
    pub zone: String,
    pub text: String,
    pub reason: String,
    /// A corrected depth for the zone in mm (e.g. `0.75`), checked against
    /// the same guardrails as when it was charted.
    #[serde(default)]
    pub depth: String,
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/amendments", tag = "charting", params(("id" = i64, Path)),
    request_body = AmendmentIn, security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn amend_session(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AmendmentIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let cx = charting::load(&st, &caller, id).await?;
    let a = AmendmentInput {
        zone: b.zone,
        text: b.text,
        reason: b.reason,
        depth: b.depth,
    };
    let c = charting::amend(&st, &caller, &cx, &a).await?;
    fresh(&st, c).await
}

// ---- stock ----------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClinicQuery {
    pub clinic_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemOut {
    pub id: i64,
    pub clinic_id: i64,
    /// `cartridge`, `roller` or `product`.
    pub kind: String,
    pub name: String,
    pub supplier: String,
    pub intradermal: bool,
    pub reorder_at: i64,
    /// Units in lots neither expired nor recalled.
    pub usable: i64,
    pub low: bool,
}

impl From<SupplyItem> for ItemOut {
    fn from(i: SupplyItem) -> Self {
        ItemOut {
            low: i.usable <= i.reorder_at,
            id: i.id,
            clinic_id: i.clinic_id,
            kind: i.kind.as_str().into(),
            name: i.name,
            supplier: i.supplier,
            intradermal: i.intradermal,
            reorder_at: i.reorder_at,
            usable: i.usable,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/inventory", tag = "inventory", params(ClinicQuery),
    security(("bearer" = [])), responses((status = 200, body = [ItemOut])))]
pub async fn list_items(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ClinicQuery>,
) -> Result<Json<Vec<ItemOut>>, ApiError> {
    let items = stock::stock(&st, &caller, q.clinic_id).await?.items;
    Ok(Json(items.into_iter().map(ItemOut::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    pub clinic_id: i64,
    pub kind: String,
    pub name: String,
    pub supplier: String,
    #[serde(default)]
    pub intradermal: bool,
    #[serde(default)]
    pub reorder_at: i64,
}

#[utoipa::path(post, path = "/api/v1/inventory", tag = "inventory", request_body = ItemIn,
    security(("bearer" = [])),
    responses((status = 201, body = ItemOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_item(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<ItemIn>,
) -> Result<(StatusCode, Json<ItemOut>), ApiError> {
    let input = stock::ItemInput {
        clinic_id: b.clinic_id,
        kind: b.kind,
        name: b.name,
        supplier: b.supplier,
        intradermal: b.intradermal,
        reorder_at: Some(b.reorder_at),
    };
    let saved = stock::add_item(&st, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LotOut {
    pub id: i64,
    pub item_id: i64,
    pub clinic_id: i64,
    pub item_name: String,
    pub kind: String,
    pub lot_number: String,
    pub expires_on: String,
    pub quantity: i64,
    pub recalled_at: Option<String>,
    pub recall_reason: Option<String>,
    pub recall_notified_at: Option<String>,
}

impl From<Lot> for LotOut {
    fn from(l: Lot) -> Self {
        LotOut {
            id: l.id,
            item_id: l.item_id,
            clinic_id: l.clinic_id,
            item_name: l.item_name,
            kind: l.kind.as_str().into(),
            lot_number: l.lot_number,
            expires_on: l.expires_on.to_string(),
            quantity: l.quantity,
            recalled_at: l.recalled_at.map(|t| t.to_string()),
            recall_reason: l.recall_reason,
            recall_notified_at: l.recall_notified_at.map(|t| t.to_string()),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/lots", tag = "inventory", params(ClinicQuery),
    security(("bearer" = [])), responses((status = 200, body = [LotOut])))]
pub async fn list_lots(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ClinicQuery>,
) -> Result<Json<Vec<LotOut>>, ApiError> {
    let id = access::clinic(&caller, q.clinic_id)?;
    Ok(Json(
        st.store
            .lots(id)
            .await?
            .into_iter()
            .map(LotOut::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotIn {
    pub item_id: i64,
    pub lot_number: String,
    /// `YYYY-MM-DD`.
    pub expires_on: String,
    pub quantity: i64,
}

#[utoipa::path(post, path = "/api/v1/lots", tag = "inventory", request_body = LotIn,
    security(("bearer" = [])),
    responses((status = 201, body = LotOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn receive_lot(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<LotIn>,
) -> Result<(StatusCode, Json<LotOut>), ApiError> {
    let input = stock::LotInput {
        item_id: Some(b.item_id),
        lot_number: b.lot_number,
        expires_on: b.expires_on,
        quantity: Some(b.quantity),
    };
    let saved = stock::receive(&st, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

#[utoipa::path(get, path = "/api/v1/lots/{id}", tag = "inventory", params(("id" = i64, Path)),
    security(("bearer" = [])), responses((status = 200, body = LotOut), (status = 404, body = ErrorBody)))]
pub async fn get_lot(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<LotOut>, ApiError> {
    Ok(Json(access::lot(&st, &caller, id).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LotUseOut {
    pub session_id: i64,
    pub appointment_id: i64,
    pub patient_id: i64,
    pub patient_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub used_at: String,
    pub quantity: i64,
}

impl From<LotUse> for LotUseOut {
    fn from(u: LotUse) -> Self {
        LotUseOut {
            session_id: u.chart_id,
            appointment_id: u.appointment_id,
            patient_id: u.patient_id,
            patient_name: u.patient_name,
            email: u.email,
            phone: u.phone,
            used_at: u.used_at.to_string(),
            quantity: u.quantity,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/lots/{id}/uses", tag = "inventory", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Every session (and patient) that used the lot", body = [LotUseOut])))]
pub async fn lot_uses(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<LotUseOut>>, ApiError> {
    access::lot(&st, &caller, id).await?;
    Ok(Json(
        st.store
            .lot_uses(id)
            .await?
            .into_iter()
            .map(LotUseOut::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallIn {
    /// From the maker's notice.
    pub reason: String,
    /// Queue a message to every patient who had the lot (at any clinic), now.
    #[serde(default)]
    pub notify: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecallOut {
    pub lot: LotOut,
    /// Every session that used this lot or the same lot at another clinic.
    pub uses: Vec<LotUseOut>,
    /// Messages queued by this call, at every clinic with the lot.
    pub messages_queued: usize,
}

#[utoipa::path(post, path = "/api/v1/lots/{id}/recall", tag = "inventory", params(("id" = i64, Path)),
    request_body = RecallIn, security(("bearer" = [])),
    responses((status = 200, body = RecallOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn recall_lot(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RecallIn>,
) -> Result<Json<RecallOut>, ApiError> {
    let r = stock::recall(&st, &caller, id, &b.reason, b.notify).await?;
    Ok(Json(RecallOut {
        lot: r.lot.into(),
        uses: r.uses.into_iter().map(LotUseOut::from).collect(),
        messages_queued: r.messages_queued,
    }))
}
