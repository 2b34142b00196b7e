//! Running a screening and reading it: per area, the outcome, the date a
//! deferral ends, each reason with the fact and the source; and a
//! clinician's override with its justification.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::screening::{Deferral, Status};
use needlepoint_practice::access;
use needlepoint_practice::screening;
use needlepoint_practice::Error;
use needlepoint_store::ScreeningRecord;

/// "Deferred until 4 Dec 2026", "Deferred until resolved, then needs
/// physician approval", "Eligible": the domain's words with the page's dates.
pub fn outcome(status: Status, deferral: Option<Deferral>) -> String {
    needlepoint_domain::screening::outcome_words(status, deferral, crate::view::long_date)
}

/// A CSS class per outcome, for the badge colour.
pub fn tone(status: Status) -> &'static str {
    match status {
        Status::Eligible => "ok",
        Status::EligibleWithPrecautions => "ok",
        Status::Deferred => "warn",
        Status::NeedsPhysicianApproval | Status::NotEligible => "error",
    }
}

pub struct Row {
    id: i64,
    on: String,
    outcome: String,
    tone: &'static str,
    by: String,
    overridden: bool,
    stale: Option<String>,
}

pub struct AreaOption {
    code: String,
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "screenings.html")]
struct ListPage {
    shell: Shell,
    id: i64,
    name: String,
    has_history: bool,
    areas: Vec<AreaOption>,
    on: String,
    rows: Vec<Row>,
    error: Option<String>,
}

async fn list_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    id: i64,
    chosen: Option<Vec<String>>,
    on: Option<String>,
    error: Option<String>,
) -> Result<ListPage, PageError> {
    let p = access::patient(st, caller, id).await?;
    let kb = st.clinic_kb(p.clinic_id).await?;
    let currency = screening::Currency::of(st, &p).await?;
    let current = st.store.current_history(id).await?;
    let chosen = chosen.unwrap_or_else(|| {
        current
            .as_ref()
            .map(|v| v.history.concern_areas())
            .unwrap_or_default()
    });
    let zone = st.store.clinic(p.clinic_id).await?.details.time_zone;
    let rows = st
        .store
        .screenings(id)
        .await?
        .into_iter()
        .map(|s| {
            let f = currency.of_screening(&s);
            Row {
                id: s.id,
                on: crate::view::long_date(s.result.on),
                outcome: outcome(s.status(), s.result.deferral),
                tone: tone(s.status()),
                by: format!(
                    "{} · {}",
                    s.created_by_name.clone().unwrap_or_default(),
                    local_time(s.created_at, &zone)
                ),
                overridden: !s.overrides.is_empty(),
                stale: f.stale,
            }
        })
        .collect();
    Ok(ListPage {
        shell: Shell::new(caller, csrf, "patients"),
        id,
        name: p.details.full_name(),
        has_history: current.is_some(),
        areas: kb
            .areas
            .iter()
            .map(|a| AreaOption {
                code: a.code.clone(),
                name: a.name.clone(),
                checked: chosen.contains(&a.code),
            })
            .collect(),
        // The date field starts at the clinic's today.
        on: on.unwrap_or_else(|| currency.today().to_string()),
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
    Ok(render(
        &list_page(&st, &caller, &csrf, id, None, None, None).await?,
    ))
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
    let areas: Vec<String> = v.all("areas").into_iter().map(str::to_string).collect();
    let refuse = |message: String| async {
        let page = list_page(
            &st,
            &caller,
            &csrf,
            id,
            Some(areas.clone()),
            Some(v.get("on").to_string()),
            Some(message),
        )
        .await?;
        Ok::<_, PageError>((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
    };
    let on = match needlepoint_domain::patient::parse_date("on", v.get("on")) {
        Ok(d) => d,
        Err(e) => return refuse(format!("Date: {}", e.message)).await,
    };
    match screening::run(&st, &caller, &p, &areas, Some(on)).await {
        Ok(s) => Ok(Redirect::to(&format!("/patients/{id}/screenings/{}", s.id)).into_response()),
        Err(e) if e.is_answer_to_input() => refuse(e.lines().join(" ")).await,
        Err(e) => Err(e.into()),
    }
}

pub struct ReasonView {
    rule: String,
    rule_id: String,
    fact: String,
    effect: String,
    source: String,
    evidence: String,
    areas: String,
}

pub struct AreaView {
    name: String,
    outcome: String,
    tone: &'static str,
}

pub struct OverrideView {
    status: String,
    by: String,
    why: String,
}

#[derive(Template)]
#[template(path = "screening.html")]
struct DetailPage {
    shell: Shell,
    id: i64,
    sid: i64,
    clinic_id: i64,
    name: String,
    outcome: String,
    tone: &'static str,
    engine_outcome: String,
    facts: String,
    stale: Option<String>,
    areas: Vec<AreaView>,
    reasons: Vec<ReasonView>,
    precautions: Vec<String>,
    overrides: Vec<OverrideView>,
    statuses: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    draft: String,
}

fn area_name(kb: &KnowledgeBase, code: &str) -> String {
    kb.area(code).map_or(code.to_string(), |a| a.name.clone())
}

async fn detail_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    id: i64,
    s: ScreeningRecord,
    error: Option<String>,
    draft: String,
) -> Result<DetailPage, PageError> {
    let p = access::patient(st, caller, id).await?;
    let kb = st.clinic_kb(p.clinic_id).await?;
    let zone = st.store.clinic(p.clinic_id).await?.details.time_zone;
    let f = screening::Currency::of(st, &p).await?.of_screening(&s);
    let r = &s.result;
    let reasons = r
        .reasons()
        .into_iter()
        .map(|x| ReasonView {
            rule: x.rule.clone(),
            rule_id: x.rule_id.clone(),
            fact: x.fact.clone(),
            effect: outcome(x.status, x.deferral),
            source: x.source.clone(),
            evidence: x.evidence.beside(&x.source).unwrap_or_default().to_string(),
            areas: r
                .areas
                .iter()
                .filter(|a| {
                    a.reasons
                        .iter()
                        .any(|y| y.rule_id == x.rule_id && y.fact == x.fact)
                })
                .map(|a| area_name(&kb, &a.area))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    Ok(DetailPage {
        shell: Shell::new(caller, csrf, "patients"),
        id,
        sid: s.id,
        clinic_id: p.clinic_id,
        name: p.details.full_name(),
        outcome: outcome(s.status(), r.deferral),
        tone: tone(s.status()),
        engine_outcome: outcome(r.status, r.deferral),
        facts: format!(
            "Screened for {} with history version {} by {} · {} · knowledge base {}",
            crate::view::long_date(r.on),
            s.history_version,
            s.created_by_name.clone().unwrap_or_default(),
            local_time(s.created_at, &zone),
            r.knowledge_version
        ),
        stale: f.stale,
        areas: r
            .areas
            .iter()
            .map(|a| AreaView {
                name: area_name(&kb, &a.area),
                outcome: outcome(a.status, a.deferral),
                tone: tone(a.status),
            })
            .collect(),
        reasons,
        precautions: r.precautions.clone(),
        overrides: s
            .overrides
            .iter()
            .map(|o| OverrideView {
                status: o.status.label().into(),
                by: format!(
                    "{} · {}",
                    o.created_by_name,
                    local_time(o.created_at, &zone)
                ),
                why: o.justification.clone(),
            })
            .collect(),
        statuses: Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        error,
        draft,
    })
}

async fn own_screening(st: &AppState, id: i64, sid: i64) -> Result<ScreeningRecord, PageError> {
    let s = st.store.screening(sid).await?;
    if s.patient_id != id {
        return Err(PageError::NotFound);
    }
    Ok(s)
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, sid)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    access::patient(&st, &caller, id).await?;
    own_screening(&st, id, sid).await?;
    let s = screening::view(&st, &caller, sid).await?;
    Ok(render(
        &detail_page(&st, &caller, &csrf, id, s, None, String::new()).await?,
    ))
}

pub async fn override_it(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, sid)): Path<(i64, i64)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    access::patient(&st, &caller, id).await?;
    let s = own_screening(&st, id, sid).await?;
    let v = FormValues(f);
    let msg = match screening::override_outcome(
        &st,
        &caller,
        sid,
        v.get("status"),
        v.get("justification"),
    )
    .await
    {
        Ok(_) => {
            return Ok(Redirect::to(&format!("/patients/{id}/screenings/{sid}")).into_response())
        }
        Err(Error::Invalid(i)) => match (i.message_for("status"), i.message_for("justification")) {
            (Some(_), _) => "Choose the outcome you decide on.".to_string(),
            (None, Some(m)) => format!("Justification: {m}"),
            (None, None) => i.summary(),
        },
        Err(e) => return Err(e.into()),
    };
    let page = detail_page(
        &st,
        &caller,
        &csrf,
        id,
        s,
        Some(msg),
        v.get("justification").to_string(),
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}
