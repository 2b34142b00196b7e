//! Booking a plan's whole course in one step, and the week view.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::booking::{self, BookError, Preferences};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{long_date, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jiff::civil::{time, Date, Weekday};
use jiff::Span;
use needlepoint_domain::plan::PlanStatus;
use needlepoint_domain::scheduling::Slot;
use needlepoint_store::{Patient, PlanRecord, StoreError};
use std::collections::HashMap;

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "Mon"),
    (Weekday::Tuesday, "Tue"),
    (Weekday::Wednesday, "Wed"),
    (Weekday::Thursday, "Thu"),
    (Weekday::Friday, "Fri"),
    (Weekday::Saturday, "Sat"),
    (Weekday::Sunday, "Sun"),
];

/// The patient's preferences from a form or query: `day=Mon`…, `time=morning`.
fn preferences(v: &FormValues) -> Preferences {
    Preferences {
        weekdays: WEEKDAYS
            .iter()
            .filter(|(_, n)| v.has("day", n))
            .map(|(w, _)| *w)
            .collect(),
        between: match v.get("time") {
            "morning" => Some((time(8, 0, 0, 0), time(11, 59, 0, 0))),
            "afternoon" => Some((time(12, 0, 0, 0), time(16, 59, 0, 0))),
            "evening" => Some((time(17, 0, 0, 0), time(21, 0, 0, 0))),
            _ => None,
        },
    }
}

pub struct SessionRow {
    n: usize,
    when: String,
    who: String,
}

#[derive(Template)]
#[template(path = "booking.html")]
struct BookingPage {
    shell: Shell,
    id: i64,
    pid: i64,
    name: String,
    days: Vec<(&'static str, bool)>,
    time: String,
    proposal: Vec<SessionRow>,
    expected: String,
    problem: Option<String>,
    already: usize,
}

fn fingerprint(slots: &[Slot]) -> String {
    slots
        .iter()
        .map(|s| s.start.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

async fn page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    r: &PlanRecord,
    v: &FormValues,
    problem: Option<String>,
) -> Result<BookingPage, PageError> {
    let prefs = preferences(v);
    let mut problem = problem;
    let mut proposal = vec![];
    let mut expected = String::new();
    if !matches!(r.status, PlanStatus::Accepted | PlanStatus::InProgress) {
        problem = Some("Only an accepted plan, with its signed consent, can be booked.".into());
    } else if v.get("propose") == "1" || problem.is_some() {
        match booking::propose(st, p, r, &prefs).await {
            Ok(slots) => {
                let names: HashMap<i64, String> = st
                    .store
                    .list_staff(caller.staff.organisation_id)
                    .await?
                    .into_iter()
                    .map(|s| (s.id, s.name))
                    .collect();
                expected = fingerprint(&slots);
                proposal = slots
                    .iter()
                    .enumerate()
                    .map(|(i, s)| SessionRow {
                        n: i + 1,
                        when: format!(
                            "{} {}",
                            long_date(s.local.date()),
                            s.local.time().strftime("%H:%M")
                        ),
                        who: s
                            .practitioner
                            .and_then(|id| names.get(&id).cloned())
                            .unwrap_or_default(),
                    })
                    .collect();
            }
            Err(BookError::Cannot(m)) => problem = Some(m),
            Err(BookError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(BookingPage {
        shell: Shell::new(caller, csrf, "calendar"),
        id: p.id,
        pid: r.id,
        name: p.details.full_name(),
        days: WEEKDAYS
            .iter()
            .map(|(w, n)| (*n, prefs.weekdays.contains(w)))
            .collect(),
        time: v.get("time").to_string(),
        proposal,
        expected,
        problem,
        already: booking::booked_sessions(st, r).await?.len(),
    })
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, pid)): Path<(i64, i64)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, r) = super::plans::own_plan(&st, &caller, id, pid).await?;
    Ok(render(
        &page(&st, &caller, &csrf, &p, &r, &FormValues(q), None).await?,
    ))
}

pub async fn confirm(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, pid)): Path<(i64, i64)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, r) = super::plans::own_plan(&st, &caller, id, pid).await?;
    let v = FormValues(f);
    let refuse = |m: String| async {
        let page = page(&st, &caller, &csrf, &p, &r, &v, Some(m)).await?;
        Ok::<_, PageError>((StatusCode::CONFLICT, render(&page)).into_response())
    };
    // Book exactly what was shown, if it is still what the search finds.
    let slots = match booking::propose(&st, &p, &r, &preferences(&v)).await {
        Ok(s) => s,
        Err(BookError::Cannot(m)) => return refuse(m).await,
        Err(BookError::Store(e)) => return Err(e.into()),
    };
    if fingerprint(&slots) != v.get("expected") {
        return refuse(
            "The times changed while you were choosing: here is the new proposal.".into(),
        )
        .await;
    }
    match booking::book(&st, &p, &r, &slots, &caller.actor()).await {
        Ok(booked) => {
            crate::outbox::queue_for_booking(&st, &p, &booked, &r.plan.pretreatment).await?;
            let first = booked
                .first()
                .map(|a| a.local_start.get(..10).unwrap_or("").to_string())
                .unwrap_or_default();
            Ok(
                Redirect::to(&format!("/calendar?clinic={}&week={first}", p.clinic_id))
                    .into_response(),
            )
        }
        Err(BookError::Store(StoreError::Conflict(m))) => {
            refuse(format!("{m} Nothing was booked; here is a new proposal.")).await
        }
        Err(BookError::Cannot(m)) => refuse(m).await,
        Err(BookError::Store(e)) => Err(e.into()),
    }
}

pub struct Entry {
    time: String,
    patient: String,
    patient_id: i64,
    what: String,
    cancelled: bool,
}

pub struct DayColumn {
    label: String,
    today: bool,
    entries: Vec<Entry>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct WeekPage {
    shell: Shell,
    clinics: Vec<(i64, String, bool)>,
    clinic_id: i64,
    zone: String,
    title: String,
    prev: String,
    next: String,
    days: Vec<DayColumn>,
}

#[derive(serde::Deserialize)]
pub struct WeekQuery {
    clinic: Option<i64>,
    week: Option<String>,
}

pub async fn week(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<WeekQuery>,
) -> Result<Response, PageError> {
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let Some(clinic) = clinics
        .iter()
        .find(|c| Some(c.id) == q.clinic)
        .or(clinics.first())
        .cloned()
    else {
        return Err(PageError::NotFound);
    };
    let zone =
        jiff::tz::TimeZone::get(&clinic.details.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let today = needlepoint_store::now().to_zoned(zone.clone()).date();
    let day = q
        .week
        .as_deref()
        .and_then(|w| w.parse::<Date>().ok())
        .unwrap_or(today);
    let monday = day - Span::new().days(i64::from(day.weekday().to_monday_zero_offset()));
    let start = zone
        .to_ambiguous_timestamp(monday.to_datetime(time(0, 0, 0, 0)))
        .compatible()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let end = zone
        .to_ambiguous_timestamp((monday + Span::new().days(7)).to_datetime(time(0, 0, 0, 0)))
        .compatible()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let appointments = st.store.appointments(clinic.id, start, end).await?;
    let staff: HashMap<i64, String> = st
        .store
        .list_staff(caller.staff.organisation_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let rooms: HashMap<i64, String> = st
        .store
        .rooms(clinic.id)
        .await?
        .into_iter()
        .map(|r| (r.id, r.details.name))
        .collect();
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut days: Vec<DayColumn> = (0..7)
        .map(|i| {
            let d = monday + Span::new().days(i);
            DayColumn {
                label: d.strftime("%a %-d %b").to_string(),
                today: d == today,
                entries: vec![],
            }
        })
        .collect();
    for a in appointments {
        let local = a.starts_at.to_zoned(zone.clone());
        let i = (local.date() - monday).get_days() as usize;
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(a.patient_id) {
            e.insert(st.store.patient(a.patient_id).await?.details.full_name());
        }
        let what = format!(
            "{}{} · {}{}",
            if a.kind == "session" {
                "Session"
            } else {
                a.kind.as_str()
            },
            a.session_number
                .map(|n| format!(" {n}"))
                .unwrap_or_default(),
            a.practitioner_id
                .and_then(|id| staff.get(&id).cloned())
                .unwrap_or_default(),
            a.room_id
                .and_then(|id| rooms.get(&id).map(|r| format!(" · {r}")))
                .unwrap_or_default(),
        );
        if let Some(col) = days.get_mut(i) {
            col.entries.push(Entry {
                time: format!(
                    "{}–{}",
                    local.strftime("%H:%M"),
                    a.ends_at.to_zoned(zone.clone()).strftime("%H:%M")
                ),
                patient: names[&a.patient_id].clone(),
                patient_id: a.patient_id,
                what,
                cancelled: a.status == "cancelled",
            });
        }
    }
    let week_of = |d: Date| d.to_string();
    Ok(render(&WeekPage {
        shell: Shell::new(&caller, &csrf, "calendar"),
        clinics: clinics
            .iter()
            .map(|c| (c.id, c.details.name.clone(), c.id == clinic.id))
            .collect(),
        clinic_id: clinic.id,
        zone: clinic.details.time_zone.clone(),
        title: format!("Week of {}", long_date(monday)),
        prev: week_of(monday - Span::new().days(7)),
        next: week_of(monday + Span::new().days(7)),
        days,
    }))
}

/// Events for appointments, named for the calendar's reader.
async fn events(
    st: &AppState,
    list: Vec<needlepoint_store::Appointment>,
) -> Result<Vec<crate::ical::Event>, PageError> {
    let mut out = vec![];
    let mut clinics: HashMap<i64, String> = HashMap::new();
    for a in list {
        if let std::collections::hash_map::Entry::Vacant(e) = clinics.entry(a.clinic_id) {
            e.insert(st.store.clinic(a.clinic_id).await?.details.name);
        }
        let patient = st.store.patient(a.patient_id).await?;
        out.push(crate::ical::Event {
            uid: format!("appointment-{}@needlepoint", a.id),
            start: a.starts_at,
            end: a.ends_at,
            summary: format!(
                "{}{} — {}",
                if a.kind == "session" {
                    "Microneedling session"
                } else {
                    a.kind.as_str()
                },
                a.session_number
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default(),
                patient.details.full_name()
            ),
            location: clinics[&a.clinic_id].clone(),
            description: format!(
                "Booked in Needlepoint; starts {} {}.",
                a.local_start, a.time_zone
            ),
            cancelled: a.status == "cancelled",
        });
    }
    Ok(out)
}

fn ics(body: String) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/calendar; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// A practitioner's private feed: the token in the address is the credential.
pub async fn feed(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let token = token.trim_end_matches(".ics");
    let Some(staff_id) = st
        .store
        .calendar_feed_owner(&crate::auth::token_hash(token))
        .await?
    else {
        return Err(PageError::NotFound);
    };
    let now = needlepoint_store::now();
    let day = jiff::SignedDuration::from_hours(24);
    let list = st
        .store
        .practitioner_appointments(staff_id, now - day * 90, now + day * 400)
        .await?;
    let name = format!("Needlepoint — {}", st.store.staff(staff_id).await?.name);
    Ok(ics(crate::ical::calendar(
        &name,
        &events(&st, list).await?,
        now,
    )))
}

/// One appointment as an .ics file (what a confirmation e-mail attaches).
pub async fn appointment_ics(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let a = st.store.appointment(id).await?;
    if !caller.sees_clinic(a.clinic_id) {
        return Err(PageError::NotFound);
    }
    Ok(ics(crate::ical::calendar(
        "Needlepoint",
        &events(&st, vec![a]).await?,
        needlepoint_store::now(),
    )))
}
