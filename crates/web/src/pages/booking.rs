//! Booking a plan's whole course in one step, and the week view.

use super::forms::FormValues;
use crate::auth::Caller;
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
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::plan::PlanStatus;
use needlepoint_practice::booking::{self, CourseSession, Preferences};
use needlepoint_practice::{ical, signin};
use needlepoint_store::{Patient, PlanRecord};
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
    /// The areas treated, when the plan has several tracks.
    areas: String,
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
    tracks: usize,
}

/// What was shown, to book only that: each session's start and areas.
fn fingerprint(sessions: &[CourseSession]) -> String {
    sessions
        .iter()
        .map(|s| format!("{} {}", s.slot.start, s.areas.join("+")))
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
                let kb = st.clinic_kb(p.clinic_id).await?;
                let several = r.plan.tracks.len() > 1;
                proposal = slots
                    .iter()
                    .enumerate()
                    .map(|(i, c)| SessionRow {
                        n: i + 1,
                        when: format!(
                            "{} {}",
                            long_date(c.slot.local.date()),
                            c.slot.local.time().strftime("%H:%M")
                        ),
                        who: c
                            .slot
                            .practitioner
                            .and_then(|id| names.get(&id).cloned())
                            .unwrap_or_default(),
                        areas: if several {
                            c.areas
                                .iter()
                                .map(|a| kb.area(a).map_or(a.clone(), |x| x.name.clone()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        } else {
                            String::new()
                        },
                    })
                    .collect();
            }
            Err(e) if !e.is_answer_to_input() => return Err(e.into()),
            Err(e) => problem = Some(e.message()),
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
        tracks: r.plan.tracks.len(),
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
        Err(e) if !e.is_answer_to_input() => return Err(e.into()),
        Err(e) => return refuse(e.message()).await,
    };
    if fingerprint(&slots) != v.get("expected") {
        return refuse(
            "The times changed while you were choosing: here is the new proposal.".into(),
        )
        .await;
    }
    match booking::book(&st, &caller, &p, &r, &slots).await {
        Ok(booked) => {
            let first = booked
                .first()
                .map(|a| a.local_start.get(..10).unwrap_or("").to_string())
                .unwrap_or_default();
            Ok(
                Redirect::to(&format!("/calendar?clinic={}&week={first}", p.clinic_id))
                    .into_response(),
            )
        }
        Err(needlepoint_practice::Error::Conflict(m)) => {
            refuse(format!("{m} Nothing was booked; here is a new proposal.")).await
        }
        Err(e) if !e.is_answer_to_input() => Err(e.into()),
        Err(e) => refuse(e.message()).await,
    }
}

pub struct Entry {
    id: i64,
    time: String,
    patient: String,
    what: String,
    cancelled: bool,
}

pub struct DayColumn {
    label: String,
    date: String,
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
    /// Whose week: `p12` (a practitioner), `r3` (a room) or all.
    who: String,
    whos: Vec<(String, String)>,
}

#[derive(serde::Deserialize)]
pub struct WeekQuery {
    clinic: Option<i64>,
    week: Option<String>,
    #[serde(default)]
    who: String,
}

/// The practitioners working at a clinic, by name.
pub(super) async fn clinic_practitioners(
    st: &AppState,
    organisation_id: i64,
    clinic_id: i64,
) -> Result<Vec<(i64, String)>, PageError> {
    let mut out = vec![];
    let works_at = st.store.staff_clinic_map(organisation_id).await?;
    for s in st.store.list_staff(organisation_id).await? {
        if s.active
            && s.practitioner.is_some()
            && works_at.get(&s.id).is_some_and(|c| c.contains(&clinic_id))
        {
            out.push((s.id, s.name));
        }
    }
    Ok(out)
}

/// The choices of whose calendar to show: every practitioner and room.
async fn whos(
    st: &AppState,
    organisation_id: i64,
    clinic_id: i64,
) -> Result<Vec<(String, String)>, PageError> {
    let mut out: Vec<(String, String)> = clinic_practitioners(st, organisation_id, clinic_id)
        .await?
        .into_iter()
        .map(|(id, n)| (format!("p{id}"), n))
        .collect();
    for r in st.store.rooms(clinic_id).await? {
        if r.active {
            out.push((format!("r{}", r.id), format!("Room: {}", r.details.name)));
        }
    }
    Ok(out)
}

/// Whether an appointment belongs to the chosen practitioner or room.
fn belongs(a: &needlepoint_store::Appointment, who: &str) -> bool {
    match (
        who.get(..1),
        who.get(1..).and_then(|x| x.parse::<i64>().ok()),
    ) {
        (Some("p"), Some(id)) => a.practitioner_id == Some(id),
        (Some("r"), Some(id)) => a.room_id == Some(id),
        _ => true,
    }
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
    let today = st.today_in(&clinic.details.time_zone);
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
    let ids: Vec<i64> = appointments.iter().map(|a| a.patient_id).collect();
    let names = st.patient_names(&ids).await?;
    let mut days: Vec<DayColumn> = (0..7)
        .map(|i| {
            let d = monday + Span::new().days(i);
            DayColumn {
                label: d.strftime("%a %-d %b").to_string(),
                date: d.to_string(),
                today: d == today,
                entries: vec![],
            }
        })
        .collect();
    for a in appointments.into_iter().filter(|a| belongs(a, &q.who)) {
        let local = a.starts_at.to_zoned(zone.clone());
        let i = (local.date() - monday).get_days() as usize;
        let what = format!(
            "{} · {}{}",
            super::appointments::kind_label(&a),
            a.practitioner_id
                .and_then(|id| staff.get(&id).cloned())
                .unwrap_or_default(),
            a.room_id
                .and_then(|id| rooms.get(&id).map(|r| format!(" · {r}")))
                .unwrap_or_default(),
        );
        if let Some(col) = days.get_mut(i) {
            col.entries.push(Entry {
                id: a.id,
                time: format!(
                    "{}–{}",
                    local.strftime("%H:%M"),
                    a.ends_at.to_zoned(zone.clone()).strftime("%H:%M")
                ),
                patient: names.get(&a.patient_id).cloned().unwrap_or_default(),
                what,
                cancelled: a.status == AppointmentStatus::Cancelled,
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
        whos: whos(&st, clinic.organisation_id, clinic.id).await?,
        who: q.who,
    }))
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
    match ical::feed(&st, &signin::token_hash(token)).await? {
        Some(body) => Ok(ics(body)),
        None => Err(PageError::NotFound),
    }
}

/// One appointment as an .ics file (what a confirmation e-mail attaches).
pub async fn appointment_ics(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    Ok(ics(ical::appointment(&st, &caller, id).await?))
}

/// One cell of the day view: free (a link to book), off (closed, past or
/// outside working hours), or appointments spanning `rows` quarter hours.
pub struct DayCell {
    free: bool,
    rows: usize,
    href: String,
    items: Vec<Entry>,
}

pub struct DayRow {
    label: String,
    cells: Vec<DayCell>,
}

#[derive(Template)]
#[template(path = "calendar_day.html")]
struct DayPage {
    shell: Shell,
    clinics: Vec<(i64, String, bool)>,
    clinic_id: i64,
    zone: String,
    title: String,
    date: String,
    prev: String,
    next: String,
    by: String,
    closed: Option<String>,
    columns: Vec<String>,
    rows: Vec<DayRow>,
    cancelled: Vec<Entry>,
}

#[derive(serde::Deserialize)]
pub struct DayQuery {
    clinic: Option<i64>,
    date: Option<String>,
    #[serde(default)]
    by: String,
}

const QUARTER: i64 = 15;

/// Appointments of one column drawn as one cell: from quarter `first`,
/// `rows` quarters long (appointments sharing a quarter share a cell).
struct Block {
    first: usize,
    rows: usize,
    items: Vec<Entry>,
}

/// A clinic's day, one column per practitioner (or room), in quarter
/// hours on the clinic's clock; click a free quarter to book it.
pub async fn day(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<DayQuery>,
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
    let date = q
        .date
        .as_deref()
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or(st.today_in(&clinic.details.time_zone));
    let by_room = q.by == "room";
    let hours = st.store.clinic_hours(clinic.id).await?.unwrap_or_default();
    let closure = st
        .store
        .closures(clinic.id)
        .await?
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, why)| why);
    let open = hours.on(date.weekday()).to_vec();
    // The calendar a booking on this day is checked against.
    let cal = needlepoint_domain::scheduling::ClinicCalendar {
        zone: zone.clone(),
        hours: hours.clone(),
        closed: closure.iter().map(|_| date).collect(),
    };
    let closed = match (&closure, open.is_empty()) {
        (Some(why), _) => Some(format!("Closed: {why}.")),
        (None, true) => Some(format!("The clinic is closed on {}s.", date.strftime("%A"))),
        _ => None,
    };
    // Rows from the earliest opening to the latest closing (9–17 when closed).
    let minutes = |t: jiff::civil::Time| i64::from(t.hour()) * 60 + i64::from(t.minute());
    let first = open
        .iter()
        .map(|(o, _)| minutes(*o))
        .min()
        .unwrap_or(9 * 60)
        / QUARTER
        * QUARTER;
    let last = open
        .iter()
        .map(|(_, c)| minutes(*c))
        .max()
        .unwrap_or(17 * 60);
    let n_rows = ((last - first + QUARTER - 1) / QUARTER).max(1) as usize;
    let at = |row: usize| {
        let m = first + row as i64 * QUARTER;
        time((m / 60) as i8, (m % 60) as i8, 0, 0)
    };

    // Columns: (id, name, working hours).
    let mut columns: Vec<(
        i64,
        String,
        Option<needlepoint_domain::scheduling::WeeklyHours>,
    )> = vec![];
    if by_room {
        for r in st
            .store
            .rooms(clinic.id)
            .await?
            .into_iter()
            .filter(|r| r.active)
        {
            columns.push((r.id, r.details.name, None));
        }
    } else {
        for (id, name) in clinic_practitioners(&st, clinic.organisation_id, clinic.id).await? {
            let h = st
                .store
                .staff_hours(id, clinic.id)
                .await?
                .filter(|h| h.days.iter().any(|d| !d.is_empty()));
            columns.push((id, name, h));
        }
    }
    let midnight = |d: Date| {
        zone.to_ambiguous_timestamp(d.to_datetime(time(0, 0, 0, 0)))
            .compatible()
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let appointments = st
        .store
        .appointments(
            clinic.id,
            midnight(date)?,
            midnight(date + Span::new().days(1))?,
        )
        .await?;
    let ids: Vec<i64> = appointments.iter().map(|a| a.patient_id).collect();
    let names = st.patient_names(&ids).await?;
    let entry = |a: &needlepoint_store::Appointment| Entry {
        id: a.id,
        time: format!(
            "{}–{}",
            a.starts_at.to_zoned(zone.clone()).strftime("%H:%M"),
            a.ends_at.to_zoned(zone.clone()).strftime("%H:%M")
        ),
        patient: names.get(&a.patient_id).cloned().unwrap_or_default(),
        what: super::appointments::kind_label(a),
        cancelled: a.status == AppointmentStatus::Cancelled,
    };
    let (live, gone): (Vec<_>, Vec<_>) = appointments.iter().partition(|a| a.status.holds_time());
    let key = |a: &needlepoint_store::Appointment| {
        if by_room {
            a.room_id
        } else {
            a.practitioner_id
        }
    };
    if live
        .iter()
        .any(|a| key(a).is_none_or(|id| !columns.iter().any(|c| c.0 == id)))
    {
        columns.push((0, if by_room { "No room" } else { "Anyone" }.into(), None));
    }

    // Each column's quarters: which block covers it; blocks merge when
    // appointments share a quarter.
    let mut blocks: Vec<Block> = vec![];
    let mut owner: Vec<Vec<Option<usize>>> = vec![vec![None; n_rows]; columns.len()];
    for a in &live {
        let col = columns
            .iter()
            .position(|c| key(a) == Some(c.0))
            .unwrap_or(columns.len() - 1);
        let s = minutes(a.starts_at.to_zoned(zone.clone()).time());
        let e = s + a.ends_at.duration_since(a.starts_at).as_mins();
        let r0 = ((s - first).max(0) / QUARTER) as usize;
        let r1 = (((e - first + QUARTER - 1) / QUARTER).max(1) as usize).min(n_rows);
        let r0 = r0.min(n_rows - 1);
        let b = match owner[col][r0] {
            Some(b) => b,
            None => {
                blocks.push(Block {
                    first: r0,
                    rows: 0,
                    items: vec![],
                });
                blocks.len() - 1
            }
        };
        let end = (blocks[b].first + blocks[b].rows).max(r1.max(r0 + 1));
        blocks[b].rows = end - blocks[b].first;
        blocks[b].items.push(entry(a));
        for slot in owner[col].iter_mut().take(end).skip(blocks[b].first) {
            *slot = Some(b);
        }
    }
    let mut blocks: Vec<Option<Block>> = blocks.into_iter().map(Some).collect();
    let mut rows = vec![];
    // Rows outside, columns inside: `owner` is per column, so index it.
    #[allow(clippy::needless_range_loop)]
    for r in 0..n_rows {
        let t = at(r);
        let mut cells = vec![];
        for (c, (id, _, staff_hours)) in columns.iter().enumerate() {
            match owner[c][r] {
                Some(b) => {
                    if let Some(block) = blocks[b].take_if(|x| x.first == r) {
                        cells.push(DayCell {
                            free: false,
                            rows: block.rows,
                            href: String::new(),
                            items: block.items,
                        });
                    }
                }
                None => {
                    let free = *id != 0
                        && booking::offered(
                            &st,
                            &cal,
                            date.to_datetime(t),
                            QUARTER,
                            staff_hours.as_ref(),
                        );
                    let href = if free {
                        let mut h = format!(
                            "/appointments/new?clinic={}&date={date}&time={}",
                            clinic.id,
                            t.strftime("%H:%M")
                        );
                        if !by_room {
                            h.push_str(&format!("&practitioner={id}"));
                        }
                        h
                    } else {
                        String::new()
                    };
                    cells.push(DayCell {
                        free,
                        rows: 1,
                        href,
                        items: vec![],
                    });
                }
            }
        }
        rows.push(DayRow {
            label: if t.minute() % 30 == 0 {
                t.strftime("%H:%M").to_string()
            } else {
                String::new()
            },
            cells,
        });
    }
    Ok(render(&DayPage {
        shell: Shell::new(&caller, &csrf, "calendar"),
        clinics: clinics
            .iter()
            .map(|c| (c.id, c.details.name.clone(), c.id == clinic.id))
            .collect(),
        clinic_id: clinic.id,
        zone: clinic.details.time_zone.clone(),
        title: date.strftime("%A %-d %B %Y").to_string(),
        date: date.to_string(),
        prev: (date - Span::new().days(1)).to_string(),
        next: (date + Span::new().days(1)).to_string(),
        by: if by_room { "room" } else { "practitioner" }.into(),
        closed,
        columns: columns.into_iter().map(|c| c.1).collect(),
        rows,
        cancelled: gone.into_iter().map(entry).collect(),
    }))
}
