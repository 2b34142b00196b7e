//! Booking a plan's course: the clinic's calendar and free resources read
//! from the record, the course proposed by the pure search, and booked all
//! together (the database refuses any double booking).

use crate::clinical::clinic_today;
use crate::AppState;
use jiff::civil::{Time, Weekday};
use jiff::{SignedDuration, Span, Timestamp};
use needlepoint_domain::planning::approx_days;
use needlepoint_domain::scheduling::{
    propose_course, Busy, ClinicCalendar, CourseRequest, Pools, Resource, Slot, SlotRequest,
};
use needlepoint_store::{Actor, Appointment, NewAppointment, Patient, PlanRecord, StoreError};
use std::collections::HashMap;

/// How far ahead the first session is looked for.
const FIRST_SESSION_WITHIN_DAYS: i64 = 60;
/// Candidate starts every quarter hour.
const STEP_MINUTES: i64 = 15;

#[derive(Debug, Clone, Default)]
pub struct Preferences {
    pub weekdays: Vec<Weekday>,
    pub between: Option<(Time, Time)>,
}

#[derive(Debug)]
pub enum BookError {
    /// Something the clinic or plan lacks, in words.
    Cannot(String),
    Store(StoreError),
}

impl From<StoreError> for BookError {
    fn from(e: StoreError) -> Self {
        BookError::Store(e)
    }
}

/// Sessions of the plan already booked (and not cancelled).
pub async fn booked_sessions(
    st: &AppState,
    r: &PlanRecord,
) -> Result<Vec<Appointment>, StoreError> {
    Ok(st
        .store
        .patient_appointments(r.patient_id)
        .await?
        .into_iter()
        .filter(|a| {
            a.plan_id == Some(r.id) && !matches!(a.status.as_str(), "cancelled" | "no_show")
        })
        .collect())
}

/// Proposes the plan's remaining sessions.
pub async fn propose(
    st: &AppState,
    p: &Patient,
    r: &PlanRecord,
    prefs: &Preferences,
) -> Result<Vec<Slot>, BookError> {
    let kb = crate::clinical::clinic_kb(st, p.clinic_id).await?;
    let clinic = st.store.clinic(p.clinic_id).await?;
    let zone = jiff::tz::TimeZone::get(&clinic.details.time_zone)
        .map_err(|_| BookError::Cannot("The clinic's time zone is unknown.".into()))?;
    let Some(hours) = st.store.clinic_hours(p.clinic_id).await? else {
        return Err(BookError::Cannot(
            "Set the clinic's opening hours in Settings first.".into(),
        ));
    };
    let closed = st
        .store
        .closures(p.clinic_id)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let cal = ClinicCalendar {
        zone,
        hours,
        closed,
    };
    let now = needlepoint_store::now();

    // Who and what is busy: the clinic's bookings for the coming year.
    let mut busy: HashMap<(&str, i64), Vec<(Timestamp, Timestamp)>> = HashMap::new();
    let horizon = now + SignedDuration::from_hours(24 * 400);
    let appointments = st
        .store
        .appointments(p.clinic_id, now - SignedDuration::from_hours(24), horizon)
        .await?;
    let buffer = SignedDuration::from_mins(i64::from(kb.scheduling.buffer_minutes));
    for a in appointments
        .iter()
        .filter(|a| !matches!(a.status.as_str(), "cancelled" | "no_show"))
    {
        for (kind, id) in [
            ("practitioner", a.practitioner_id),
            ("room", a.room_id),
            ("device", a.device_id),
        ] {
            if let Some(id) = id {
                busy.entry((kind, id))
                    .or_default()
                    .push((a.starts_at - buffer, a.ends_at + buffer));
            }
        }
    }
    let mut take =
        |kind: &'static str, id: i64| Busy::new(busy.remove(&(kind, id)).unwrap_or_default());

    let mut practitioners = vec![];
    for s in st.store.list_staff(clinic.organisation_id).await? {
        if s.active
            && s.practitioner.is_some()
            && st
                .store
                .staff_clinic_ids(s.id)
                .await?
                .contains(&p.clinic_id)
        {
            // No day set at all means "whenever the clinic is open".
            let hours = st
                .store
                .staff_hours(s.id, p.clinic_id)
                .await?
                .filter(|h| h.days.iter().any(|d| !d.is_empty()));
            practitioners.push(Resource {
                id: s.id,
                hours,
                busy: take("practitioner", s.id),
            });
        }
    }
    if practitioners.is_empty() {
        return Err(BookError::Cannot(
            "No practitioner works at this clinic.".into(),
        ));
    }
    let session = kb
        .appointment_type("session")
        .ok_or_else(|| BookError::Cannot("No session appointment type.".into()))?;
    let rooms = if session.needs_room {
        st.store
            .rooms(p.clinic_id)
            .await?
            .into_iter()
            .filter(|x| x.active)
            .map(|x| Resource {
                id: x.id,
                hours: None,
                busy: take("room", x.id),
            })
            .collect()
    } else {
        vec![]
    };
    let deepest = r.plan.areas.iter().map(|a| a.depth.max).max();
    let devices: Vec<Resource> = if session.needs_device {
        st.store
            .devices(p.clinic_id)
            .await?
            .into_iter()
            .filter(|d| d.active && deepest.is_none_or(|m| d.details.max_depth >= m))
            .map(|d| Resource {
                id: d.id,
                hours: None,
                busy: take("device", d.id),
            })
            .collect()
    } else {
        vec![]
    };
    if session.needs_room && rooms.is_empty() {
        return Err(BookError::Cannot("The clinic has no room to book.".into()));
    }
    if session.needs_device && devices.is_empty() {
        return Err(BookError::Cannot(
            "No device of the clinic reaches the plan's depth.".into(),
        ));
    }

    let booked = booked_sessions(st, r).await?;
    let remaining = (r.plan.sessions as usize).saturating_sub(booked.len());
    if remaining == 0 {
        return Err(BookError::Cannot(
            "Every session of this plan is booked.".into(),
        ));
    }
    let (imin, imax) = (
        i64::from(approx_days(r.plan.interval.min)),
        i64::from(approx_days(r.plan.interval.max)),
    );
    let today = clinic_today(st, p.clinic_id).await?;
    let mut first_from = r.plan.earliest_start.max(today);
    if let Some(last) = booked.iter().map(|a| a.starts_at).max() {
        first_from =
            first_from.max(last.to_zoned(cal.zone.clone()).date() + Span::new().days(imin));
    }
    let areas: Vec<String> = r.plan.areas.iter().map(|a| a.area.clone()).collect();
    let base = SlotRequest {
        duration: SignedDuration::from_mins(i64::from(session.duration_minutes(&kb, &areas))),
        buffer: SignedDuration::ZERO,
        step_minutes: STEP_MINUTES,
        not_before: now,
        from: first_from,
        to: first_from,
        weekdays: vec![],
        between: None,
    };
    let course = CourseRequest {
        sessions: remaining as u32,
        first_from,
        first_within_days: FIRST_SESSION_WITHIN_DAYS,
        interval_min_days: imin,
        interval_max_days: imax,
        weekdays: prefs.weekdays.clone(),
        between: prefs.between,
    };
    propose_course(
        &cal,
        &Pools {
            practitioners,
            rooms,
            devices,
        },
        &base,
        &course,
    )
    .map_err(BookError::Cannot)
}

/// Books the slots as the plan's next sessions, all or none.
pub async fn book(
    st: &AppState,
    p: &Patient,
    r: &PlanRecord,
    slots: &[Slot],
    actor: &Actor,
) -> Result<Vec<Appointment>, BookError> {
    let zone = st.store.clinic(p.clinic_id).await?.details.time_zone;
    let done = booked_sessions(st, r).await?.len() as i64;
    let list: Vec<NewAppointment> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| NewAppointment {
            clinic_id: p.clinic_id,
            patient_id: p.id,
            plan_id: Some(r.id),
            session_number: Some(done + i as i64 + 1),
            kind: "session".into(),
            practitioner_id: s.practitioner,
            room_id: s.room,
            device_id: s.device,
            starts_at: s.start,
            ends_at: s.end,
            local_start: s.local.to_string(),
            time_zone: zone.clone(),
        })
        .collect();
    Ok(st
        .store
        .book(&list, actor, needlepoint_store::now())
        .await?)
}
