//! Finding, creating, viewing and editing patients; the clinical notes.

use super::forms::FormValues;
use crate::auth::{urlencode, Caller};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, long_date, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::clinic::format_money;
use needlepoint_domain::clinic::group_thousands;
use needlepoint_domain::patient_search;
use needlepoint_domain::{Invalid, PatientInput, Role, Sex};
use needlepoint_practice::summary::Tone;
use needlepoint_practice::{access, patients, Error};
use needlepoint_store::{Clinic, Patient, PatientPage};

const PAGE_SIZE: i64 = 25;

fn clinic_name(clinics: &[Clinic], id: i64) -> String {
    clinics
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.details.name.clone())
        .unwrap_or_default()
}

fn clinic_zone(clinics: &[Clinic], id: i64) -> String {
    clinics
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.details.time_zone.clone())
        .unwrap_or_else(|| "UTC".into())
}

pub struct Row {
    id: i64,
    given_name: String,
    family_name: String,
    born: String,
    age: i16,
    contact: String,
    clinic: String,
}

#[derive(Template)]
#[template(path = "patients.html")]
struct ListPage {
    shell: Shell,
    query: String,
    query_enc: String,
    clinics: Vec<Clinic>,
    clinic_filter: Option<i64>,
    clinic_param: String,
    page: PatientPage,
    /// "1,234", or "More than 1,000" where counting stopped.
    count: String,
    rows: Vec<Row>,
    first: i64,
    last: i64,
    /// Not the first page: a link back to it.
    later_page: bool,
    /// The next page's link parameters (`after` and `start`).
    next_page: Option<String>,
    /// A page link that no longer fits the list (the first page is shown).
    notice: Option<String>,
    /// Only words of one or two letters: a family-name prefix, said so.
    short_query: bool,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    clinic: String,
    /// Where this page starts: the `next` of the page before.
    #[serde(default)]
    after: String,
    /// The number of this page's first row, for "Showing 21–40" (only
    /// shown, so anything else reads as 1).
    #[serde(default)]
    start: String,
}

pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let clinic_filter = q
        .clinic
        .parse::<i64>()
        .ok()
        .filter(|id| caller.sees_clinic(*id));
    let (after, notice) = match q.after.as_str() {
        "" => (None, None),
        text => match patient_search::Cursor::parse("after", text) {
            Ok(c) => (Some(c), None),
            Err(_) => (
                None,
                Some("That page link does not fit this list: here is its first page.".to_string()),
            ),
        },
    };
    let start = match after {
        Some(_) => q.start.parse::<i64>().unwrap_or(1).max(1),
        None => 1,
    };
    let page = st
        .store
        .search_patients(
            caller.staff.id,
            clinic_filter,
            &q.q,
            PAGE_SIZE,
            after.as_ref(),
        )
        .await?;
    let rows = page
        .patients
        .iter()
        .map(|p| Row {
            id: p.id,
            given_name: p.details.given_name.clone(),
            family_name: p.details.family_name.clone(),
            born: long_date(p.details.date_of_birth),
            age: p
                .details
                .age_on(st.today_in(&clinic_zone(&clinics, p.clinic_id))),
            contact: [
                p.details.phone.clone(),
                p.details.email.as_ref().map(|e| e.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
            clinic: clinic_name(&clinics, p.clinic_id),
        })
        .collect();
    let n = page.patients.len() as i64;
    let words = patient_search::words(&q.q);
    let short_query = !words.is_empty()
        && words
            .iter()
            .all(|w| w.chars().count() < patient_search::INDEXED_WORD_CHARS);
    let view = ListPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        query_enc: urlencode(&q.q),
        query: q.q,
        clinic_param: clinic_filter
            .map(|c| format!("&clinic={c}"))
            .unwrap_or_default(),
        clinics,
        clinic_filter,
        first: if n == 0 { 0 } else { start },
        last: start + n - 1,
        later_page: after.is_some(),
        next_page: page
            .next
            .as_ref()
            .map(|c| format!("after={}&start={}", c, start + n)),
        notice,
        short_query,
        count: if page.more {
            format!("More than {}", group_thousands(page.total.unsigned_abs()))
        } else {
            group_thousands(page.total.unsigned_abs())
        },
        page,
        rows,
    };
    Ok(render(&view))
}

#[derive(Template)]
#[template(path = "patient_form.html")]
struct FormPage {
    shell: Shell,
    heading: String,
    action: String,
    cancel: String,
    clinics: Vec<Clinic>,
    sexes: [Sex; 4],
    form: FormValues,
    errors: Invalid,
    version: Option<i64>,
    conflict: Option<String>,
}

/// How many patients the header's search suggests as one types.
const SUGGESTIONS: i64 = 8;

#[derive(Template)]
#[template(path = "patient_suggestions.html")]
struct Suggestions {
    query: String,
    query_enc: String,
    rows: Vec<Suggestion>,
    /// More match than are suggested: a link to them all.
    more: bool,
}

pub struct Suggestion {
    id: i64,
    name: String,
    born: String,
    clinic: String,
}

#[derive(serde::Deserialize)]
pub struct SuggestQuery {
    #[serde(default)]
    q: String,
}

/// The header's search as one types: the first few patients the list
/// would show, as a fragment for the suggestions box. Nothing typed,
/// nothing suggested; the search itself copes with long or odd input.
pub async fn suggest(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<SuggestQuery>,
) -> Result<Response, PageError> {
    let query = q.q.trim().to_string();
    let (rows, more) = if query.is_empty() {
        (vec![], false)
    } else {
        let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
        let page = st
            .store
            .search_patients(caller.staff.id, None, &query, SUGGESTIONS, None)
            .await?;
        let rows: Vec<Suggestion> = page
            .patients
            .iter()
            .map(|p| Suggestion {
                id: p.id,
                name: p.details.full_name(),
                born: long_date(p.details.date_of_birth),
                clinic: clinic_name(&clinics, p.clinic_id),
            })
            .collect();
        let more = page.more || page.total > rows.len() as i64;
        (rows, more)
    };
    // What was typed is echoed only in part: a 300-character paste need
    // not fill the box.
    let shown: String = query.chars().take(60).collect();
    Ok(render(&Suggestions {
        query_enc: urlencode(&query),
        query: shown,
        rows,
        more,
    }))
}

fn input_from(form: &FormValues) -> PatientInput {
    PatientInput {
        given_name: form.get("given_name").into(),
        family_name: form.get("family_name").into(),
        date_of_birth: form.get("date_of_birth").into(),
        sex: form.get("sex").into(),
        email: form.get("email").into(),
        phone: form.get("phone").into(),
        address: form.get("address").into(),
        notes: form.get("notes").into(),
    }
}

fn values_of(p: &Patient) -> FormValues {
    let i = PatientInput::from(&p.details);
    FormValues(vec![
        ("clinic_id".into(), p.clinic_id.to_string()),
        ("given_name".into(), i.given_name),
        ("family_name".into(), i.family_name),
        ("date_of_birth".into(), i.date_of_birth),
        ("sex".into(), i.sex),
        ("email".into(), i.email),
        ("phone".into(), i.phone),
        ("address".into(), i.address),
        ("notes".into(), i.notes),
    ])
}

pub async fn new_form(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let first = clinics
        .first()
        .map(|c| c.id.to_string())
        .unwrap_or_default();
    Ok(render(&FormPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        heading: "New patient".into(),
        action: "/patients".into(),
        cancel: "/patients".into(),
        clinics,
        sexes: Sex::ALL,
        form: FormValues::default()
            .with("clinic_id", first)
            .with("sex", "unknown"),
        errors: Invalid::default(),
        version: None,
        conflict: None,
    }))
}

pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = FormValues(form);
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let clinic_id = form.get("clinic_id").parse::<i64>().ok();
    let errors = match patients::register(&st, &caller, clinic_id, &input_from(&form)).await {
        Ok(p) => return Ok(Redirect::to(&format!("/patients/{}?saved=1", p.id)).into_response()),
        Err(Error::Invalid(inv)) => inv,
        Err(e) => return Err(e.into()),
    };
    let page = FormPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        heading: "New patient".into(),
        action: "/patients".into(),
        cancel: "/patients".into(),
        clinics,
        sexes: Sex::ALL,
        form,
        errors,
        version: None,
        conflict: None,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

#[derive(Template)]
#[template(path = "patient.html")]
struct ShowPage {
    shell: Shell,
    id: i64,
    name: String,
    age: i16,
    born: String,
    sex: &'static str,
    clinic: String,
    email: String,
    phone: String,
    address: String,
    notes: String,
    created: String,
    updated: String,
    version: i64,
    notice: Option<&'static str>,
    screening: Option<ScreeningSummary>,
    pending_intakes: usize,
    /// Charted sessions: id, title, when, state (clinicians only).
    sessions: Vec<(i64, String, String, &'static str)>,
    /// Alerts first: (tone class, words).
    alerts: Vec<(&'static str, String)>,
    course: Option<CourseSummary>,
    may_propose: bool,
    devices: Vec<(String, String)>,
    upcoming: Vec<AppointmentRow>,
    past: Vec<AppointmentRow>,
    messages: Vec<super::messages::MessageRow>,
    timeline: Vec<super::timeline::Row>,
    /// Lines of the timeline left out until "Show all" is asked for.
    timeline_more: usize,
    /// Check-ins sent so far: (id, day, sent, state, tone) (clinicians only).
    checkins: Vec<(i64, u32, String, String, &'static str)>,
    /// Adverse events: (id, term and grade, onset, outcome) (clinicians only).
    adverse: Vec<(i64, String, String, &'static str)>,
    /// Home rollings logged (clinicians only).
    home_care: usize,
    /// The account in a line: owed, on account or settled.
    balance: String,
    /// Each open package: "3 of 4 sessions left".
    packages_left: Vec<String>,
}

/// The plan in force (or the latest one) and how far its course has come.
pub struct CourseSummary {
    plan_id: i64,
    title: String,
    status: &'static str,
    /// "Session 2 of 4 signed", empty for a plan not accepted.
    progress: String,
    next: Option<String>,
    /// Sessions still to book (offered to the desk and clinicians alike).
    to_book: usize,
}

/// One of the patient's appointments, with where to act on it.
pub struct AppointmentRow {
    id: i64,
    when: String,
    what: String,
    status: &'static str,
    tone: &'static str,
}

impl AppointmentRow {
    fn of(a: &needlepoint_store::Appointment) -> Self {
        use needlepoint_domain::appointment::AppointmentStatus as S;
        AppointmentRow {
            id: a.id,
            when: local_time(a.starts_at, &a.time_zone),
            what: super::appointments::kind_label(a),
            status: a.status.label(),
            tone: match a.status {
                S::Completed => "ok",
                S::CheckedIn => "warn",
                S::Cancelled | S::NoShow => "grey",
                S::Booked => "",
            },
        }
    }
}

/// The latest screening at a glance.
pub struct ScreeningSummary {
    id: i64,
    outcome: String,
    tone: &'static str,
    when: String,
    stale: Option<String>,
    overridden: bool,
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
    /// `all` for the whole timeline.
    timeline: Option<String>,
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let p = patients::view(&st, &caller, id).await?;
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let zone = clinic_zone(&clinics, p.clinic_id);
    let currency = needlepoint_practice::screening::Currency::of(&st, &p).await?;
    let screening = st.store.screenings(id).await?.into_iter().next().map(|s| {
        let f = currency.of_screening(&s);
        ScreeningSummary {
            id: s.id,
            outcome: super::screenings::outcome(s.status(), s.result.deferral),
            tone: super::screenings::tone(s.status()),
            when: match f.age_days {
                0 => format!("for {}, today", long_date(s.result.on)),
                1 => format!("for {}, 1 day ago", long_date(s.result.on)),
                n if n > 1 => format!("for {}, {n} days ago", long_date(s.result.on)),
                n => format!("for {}, in {} days", long_date(s.result.on), -n),
            },
            stale: f.stale,
            overridden: !s.overrides.is_empty(),
        }
    });
    let pending_intakes = st.store.pending_intakes(id).await?.len();
    let mut sessions = vec![];
    if matches!(caller.role, Role::Owner | Role::Clinician) {
        for c in st.store.patient_charts(id).await? {
            let state = match (c.status.as_str(), c.needs_cosign && c.cosigned_at.is_none()) {
                ("signed", true) => "awaiting second sign-off",
                ("signed", false) => "signed",
                ("in_progress", _) => "needling",
                _ => "checklist",
            };
            sessions.push((
                c.id,
                c.session_number
                    .map_or("Session".to_string(), |n| format!("Session {n}")),
                local_time(c.started_at.unwrap_or(c.created_at), &zone),
                state,
            ));
        }
    }
    let (mut checkins, mut adverse) = (vec![], vec![]);
    let mut flagged: Vec<(&'static str, String)> = vec![];
    let mut home_care = 0;
    if caller.is_clinical() {
        let now = st.now();
        for k in st.store.patient_checkins(id).await? {
            if k.due_at > now {
                continue;
            }
            let (state, tone) = match (k.advice, k.reviewed_at) {
                (Some(a), None) if a.flags() => {
                    flagged.push((
                        "error",
                        format!(
                            "Check-in of day {} flagged: {}. A clinician should review it.",
                            k.day,
                            a.label()
                        ),
                    ));
                    (a.label().to_string(), "error")
                }
                (Some(a), _) => (a.label().to_string(), if a.flags() { "warn" } else { "ok" }),
                (None, Some(_)) => ("Not answered; reviewed".to_string(), "grey"),
                (None, None) if k.expires_at <= now => ("Not answered".to_string(), "grey"),
                (None, None) => ("Waiting for an answer".to_string(), "grey"),
            };
            checkins.push((k.id, k.day, local_time(k.due_at, &zone), state, tone));
        }
        checkins.reverse();
        // Home rolling logged lately against the clinic's advice.
        let log = st.store.home_care(id).await?;
        home_care = log.len();
        let lately = now - jiff::SignedDuration::from_hours(24 * 14);
        for e in log
            .iter()
            .filter(|e| e.logged_at > lately && !e.warnings.is_empty())
        {
            flagged.push((
                "warn",
                format!(
                    "Home rolling on {}: {}",
                    long_date(e.used_on),
                    e.warnings.join(" ")
                ),
            ));
        }
        let kb = st.clinic_kb(p.clinic_id).await?;
        for e in st.store.patient_adverse_events(id).await?.into_iter().rev() {
            let ev = &e.current().event;
            let term = kb
                .ae_terms
                .iter()
                .find(|t| t.code == ev.term)
                .map_or(ev.term.clone(), |t| t.term.clone());
            adverse.push((
                e.id,
                format!("{term}, grade {}", ev.grade),
                long_date(ev.onset),
                ev.outcome.label(),
            ));
        }
    }
    let summary = needlepoint_practice::summary::patient(&st, &caller, &p).await?;
    let events = needlepoint_practice::timeline::patient(&st, &caller, &p).await?;
    let mut timeline = super::timeline::rows(&st.kb, id, &events, &zone, caller.is_clinical());
    let timeline_more = if q.timeline.as_deref() == Some("all") {
        0
    } else {
        let more = timeline.len().saturating_sub(super::timeline::SHOWN);
        timeline.truncate(super::timeline::SHOWN);
        more
    };
    let course = summary
        .progress
        .as_ref()
        .map(|g| CourseSummary {
            plan_id: g.plan.id,
            title: plan_title(&st.kb, &g.plan),
            status: g.plan.status.label(),
            progress: match g.done {
                0 => format!("None of the {} sessions signed yet", g.total),
                n => format!("Session {n} of {} signed", g.total),
            },
            next: g
                .next
                .as_ref()
                .map(|a| local_time(a.starts_at, &a.time_zone)),
            to_book: g.to_book,
        })
        .or_else(|| {
            summary.latest_plan.as_ref().map(|r| CourseSummary {
                plan_id: r.id,
                title: plan_title(&st.kb, r),
                status: r.status.label(),
                progress: String::new(),
                next: None,
                to_book: 0,
            })
        });
    let devices = if summary.may_propose {
        st.kb
            .devices
            .iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect()
    } else {
        vec![]
    };
    let acc = st.store.patient_account(id).await?;
    let currency = st.store.clinic_pricing(p.clinic_id).await?.currency;
    let balance = match acc.balance_minor {
        0 => "Settled".to_string(),
        b if b < 0 => format!("Owes {}", format_money(-b, &currency)),
        b => format!("{} on account", format_money(b, &currency)),
    };
    // A booked course without the deposit the clinic asks for.
    let deposit = st.store.billing_settings(p.clinic_id).await?.deposit_minor;
    let deposit_alert = (deposit > 0
        && summary
            .upcoming
            .iter()
            .any(|a| a.plan_id.is_some() && a.kind.is_session())
        && !acc.payments.iter().any(|x| x.deposit))
    .then(|| {
        (
            "warn",
            format!(
                "The clinic asks a deposit of {} for a booked course, and none is taken yet: take it on the account page.",
                format_money(deposit, &currency)
            ),
        )
    });
    let packages_left = acc
        .packages
        .iter()
        .filter(|k| k.closed_at.is_none())
        .map(|k| format!("Package: {} of {} sessions left", k.left(), k.sessions))
        .collect();
    let d = &p.details;
    let dash = || "—".to_string();
    Ok(render(&ShowPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        id,
        name: d.full_name(),
        age: d.age_on(st.today_in(&zone)),
        born: long_date(d.date_of_birth),
        sex: d.sex.label(),
        clinic: clinic_name(&clinics, p.clinic_id),
        email: d.email.as_ref().map(|e| e.to_string()).unwrap_or_else(dash),
        phone: d.phone.clone().unwrap_or_else(dash),
        address: d.address.clone().unwrap_or_else(dash),
        notes: d.notes.clone().unwrap_or_default(),
        created: local_time(p.created_at, &zone),
        updated: local_time(p.updated_at, &zone),
        version: p.version,
        notice: q.saved.map(|_| "Saved."),
        screening,
        pending_intakes,
        sessions,
        alerts: flagged
            .into_iter()
            .chain(summary.alerts.iter().map(|a| {
                let tone = match a.tone {
                    Tone::Stop => "error",
                    Tone::Caution => "warn",
                    Tone::Note => "info",
                };
                (tone, a.text.clone())
            }))
            .chain(deposit_alert)
            .collect(),
        course,
        may_propose: summary.may_propose,
        devices,
        upcoming: summary.upcoming.iter().map(AppointmentRow::of).collect(),
        past: summary.past.iter().map(AppointmentRow::of).collect(),
        messages: summary
            .messages
            .into_iter()
            .map(|m| super::messages::MessageRow::of(m, &zone))
            .collect(),
        timeline,
        timeline_more,
        checkins,
        adverse,
        home_care,
        balance,
        packages_left,
    }))
}

/// A plan as the patient's page names it: by its areas, in the knowledge
/// base's words.
pub fn plan_title(
    kb: &needlepoint_domain::knowledge::KnowledgeBase,
    r: &needlepoint_store::PlanRecord,
) -> String {
    let areas: Vec<&str> = r
        .plan
        .areas
        .iter()
        .map(|a| {
            kb.area(&a.area)
                .map_or(a.area.as_str(), |x| x.name.as_str())
        })
        .collect();
    format!("Plan for {}", areas.join(", "))
}

pub async fn edit_form(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = patients::view(&st, &caller, id).await?;
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    Ok(render(&FormPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        heading: format!("Edit {}", p.details.full_name()),
        action: format!("/patients/{id}"),
        cancel: format!("/patients/{id}"),
        clinics: clinics
            .into_iter()
            .filter(|c| c.id == p.clinic_id)
            .collect(),
        sexes: Sex::ALL,
        form: values_of(&p),
        errors: Invalid::default(),
        version: Some(p.version),
        conflict: None,
    }))
}

pub async fn update(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let form = FormValues(form);
    let clinics: Vec<Clinic> = st
        .store
        .clinics_for_staff(caller.staff.id)
        .await?
        .into_iter()
        .filter(|c| c.id == p.clinic_id)
        .collect();
    let version = form.get("version").parse::<i64>().unwrap_or(p.version);
    let mut page = FormPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        heading: format!("Edit {}", p.details.full_name()),
        action: format!("/patients/{id}"),
        cancel: format!("/patients/{id}"),
        clinics,
        sexes: Sex::ALL,
        form: form.clone(),
        errors: Invalid::default(),
        version: Some(version),
        conflict: None,
    };
    match patients::update(&st, &caller, id, version, &input_from(&form)).await {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}?saved=1")).into_response()),
        Err(Error::Conflict(m)) => {
            // Keep what they typed; show the version now on record.
            page.conflict = Some(m);
            page.version = Some(st.store.patient(id).await?.version);
            Ok((StatusCode::CONFLICT, render(&page)).into_response())
        }
        Err(Error::Invalid(inv)) => {
            page.errors = inv;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub struct NoteView {
    when: String,
    author: String,
    body: String,
}

#[derive(Template)]
#[template(path = "clinical_notes.html")]
struct NotesPage {
    shell: Shell,
    id: i64,
    name: String,
    age: i16,
    notes: Vec<NoteView>,
    draft: String,
    error: Option<String>,
}

async fn notes_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    draft: String,
    error: Option<String>,
) -> Result<NotesPage, PageError> {
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let zone = clinic_zone(&clinics, p.clinic_id);
    let notes = patients::notes(st, caller, p.id)
        .await?
        .into_iter()
        .map(|n| NoteView {
            when: local_time(n.created_at, &zone),
            author: n.author_name,
            body: n.body,
        })
        .collect();
    Ok(NotesPage {
        shell: Shell::new(caller, csrf, "patients"),
        id: p.id,
        name: p.details.full_name(),
        age: p.details.age_on(st.today_in(&zone)),
        notes,
        draft,
        error,
    })
}

pub async fn notes(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    Ok(render(
        &notes_page(&st, &caller, &csrf, &p, String::new(), None).await?,
    ))
}

pub async fn add_note(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let form = FormValues(form);
    match patients::add_note(&st, &caller, id, form.get("body")).await {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}/notes")).into_response()),
        Err(e) if !e.is_answer_to_input() => Err(e.into()),
        Err(e) => {
            let page = notes_page(
                &st,
                &caller,
                &csrf,
                &p,
                form.get("body").to_string(),
                Some(e.message()),
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

pub async fn audit(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let zone = clinic_zone(&clinics, p.clinic_id);
    Ok(render(
        &super::audit::AuditPage::of_patient(&st, &caller, &csrf, &p, zone).await?,
    ))
}
