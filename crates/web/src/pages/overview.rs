//! Today, Calendar, Inventory, Reports and the organisation's audit trail.

use super::LISTED_CLINICS;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use jiff::tz::TimeZone;
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::clinic::group_thousands;
use needlepoint_store::Clinic;
use std::collections::{BTreeMap, HashMap};

pub struct ClinicToday {
    name: String,
    zone: String,
    local_date: String,
    local_time: String,
    patients: String,
    appointments: Vec<TodayRow>,
    /// Items at or below their reorder level: (name, usable, reorder at).
    low_stock: Vec<(String, i64, i64)>,
    /// Check-ins waiting for a clinician (clinical staff only).
    checkins: Vec<CheckinRow>,
}

/// A check-in on Today: flagged by its answer, or not answered.
pub struct CheckinRow {
    id: i64,
    patient_id: i64,
    patient: String,
    day: u32,
    /// The triage's advice, or "Not answered" with when it was sent.
    what: String,
    flagged: bool,
}

/// One clinic on a chain's Today: its day counted, not listed (more than
/// [`LISTED_CLINICS`] clinics).
pub struct ClinicLine {
    id: i64,
    name: String,
    local_time: String,
    patients: String,
    appointments: i64,
    /// Today's appointments per status, in the order of the day: (label, n).
    by_status: Vec<(&'static str, i64)>,
    low_stock: usize,
}

/// One of today's appointments, with what can be done next.
pub struct TodayRow {
    id: i64,
    time: String,
    patient: String,
    patient_id: i64,
    what: String,
    status: &'static str,
    actions: Vec<(&'static str, &'static str)>,
    /// A session a clinician can chart.
    chartable: bool,
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    shell: Shell,
    greeting: &'static str,
    first_name: String,
    organisation: String,
    /// The clinics whose day is listed in full.
    clinics: Vec<ClinicToday>,
    /// With many clinics: one line each, linking to its day.
    lines: Vec<ClinicLine>,
    /// One clinic's day opened from the lines: a way back to them.
    back_to_all: bool,
    recent: Vec<(i64, String, String)>,
}

#[derive(serde::Deserialize)]
pub struct TodayQuery {
    clinic: Option<i64>,
}

/// A clinic's day: from its midnight to the next, in its zone.
fn day_in(tz: &TimeZone, today: jiff::civil::Date) -> Option<(jiff::Timestamp, jiff::Timestamp)> {
    let midnight = |d: jiff::civil::Date| {
        tz.to_ambiguous_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .ok()
    };
    Some((midnight(today)?, midnight(today.tomorrow().ok()?)?))
}

fn patients_label(counts: &HashMap<i64, i64>, clinic_id: i64) -> String {
    group_thousands(counts.get(&clinic_id).copied().unwrap_or(0).max(0) as u64)
}

pub async fn today(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<TodayQuery>,
) -> Result<Response, PageError> {
    let all = st.store.clinics_for_staff(caller.staff.id).await?;
    let counts: HashMap<i64, i64> = st
        .store
        .patient_counts(caller.staff.id)
        .await?
        .into_iter()
        .collect();
    let (listed, lines): (Vec<&Clinic>, Vec<ClinicLine>) = match q.clinic {
        Some(id) => (
            vec![all.iter().find(|c| c.id == id).ok_or(PageError::NotFound)?],
            vec![],
        ),
        None if all.len() <= LISTED_CLINICS => (all.iter().collect(), vec![]),
        None => (vec![], clinic_lines(&st, &caller, &all, &counts).await?),
    };
    let mut clinics = vec![];
    for c in listed {
        clinics.push(clinic_today(&st, &caller, c, patients_label(&counts, c.id)).await?);
    }
    // Greet by the first clinic's local hour: that is where the person works.
    let zone = all.first().map_or("UTC", |c| c.details.time_zone.as_str());
    let hour = st.wall_clock(zone).hour();
    let recent = st
        .store
        .recent_patients(caller.staff.id, 8)
        .await?
        .into_iter()
        .map(|p| (p.id, p.details.full_name(), local_time(p.created_at, zone)))
        .collect();
    Ok(render(&TodayPage {
        shell: Shell::new(&caller, &csrf, "today"),
        greeting: match hour {
            0..=11 => "morning",
            12..=17 => "afternoon",
            _ => "evening",
        },
        first_name: caller
            .staff
            .name
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string(),
        organisation: st
            .store
            .organisation()
            .await?
            .map(|o| o.name)
            .unwrap_or_default(),
        back_to_all: q.clinic.is_some() && all.len() > LISTED_CLINICS,
        clinics,
        lines,
        recent,
    }))
}

/// One clinic's day in full: its appointments with their patients' names
/// (read in one query) and what is low in its stock.
async fn clinic_today(
    st: &AppState,
    caller: &Caller,
    c: &Clinic,
    patients: String,
) -> Result<ClinicToday, PageError> {
    let tz = TimeZone::get(&c.details.time_zone).unwrap_or(TimeZone::UTC);
    let z = st.wall_clock(&c.details.time_zone);
    let day = match day_in(&tz, z.date()) {
        Some((from, to)) => st.store.appointments(c.id, from, to).await?,
        None => vec![],
    };
    let open = if caller.is_clinical() {
        needlepoint_practice::checkins::open(st, c.id).await?
    } else {
        vec![]
    };
    let mut ids: Vec<i64> = day.iter().map(|a| a.patient_id).collect();
    ids.extend(open.iter().map(|k| k.patient_id));
    let names = st.patient_names(&ids).await?;
    let checkins = open
        .into_iter()
        .map(|k| CheckinRow {
            id: k.id,
            patient_id: k.patient_id,
            patient: names.get(&k.patient_id).cloned().unwrap_or_default(),
            day: k.day,
            flagged: k.flagged(),
            what: match k.advice {
                Some(a) => a.label().to_string(),
                None => format!(
                    "Not answered; sent {}",
                    local_time(k.due_at, &c.details.time_zone)
                ),
            },
        })
        .collect();
    let appointments = day
        .into_iter()
        .map(|a| TodayRow {
            id: a.id,
            time: a
                .starts_at
                .to_zoned(tz.clone())
                .strftime("%H:%M")
                .to_string(),
            patient: names.get(&a.patient_id).cloned().unwrap_or_default(),
            patient_id: a.patient_id,
            what: super::appointments::kind_label(&a),
            status: a.status.label(),
            actions: needlepoint_practice::booking::actions(st, &a)
                .into_iter()
                .map(|(to, label)| (to.as_str(), label))
                .collect(),
            chartable: a.kind.is_session() && a.status.holds_time(),
        })
        .collect();
    Ok(ClinicToday {
        name: c.details.name.clone(),
        zone: c.details.time_zone.clone(),
        local_date: z.strftime("%A %-d %B %Y").to_string(),
        local_time: z.strftime("%H:%M").to_string(),
        patients,
        appointments,
        low_stock: needlepoint_practice::stock::low_stock(st, caller, c.id)
            .await?
            .into_iter()
            .map(|i| (i.name, i.usable, i.reorder_at))
            .collect(),
        checkins,
    })
}

/// A line per clinic: today's appointments counted per status, with one
/// query for all the clinics that share a time zone (and so a day).
async fn clinic_lines(
    st: &AppState,
    caller: &Caller,
    all: &[Clinic],
    counts: &HashMap<i64, i64>,
) -> Result<Vec<ClinicLine>, PageError> {
    let mut zones: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for c in all {
        zones.entry(&c.details.time_zone).or_default().push(c.id);
    }
    let mut day: HashMap<i64, Vec<(AppointmentStatus, i64)>> = HashMap::new();
    for (zone, ids) in zones {
        let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
        if let Some((from, to)) = day_in(&tz, st.wall_clock(zone).date()) {
            for (clinic, status, n) in st.store.appointment_counts(&ids, from, to).await? {
                day.entry(clinic).or_default().push((status, n));
            }
        }
    }
    let mut lines = vec![];
    for c in all {
        let mut by = day.remove(&c.id).unwrap_or_default();
        by.sort_by_key(|(s, _)| AppointmentStatus::ALL.iter().position(|x| x == s));
        lines.push(ClinicLine {
            id: c.id,
            name: c.details.name.clone(),
            local_time: st
                .wall_clock(&c.details.time_zone)
                .strftime("%H:%M")
                .to_string(),
            patients: patients_label(counts, c.id),
            appointments: by.iter().map(|(_, n)| n).sum(),
            by_status: by.into_iter().map(|(s, n)| (s.label(), n)).collect(),
            low_stock: needlepoint_practice::stock::low_stock(st, caller, c.id)
                .await?
                .len(),
        });
    }
    Ok(lines)
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    shell: Shell,
    rows: Vec<(String, String, String)>,
    total: String,
}

/// Patients per clinic, from the counts the patients table's triggers keep
/// (`clinic_patient_counts`): fifty numbers read, not a million rows counted.
pub async fn reports(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let counts: HashMap<i64, i64> = st
        .store
        .patient_counts(caller.staff.id)
        .await?
        .into_iter()
        .collect();
    let rows = st
        .store
        .clinics_for_staff(caller.staff.id)
        .await?
        .into_iter()
        .map(|c| {
            let n = patients_label(&counts, c.id);
            (c.details.name, c.details.time_zone, n)
        })
        .collect();
    Ok(render(&ReportsPage {
        shell: Shell::new(&caller, &csrf, "reports"),
        rows,
        total: group_thousands(counts.values().sum::<i64>().max(0) as u64),
    }))
}
