//! The adverse-event register's pages: record an event after a session
//! (from a flagged check-in or on a clinician's own), read it with every
//! signed version, and amend it with a reason.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::adverse::{grade_words, AdverseEvent, AdverseInput, Outcome};
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::Invalid;
use needlepoint_practice::adverse::{self, Suspects};
use needlepoint_practice::{access, Error};
use needlepoint_store::{AdverseRecord, Chart};

/// A term of the catalogue with its grades in words.
pub struct TermChoice {
    code: String,
    term: String,
    grades: Vec<(u8, String)>,
    verified: bool,
}

fn terms(kb: &KnowledgeBase) -> Vec<TermChoice> {
    kb.ae_terms
        .iter()
        .map(|t| TermChoice {
            code: t.code.clone(),
            term: t.term.clone(),
            grades: (1..=5)
                .filter_map(|g| grade_words(t, g).map(|w| (g, w.to_string())))
                .collect(),
            verified: t.wording_verified,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "adverse_form.html")]
struct FormPage {
    shell: Shell,
    title: String,
    action: String,
    patient: String,
    patient_id: i64,
    chart_id: i64,
    session_day: String,
    terms: Vec<TermChoice>,
    outcomes: Vec<(&'static str, &'static str)>,
    /// The session's zones and lots to choose the suspects from.
    zones: Vec<(String, String)>,
    lots: Vec<(String, String)>,
    /// Amending: the version amended, and a reason is asked.
    amending: Option<i64>,
    form: FormValues,
    errors: Invalid,
    problems: Vec<String>,
}

impl FormPage {
    fn is(&self, field: &str, value: &str) -> bool {
        self.form.has(field, value)
    }
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }
}

#[derive(serde::Deserialize)]
pub struct NewQuery {
    checkin: Option<i64>,
}

/// The form's values from an event as recorded (to amend it).
fn values_of(e: &AdverseEvent, zones: &[String]) -> FormValues {
    let mut v = vec![
        ("term".to_string(), e.term.clone()),
        ("specify".into(), e.specify.clone().unwrap_or_default()),
        ("onset".into(), e.onset.to_string()),
        ("grade".into(), e.grade.to_string()),
        ("actions".into(), e.actions.clone()),
        ("outcome".into(), e.outcome.as_str().into()),
        (
            "resolved_on".into(),
            e.resolved_on.map(|d| d.to_string()).unwrap_or_default(),
        ),
    ];
    if e.expected {
        v.push(("expected".into(), "yes".into()));
    }
    if e.serious {
        v.push(("serious".into(), "yes".into()));
    }
    v.extend(zones.iter().map(|z| ("zones".to_string(), z.clone())));
    FormValues(v)
}

fn input(v: &FormValues) -> AdverseInput<'_> {
    AdverseInput {
        term: v.get("term"),
        specify: v.get("specify"),
        onset: v.get("onset"),
        grade: v.get("grade"),
        expected: v.get("expected") == "yes",
        serious: v.get("serious") == "yes",
        actions: v.get("actions"),
        outcome: v.get("outcome"),
        resolved_on: v.get("resolved_on"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    chart: &Chart,
    amending: Option<(i64, i64)>,
    form: FormValues,
    errors: Invalid,
) -> Result<FormPage, PageError> {
    let kb = st.clinic_kb(chart.clinic_id).await?;
    let patient = st
        .store
        .patient(chart.patient_id)
        .await?
        .details
        .full_name();
    let appt = st.store.appointment(chart.appointment_id).await?;
    Ok(FormPage {
        shell: Shell::new(caller, csrf, "patients"),
        title: match amending {
            Some(_) => "Amend the adverse event".into(),
            None => "Record an adverse event".into(),
        },
        action: match amending {
            Some((id, _)) => format!("/adverse-events/{id}/amend"),
            None => format!("/sessions/{}/adverse-events", chart.id),
        },
        patient,
        patient_id: chart.patient_id,
        chart_id: chart.id,
        session_day: local_time(appt.starts_at, &appt.time_zone),
        terms: terms(&kb),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        zones: chart
            .zones
            .iter()
            .map(|z| {
                (
                    z.zone.clone(),
                    kb.area(&z.zone).map_or(z.zone.clone(), |a| a.name.clone()),
                )
            })
            .collect(),
        lots: chart
            .lots
            .iter()
            .map(|l| {
                (
                    l.lot_id.to_string(),
                    format!("{}, lot {}", l.item_name, l.lot_number),
                )
            })
            .collect(),
        amending: amending.map(|(_, v)| v),
        form,
        problems: errors.errors.iter().map(|e| e.message.clone()).collect(),
        errors,
    })
}

pub async fn new_form(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let chart = access::chart(&st, &caller, id).await?;
    let mut v = FormValues::default();
    if let Some(c) = q.checkin {
        v = v.with("checkin", c.to_string());
    }
    Ok(render(
        &form_page(&st, &caller, &csrf, &chart, None, v, Invalid::default()).await?,
    ))
}

pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let chart = access::chart(&st, &caller, id).await?;
    let v = FormValues(f);
    let suspects = Suspects {
        zones: v.all("zones").into_iter().map(str::to_string).collect(),
        lot_ids: v
            .all("lots")
            .iter()
            .filter_map(|l| l.parse().ok())
            .collect(),
        checkin_id: v.get("checkin").parse().ok(),
    };
    match adverse::record(&st, &caller, id, &input(&v), &suspects).await {
        Ok(e) => Ok(Redirect::to(&format!("/adverse-events/{}", e.id)).into_response()),
        Err(Error::Invalid(inv)) => {
            let page = form_page(&st, &caller, &csrf, &chart, None, v, inv).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) if e.is_answer_to_input() => {
            let inv = Invalid::one("event", e.message());
            let page = form_page(&st, &caller, &csrf, &chart, None, v, inv).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A version as the page lists it.
pub struct VersionRow {
    version: i64,
    signed: String,
    reason: Option<String>,
    term: String,
    grade: u8,
    grade_words: String,
    outcome: &'static str,
}

#[derive(Template)]
#[template(path = "adverse_event.html")]
struct EventPage {
    shell: Shell,
    e: AdverseRecord,
    patient: String,
    term: String,
    specify: Option<String>,
    grade_words: String,
    verified: bool,
    onset: String,
    resolved: Option<String>,
    zones: Vec<String>,
    lots: Vec<(i64, String)>,
    versions: Vec<VersionRow>,
    amend: FormPage,
}

async fn event_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    e: AdverseRecord,
    form: Option<(FormValues, Invalid)>,
) -> Result<EventPage, PageError> {
    let kb = st.clinic_kb(e.clinic_id).await?;
    let chart = st.store.chart(e.chart_id).await?;
    let zone = st.store.clinic(e.clinic_id).await?.details.time_zone;
    let cur = e.current().clone();
    let term = kb.ae_terms.iter().find(|t| t.code == cur.event.term);
    let words = |ev: &AdverseEvent| {
        kb.ae_terms
            .iter()
            .find(|t| t.code == ev.term)
            .and_then(|t| grade_words(t, ev.grade))
            .unwrap_or("")
            .to_string()
    };
    let (values, errors) = form.unwrap_or_else(|| {
        (
            values_of(&cur.event, &cur.zones).with("version", e.current().version.to_string()),
            Invalid::default(),
        )
    });
    let amend = form_page(
        st,
        caller,
        csrf,
        &chart,
        Some((e.id, cur.version)),
        values,
        errors,
    )
    .await?;
    Ok(EventPage {
        shell: Shell::new(caller, csrf, "patients"),
        patient: st.store.patient(e.patient_id).await?.details.full_name(),
        term: term.map_or(cur.event.term.clone(), |t| t.term.clone()),
        specify: cur.event.specify.clone(),
        grade_words: words(&cur.event),
        verified: term.is_some_and(|t| t.wording_verified),
        onset: needlepoint_domain::dates::long_date(cur.event.onset),
        resolved: cur
            .event
            .resolved_on
            .map(needlepoint_domain::dates::long_date),
        zones: cur
            .zones
            .iter()
            .map(|z| kb.area(z).map_or(z.clone(), |a| a.name.clone()))
            .collect(),
        lots: chart
            .lots
            .iter()
            .filter(|l| e.lot_ids.contains(&l.lot_id))
            .map(|l| (l.lot_id, format!("{}, lot {}", l.item_name, l.lot_number)))
            .collect(),
        versions: e
            .versions
            .iter()
            .rev()
            .map(|v| VersionRow {
                version: v.version,
                signed: format!("{}, {}", v.signed_by_name, local_time(v.signed_at, &zone)),
                reason: v.reason.clone(),
                term: kb
                    .ae_terms
                    .iter()
                    .find(|t| t.code == v.event.term)
                    .map_or(v.event.term.clone(), |t| t.term.clone()),
                grade: v.event.grade,
                grade_words: words(&v.event),
                outcome: v.event.outcome.label(),
            })
            .collect(),
        amend,
        e,
    })
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let e = adverse::load(&st, &caller, id).await?;
    Ok(render(&event_page(&st, &caller, &csrf, e, None).await?))
}

pub async fn amend(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let e = adverse::load(&st, &caller, id).await?;
    let v = FormValues(f);
    let zones = v.all("zones").into_iter().map(str::to_string).collect();
    let version = v.get("version").parse().unwrap_or(-1);
    match adverse::amend(
        &st,
        &caller,
        id,
        version,
        &input(&v),
        zones,
        v.get("reason"),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/adverse-events/{id}")).into_response()),
        Err(err) if err.is_answer_to_input() => {
            let inv = match err {
                Error::Invalid(inv) => inv,
                other => Invalid::one("event", other.message()),
            };
            let page = event_page(&st, &caller, &csrf, e, Some((v, inv))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(err) => Err(err.into()),
    }
}
