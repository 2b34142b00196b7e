//! A session's chart: the checklist that gates the start, the zone map,
//! lots used, photos, sign-off, the second sign-off and amendments; and the
//! patient's photos side by side.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::photos::{self, PhotoError};
use crate::view::{local_time, render, Shell};
use crate::zone_map::{self, ZoneState};
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::charting::{view_label, AmendmentInput, Anaesthetic, Endpoint, ZoneInput};
use needlepoint_domain::planning::mm;
use needlepoint_practice::access;
use needlepoint_practice::charting::{self, ChecklistInput, Session};
use needlepoint_practice::Error;
use needlepoint_store::{Chart, NewPhoto, Photo};
use std::collections::HashMap;

pub struct CheckRow {
    name: String,
    why: String,
    source: String,
    state: &'static str,
    detail: String,
}

pub struct ZoneRow {
    code: String,
    name: String,
    depth: String,
    passes: u32,
    device: String,
    speed: String,
    endpoint: &'static str,
    notes: String,
    flag: Option<String>,
    reason: Option<String>,
    amendments: Vec<(String, String, String)>,
}

pub struct ZoneForm {
    code: String,
    name: String,
    guideline: String,
    note: String,
    nogo: Option<String>,
    charted: bool,
}

pub struct LotRow {
    lot_id: i64,
    item: String,
    kind: &'static str,
    lot_number: String,
    expires_on: String,
    quantity: i64,
    warning: Option<String>,
}

pub struct PhotoRow {
    id: i64,
    view: String,
}

#[derive(Template)]
#[template(path = "chart.html")]
struct ChartPage {
    shell: Shell,
    id: i64,
    patient_id: i64,
    patient: String,
    appointment_id: i64,
    title: String,
    when: String,
    /// Why it was opened on another day than the appointment's.
    off_day_reason: Option<String>,
    status: String,
    version: i64,
    checks: Vec<CheckRow>,
    ready: bool,
    anaesthetic_at: String,
    no_anaesthetic: String,
    antiviral_taken: bool,
    map: String,
    zone_form: Option<ZoneForm>,
    zones: Vec<ZoneRow>,
    devices: Vec<(String, String)>,
    endpoints: Vec<(&'static str, &'static str)>,
    lots: Vec<LotRow>,
    lot_choices: Vec<(i64, String)>,
    views: Vec<(String, String, bool)>,
    /// The view offered first: the first one needed and not yet taken.
    next_view: String,
    /// While the numbing cream is not yet on long enough: when it will be
    /// (milliseconds since 1970, for the countdown; and the clinic's time).
    numbing_ready: Option<(i64, String)>,
    /// The server's now, in the same unit: the countdown counts from it,
    /// not from a tablet's own clock.
    now_ms: i64,
    photos: Vec<PhotoRow>,
    photos_allowed: bool,
    photo_use: String,
    upload_csrf: String,
    signed_line: String,
    cosign_line: String,
    needs_cosign: bool,
    session_amendments: Vec<(String, String, String)>,
    problem: Vec<String>,
    v: FormValues,
    errors: HashMap<String, String>,
}

impl ChartPage {
    fn err(&self, field: &str) -> &str {
        self.errors.get(field).map(String::as_str).unwrap_or("")
    }

    /// The photo size limit, told before the upload and checked by the
    /// browser so that a phone does not send 30 MB to be refused.
    fn photo_max_bytes(&self) -> usize {
        photos::MAX_BYTES
    }

    fn photo_max_mb(&self) -> usize {
        photos::MAX_BYTES / (1024 * 1024)
    }
}

/// "1.00 mm", as pens are labelled.
fn depth_text(d: needlepoint_domain::Depth) -> String {
    d.to_string()
}

/// What a problem puts on the page: its lines and its fields' messages.
struct Problem {
    lines: Vec<String>,
    fields: HashMap<String, String>,
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let fields = match &e {
            Error::Invalid(i) => i
                .errors
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect(),
            _ => HashMap::new(),
        };
        let lines = match &e {
            Error::Invalid(_) => std::iter::once("Nothing was saved:".to_string())
                .chain(e.lines())
                .collect(),
            _ => e.lines(),
        };
        Problem { lines, fields }
    }
}

async fn page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    cx: Session,
    selected: Option<&str>,
    v: FormValues,
    problem: Option<Problem>,
) -> Result<ChartPage, PageError> {
    let c = &cx.chart;
    let kb = &cx.kb;
    let staff: HashMap<i64, String> = st
        .store
        .list_staff(caller.staff.organisation_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let checks = cx
        .checks
        .iter()
        .map(|k| CheckRow {
            name: k.name.clone(),
            why: k.why.clone(),
            source: k.source.clone(),
            state: k.state.as_str(),
            detail: k.state.detail().to_string(),
        })
        .collect();
    let tz = jiff::tz::TimeZone::get(&cx.zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let (anaesthetic_at, no_anaesthetic) = match &c.checklist.anaesthetic {
        Anaesthetic::AppliedAt { at } => {
            (at.to_zoned(tz).strftime("%H:%M").to_string(), String::new())
        }
        Anaesthetic::NotUsed { reason } => (String::new(), reason.clone()),
        Anaesthetic::NotRecorded => (String::new(), String::new()),
    };
    let planned: Vec<String> = cx.consented.clone();
    let state = |z: &str| -> ZoneState {
        if kb.no_go_zones.iter().any(|n| n.code == z) {
            return ZoneState::NoGo;
        }
        // The map's labels are the number alone; the legend says mm.
        let label = |d| depth_text(d).trim_end_matches(" mm").to_string();
        match c.zones.iter().find(|r| r.zone == z) {
            Some(r) if r.flag.is_some() => ZoneState::Flagged(label(r.depth)),
            Some(r) => ZoneState::Charted(label(r.depth)),
            None if cx.barred.iter().any(|b| b.zone == z) => ZoneState::Barred(
                cx.barred
                    .iter()
                    .find(|b| b.zone == z)
                    .map(|b| b.why.clone())
                    .unwrap_or_default(),
            ),
            None if planned.iter().any(|p| p == z) => ZoneState::Planned,
            None => ZoneState::Off,
        }
    };
    let id = c.id;
    let map = zone_map::render(
        kb,
        &|z| format!("/sessions/{id}?zone={z}#zone-form"),
        &state,
        selected,
    );
    let zone_form = selected.map(|code| {
        let area = kb.area(code);
        let plan_area = cx
            .plan
            .as_ref()
            .and_then(|p| p.plan.areas.iter().find(|a| a.area == code));
        ZoneForm {
            code: code.to_string(),
            name: area.map_or_else(
                || {
                    kb.no_go_zones
                        .iter()
                        .find(|z| z.code == code)
                        .map_or(code.to_string(), |z| z.name.clone())
                },
                |a| a.name.clone(),
            ),
            guideline: area.map_or(String::new(), |a| {
                format!("{}–{} mm ({})", mm(a.depth.min), mm(a.depth.max), a.source)
            }),
            note: plan_area.map_or(String::new(), |p| {
                format!("Planned {}–{} mm.", mm(p.depth.min), mm(p.depth.max))
            }),
            nogo: kb
                .no_go_zones
                .iter()
                .find(|z| z.code == code)
                .map(|z| format!("{} is never needled ({}).", z.name, z.source))
                .or_else(|| {
                    let b = cx.barred.iter().find(|b| b.zone == code)?;
                    let name = area.map_or(code, |a| a.name.as_str());
                    Some(format!("{name} must not be needled today: {}.", b.why))
                }),
            charted: c.zones.iter().any(|z| z.zone == code),
        }
    });
    // The form starts from what was charted, else from the plan.
    let mut v = v;
    if v.0.is_empty() {
        if let Some(code) = selected {
            if let Some(r) = c.zones.iter().find(|z| z.zone == code) {
                v = FormValues(vec![
                    ("depth".into(), mm(r.depth)),
                    ("passes".into(), r.passes.to_string()),
                    ("device".into(), r.device.clone()),
                    ("speed".into(), r.speed.clone()),
                    ("endpoint".into(), r.endpoint.as_str().into()),
                    ("notes".into(), r.notes.clone()),
                    (
                        "override_reason".into(),
                        r.override_reason.clone().unwrap_or_default(),
                    ),
                ]);
            } else if let Some(p) = cx.plan.as_ref() {
                let depth = p
                    .plan
                    .areas
                    .iter()
                    .find(|a| a.area == code)
                    .map(|a| mm(a.depth.max))
                    .unwrap_or_default();
                v = FormValues(vec![
                    ("depth".into(), depth),
                    ("passes".into(), "3".into()),
                    ("device".into(), p.plan.device.clone()),
                ]);
            }
        }
    }
    let amend_rows = |zone: Option<&str>| -> Vec<(String, String, String)> {
        c.amendments
            .iter()
            .filter(|a| a.zone.as_deref() == zone)
            .map(|a| {
                (
                    a.text.clone(),
                    a.reason.clone(),
                    format!(
                        "{}, {}",
                        a.created_by_name,
                        local_time(a.created_at, &cx.zone)
                    ),
                )
            })
            .collect()
    };
    let zones = c
        .zones
        .iter()
        .map(|z| ZoneRow {
            code: z.zone.clone(),
            name: kb.area(&z.zone).map_or(z.zone.clone(), |a| a.name.clone()),
            depth: depth_text(z.depth),
            passes: z.passes,
            device: kb
                .devices
                .iter()
                .find(|d| d.code == z.device)
                .map_or(z.device.clone(), |d| d.name.clone()),
            speed: z.speed.clone(),
            endpoint: z.endpoint.label(),
            notes: z.notes.clone(),
            flag: z.flag.clone(),
            reason: z.override_reason.clone(),
            amendments: amend_rows(Some(&z.zone)),
        })
        .collect();
    let lots = c
        .lots
        .iter()
        .map(|l| LotRow {
            lot_id: l.lot_id,
            item: l.item_name.clone(),
            kind: l.kind.label(),
            lot_number: l.lot_number.clone(),
            expires_on: crate::view::long_date(l.expires_on),
            quantity: l.quantity,
            warning: l.warning.clone(),
        })
        .collect();
    // Every lot of the clinic is offered; the unusable ones say why, and
    // are refused if chosen.
    let lot_choices = st
        .store
        .lots(c.clinic_id)
        .await?
        .into_iter()
        .filter(|l| l.quantity > 0 || l.recalled_at.is_some())
        .map(|l| {
            let why = needlepoint_domain::charting::lot_refusal(&l.facts(), cx.today)
                .map(|_| {
                    if l.recalled_at.is_some() {
                        " — RECALLED".to_string()
                    } else {
                        " — EXPIRED".to_string()
                    }
                })
                .unwrap_or_default();
            (
                l.id,
                format!(
                    "{} · lot {} · exp. {} · {} left{why}",
                    l.item_name,
                    l.lot_number,
                    crate::view::long_date(l.expires_on),
                    l.quantity
                ),
            )
        })
        .collect();
    let photos_all: Vec<Photo> = st
        .store
        .patient_photos(c.patient_id)
        .await?
        .into_iter()
        .filter(|p| p.chart_id == Some(c.id))
        .collect();
    let areas = &cx.planned;
    let required = needlepoint_domain::charting::required_views(kb, areas);
    let next_view = required
        .iter()
        .find(|v| !photos_all.iter().any(|p| &p.view == *v))
        .or(required.first())
        .cloned()
        .unwrap_or_default();
    let numbing_ready = match &c.checklist.anaesthetic {
        Anaesthetic::AppliedAt { at } => {
            let ready =
                *at + jiff::SignedDuration::from_mins(i64::from(kb.charting.min_numbing_minutes));
            (ready > st.now()).then(|| {
                (
                    ready.as_millisecond(),
                    ready
                        .to_zoned(
                            jiff::tz::TimeZone::get(&cx.zone).unwrap_or(jiff::tz::TimeZone::UTC),
                        )
                        .strftime("%H:%M")
                        .to_string(),
                )
            })
        }
        _ => None,
    };
    let mut views: Vec<(String, String, bool)> = needlepoint_domain::charting::all_views(kb)
        .into_iter()
        .filter(|(code, _)| {
            !code.starts_with("closeup_") || areas.iter().any(|a| *code == format!("closeup_{a}"))
        })
        .map(|(code, label)| {
            let needed = required.contains(&code);
            (
                code,
                if needed {
                    format!("{label} (needed)")
                } else {
                    label
                },
                needed,
            )
        })
        .collect();
    views.sort_by_key(|(_, _, needed)| !needed);
    let signed_line = match (c.signed_at, c.signed_by) {
        (Some(at), Some(by)) => format!(
            "Signed by {} on {}",
            staff.get(&by).cloned().unwrap_or_default(),
            local_time(at, &cx.zone)
        ),
        _ => String::new(),
    };
    let cosign_line = match (c.cosigned_at, c.cosigned_by) {
        (Some(at), Some(by)) => format!(
            "Second sign-off by {} on {}",
            staff.get(&by).cloned().unwrap_or_default(),
            local_time(at, &cx.zone)
        ),
        _ => String::new(),
    };
    let (problem, errors) = match problem {
        Some(p) => (p.lines, p.fields),
        None => (vec![], HashMap::new()),
    };
    Ok(ChartPage {
        shell: Shell::new(caller, csrf, "patients"),
        id: c.id,
        patient_id: c.patient_id,
        patient: cx.patient.details.full_name(),
        appointment_id: c.appointment_id,
        title: match c.session_number {
            Some(n) => format!("Session {n}"),
            None => "Session".into(),
        },
        when: local_time(cx.appointment.starts_at, &cx.zone),
        off_day_reason: c.off_day_reason.clone(),
        status: c.status.as_str().to_string(),
        version: c.version,
        ready: cx.ready(),
        checks,
        anaesthetic_at,
        no_anaesthetic,
        antiviral_taken: c.checklist.antiviral_taken,
        map,
        zone_form,
        zones,
        devices: kb
            .devices
            .iter()
            .filter(|d| d.code != "home_roller")
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect(),
        endpoints: Endpoint::ALL
            .iter()
            .map(|e| (e.as_str(), e.label()))
            .collect(),
        lots,
        lot_choices,
        views,
        next_view,
        numbing_ready,
        now_ms: st.now().as_millisecond(),
        photos: photos_all
            .iter()
            .map(|p| PhotoRow {
                id: p.id,
                view: view_label(kb, &p.view).unwrap_or_else(|| p.view.clone()),
            })
            .collect(),
        // Photos wait for the consent that says how they may be used.
        photos_allowed: cx.photo_use.is_some() && cx.photos_allowed(),
        photo_use: cx
            .photo_use
            .map_or("no consent signed".into(), |u| u.label().to_string()),
        upload_csrf: csrf.0.clone(),
        signed_line,
        cosign_line,
        needs_cosign: c.needs_cosign && c.cosigned_at.is_none(),
        session_amendments: amend_rows(None),
        problem,
        v,
        errors,
    })
}

async fn show_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    chart: Chart,
    selected: Option<&str>,
    v: FormValues,
    problem: Option<Problem>,
) -> Result<Response, PageError> {
    let failed = problem.is_some();
    let cx = charting::session(st, chart).await?;
    let p = page(st, caller, csrf, cx, selected, v, problem).await?;
    let code = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((code, render(&p)).into_response())
}

#[derive(Template)]
#[template(path = "chart_open.html")]
struct OpenPage {
    shell: Shell,
    appointment_id: i64,
    patient_id: i64,
    patient: String,
    what: String,
    day: String,
    reason: String,
    error: Option<String>,
}

/// Opens the session's chart, with a reason when it is not the session's
/// day; without one, the page asks for it.
async fn open_with(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    id: i64,
    reason: Option<&str>,
) -> Result<Response, PageError> {
    let a = access::appointment(st, caller, id).await?;
    match charting::open(st, caller, &a, reason).await {
        Ok(c) => Ok(Redirect::to(&format!("/sessions/{}", c.id)).into_response()),
        Err(Error::Invalid(inv)) if inv.message_for("reason").is_some() => {
            let zone = jiff::tz::TimeZone::get(&a.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            let page = OpenPage {
                shell: Shell::new(caller, csrf, "calendar"),
                appointment_id: a.id,
                patient_id: a.patient_id,
                patient: st.store.patient(a.patient_id).await?.details.full_name(),
                what: super::appointments::kind_label(&a),
                day: crate::view::long_date(a.starts_at.to_zoned(zone).date()),
                reason: reason.unwrap_or("").to_string(),
                // Asked for the first time: no error yet, just the question.
                error: reason.and(inv.message_for("reason").map(str::to_string)),
            };
            let code = if reason.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            Ok((code, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Conflict(e.lines().join(" "))),
    }
}

/// `GET /appointments/{id}/chart`: opens the session's chart on its day.
pub async fn open(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    open_with(&st, &caller, &csrf, id, None).await
}

/// `POST /appointments/{id}/chart`: opens it on another day, with a reason.
pub async fn open_off_day(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    open_with(&st, &caller, &csrf, id, Some(v.get("reason"))).await
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    zone: Option<String>,
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let chart = access::chart(&st, &caller, id).await?;
    show_page(
        &st,
        &caller,
        &csrf,
        chart,
        q.zone.as_deref(),
        FormValues::default(),
        None,
    )
    .await
}

/// Where a change returns to: the anchor on success, the zone form (if any)
/// when it comes back with a problem.
struct Back<'a> {
    anchor: &'a str,
    zone: Option<String>,
}

fn back(anchor: &str) -> Back<'_> {
    Back { anchor, zone: None }
}

/// Runs a change; on success back to the chart, else the chart again with
/// the problem and what was typed.
async fn act<F, Fut>(
    (st, caller, csrf): (AppState, Caller, CsrfToken),
    id: i64,
    v: FormValues,
    to: Back<'_>,
    f: F,
) -> Result<Response, PageError>
where
    F: FnOnce(AppState, Caller, Session, FormValues) -> Fut,
    Fut: std::future::Future<Output = Result<Chart, Error>>,
{
    let chart = access::chart(&st, &caller, id).await?;
    let cx = charting::session(&st, chart.clone()).await?;
    match f(st.clone(), caller.clone(), cx, v.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}{}", to.anchor)).into_response()),
        Err(e) if !e.is_answer_to_input() => Err(e.into()),
        Err(e) => {
            let chart = st.store.chart(id).await?;
            show_page(
                &st,
                &caller,
                &csrf,
                chart,
                to.zone.as_deref(),
                v,
                Some(e.into()),
            )
            .await
        }
    }
}

pub async fn checklist(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    act(
        (st, caller, csrf),
        id,
        FormValues(f),
        back("#checklist"),
        |st, caller, cx, v| async move {
            let input = ChecklistInput {
                anaesthetic_at: v.get("anaesthetic_at"),
                no_anaesthetic_reason: v.get("no_anaesthetic"),
                antiviral_taken: v.get("antiviral_taken") == "1",
                applied_now: v.get("cream_on") == "now",
            };
            charting::save_checklist(&st, &caller, &cx, &input).await
        },
    )
    .await
}

pub async fn start(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    act(
        (st, caller, csrf),
        id,
        FormValues::default(),
        back("#zones"),
        |st, caller, cx, _| async move { charting::start(&st, &caller, &cx).await },
    )
    .await
}

pub async fn save_zone(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let zone = v.get("zone").to_string();
    act(
        (st, caller, csrf),
        id,
        v,
        Back {
            anchor: "#zones",
            zone: Some(zone),
        },
        |st, caller, cx, v| async move {
            let input = ZoneInput {
                zone: v.get("zone").into(),
                depth: v.get("depth").into(),
                passes: v.get("passes").into(),
                device: v.get("device").into(),
                speed: v.get("speed").into(),
                endpoint: v.get("endpoint").into(),
                notes: v.get("notes").into(),
                override_reason: v.get("override_reason").into(),
            };
            charting::save_zone(&st, &caller, &cx, &input).await
        },
    )
    .await
}

pub async fn remove_zone(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, zone)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    act(
        (st, caller, csrf),
        id,
        FormValues::default(),
        back("#zones"),
        |st, caller, cx, _| async move { charting::remove_zone(&st, &caller, &cx, &zone).await },
    )
    .await
}

pub async fn add_lot(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    act(
        (st, caller, csrf),
        id,
        FormValues(f),
        back("#lots"),
        |st, caller, cx, v| async move {
            charting::add_lot(&st, &caller, &cx, v.get("lot_id"), v.get("quantity")).await
        },
    )
    .await
}

pub async fn remove_lot(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, lot)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    act(
        (st, caller, csrf),
        id,
        FormValues::default(),
        back("#lots"),
        |st, caller, cx, _| async move { charting::remove_lot(&st, &caller, &cx, lot).await },
    )
    .await
}

pub async fn sign(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let site = crate::view::site_url(&st, &headers);
    act(
        (st, caller, csrf),
        id,
        FormValues(f),
        back("#sign"),
        |st, caller, cx, v| async move {
            let version = v.get("version").parse().unwrap_or(-1);
            charting::sign(&st, &caller, &cx, version, &site).await
        },
    )
    .await
}

pub async fn cosign(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    act(
        (st, caller, csrf),
        id,
        FormValues::default(),
        back("#sign"),
        |st, caller, cx, _| async move { charting::cosign(&st, &caller, &cx).await },
    )
    .await
}

pub async fn amend(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    act(
        (st, caller, csrf),
        id,
        FormValues(f),
        back("#amend"),
        |st, caller, cx, v| async move {
            let a = AmendmentInput {
                zone: v.get("zone").into(),
                text: v.get("text").into(),
                reason: v.get("reason").into(),
                depth: v.get("depth").into(),
            };
            charting::amend(&st, &caller, &cx, &a).await
        },
    )
    .await
}

/// The largest upload read to its end when refused. A server that answers
/// before the body is read closes the connection under the sender, and a
/// browser then shows "connection reset" instead of the reason; a phone's
/// 30 MB photo is read (and thrown away) so that its sender sees why.
/// Beyond this the refusal comes at once, from the announced length.
pub const READ_WHEN_REFUSED: usize = 4 * photos::MAX_BYTES;

/// Reads a form with a photo (`photo`): its text fields and the file's
/// bytes, keeping at most the size limit.
pub async fn read_upload(
    headers: &HeaderMap,
    mut m: Multipart,
) -> Result<(FormValues, Vec<u8>), PhotoError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if announced > READ_WHEN_REFUSED {
        return Err(PhotoError::TooLarge(announced));
    }
    // Room for the announced size at once: growing by doubling would hold
    // up to twice the photo while it waits its turn to be decoded.
    let (mut fields, mut data) = (
        FormValues::default(),
        Vec::with_capacity(announced.min(photos::MAX_BYTES)),
    );
    // Bytes past the limit are counted, not kept.
    let mut over = 0usize;
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(PhotoError::TooLarge(READ_WHEN_REFUSED))
            }
            Err(_) => return Err(PhotoError::Unreadable),
        };
        match field.name().map(str::to_string) {
            Some(name) if name != "photo" => {
                let text = field.text().await.map_err(|_| PhotoError::Unreadable)?;
                fields.0.push((name, text));
            }
            Some(_) => {
                let mut field = field;
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        PhotoError::TooLarge(READ_WHEN_REFUSED)
                    } else {
                        PhotoError::Unreadable
                    }
                })? {
                    if over > 0 || data.len() + chunk.len() > photos::MAX_BYTES {
                        over += chunk.len();
                    } else {
                        data.extend_from_slice(&chunk);
                    }
                }
            }
            _ => {}
        }
    }
    if over > 0 {
        return Err(PhotoError::TooLarge(data.len() + over));
    }
    Ok((fields, data))
}

/// Checks, cleans and keeps an uploaded photo for a chart.
pub async fn keep_photo(
    st: &AppState,
    caller: &Caller,
    sx: &Session,
    view: &str,
    data: Vec<u8>,
) -> Result<Photo, Error> {
    charting::may_keep_photo(sx, view)?;
    let cleaned = photos::clean_and_keep(&st.config.data_dir, data).await?;
    let photo = NewPhoto {
        clinic_id: sx.chart.clinic_id,
        patient_id: sx.chart.patient_id,
        chart_id: Some(sx.chart.id),
        view: view.to_string(),
        sha256: cleaned.sha256,
        width: i64::from(cleaned.width),
        height: i64::from(cleaned.height),
        bytes: cleaned.jpeg.len() as i64,
    };
    charting::add_photo(st, caller, sx, &photo).await
}

pub async fn upload_photo(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    headers: HeaderMap,
    m: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let chart = access::chart(&st, &caller, id).await?;
    // At most two photos are in memory at once, from their first byte read
    // to kept: eight 50-megapixel uploads at once then need two bodies (up
    // to 25 MB each) and one decode (`DECODING` in `keep_photo`), not eight
    // bodies. The others wait with their bytes still in the network buffers.
    static IN_MEMORY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let _held = IN_MEMORY
        .acquire()
        .await
        .map_err(|e| PageError::Internal(format!("photo uploads: {e}")))?;
    let upload = match m {
        Ok(m) => read_upload(&headers, m).await,
        Err(_) => Err(PhotoError::Empty),
    };
    let (fields, data) = match upload {
        Ok(u) => u,
        Err(e) => {
            let p = Problem {
                lines: vec![e.message()],
                fields: HashMap::from([("photo".to_string(), e.message())]),
            };
            let mut resp = show_page(
                &st,
                &caller,
                &csrf,
                chart,
                None,
                FormValues::default(),
                Some(p),
            )
            .await?;
            if matches!(e, PhotoError::TooLarge(_)) {
                *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            }
            return Ok(resp);
        }
    };
    let cx = charting::session(&st, chart.clone()).await?;
    let view = fields.get("view").to_string();
    let v = FormValues(vec![("view".into(), view.clone())]);
    match keep_photo(&st, &caller, &cx, &view, data).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}#photos")).into_response()),
        Err(e) if !e.is_answer_to_input() => Err(e.into()),
        Err(e) => show_page(&st, &caller, &csrf, chart, None, v, Some(e.into())).await,
    }
}

#[derive(serde::Deserialize)]
pub struct PhotoQuery {
    #[serde(default)]
    thumb: bool,
}

/// `GET /photos/{id}`: the cleaned image (or its thumbnail).
pub async fn photo_file(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<PhotoQuery>,
) -> Result<Response, PageError> {
    let p = st.store.photo(id).await?;
    if !caller.sees_clinic(p.clinic_id) {
        return Err(PageError::NotFound);
    }
    let path = photos::path(&st.config.data_dir, &p.sha256, q.thumb);
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(error = %e, path = %path.display(), "photo file missing");
        PageError::NotFound
    })?;
    // A patient's photo is not kept in the browser's cache: on a shared
    // workstation the next user could find it there (the shell's default
    // Cache-Control is no-store).
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

#[derive(Template)]
#[template(path = "photos.html")]
struct PhotosPage {
    shell: Shell,
    patient_id: i64,
    patient: String,
    photos: Vec<(i64, String, String)>,
    views: Vec<(String, String)>,
    view: String,
    before: Option<(i64, String)>,
    after: Option<(i64, String)>,
    choices: Vec<(i64, String)>,
}

#[derive(serde::Deserialize)]
pub struct CompareQuery {
    view: Option<String>,
    before: Option<i64>,
    after: Option<i64>,
}

/// `GET /patients/{id}/photos`: every photo, and one view before and after
/// side by side, with an overlay slider.
pub async fn patient_photos(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<CompareQuery>,
) -> Result<Response, PageError> {
    let patient = access::patient(&st, &caller, id).await?;
    let kb = st.clinic_kb(patient.clinic_id).await?;
    let clinic = st.store.clinic(patient.clinic_id).await?;
    let all = st.store.patient_photos(id).await?;
    let charts: HashMap<i64, Option<i64>> = st
        .store
        .patient_charts(id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.session_number))
        .collect();
    let describe = |p: &Photo| {
        let session = p
            .chart_id
            .and_then(|c| charts.get(&c).copied().flatten())
            .map_or(String::new(), |n| format!("session {n}, "));
        format!(
            "{session}{}",
            local_time(p.created_at, &clinic.details.time_zone)
        )
    };
    let mut views: Vec<(String, String)> = vec![];
    for p in &all {
        if !views.iter().any(|(c, _)| *c == p.view) {
            views.push((
                p.view.clone(),
                view_label(&kb, &p.view).unwrap_or(p.view.clone()),
            ));
        }
    }
    let view = q
        .view
        .filter(|v| views.iter().any(|(c, _)| c == v))
        .or_else(|| views.first().map(|(c, _)| c.clone()))
        .unwrap_or_default();
    let of_view: Vec<&Photo> = all.iter().filter(|p| p.view == view).collect();
    let pick = |wanted: Option<i64>, default: Option<&&Photo>| {
        wanted
            .and_then(|w| of_view.iter().find(|p| p.id == w))
            .or(default)
            .map(|p| (p.id, describe(p)))
    };
    let before = pick(q.before, of_view.first());
    let after = pick(q.after, of_view.last()).filter(|a| Some(a.0) != before.as_ref().map(|b| b.0));
    Ok(render(&PhotosPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        patient_id: id,
        patient: patient.details.full_name(),
        photos: all
            .iter()
            .map(|p| {
                (
                    p.id,
                    view_label(&kb, &p.view).unwrap_or(p.view.clone()),
                    describe(p),
                )
            })
            .collect(),
        choices: of_view.iter().map(|p| (p.id, describe(p))).collect(),
        views,
        view,
        before,
        after,
    }))
}
