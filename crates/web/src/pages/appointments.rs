//! One appointment: its page, moving it (with the refusals and a
//! clinician's override), checking in, cancelling under the clinic's
//! policy; and booking a single appointment from free times or a time
//! chosen by hand.

use super::forms::FormValues;
use crate::access::CLINICAL;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use needlepoint_domain::appointment::AppointmentKind;
use needlepoint_domain::booking_rules::only_overridable;
use needlepoint_domain::clinic::format_money;
use needlepoint_practice::access;
use needlepoint_practice::booking::{self, CancelledBy, MoveRequest, Wanted};
use needlepoint_practice::Error;
use needlepoint_store::Appointment;
use std::collections::HashMap;

/// Appointment kinds people book one at a time (a session comes with a plan).
pub const KINDS: [(AppointmentKind, &str); 4] = [
    (AppointmentKind::Consultation, "Consultation"),
    (AppointmentKind::FollowUp, "Follow-up check"),
    (AppointmentKind::HomeCareReview, "Home-care review"),
    (
        AppointmentKind::Session,
        "Microneedling session (next of the plan)",
    ),
];

/// The kind chosen on a form: a consultation unless another is named.
fn chosen_kind(v: &FormValues) -> Result<AppointmentKind, String> {
    match v.get("kind") {
        "" => Ok(AppointmentKind::Consultation),
        k => AppointmentKind::parse(k).map_err(|e| e.message),
    }
}

pub fn kind_label(a: &Appointment) -> String {
    match (a.kind, a.session_number) {
        (AppointmentKind::Session, Some(n)) => format!("Session {n}"),
        (k, _) => KINDS
            .iter()
            .find(|(c, _)| *c == k)
            .map(|(_, l)| l.to_string())
            .unwrap_or_else(|| k.as_str().replace('_', " ")),
    }
}

/// "2026-11-23" and "10:30" from a form, as a wall-clock time.
fn parse_local(date: &str, time: &str) -> Result<DateTime, String> {
    let d: Date = date
        .trim()
        .parse()
        .map_err(|_| "Choose a date.".to_string())?;
    let t = Time::strptime("%H:%M", time.trim())
        .map_err(|_| "Write the time as HH:MM, like 10:30.".to_string())?;
    Ok(d.to_datetime(t))
}

/// A refusal as the page shows it, and whether a clinician may override.
pub struct Problem {
    lines: Vec<String>,
    overridable: bool,
}

impl Problem {
    fn from(e: &Error) -> Problem {
        Problem {
            lines: e.message().lines().map(str::to_string).collect(),
            overridable: matches!(e, Error::TimeRefused(r) if only_overridable(r)),
        }
    }

    fn text(m: impl Into<String>) -> Problem {
        Problem {
            lines: vec![m.into()],
            overridable: false,
        }
    }
}

#[derive(Template)]
#[template(path = "appointment.html")]
struct AppointmentPage {
    shell: Shell,
    a: Appointment,
    label: String,
    patient: String,
    when: String,
    until: String,
    zone: String,
    practitioner: String,
    room: String,
    device: String,
    /// The plan's areas this session treats, when it names them.
    areas: String,
    fee: String,
    /// What cancelling now by the patient would cost, in words.
    policy_note: String,
    practitioners: Vec<(i64, String, bool)>,
    date: String,
    time: String,
    reason: String,
    clinician: bool,
    problem: Option<Problem>,
    /// The later sessions' new times, if they move along.
    later: Vec<String>,
    has_later: bool,
    /// The moves open now (check in, no-show once started, complete).
    actions: Vec<(&'static str, &'static str)>,
    /// A session near home rolling the patient logged.
    home_care: Option<String>,
}

async fn names(st: &AppState, organisation: i64) -> Result<HashMap<i64, String>, PageError> {
    Ok(st
        .store
        .list_staff(organisation)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

async fn page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    a: Appointment,
    v: &FormValues,
    problem: Option<Problem>,
    later: Vec<String>,
) -> Result<AppointmentPage, PageError> {
    let clinic = st.store.clinic(a.clinic_id).await?;
    let zone = TimeZone::get(&a.time_zone).unwrap_or(TimeZone::UTC);
    let start = a.starts_at.to_zoned(zone.clone());
    let staff = names(st, clinic.organisation_id).await?;
    let rooms: HashMap<i64, String> = st
        .store
        .rooms(a.clinic_id)
        .await?
        .into_iter()
        .map(|r| (r.id, r.details.name))
        .collect();
    let devices: HashMap<i64, String> = st
        .store
        .devices(a.clinic_id)
        .await?
        .into_iter()
        .map(|d| (d.id, d.details.name))
        .collect();
    let currency = st.store.clinic_pricing(a.clinic_id).await?.currency;
    let (policy, late_fee) = booking::fee_if_cancelled_now(st, &a).await?;
    let policy_note = if policy.notice_hours == 0 || policy.fee_minor == 0 {
        "The clinic has no late-cancellation fee.".to_string()
    } else if late_fee > 0 {
        format!(
            "Less than {} hours' notice: if the patient cancels now, the fee of {} applies.",
            policy.notice_hours,
            format_money(late_fee, &currency)
        )
    } else {
        format!(
            "The patient can cancel without a fee until {} hours before.",
            policy.notice_hours
        )
    };
    let chosen = v
        .get("practitioner")
        .parse::<i64>()
        .ok()
        .or(a.practitioner_id);
    let practitioners =
        super::booking::clinic_practitioners(st, clinic.organisation_id, a.clinic_id)
            .await?
            .into_iter()
            .map(|(id, name)| (id, name, Some(id) == chosen))
            .collect();
    let has_later = match a.plan_id {
        Some(pid) => booking::booked_sessions(st, &st.store.plan(pid).await?)
            .await?
            .iter()
            .any(|x| x.session_number > a.session_number),
        None => false,
    };
    let or = |name: &str, default: String| {
        let x = v.get(name);
        if x.is_empty() {
            default
        } else {
            x.to_string()
        }
    };
    let home_care = if a.kind.is_session() && a.status.holds_time() {
        let p = st.store.patient(a.patient_id).await?;
        needlepoint_practice::homecare::booking_warning(st, &p, start.date()).await?
    } else {
        None
    };
    Ok(AppointmentPage {
        home_care,
        shell: Shell::new(caller, csrf, "calendar"),
        label: kind_label(&a),
        patient: st.store.patient(a.patient_id).await?.details.full_name(),
        when: start.strftime("%A %-d %B %Y, %H:%M").to_string(),
        until: a.ends_at.to_zoned(zone).strftime("%H:%M").to_string(),
        zone: a.time_zone.clone(),
        practitioner: a
            .practitioner_id
            .and_then(|id| staff.get(&id).cloned())
            .unwrap_or_else(|| "—".into()),
        room: a
            .room_id
            .and_then(|id| rooms.get(&id).cloned())
            .unwrap_or_else(|| "—".into()),
        device: a
            .device_id
            .and_then(|id| devices.get(&id).cloned())
            .unwrap_or_else(|| "—".into()),
        areas: match &a.areas {
            Some(list) => {
                let kb = st.clinic_kb(a.clinic_id).await?;
                list.iter()
                    .map(|c| kb.area(c).map_or(c.clone(), |x| x.name.clone()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            None => String::new(),
        },
        fee: a
            .fee_minor
            .map(|f| format_money(f, &currency))
            .unwrap_or_default(),
        policy_note,
        practitioners,
        date: or("date", start.date().to_string()),
        time: or("time", start.strftime("%H:%M").to_string()),
        reason: v.get("window_override").to_string(),
        clinician: CLINICAL.admits(caller.role),
        problem,
        later,
        has_later,
        actions: booking::actions(st, &a)
            .into_iter()
            .map(|(to, label)| (to.as_str(), label))
            .collect(),
        a,
    })
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let a = access::appointment(&st, &caller, id).await?;
    Ok(render(
        &page(&st, &caller, &csrf, a, &FormValues(vec![]), None, vec![]).await?,
    ))
}

fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::TimeRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Check-in, completion, no-show or cancellation.
pub async fn set_status(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let a = access::appointment(&st, &caller, id).await?;
    let v = FormValues(f);
    let reason = Some(v.get("reason").trim()).filter(|r| !r.is_empty());
    let by = match v.get("by") {
        "patient" => Some(CancelledBy::Patient),
        "clinic" => Some(CancelledBy::Clinic),
        _ => None,
    };
    match booking::set_status(&st, &caller, &a, v.get("to"), reason, by).await {
        Ok(_) if v.get("back") == "today" => Ok(Redirect::to("/today").into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/appointments/{id}")).into_response()),
        Err(e) if !e.is_answer_to_input() => Err(e.into()),
        Err(e) => {
            let p = page(&st, &caller, &csrf, a, &v, Some(Problem::from(&e)), vec![]).await?;
            Ok((status_of(&e), render(&p)).into_response())
        }
    }
}

/// Moves the appointment; the later sessions move along only when asked.
pub async fn move_it(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let a = access::appointment(&st, &caller, id).await?;
    let v = FormValues(f);
    let (problem, code, later) = match try_move(&st, &caller, &a, &v).await? {
        Ok(()) => return Ok(Redirect::to(&format!("/appointments/{id}")).into_response()),
        Err(refused) => refused,
    };
    let p = page(&st, &caller, &csrf, a, &v, Some(problem), later).await?;
    Ok((code, render(&p)).into_response())
}

type Refused = (Problem, StatusCode, Vec<String>);

async fn try_move(
    st: &AppState,
    caller: &Caller,
    a: &Appointment,
    v: &FormValues,
) -> Result<Result<(), Refused>, PageError> {
    let local = match parse_local(v.get("date"), v.get("time")) {
        Ok(l) => l,
        Err(m) => {
            return Ok(Err((
                Problem::text(m),
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![],
            )))
        }
    };
    let window_override =
        Some(v.get("window_override").trim().to_string()).filter(|r| !r.is_empty());
    let m = MoveRequest {
        local: Some(local),
        practitioner: v.get("practitioner").parse().ok(),
        window_override,
        move_later: v.get("move_later") == "1",
    };
    let e = match booking::move_appointment(st, caller, a, &m).await {
        Ok(_) => return Ok(Ok(())),
        Err(e) if !e.is_answer_to_input() => return Err(e.into()),
        Err(e) => e,
    };
    // A broken window: show where the later sessions would go if they moved
    // along, for the clinician to agree to.
    let mut later = vec![];
    if matches!(e, Error::TimeRefused(_)) && !m.move_later {
        let along = MoveRequest {
            move_later: true,
            ..m.clone()
        };
        if let Ok(moves) = booking::plan_move(st, a, &along).await {
            for mv in moves.iter().skip(1) {
                let x = st.store.appointment(mv.id).await?;
                later.push(format!(
                    "{}: {} → {}",
                    kind_label(&x),
                    x.local_start.replace('T', " "),
                    mv.local_start.replace('T', " ")
                ));
            }
        }
    }
    Ok(Err((Problem::from(&e), status_of(&e), later)))
}

#[derive(Template)]
#[template(path = "appointment_new.html")]
struct NewPage {
    shell: Shell,
    clinics: Vec<(i64, String, bool)>,
    clinic_id: i64,
    zone: String,
    q: String,
    matches: Vec<(i64, String)>,
    patient: Option<(i64, String)>,
    kinds: Vec<(&'static str, &'static str, bool)>,
    plan: Option<(i64, String)>,
    practitioners: Vec<(i64, String, bool)>,
    date: String,
    time: String,
    reason: String,
    clinician: bool,
    /// Free times found: (date, time, label).
    times: Vec<(String, String, String)>,
    searched: bool,
    problem: Option<Problem>,
}

async fn new_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    v: &FormValues,
    problem: Option<Problem>,
) -> Result<NewPage, PageError> {
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let patient = match v.get("patient").parse::<i64>() {
        Ok(id) => Some(access::patient(st, caller, id).await?),
        Err(_) => None,
    };
    let wanted_clinic = patient
        .as_ref()
        .map(|p| p.clinic_id)
        .or(v.get("clinic").parse().ok());
    let Some(clinic) = clinics
        .iter()
        .find(|c| Some(c.id) == wanted_clinic)
        .or(clinics.first())
        .cloned()
    else {
        return Err(PageError::NotFound);
    };
    let q = v.get("q").trim().to_string();
    let matches = if patient.is_none() {
        st.store
            .search_patients(caller.staff.id, Some(clinic.id), &q, 20, None)
            .await?
            .patients
            .into_iter()
            .map(|p| {
                (
                    p.id,
                    format!(
                        "{} · born {}",
                        p.details.full_name(),
                        p.details.date_of_birth
                    ),
                )
            })
            .collect()
    } else {
        vec![]
    };
    let kind = chosen_kind(v).unwrap_or(AppointmentKind::Consultation);
    let plan = match &patient {
        Some(p) => booking::active_plan(st, p).await?,
        None => None,
    };
    let chosen = v.get("practitioner").parse::<i64>().ok();
    let practitioners = super::booking::clinic_practitioners(st, clinic.organisation_id, clinic.id)
        .await?
        .into_iter()
        .map(|(id, name)| (id, name, Some(id) == chosen))
        .collect();
    let mut times = vec![];
    let mut problem = problem;
    let searched = v.get("find") == "1";
    if let (true, Some(p)) = (searched, &patient) {
        let from = v.get("date").parse::<Date>().ok();
        let w = Wanted {
            patient: p,
            kind,
            plan: plan.as_ref(),
            practitioner: v.get("practitioner").parse().ok(),
        };
        let names = names(st, clinic.organisation_id).await?;
        match booking::find_times(st, &w, from, None, 10).await {
            Ok(slots) => {
                times = slots
                    .iter()
                    .map(|s| {
                        (
                            s.local.date().to_string(),
                            s.local.time().strftime("%H:%M").to_string(),
                            format!(
                                "{} · {}",
                                s.local.strftime("%a %-d %b, %H:%M"),
                                s.practitioner
                                    .and_then(|id| names.get(&id).cloned())
                                    .unwrap_or_default()
                            ),
                        )
                    })
                    .collect();
                if times.is_empty() {
                    problem = Some(Problem::text("No free time in the next 60 days."));
                }
            }
            Err(e) if !e.is_answer_to_input() => return Err(e.into()),
            Err(e) => problem = Some(Problem::from(&e)),
        }
    }
    Ok(NewPage {
        shell: Shell::new(caller, csrf, "calendar"),
        clinics: clinics
            .iter()
            .map(|c| (c.id, c.details.name.clone(), c.id == clinic.id))
            .collect(),
        clinic_id: clinic.id,
        zone: clinic.details.time_zone.clone(),
        q,
        matches,
        patient: patient.as_ref().map(|p| (p.id, p.details.full_name())),
        kinds: KINDS
            .iter()
            .map(|(c, l)| (c.as_str(), *l, *c == kind))
            .collect(),
        plan: plan.map(|r| (r.id, format!("plan of {}", r.plan.sessions_label()))),
        practitioners,
        date: v.get("date").to_string(),
        time: v.get("time").to_string(),
        reason: v.get("window_override").to_string(),
        clinician: CLINICAL.admits(caller.role),
        times,
        searched,
        problem,
    })
}

/// The booking form: pick a patient, then a free time or one by hand.
pub async fn new_form(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    Ok(render(
        &new_page(&st, &caller, &csrf, &FormValues(q), None).await?,
    ))
}

pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    if v.get("find") == "1" {
        // "Find free times" posts the same form: show them, book nothing.
        return Ok(render(&new_page(&st, &caller, &csrf, &v, None).await?));
    }
    let (problem, code) = match try_book(&st, &caller, &v).await? {
        Ok(a) => return Ok(Redirect::to(&format!("/appointments/{}", a.id)).into_response()),
        Err(refused) => refused,
    };
    let p = new_page(&st, &caller, &csrf, &v, Some(problem)).await?;
    Ok((code, render(&p)).into_response())
}

async fn try_book(
    st: &AppState,
    caller: &Caller,
    v: &FormValues,
) -> Result<Result<Appointment, (Problem, StatusCode)>, PageError> {
    let unprocessable = |m: &str| Ok(Err((Problem::text(m), StatusCode::UNPROCESSABLE_ENTITY)));
    let Ok(pid) = v.get("patient").parse::<i64>() else {
        return unprocessable("Choose the patient first.");
    };
    let p = access::patient(st, caller, pid).await?;
    let local = match parse_local(v.get("date"), v.get("time")) {
        Ok(l) => l,
        Err(m) => return unprocessable(&m),
    };
    let window_override = Some(v.get("window_override").trim()).filter(|r| !r.is_empty());
    let plan = booking::active_plan(st, &p).await?;
    let kind = match chosen_kind(v) {
        Ok(k) => k,
        Err(m) => return unprocessable(&m),
    };
    let w = Wanted {
        patient: &p,
        kind,
        plan: plan.as_ref(),
        practitioner: v.get("practitioner").parse().ok(),
    };
    match booking::book_one(st, caller, &w, local, window_override).await {
        Ok(a) => Ok(Ok(a)),
        Err(e) if !e.is_answer_to_input() => Err(e.into()),
        Err(e) => Ok(Err((Problem::from(&e), status_of(&e)))),
    }
}
