//! Treatment plans: propose from the screening, edit within guardrails,
//! quote, sign the consent (in the clinic or through a link), move through
//! the lifecycle, and print plan + quote + consent.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, long_date, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::clinic::format_money;
use needlepoint_domain::knowledge::{DepthRange, Interval, KnowledgeBase};
use needlepoint_domain::plan::{PhotoUse, Plan, PlanStatus};
use needlepoint_domain::pricing::Quote;
use needlepoint_domain::Invalid;
use needlepoint_practice::access;
use needlepoint_practice::planning::{self, ConsentInput};
use needlepoint_practice::signin;
use needlepoint_practice::Error;
use needlepoint_store::{ConsentRecord, LinkRefusal, Patient, PlanRecord};
use std::net::SocketAddr;

/// How long a consent link works.
use needlepoint_practice::planning::LINK_DAYS;

fn area_name(kb: &KnowledgeBase, code: &str) -> String {
    kb.area(code).map_or(code.to_string(), |a| a.name.clone())
}

pub struct PlanRow {
    id: i64,
    status: &'static str,
    summary: String,
    created: String,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct ListPage {
    shell: Shell,
    id: i64,
    name: String,
    devices: Vec<(String, String)>,
    rows: Vec<PlanRow>,
    error: Option<String>,
}

async fn list_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    error: Option<String>,
) -> Result<ListPage, PageError> {
    let kb = st.clinic_kb(p.clinic_id).await?;
    let zone = st.store.clinic(p.clinic_id).await?.details.time_zone;
    let rows = st
        .store
        .plans(p.id)
        .await?
        .into_iter()
        .map(|r| PlanRow {
            id: r.id,
            status: r.status.label(),
            summary: r
                .plan
                .tracks
                .iter()
                .map(|t| {
                    format!(
                        "{} × {} ({})",
                        t.sessions,
                        t.areas
                            .iter()
                            .map(|a| area_name(&kb, a))
                            .collect::<Vec<_>>()
                            .join(", "),
                        String::from(t.interval)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            created: local_time(r.created_at, &zone),
        })
        .collect();
    Ok(ListPage {
        shell: Shell::new(caller, csrf, "patients"),
        id: p.id,
        name: p.details.full_name(),
        devices: kb
            .devices
            .iter()
            .filter(|d| d.code != "home_roller")
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect(),
        rows,
        error,
    })
}

pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    Ok(render(&list_page(&st, &caller, &csrf, &p, None).await?))
}

pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let v = FormValues(f);
    let problem = match planning::create(&st, &caller, &p, v.get("device")).await {
        Ok(plan) => {
            return Ok(Redirect::to(&format!("/patients/{id}/plans/{}", plan.id)).into_response())
        }
        Err(e) if e.is_answer_to_input() => e.lines().join(" "),
        Err(e) => return Err(e.into()),
    };
    let page = list_page(&st, &caller, &csrf, &p, Some(problem)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

pub struct AreaRow {
    index: usize,
    name: String,
    guideline: String,
    min: String,
    max: String,
    reason: String,
    flagged: Option<String>,
}

/// One track's part of the quote.
pub struct TrackQuoteView {
    /// The track's areas, when the plan has several.
    heading: String,
    lines: Vec<(String, String)>,
    per_session: String,
    sessions: u32,
    course: String,
}

pub struct QuoteView {
    tracks: Vec<TrackQuoteView>,
    /// The tracks' courses together, when there are several.
    course: Option<String>,
    package: Option<(String, String)>,
    tax: String,
    tax_note: String,
    total: String,
}

fn quote_view(kb: &KnowledgeBase, q: &Quote) -> QuoteView {
    let m = |x: i64| format_money(x, &q.currency);
    let several = q.tracks.len() > 1;
    QuoteView {
        tracks: q
            .tracks
            .iter()
            .map(|t| TrackQuoteView {
                heading: if several {
                    t.areas
                        .iter()
                        .map(|a| area_name(kb, a))
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    String::new()
                },
                lines: t
                    .session_lines
                    .iter()
                    .map(|l| (area_name(kb, &l.label), m(l.amount_minor)))
                    .collect(),
                per_session: m(t.per_session),
                sessions: t.sessions,
                course: m(t.course),
            })
            .collect(),
        course: several.then(|| m(q.course)),
        package: q
            .package
            .as_ref()
            .map(|l| (l.label.clone(), m(l.amount_minor))),
        tax: m(q.tax),
        tax_note: format!(
            "{} tax at {}.{:02} %",
            if q.tax_included { "Including" } else { "Plus" },
            q.tax_rate_bp / 100,
            q.tax_rate_bp % 100
        ),
        total: m(q.total),
    }
}

/// One track of the plan as its form shows it; its fields end in `_{index}`.
pub struct TrackRow {
    index: usize,
    /// The areas on it, when the plan has several tracks.
    areas: String,
    sessions: String,
    sessions_guideline: String,
    sessions_reason: String,
    interval_min: String,
    interval_max: String,
    interval_unit: String,
    interval_guideline: String,
    interval_reason: String,
    notes: Vec<String>,
}

pub struct ConsentView {
    signed: String,
    by: String,
    hash: String,
    covers: bool,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    shell: Shell,
    id: i64,
    pid: i64,
    name: String,
    status: &'static str,
    editable: bool,
    version: i64,
    device: String,
    tracks: Vec<TrackRow>,
    earliest: String,
    areas: Vec<AreaRow>,
    flags: Vec<String>,
    excluded: Vec<String>,
    reconciliation: Vec<String>,
    notes: Vec<String>,
    precautions: Vec<String>,
    pretreatment: Vec<String>,
    downtime: Vec<String>,
    adjuncts: Vec<String>,
    addons: Vec<(String, String, bool)>,
    quote: Option<QuoteView>,
    quote_problem: Option<String>,
    consents: Vec<ConsentView>,
    covered: bool,
    actions: Vec<(&'static str, &'static str)>,
    cancel_reason: Option<String>,
    errors: Invalid,
    notice: Option<String>,
    link: Option<String>,
    /// Why the link could not be sent, beside it.
    link_unsent: Option<String>,
}

/// What the last request left to show: what was typed, what was wrong, news.
#[derive(Default)]
struct Outcome<'a> {
    form: Option<&'a FormValues>,
    errors: Invalid,
    notice: Option<String>,
}

async fn plan_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    r: &PlanRecord,
    o: Outcome<'_>,
) -> Result<PlanPage, PageError> {
    let Outcome {
        form,
        errors,
        notice,
    } = o;
    let kb = st.clinic_kb(p.clinic_id).await?;
    let zone = st.store.clinic(p.clinic_id).await?.details.time_zone;
    let list = planning::clinic_price_list(st, p.clinic_id).await?;
    let consents = st.store.consents(r.id).await?;
    let covered = consents.iter().any(|c| c.plan_version == r.version);
    let plan = &r.plan;
    let typed = |k: &str, d: String| form.map_or(d, |f| f.get(k).to_string());
    let several = plan.tracks.len() > 1;
    let tracks = plan
        .tracks
        .iter()
        .zip(&r.proposal.tracks)
        .enumerate()
        .map(|(i, (t, proposed))| TrackRow {
            index: i,
            areas: if several {
                t.areas
                    .iter()
                    .map(|a| area_name(&kb, a))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                String::new()
            },
            sessions: typed(&format!("sessions_{i}"), t.sessions.to_string()),
            sessions_guideline: if proposed.sessions_min == proposed.sessions_max {
                proposed.sessions_min.to_string()
            } else {
                format!("{}–{}", proposed.sessions_min, proposed.sessions_max)
            },
            sessions_reason: typed(
                &format!("sessions_reason_{i}"),
                t.sessions_reason.clone().unwrap_or_default(),
            ),
            interval_min: typed(
                &format!("interval_min_{i}"),
                t.interval.min.amount.to_string(),
            ),
            interval_max: typed(
                &format!("interval_max_{i}"),
                t.interval.max.amount.to_string(),
            ),
            interval_unit: t.interval.unit(),
            interval_guideline: proposed.interval.words(),
            interval_reason: typed(
                &format!("interval_reason_{i}"),
                t.interval_reason.clone().unwrap_or_default(),
            ),
            notes: proposed.reconciliation.clone(),
        })
        .collect();
    let quote = match (&r.quote, r.status) {
        (Some(q), _) => Ok(q.clone()),
        (None, _) => planning::quote_for(st, p.clinic_id, plan).await?,
    };
    let flagged = |field: &str| {
        r.flags
            .iter()
            .find(|f| f.field == field)
            .map(|f| format!("{} Reason: {}", f.message, f.reason))
    };
    Ok(PlanPage {
        shell: Shell::new(caller, csrf, "patients"),
        id: p.id,
        pid: r.id,
        name: p.details.full_name(),
        status: r.status.label(),
        editable: r.status == PlanStatus::Proposed,
        version: r.version,
        device: kb
            .devices
            .iter()
            .find(|d| d.code == plan.device)
            .map_or(plan.device.clone(), |d| d.name.clone()),
        tracks,
        earliest: long_date(plan.earliest_start),
        areas: plan
            .areas
            .iter()
            .enumerate()
            .map(|(i, a)| AreaRow {
                index: i,
                name: area_name(&kb, &a.area),
                guideline: a.guideline.words(),
                min: typed(&format!("depth_min_{i}"), mm(a.depth.min.micrometres())),
                max: typed(&format!("depth_max_{i}"), mm(a.depth.max.micrometres())),
                reason: typed(&format!("reason_{i}"), a.reason.clone().unwrap_or_default()),
                flagged: flagged(&format!("areas[{i}].depth")),
            })
            .collect(),
        flags: r
            .flags
            .iter()
            .map(|f| format!("{} Reason: {}", f.message, f.reason))
            .collect(),
        excluded: r
            .proposal
            .excluded
            .iter()
            .map(|(a, why)| format!("{}: {why}", area_name(&kb, a)))
            .collect(),
        reconciliation: r.proposal.reconciliation.clone(),
        notes: r
            .proposal
            .areas
            .iter()
            .flat_map(|a| {
                let name = area_name(&kb, &a.area);
                a.notes.iter().map(move |n| format!("{name}: {n}"))
            })
            .collect(),
        precautions: plan.precautions.clone(),
        pretreatment: plan.pretreatment.clone(),
        downtime: plan.downtime.clone(),
        adjuncts: plan.adjuncts.clone(),
        addons: list
            .addons
            .iter()
            .map(|a| {
                (
                    a.code.clone(),
                    format!(
                        "{} ({} per session)",
                        a.name,
                        format_money(a.price_minor, &list.currency)
                    ),
                    plan.addons.contains(&a.code),
                )
            })
            .collect(),
        quote_problem: quote.as_ref().err().map(|e| {
            format!(
                "No quote yet: {}",
                e.errors
                    .iter()
                    .map(|x| x.message.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }),
        quote: quote.ok().map(|q| quote_view(&kb, &q)),
        consents: consents
            .iter()
            .map(|c: &ConsentRecord| ConsentView {
                signed: local_time(c.signed_at, &zone),
                by: format!(
                    "{} ({})",
                    c.typed_name,
                    if c.signed_via == "link" {
                        "remotely, through a link"
                    } else {
                        "in the clinic"
                    }
                ),
                hash: c.sha256.clone(),
                covers: c.plan_version == r.version,
            })
            .collect(),
        covered,
        actions: r
            .status
            .next()
            .iter()
            .filter(|s| **s != PlanStatus::Cancelled)
            .map(|s| match s {
                PlanStatus::Accepted => ("accepted", "Accept the plan"),
                PlanStatus::InProgress => ("in_progress", "Start the course"),
                _ => ("completed", "Mark the course completed"),
            })
            .collect(),
        cancel_reason: r.cancel_reason.clone(),
        errors,
        notice,
        link: None,
        link_unsent: None,
    })
}

fn mm(um: u32) -> String {
    let s = format!("{}.{:03}", um / 1000, um % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A plan of a patient this caller may see, or 404.
pub(super) async fn own_plan(
    st: &AppState,
    caller: &Caller,
    id: i64,
    pid: i64,
) -> Result<(Patient, PlanRecord), PageError> {
    let p = access::patient(st, caller, id).await?;
    let r = st.store.plan(pid).await?;
    if r.patient_id != id {
        return Err(PageError::NotFound);
    }
    Ok((p, r))
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, pid)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    own_plan(&st, &caller, id, pid).await?;
    let (p, r) = planning::view(&st, &caller, pid).await?;
    Ok(render(
        &plan_page(&st, &caller, &csrf, &p, &r, Outcome::default()).await?,
    ))
}

fn reason(v: &FormValues, k: &str) -> Option<String> {
    Some(v.get(k).trim().to_string()).filter(|s| !s.is_empty())
}

/// The edited plan from the form, or the fields that could not be read.
fn edited(base: &Plan, v: &FormValues) -> Result<Plan, Invalid> {
    let mut inv = Invalid::default();
    let mut plan = base.clone();
    for (i, t) in plan.tracks.iter_mut().enumerate() {
        match v.get(&format!("sessions_{i}")).trim().parse::<u32>() {
            Ok(n) => t.sessions = n,
            Err(_) => inv.push(
                format!("tracks[{i}].sessions"),
                "Enter a whole number of sessions.",
            ),
        }
        t.sessions_reason = reason(v, &format!("sessions_reason_{i}"));
        let unit = t.interval.unit();
        match Interval::try_from(format!(
            "{}-{} {unit}",
            v.get(&format!("interval_min_{i}")).trim(),
            v.get(&format!("interval_max_{i}")).trim()
        )) {
            Ok(x) => t.interval = x,
            Err(_) => inv.push(
                format!("tracks[{i}].interval"),
                format!("Enter the interval as two whole numbers of {unit}, the smaller first."),
            ),
        }
        t.interval_reason = reason(v, &format!("interval_reason_{i}"));
    }
    for (i, a) in plan.areas.iter_mut().enumerate() {
        let range = format!(
            "{}-{}",
            v.get(&format!("depth_min_{i}")).trim(),
            v.get(&format!("depth_max_{i}")).trim()
        );
        match DepthRange::parse(&range) {
            Ok(r) => a.depth = r,
            Err(e) => inv.push(format!("areas[{i}].depth"), format!("Depth: {e}")),
        }
        a.reason = reason(v, &format!("reason_{i}"));
    }
    plan.addons = v.all("addons").into_iter().map(str::to_string).collect();
    inv.into_result()?;
    Ok(plan)
}

pub async fn update(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, pid)): Path<(i64, i64)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, r) = own_plan(&st, &caller, id, pid).await?;
    let v = FormValues(f);
    let version = v.get("version").parse().unwrap_or(r.version);
    let outcome = match edited(&r.plan, &v) {
        Ok(plan) => planning::edit(&st, &caller, pid, version, &plan).await,
        Err(errors) => Err(Error::Invalid(errors)),
    };
    let (errors, code) = match outcome {
        Ok(_) => return Ok(Redirect::to(&format!("/patients/{id}/plans/{pid}")).into_response()),
        Err(e) => form_problem(e, "plan")?,
    };
    let page = plan_page(
        &st,
        &caller,
        &csrf,
        &p,
        &r,
        Outcome {
            form: Some(&v),
            errors,
            notice: None,
        },
    )
    .await?;
    Ok((code, render(&page)).into_response())
}

pub async fn set_status(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, pid)): Path<(i64, i64)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, r) = own_plan(&st, &caller, id, pid).await?;
    let v = FormValues(f);
    let Some(to) = PlanStatus::parse(v.get("to")) else {
        return Err(PageError::BadRequest("Unknown plan state.".into()));
    };
    match planning::set_status(&st, &caller, pid, to, Some(v.get("reason"))).await {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}/plans/{pid}")).into_response()),
        Err(Error::Conflict(m)) => {
            let page = plan_page(
                &st,
                &caller,
                &csrf,
                &p,
                &r,
                Outcome {
                    errors: Invalid::one("status", m),
                    ..Default::default()
                },
            )
            .await?;
            Ok((StatusCode::CONFLICT, render(&page)).into_response())
        }
        Err(Error::Invalid(i)) => {
            let page = plan_page(
                &st,
                &caller,
                &csrf,
                &p,
                &r,
                Outcome {
                    errors: i,
                    ..Default::default()
                },
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    csrf: String,
    action: String,
    clinic: String,
    name: String,
    /// The consent text as signed, laid out for reading.
    document: Vec<crate::view::Block>,
    version: i64,
    photo_uses: Vec<(&'static str, &'static str)>,
    chosen: String,
    typed_name: String,
    /// Under age: a parent or guardian signs too; what they typed.
    guardian: Option<(String, String)>,
    errors: Invalid,
    back: Option<String>,
}

/// Where the signing form posts, and where "Back" leads (none for a link).
struct Target {
    action: String,
    back: Option<String>,
}

async fn consent_page(
    st: &AppState,
    csrf: &CsrfToken,
    p: &Patient,
    r: &PlanRecord,
    t: Target,
    v: Option<&FormValues>,
    errors: Invalid,
) -> Result<ConsentPage, PageError> {
    let Target { action, back } = t;
    let kb = st.clinic_kb(p.clinic_id).await?;
    let today = st.clinic_today(p.clinic_id).await?;
    // A risk's source, for a reader who asks where a figure comes from.
    let source = |line: &str| {
        kb.adverse_events
            .iter()
            .find(|e| line.starts_with(&format!("{}:", e.plain_name)))
            .map(|e| e.source.clone())
    };
    let get = |k: &str| v.map_or(String::new(), |v| v.get(k).to_string());
    Ok(ConsentPage {
        csrf: csrf.0.clone(),
        action,
        clinic: st.store.clinic(p.clinic_id).await?.details.name,
        name: p.details.full_name(),
        document: crate::view::blocks(&planning::consent_document(st, p, r).await?, &source),
        version: r.version,
        photo_uses: PhotoUse::ALL
            .iter()
            .map(|u| (u.as_str(), u.label()))
            .collect(),
        chosen: get("photo_use"),
        typed_name: get("typed_name"),
        guardian: needlepoint_practice::planning::guardian_needed(&kb, p, today)
            .then(|| (get("guardian_name"), get("guardian_relationship"))),
        errors,
        back,
    })
}

pub async fn consent_form(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, pid)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let (p, r) = own_plan(&st, &caller, id, pid).await?;
    let page = consent_page(
        &st,
        &csrf,
        &p,
        &r,
        Target {
            action: format!("/patients/{id}/plans/{pid}/consent"),
            back: Some(format!("/patients/{id}/plans/{pid}")),
        },
        None,
        Invalid::default(),
    )
    .await?;
    Ok(render(&page))
}

/// A refused change as its form shows it: bad input (422), or a clash with
/// a newer version, named on `conflict_field` (409). Anything else is an
/// error page.
fn form_problem(e: Error, conflict_field: &str) -> Result<(Invalid, StatusCode), PageError> {
    match e {
        Error::Invalid(i) => Ok((i, StatusCode::UNPROCESSABLE_ENTITY)),
        Error::Conflict(m) => Ok((Invalid::one(conflict_field, m), StatusCode::CONFLICT)),
        e => Err(e.into()),
    }
}

/// The signing form as the patient filled it in.
fn consent_input(v: &FormValues, ip: Option<String>) -> ConsentInput {
    ConsentInput {
        version: v.get("version").parse().ok(),
        photo_use: v.get("photo_use").into(),
        typed_name: v.get("typed_name").into(),
        signature: v.get("signature").into(),
        guardian_name: v.get("guardian_name").into(),
        guardian_relationship: v.get("guardian_relationship").into(),
        guardian_signature: v.get("guardian_signature").into(),
        ip,
    }
}

pub async fn sign(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, pid)): Path<(i64, i64)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, r) = own_plan(&st, &caller, id, pid).await?;
    let v = FormValues(f);
    let action = format!("/patients/{id}/plans/{pid}/consent");
    let back = Some(format!("/patients/{id}/plans/{pid}"));
    let input = consent_input(&v, caller.audit.ip.clone());
    let (errors, code) = match planning::sign_consent(&st, &caller, pid, &input).await {
        Ok(_) => return Ok(Redirect::to(&format!("/patients/{id}/plans/{pid}")).into_response()),
        Err(e) => form_problem(e, "version")?,
    };
    let page = consent_page(
        &st,
        &csrf,
        &p,
        &r,
        Target { action, back },
        Some(&v),
        errors,
    )
    .await?;
    Ok((code, render(&page)).into_response())
}

pub async fn create_link(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path((id, pid)): Path<(i64, i64)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, r) = own_plan(&st, &caller, id, pid).await?;
    let how = super::intake::Delivery::from_form(&FormValues(f));
    let token = signin::random_token();
    let expires =
        planning::create_consent_link(&st, &caller, pid, &signin::token_hash(&token)).await?;
    let url = format!("{}/consent/{token}", crate::view::site_url(&st, &headers));
    let (sent, unsent) =
        super::intake::deliver(&st, &caller, &p, "consent_link", how, &url, expires).await?;
    let notice = Some(match sent {
        Some(s) => format!("{s} The link works once, for {LINK_DAYS} days."),
        None => format!("Consent link made; it works once, for {LINK_DAYS} days."),
    });
    let mut page = plan_page(
        &st,
        &caller,
        &csrf,
        &p,
        &r,
        Outcome {
            notice,
            ..Default::default()
        },
    )
    .await?;
    page.link = Some(url);
    page.link_unsent = unsent;
    Ok((StatusCode::CREATED, render(&page)).into_response())
}

#[derive(Template)]
#[template(path = "intake_done.html")]
struct DonePage {
    title: &'static str,
    message: String,
}

fn refused(r: LinkRefusal) -> Response {
    let (status, title, message) = match r {
        LinkRefusal::Unknown => (
            StatusCode::NOT_FOUND,
            "This link does not work",
            "Check that you opened the whole link, or ask the clinic for a new one.",
        ),
        LinkRefusal::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Ask the clinic to send you a new one.",
        ),
        LinkRefusal::AlreadyUsed => (
            StatusCode::GONE,
            "This consent was already signed",
            "Thank you: the clinic has it.",
        ),
    };
    (
        status,
        render(&DonePage {
            title,
            message: message.into(),
        }),
    )
        .into_response()
}

async fn by_token(
    st: &AppState,
    token: &str,
) -> Result<Result<(Patient, PlanRecord), LinkRefusal>, PageError> {
    Ok(planning::by_consent_link(st, &signin::token_hash(token)).await?)
}

pub async fn remote_form(
    State(st): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match by_token(&st, &token).await? {
        Ok((p, r)) => Ok(render(
            &consent_page(
                &st,
                &csrf,
                &p,
                &r,
                Target {
                    action: format!("/consent/{token}"),
                    back: None,
                },
                None,
                Invalid::default(),
            )
            .await?,
        )),
        Err(e) => Ok(refused(e)),
    }
}

pub async fn remote_sign(
    State(st): State<AppState>,
    csrf: CsrfToken,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, r) = match by_token(&st, &token).await? {
        Ok(x) => x,
        Err(e) => return Ok(refused(e)),
    };
    let v = FormValues(f);
    let input = consent_input(&v, Some(addr.ip().to_string()));
    let hash = signin::token_hash(&token);
    let (errors, code) = match planning::sign_consent_by_link(&st, &hash, &p, &r, &input).await {
        Ok(Ok(_)) => return Ok(render(&DonePage {
            title: "Thank you",
            message:
                "Your signed consent is with the clinic. You can ask them for a copy at any time."
                    .into(),
        })),
        Ok(Err(e)) => return Ok(refused(e)),
        Err(e) => form_problem(e, "version")?,
    };
    let page = consent_page(
        &st,
        &csrf,
        &p,
        &r,
        Target {
            action: format!("/consent/{token}"),
            back: None,
        },
        Some(&v),
        errors,
    )
    .await?;
    Ok((code, render(&page)).into_response())
}

#[derive(Template)]
#[template(path = "plan_print.html")]
struct PrintPage {
    clinic: String,
    name: String,
    born: String,
    status: &'static str,
    device: String,
    /// Each track's sessions and interval, in words.
    course: Vec<String>,
    earliest: String,
    areas: Vec<(String, String, String)>,
    flags: Vec<String>,
    pretreatment: Vec<String>,
    quote: Option<QuoteView>,
    /// The signed consent and when, in the clinic's time.
    consent: Option<(needlepoint_store::ConsentRecord, String)>,
}

pub async fn print(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, pid)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let (p, r) = own_plan(&st, &caller, id, pid).await?;
    print_page(&st, &p, &r).await
}

/// The plan as printed, with its quote and signed consent: for staff,
/// and for the patient from her own page.
pub(super) async fn print_page(
    st: &AppState,
    p: &Patient,
    r: &PlanRecord,
) -> Result<Response, PageError> {
    let pid = r.id;
    let kb = st.clinic_kb(p.clinic_id).await?;
    let clinic = st.store.clinic(p.clinic_id).await?;
    let consent = st
        .store
        .consents(pid)
        .await?
        .into_iter()
        .find(|c| c.plan_version == r.version);
    let quote = match &r.quote {
        Some(q) => Some(q.clone()),
        None => planning::quote_for(st, p.clinic_id, &r.plan).await?.ok(),
    };
    let page = PrintPage {
        clinic: clinic.details.name.clone(),
        name: p.details.full_name(),
        born: long_date(p.details.date_of_birth),
        status: r.status.label(),
        device: kb
            .devices
            .iter()
            .find(|d| d.code == r.plan.device)
            .map_or(r.plan.device.clone(), |d| d.name.clone()),
        course: r
            .plan
            .tracks
            .iter()
            .map(|t| {
                let areas = if r.plan.tracks.len() > 1 {
                    let names: Vec<String> = t.areas.iter().map(|a| area_name(&kb, a)).collect();
                    format!("{}: ", names.join(", "))
                } else {
                    String::new()
                };
                format!(
                    "{areas}{} sessions, {} apart.",
                    t.sessions,
                    t.interval.words()
                )
            })
            .collect(),
        earliest: long_date(r.plan.earliest_start),
        areas: r
            .plan
            .areas
            .iter()
            .map(|a| {
                (
                    area_name(&kb, &a.area),
                    a.depth.words(),
                    a.guideline.words(),
                )
            })
            .collect(),
        flags: r
            .flags
            .iter()
            .map(|f| format!("{} Reason: {}", f.message, f.reason))
            .collect(),
        pretreatment: r.plan.pretreatment.clone(),
        quote: quote.map(|q| quote_view(&kb, &q)),
        consent: consent.map(|c| {
            let when = local_time(c.signed_at, &clinic.details.time_zone);
            (c, when)
        }),
    };
    Ok(render(&page))
}
