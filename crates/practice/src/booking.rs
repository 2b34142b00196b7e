//! Booking, shared by pages and API: the clinic's calendar and free
//! resources read from the record, times found by the pure search or a
//! time chosen by hand checked by the pure rules, then booked, moved or
//! cancelled in one write each (the database refuses any double booking).

use crate::screening::with_birth_date;
use crate::{Actor, Context, Error, Result};
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::{SignedDuration, Span, Timestamp};
use needlepoint_domain::appointment::{AppointmentKind, AppointmentStatus};
use needlepoint_domain::booking_rules::{self, only_overridable, Window};
use needlepoint_domain::knowledge::{AppointmentType, KnowledgeBase};
use needlepoint_domain::scheduling::{
    find_slots, propose_course, resources_at, Busy, ClinicCalendar, CourseRequest, CourseTrack,
    Pools, Resource, Slot, SlotRequest, WeeklyHours,
};
use needlepoint_domain::screening::{screen, Deferral};
use needlepoint_domain::Depth;
use needlepoint_store::{
    Appointment, Clinic, Move, NewAppointment, Patient, PlanRecord, StatusChange, StoreError,
};
use std::collections::HashMap;

/// How far ahead the first session is looked for.
const FIRST_SESSION_WITHIN_DAYS: i64 = 60;
/// Candidate starts every quarter hour.
const STEP_MINUTES: i64 = 15;
/// A search for free times covers this many days unless told otherwise,
/// and never more than a year.
const SEARCH_DAYS: i64 = 60;
const MAX_SEARCH_DAYS: i32 = 366;

#[derive(Debug, Clone, Default)]
pub struct Preferences {
    pub weekdays: Vec<Weekday>,
    pub between: Option<(Time, Time)>,
}

/// A reason to book outside a healing window counts only from a clinician:
/// checked here, for pages and API alike.
fn only_clinicians_override(reason: Option<&str>, actor: &Actor) -> Result<()> {
    if reason.is_some_and(|r| !r.trim().is_empty())
        && !booking_rules::may_override_window(actor.role)
    {
        return Err(Error::Forbidden(
            booking_rules::OVERRIDE_NEEDS_A_CLINICIAN.into(),
        ));
    }
    Ok(())
}

fn active(a: &Appointment) -> bool {
    a.status.holds_time()
}

/// The plan a patient's next session belongs to: the accepted or started one.
pub async fn active_plan(cx: &Context, p: &Patient) -> Result<Option<PlanRecord>, StoreError> {
    use needlepoint_domain::plan::PlanStatus;
    Ok(cx
        .store
        .plans(p.id)
        .await?
        .into_iter()
        .rev()
        .find(|r| matches!(r.status, PlanStatus::Accepted | PlanStatus::InProgress)))
}

/// Sessions of the plan booked and not cancelled, in course order.
pub async fn booked_sessions(cx: &Context, r: &PlanRecord) -> Result<Vec<Appointment>, StoreError> {
    let mut list: Vec<Appointment> = cx
        .store
        .patient_appointments(r.patient_id)
        .await?
        .into_iter()
        .filter(|a| a.plan_id == Some(r.id) && active(a))
        .collect();
    list.sort_by_key(|a| (a.session_number, a.starts_at));
    Ok(list)
}

/// A clinic's calendar and resources, with what keeps each busy.
pub struct Schedule {
    pub kb: KnowledgeBase,
    pub clinic: Clinic,
    pub cal: ClinicCalendar,
    practitioners: Vec<Resource>,
    rooms: Vec<Resource>,
    devices: Vec<(Resource, Depth)>,
    buffer: SignedDuration,
    pub now: Timestamp,
    pub today: Date,
}

/// Loads the clinic's schedule; the appointments in `moving` do not count
/// as busy, since they are about to move.
pub async fn schedule(cx: &Context, clinic_id: i64, moving: &[i64]) -> Result<Schedule> {
    let kb = cx.clinic_kb(clinic_id).await?;
    let clinic = cx.store.clinic(clinic_id).await?;
    let zone = jiff::tz::TimeZone::get(&clinic.details.time_zone)
        .map_err(|_| Error::refused("The clinic's time zone is unknown."))?;
    let Some(hours) = cx.store.clinic_hours(clinic_id).await? else {
        return Err(Error::refused(
            "Set the clinic's opening hours in Settings first.",
        ));
    };
    let closed = cx
        .store
        .closures(clinic_id)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let now = cx.now();
    let today = now.to_zoned(zone.clone()).date();
    let buffer = SignedDuration::from_mins(i64::from(kb.scheduling.buffer_minutes));

    // Who and what is busy: the clinic's bookings for the coming year.
    let mut busy: HashMap<(&str, i64), Vec<(Timestamp, Timestamp)>> = HashMap::new();
    let day = SignedDuration::from_hours(24);
    for a in cx
        .store
        .appointments(clinic_id, now - day, now + day * 400)
        .await?
        .iter()
        .filter(|a| active(a) && !moving.contains(&a.id))
    {
        for (kind, id) in [
            ("practitioner", a.practitioner_id),
            ("room", a.room_id),
            ("device", a.device_id),
        ] {
            if let Some(id) = id {
                busy.entry((kind, id))
                    .or_default()
                    .push((a.starts_at, a.ends_at));
            }
        }
    }
    let mut take =
        |kind: &'static str, id: i64| Busy::new(busy.remove(&(kind, id)).unwrap_or_default());

    let mut practitioners = vec![];
    let works_at = cx.store.staff_clinic_map(clinic.organisation_id).await?;
    for s in cx.store.list_staff(clinic.organisation_id).await? {
        if s.active
            && s.practitioner.is_some()
            && works_at.get(&s.id).is_some_and(|c| c.contains(&clinic_id))
        {
            // No day set at all means "whenever the clinic is open".
            let hours = cx
                .store
                .staff_hours(s.id, clinic_id)
                .await?
                .filter(|h| h.days.iter().any(|d| !d.is_empty()));
            practitioners.push(Resource {
                id: s.id,
                hours,
                busy: take("practitioner", s.id),
            });
        }
    }
    let rooms = cx
        .store
        .rooms(clinic_id)
        .await?
        .into_iter()
        .filter(|x| x.active)
        .map(|x| Resource {
            id: x.id,
            hours: None,
            busy: take("room", x.id),
        })
        .collect();
    let devices = cx
        .store
        .devices(clinic_id)
        .await?
        .into_iter()
        .filter(|d| d.active)
        .map(|d| {
            (
                Resource {
                    id: d.id,
                    hours: None,
                    busy: take("device", d.id),
                },
                d.details.max_depth,
            )
        })
        .collect();
    Ok(Schedule {
        kb,
        cal: ClinicCalendar {
            zone,
            hours,
            closed,
        },
        clinic,
        practitioners,
        rooms,
        devices,
        buffer,
        now,
        today,
    })
}

impl Schedule {
    /// The clinic's knowledge of this kind of appointment: its length and
    /// what it needs.
    pub fn appointment_type(&self, kind: AppointmentKind) -> Result<&AppointmentType> {
        self.kb.appointment_type(kind.as_str()).ok_or_else(|| {
            Error::invalid(
                "kind",
                format!(
                    "The clinic does not offer a {}.",
                    kind.as_str().replace('_', " ")
                ),
            )
        })
    }

    /// How long an appointment of `kind` lasts; a session by its plan's areas.
    /// How long an appointment of `kind` lasts when it treats `areas`.
    pub fn duration(&self, kind: AppointmentKind, areas: &[String]) -> Result<SignedDuration> {
        let t = self.appointment_type(kind)?;
        Ok(SignedDuration::from_mins(i64::from(
            t.duration_minutes(&self.kb, areas),
        )))
    }

    pub fn practitioner_hours(&self, id: i64) -> Option<&WeeklyHours> {
        self.practitioners
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.hours.as_ref())
    }

    /// The resources an appointment of `kind` may use.
    fn pools(
        &self,
        kind: AppointmentKind,
        practitioner: Option<i64>,
        deepest: Option<Depth>,
    ) -> Result<Pools> {
        let t = self.appointment_type(kind)?;
        let practitioners: Vec<Resource> = self
            .practitioners
            .iter()
            .filter(|p| practitioner.is_none_or(|id| p.id == id))
            .cloned()
            .collect();
        if practitioners.is_empty() {
            return Err(Error::refused(match practitioner {
                Some(_) => "That practitioner does not work at this clinic.".to_string(),
                None => "No practitioner works at this clinic.".to_string(),
            }));
        }
        let rooms = if t.needs_room {
            self.rooms.clone()
        } else {
            vec![]
        };
        let devices: Vec<Resource> = if t.needs_device {
            self.devices
                .iter()
                .filter(|(_, max)| deepest.is_none_or(|m| *max >= m))
                .map(|(r, _)| r.clone())
                .collect()
        } else {
            vec![]
        };
        if t.needs_room && rooms.is_empty() {
            return Err(Error::refused("The clinic has no room to book."));
        }
        if t.needs_device && devices.is_empty() {
            return Err(Error::refused(
                "No device of the clinic reaches the plan's depth.",
            ));
        }
        Ok(Pools {
            practitioners,
            rooms,
            devices,
        })
    }

    fn local_date(&self, t: Timestamp) -> Date {
        t.to_zoned(self.cal.zone.clone()).date()
    }

    fn local(&self, t: Timestamp) -> DateTime {
        t.to_zoned(self.cal.zone.clone()).datetime()
    }

    fn base_request(&self, duration: SignedDuration, from: Date, to: Date) -> SlotRequest {
        SlotRequest {
            duration,
            buffer: self.buffer,
            step_minutes: STEP_MINUTES,
            not_before: self.now,
            from,
            to,
            weekdays: vec![],
            between: None,
        }
    }
}

fn deepest(plan: Option<&PlanRecord>) -> Option<Depth> {
    plan.and_then(|r| r.plan.areas.iter().map(|a| a.depth.max).max())
}

/// The tracks of the plan an appointment treats: those holding any of its
/// areas, or every track when it names none (booked before tracks).
pub fn tracks_of(r: &PlanRecord, a: &Appointment) -> Vec<usize> {
    (0..r.plan.tracks.len())
        .filter(|&t| match &a.areas {
            None => true,
            Some(list) => r.plan.tracks[t].areas.iter().any(|x| list.contains(x)),
        })
        .collect()
}

/// The areas of the plan's tracks, in the plan's order.
fn areas_of(r: &PlanRecord, tracks: &[usize]) -> Vec<String> {
    r.plan
        .areas
        .iter()
        .map(|a| a.area.clone())
        .filter(|a| tracks.iter().any(|&t| r.plan.tracks[t].areas.contains(a)))
        .collect()
}

/// Each track of the plan as the scheduler sees it: the sessions still to
/// book, its window, and the date of its last booked session.
fn course_tracks(s: &Schedule, r: &PlanRecord, booked: &[Appointment]) -> Vec<CourseTrack> {
    r.plan
        .tracks
        .iter()
        .enumerate()
        .map(|(t, track)| {
            let on: Vec<&Appointment> = booked
                .iter()
                .filter(|a| tracks_of(r, a).contains(&t))
                .collect();
            let (min, max) = track.booking_days(s.kb.planning.interval_tolerance.days);
            CourseTrack {
                sessions: track.sessions.saturating_sub(on.len() as u32),
                interval_min_days: min,
                interval_max_days: max,
                last: on.iter().map(|a| s.local_date(a.starts_at)).max(),
            }
        })
        .collect()
}

/// The deferral from screening the patient's current history today for
/// the plan's areas, with its reasons, so a filler or sunburn recorded
/// after the plan was made still holds the course back.
async fn deferral(
    cx: &Context,
    s: &Schedule,
    p: &Patient,
    r: &PlanRecord,
) -> Result<Option<(Deferral, String)>, StoreError> {
    let current = cx.store.current_history(p.id).await?;
    let history = with_birth_date(p, current.as_ref());
    let areas: Vec<String> = r.plan.areas.iter().map(|a| a.area.clone()).collect();
    let Ok(result) = screen(&s.kb, &history, &areas, s.today) else {
        return Ok(None);
    };
    Ok(result.deferral.map(|d| {
        let why: Vec<String> = result
            .reasons()
            .iter()
            .filter(|x| x.deferral.is_some())
            .map(|x| x.fact.clone())
            .collect();
        (d, why.join("; "))
    }))
}

/// Whether the day view offers `minutes` from `local` to book: the same
/// rules a booking is checked against (opening hours, closures, the
/// practitioner's hours, not in the past), as of the context's clock.
pub fn offered(
    cx: &Context,
    cal: &ClinicCalendar,
    local: DateTime,
    minutes: i64,
    practitioner_hours: Option<&WeeklyHours>,
) -> bool {
    let req = booking_rules::Request {
        local,
        duration: SignedDuration::from_mins(minutes),
        now: cx.now(),
        practitioner_hours,
        deferral: None,
        windows: vec![],
    };
    booking_rules::check(cal, &req).is_ok()
}

/// A proposed session of a course: its time and the plan's areas treated
/// then (the tracks that fall due together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseSession {
    pub slot: Slot,
    pub areas: Vec<String>,
}

/// Proposes the plan's remaining sessions, every track inside its own
/// window, and tracks due together on one visit.
pub async fn propose(
    cx: &Context,
    p: &Patient,
    r: &PlanRecord,
    prefs: &Preferences,
) -> Result<Vec<CourseSession>> {
    let s = schedule(cx, p.clinic_id, &[]).await?;
    let pools = s.pools(AppointmentKind::Session, None, deepest(Some(r)))?;
    let booked = booked_sessions(cx, r).await?;
    let tracks = course_tracks(&s, r, &booked);
    if tracks.iter().all(|t| t.sessions == 0) {
        return Err(Error::refused("Every session of this plan is booked."));
    }
    let mut first_from = r.plan.earliest_start.max(s.today);
    match deferral(cx, &s, p, r).await? {
        Some((Deferral::Until(d), _)) => first_from = first_from.max(d),
        Some((Deferral::UntilResolved, why)) => {
            return Err(Error::refused(format!(
                "The patient's screening defers treatment until this has resolved: {why}."
            )))
        }
        None => {}
    }
    let course = CourseRequest {
        tracks,
        first_from,
        first_within_days: FIRST_SESSION_WITHIN_DAYS,
        weekdays: prefs.weekdays.clone(),
        between: prefs.between,
    };
    // A visit lasts as long as the areas of the tracks it treats need.
    let every = plan_areas(r);
    let base = s.base_request(
        s.duration(AppointmentKind::Session, &every)?,
        first_from,
        first_from,
    );
    let visits = propose_course(&s.cal, &pools, &base, &course, &|t| {
        s.duration(AppointmentKind::Session, &areas_of(r, t))
            .unwrap_or(base.duration)
    })
    .map_err(Error::refused)?;
    Ok(visits
        .into_iter()
        .map(|v| CourseSession {
            areas: areas_of(r, &v.tracks),
            slot: v.slot,
        })
        .collect())
}

/// Books the proposed sessions as the plan's next ones, all or none, and
/// queues the confirmations and reminders.
pub async fn book(
    cx: &Context,
    actor: &Actor,
    p: &Patient,
    r: &PlanRecord,
    sessions: &[CourseSession],
) -> Result<Vec<Appointment>> {
    crate::access::clinic(actor, p.clinic_id)?;
    let zone = cx.store.clinic(p.clinic_id).await?.details.time_zone;
    let done = next_number(&booked_sessions(cx, r).await?) - 1;
    let list: Vec<NewAppointment> = sessions
        .iter()
        .enumerate()
        .map(|(i, c)| NewAppointment {
            clinic_id: p.clinic_id,
            patient_id: p.id,
            plan_id: Some(r.id),
            session_number: Some(done + i as i64 + 1),
            kind: AppointmentKind::Session,
            practitioner_id: c.slot.practitioner,
            room_id: c.slot.room,
            device_id: c.slot.device,
            starts_at: c.slot.start,
            ends_at: c.slot.end,
            local_start: c.slot.local.to_string(),
            time_zone: zone.clone(),
            window_override: None,
            areas: Some(c.areas.clone()),
        })
        .collect();
    let letters = crate::messages::letters(cx, p).await?;
    let compose = |b: &[Appointment]| letters.appointments(b, "confirmation", &r.plan.pretreatment);
    Ok(cx
        .store
        .book_and_message(&list, &compose, &actor.audit, cx.now())
        .await?)
}

/// The plan's areas an appointment of it treats (all when it names none).
fn treated(r: &PlanRecord, a: &Appointment) -> Vec<String> {
    areas_of(r, &tracks_of(r, a))
}

/// Every area of the plan.
fn plan_areas(r: &PlanRecord) -> Vec<String> {
    r.plan.areas.iter().map(|a| a.area.clone()).collect()
}

/// The number of the plan's next visit.
fn next_number(booked: &[Appointment]) -> i64 {
    booked
        .iter()
        .filter_map(|a| a.session_number)
        .max()
        .unwrap_or(0)
        + 1
}

/// What is asked for: an appointment of a kind for a patient (a session
/// belongs to a plan), perhaps with one practitioner.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub patient: &'a Patient,
    pub kind: AppointmentKind,
    pub plan: Option<&'a PlanRecord>,
    pub practitioner: Option<i64>,
}

impl Wanted<'_> {
    fn check_plan(&self) -> Result<()> {
        match (self.kind.is_session(), self.plan) {
            (true, None) => Err(Error::refused(
                "A session belongs to a plan: choose the patient's accepted plan.",
            )),
            (true, Some(r))
                if !matches!(
                    r.status,
                    needlepoint_domain::plan::PlanStatus::Accepted
                        | needlepoint_domain::plan::PlanStatus::InProgress
                ) =>
            {
                Err(Error::refused(
                    "Only an accepted plan, with its signed consent, can be booked.",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The earliest `n` free times from `from` (today) to `to` (60 days on)
/// for what is wanted, inside the patient's constraints: a screening
/// deferral, and for a session the healing window after the plan's last
/// booked one.
pub async fn find_times(
    cx: &Context,
    w: &Wanted<'_>,
    from: Option<Date>,
    to: Option<Date>,
    n: usize,
) -> Result<Vec<Slot>> {
    w.check_plan()?;
    let s = schedule(cx, w.patient.clinic_id, &[]).await?;
    // From today unless asked, for the days a search usually covers.
    let from = from.unwrap_or(s.today);
    let to = to.unwrap_or(from + Span::new().days(SEARCH_DAYS));
    if to < from || (to - from).get_days() > MAX_SEARCH_DAYS {
        return Err(Error::invalid(
            "to",
            "Search at most a year, ending after it starts.",
        ));
    }
    let pools = s.pools(w.kind, w.practitioner, deepest(w.plan))?;
    let tracks = match (w.plan, w.kind.is_session()) {
        (Some(r), true) => course_tracks(&s, r, &booked_sessions(cx, r).await?),
        _ => vec![],
    };
    // As long as every area still due needs: a time that fits them fits
    // whichever of them fall due on the day.
    let areas = match (w.plan, w.kind.is_session()) {
        (Some(r), true) => {
            let due: Vec<usize> = (0..tracks.len())
                .filter(|&t| tracks[t].sessions > 0)
                .collect();
            areas_of(r, &due)
        }
        (Some(r), false) => plan_areas(r),
        (None, _) => vec![],
    };
    let mut req = s.base_request(s.duration(w.kind, &areas)?, from.max(s.today), to);
    if let (Some(r), true) = (w.plan, w.kind.is_session()) {
        match deferral(cx, &s, w.patient, r).await? {
            Some((Deferral::Until(d), _)) => req.from = req.from.max(d),
            Some((Deferral::UntilResolved, why)) => {
                return Err(Error::refused(format!(
                    "The patient's screening defers treatment until this has resolved: {why}."
                )))
            }
            None => {}
        }
        // The track due soonest sets the window; a track due with it
        // joins the visit when it is booked.
        let lead = tracks
            .iter()
            .filter(|t| t.sessions > 0)
            .filter_map(|t| t.last.map(|d| (t, d)))
            .min_by_key(|(t, d)| *d + Span::new().days(t.interval_max_days));
        if let Some((t, prev)) = lead {
            let (first, last) = (
                prev + Span::new().days(t.interval_min_days),
                prev + Span::new().days(t.interval_max_days),
            );
            req.from = req.from.max(first);
            if last < req.from {
                return Err(Error::refused(format!(
                    "The previous session was on {prev}: the next one falls between {first} and {last}."
                )));
            }
            req.to = req.to.min(last);
        }
    }
    Ok(find_slots(&s.cal, &pools, &req, n))
}

/// The healing windows of session `number` between the plan's other booked
/// sessions, one for each of the tracks it treats; `with_next`: whether
/// the sessions after it stay.
fn windows(
    s: &Schedule,
    r: &PlanRecord,
    others: &[Appointment],
    number: i64,
    tracks: &[usize],
    with_next: bool,
) -> Vec<Window> {
    let date_of = |a: &Appointment| s.local_date(a.starts_at);
    tracks
        .iter()
        .map(|&t| {
            let on: Vec<&Appointment> = others
                .iter()
                .filter(|a| tracks_of(r, a).contains(&t))
                .collect();
            let (min_days, max_days) =
                r.plan.tracks[t].booking_days(s.kb.planning.interval_tolerance.days);
            Window {
                previous: on
                    .iter()
                    .filter(|a| a.session_number.is_some_and(|n| n < number))
                    .max_by_key(|a| a.session_number)
                    .map(|a| date_of(a)),
                next: on
                    .iter()
                    .filter(|a| with_next && a.session_number.is_some_and(|n| n > number))
                    .min_by_key(|a| a.session_number)
                    .map(|a| date_of(a)),
                min_days,
                max_days,
                track: (r.plan.tracks.len() > 1).then(|| {
                    r.plan.tracks[t]
                        .areas
                        .iter()
                        .map(|a| s.kb.area(a).map_or(a.clone(), |x| x.name.clone()))
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
            }
        })
        .collect()
}

/// Checks a time chosen by hand against the rules and finds free resources
/// for it. `window_override` (a clinician's reason) lets a session break
/// its healing window; nothing else can be overridden.
async fn check_time(
    cx: &Context,
    s: &Schedule,
    w: &Wanted<'_>,
    local: DateTime,
    areas: &[String],
    windows: Vec<Window>,
    window_override: Option<&str>,
) -> Result<Slot> {
    w.check_plan()?;
    let duration = s.duration(w.kind, areas)?;
    let deferral = match (w.kind.is_session(), w.plan) {
        (true, Some(r)) => deferral(cx, s, w.patient, r).await?,
        _ => None,
    };
    let req = booking_rules::Request {
        local,
        duration,
        now: s.now,
        practitioner_hours: w.practitioner.and_then(|id| s.practitioner_hours(id)),
        deferral,
        windows,
    };
    let start = match booking_rules::check(&s.cal, &req) {
        Ok((start, _)) => start,
        Err(refusals) if only_overridable(&refusals) && window_override.is_some() => s
            .cal
            .zone
            .to_ambiguous_timestamp(local)
            .unambiguous()
            .map_err(|e| Error::refused(e.to_string()))?,
        Err(refusals) => return Err(Error::TimeRefused(refusals)),
    };
    let pools = s.pools(w.kind, w.practitioner, deepest(w.plan))?;
    resources_at(&pools, &s.cal.zone, start, duration, s.buffer).ok_or_else(|| {
        Error::Conflict(format!(
            "{} is taken: {} already booked then. Find free times instead.",
            local.strftime("%H:%M on %-d %B"),
            if w.practitioner.is_some() {
                "the practitioner, or every room or device, is"
            } else {
                "every practitioner, room or device is"
            }
        ))
    })
}

/// Books one appointment at a time chosen by hand (or picked from
/// [`find_times`]), after checking it, and queues its messages.
pub async fn book_one(
    cx: &Context,
    actor: &Actor,
    w: &Wanted<'_>,
    local: DateTime,
    window_override: Option<&str>,
) -> Result<Appointment> {
    crate::access::clinic(actor, w.patient.clinic_id)?;
    only_clinicians_override(window_override, actor)?;
    let s = schedule(cx, w.patient.clinic_id, &[]).await?;
    let (number, areas, windows) = match (w.kind.is_session(), w.plan) {
        (true, Some(r)) => {
            let booked = booked_sessions(cx, r).await?;
            let tracks = course_tracks(&s, r, &booked);
            let due: Vec<usize> = (0..tracks.len())
                .filter(|&t| tracks[t].sessions > 0)
                .collect();
            if due.is_empty() {
                return Err(Error::refused("Every session of this plan is booked."));
            }
            let n = next_number(&booked);
            // The tracks whose window holds the day; when none does, every
            // track still due, so the refusal names each window.
            let day = local.date();
            let fits: Vec<usize> = due
                .iter()
                .copied()
                .filter(|&t| {
                    windows(&s, r, &booked, n, &[t], false)
                        .iter()
                        .all(|w| w.check(day).is_empty())
                })
                .collect();
            let chosen = if fits.is_empty() { due } else { fits };
            (
                Some(n),
                Some(areas_of(r, &chosen)),
                windows(&s, r, &booked, n, &chosen, true),
            )
        }
        _ => (None, None, vec![]),
    };
    // A session treats the areas of its tracks; any other appointment
    // lasts as its kind says for the patient's plan.
    let length_areas = match (&areas, w.plan) {
        (Some(a), _) => a.clone(),
        (None, Some(r)) => plan_areas(r),
        (None, None) => vec![],
    };
    let slot = check_time(cx, &s, w, local, &length_areas, windows, window_override).await?;
    let before = w
        .plan
        .filter(|_| w.kind.is_session())
        .map(|r| r.plan.pretreatment.clone())
        .unwrap_or_default();
    let letters = crate::messages::letters(cx, w.patient).await?;
    let compose = |b: &[Appointment]| letters.appointments(b, "confirmation", &before);
    let booked = cx
        .store
        .book_and_message(
            &[NewAppointment {
                clinic_id: w.patient.clinic_id,
                patient_id: w.patient.id,
                plan_id: w.plan.filter(|_| w.kind.is_session()).map(|r| r.id),
                session_number: number,
                kind: w.kind,
                practitioner_id: slot.practitioner,
                room_id: slot.room,
                device_id: slot.device,
                starts_at: slot.start,
                ends_at: slot.end,
                local_start: slot.local.to_string(),
                time_zone: s.clinic.details.time_zone.clone(),
                window_override: window_override.map(str::to_string),
                areas,
            }],
            &compose,
            &actor.audit,
            cx.now(),
        )
        .await?;
    Ok(booked.into_iter().next().expect("one booked"))
}

/// A move asked for: the new wall-clock start and practitioner, a
/// clinician's reason to break a healing window, and whether the later
/// sessions of the course may move along with it.
#[derive(Debug, Clone, Default)]
pub struct MoveRequest {
    pub local: Option<DateTime>,
    pub practitioner: Option<i64>,
    pub window_override: Option<String>,
    pub move_later: bool,
}

/// Plans a move of `a` and, if asked, of the plan's later sessions (each
/// inside its window after the one before, at the same weekday and time
/// where free). Nothing is written.
pub async fn plan_move(cx: &Context, a: &Appointment, m: &MoveRequest) -> Result<Vec<Move>> {
    if a.status != AppointmentStatus::Booked {
        return Err(Error::refused(format!(
            "Only a booked appointment can be moved; this one is {}.",
            a.status.label().to_lowercase()
        )));
    }
    let local = m
        .local
        .ok_or_else(|| Error::refused("Choose the new date and time."))?;
    let p = cx.store.patient(a.patient_id).await?;
    let plan = match a.plan_id {
        Some(id) => Some(cx.store.plan(id).await?),
        None => None,
    };
    let sessions = match &plan {
        Some(r) => booked_sessions(cx, r).await?,
        None => vec![],
    };
    let number = a.session_number.unwrap_or(0);
    let later: Vec<&Appointment> = sessions
        .iter()
        .filter(|x| m.move_later && x.session_number.is_some_and(|n| n > number))
        .collect();
    let mut moving: Vec<i64> = vec![a.id];
    moving.extend(later.iter().map(|x| x.id));
    let s = schedule(cx, a.clinic_id, &moving).await?;
    let w = Wanted {
        patient: &p,
        kind: a.kind,
        plan: plan.as_ref(),
        practitioner: m.practitioner.or(a.practitioner_id),
    };
    let others: Vec<Appointment> = sessions.iter().filter(|x| x.id != a.id).cloned().collect();
    let wins = match plan.as_ref().filter(|_| a.kind.is_session()) {
        Some(r) => windows(&s, r, &others, number, &tracks_of(r, a), !m.move_later),
        None => vec![],
    };
    if let Some(r) = plan
        .as_ref()
        .filter(|r| r.plan.tracks.len() > 1 && !later.is_empty())
    {
        // Later visits of several tracks would regroup, not just shift.
        return Err(Error::refused(format!(
            "This plan has {} tracks: move its later sessions one at a time, or cancel and book the rest of the course again.",
            r.plan.tracks.len()
        )));
    }
    let areas = plan.as_ref().map(|r| treated(r, a)).unwrap_or_default();
    let slot = check_time(
        cx,
        &s,
        &w,
        local,
        &areas,
        wins,
        m.window_override.as_deref(),
    )
    .await?;
    let mut out = vec![Move {
        id: a.id,
        practitioner_id: slot.practitioner,
        room_id: slot.room,
        device_id: slot.device,
        starts_at: slot.start,
        ends_at: slot.end,
        local_start: slot.local.to_string(),
        window_override: m.window_override.clone(),
        fee_minor: None,
    }];
    if let (Some(r), Some(first)) = (&plan, later.first()) {
        // The later sessions keep their weekday and time where they can.
        let mut pools = s.pools(AppointmentKind::Session, None, deepest(Some(r)))?;
        for (pool, id) in [
            (&mut pools.practitioners, slot.practitioner),
            (&mut pools.rooms, slot.room),
            (&mut pools.devices, slot.device),
        ] {
            if let Some(res) = id.and_then(|id| pool.iter_mut().find(|x| x.id == id)) {
                res.busy.add((slot.start, slot.end));
            }
        }
        let (imin, imax) = r.plan.tracks[0].booking_days(s.kb.planning.interval_tolerance.days);
        let from = slot.local.date() + Span::new().days(imin);
        let was = s.local(first.starts_at);
        let course = CourseRequest {
            tracks: vec![CourseTrack {
                sessions: later.len() as u32,
                interval_min_days: imin,
                interval_max_days: imax,
                last: Some(slot.local.date()),
            }],
            first_from: from,
            first_within_days: 0,
            weekdays: vec![was.weekday()],
            between: Some((was.time(), was.time())),
        };
        let base = s.base_request(s.duration(AppointmentKind::Session, &areas)?, from, from);
        let slots = propose_course(&s.cal, &pools, &base, &course, &|_| base.duration)
            .map_err(|e| Error::refused(format!("The later sessions cannot move along: {e}")))?;
        for (x, slot) in later.iter().zip(slots.into_iter().map(|v| v.slot)) {
            out.push(Move {
                id: x.id,
                practitioner_id: slot.practitioner,
                room_id: slot.room,
                device_id: slot.device,
                starts_at: slot.start,
                ends_at: slot.end,
                local_start: slot.local.to_string(),
                window_override: None,
                fee_minor: None,
            });
        }
    }
    Ok(out)
}

/// Plans and makes a move; the patient's messages for the old times stop
/// and new ones are queued in the same transaction.
pub async fn move_appointment(
    cx: &Context,
    actor: &Actor,
    a: &Appointment,
    m: &MoveRequest,
) -> Result<Vec<Appointment>> {
    crate::access::clinic(actor, a.clinic_id)?;
    only_clinicians_override(m.window_override.as_deref(), actor)?;
    let moves = plan_move(cx, a, m).await?;
    let p = cx.store.patient(a.patient_id).await?;
    let before = match a.plan_id {
        Some(id) => cx.store.plan(id).await?.plan.pretreatment,
        None => vec![],
    };
    let letters = crate::messages::letters(cx, &p).await?;
    let compose = |moved: &[Appointment]| letters.appointments(moved, "rescheduled", &before);
    Ok(cx
        .store
        .reschedule_and_message(&moves, &compose, &actor.audit, cx.now())
        .await?)
}

/// What may be done with the appointment now, with each action's label
/// (a no-show only once it has started).
pub fn actions(cx: &Context, a: &Appointment) -> Vec<(AppointmentStatus, &'static str)> {
    a.status.actions(a.starts_at, cx.now())
}

/// The clinic's cancellation policy, and the fee a patient who cancelled
/// now would pay.
pub async fn fee_if_cancelled_now(
    cx: &Context,
    a: &Appointment,
) -> Result<(needlepoint_domain::booking_rules::CancellationPolicy, i64)> {
    let policy = cx.store.cancellation_policy(a.clinic_id).await?;
    let fee = policy.fee(a.starts_at, cx.now());
    Ok((policy, fee))
}

/// Who cancels: a patient cancelling late pays the clinic's fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelledBy {
    Patient,
    Clinic,
}

/// Moves an appointment on: check-in, completion, no-show (which pays the
/// late fee) or cancellation (with a reason; late by the patient pays).
pub async fn set_status(
    cx: &Context,
    actor: &Actor,
    a: &Appointment,
    to: &str,
    reason: Option<&str>,
    by: Option<CancelledBy>,
) -> Result<Appointment> {
    use AppointmentStatus::{Cancelled, NoShow};
    crate::access::clinic(actor, a.clinic_id)?;
    let invalid = |field: &str, m: &str| Err(Error::invalid(field, m));
    let Some(to) = AppointmentStatus::parse(to).filter(|s| *s != AppointmentStatus::Booked) else {
        return invalid("status", "Use checked_in, completed, no_show or cancelled.");
    };
    if to == Cancelled && reason.is_none() {
        return invalid("reason", "Say why the appointment is cancelled.");
    }
    if to == Cancelled && by.is_none() {
        return invalid(
            "cancelled_by",
            "Say who cancelled: the patient or the clinic.",
        );
    }
    let now = cx.now();
    let policy = cx.store.cancellation_policy(a.clinic_id).await?;
    let fee = match (to, by) {
        (Cancelled, Some(CancelledBy::Patient)) => policy.fee(a.starts_at, now),
        (NoShow, _) => policy.fee(a.starts_at, a.starts_at),
        _ => 0,
    };
    let change = StatusChange {
        status: to,
        reason,
        cancelled_by: by.map(|b| match b {
            CancelledBy::Patient => "patient",
            CancelledBy::Clinic => "clinic",
        }),
        fee_minor: Some(fee).filter(|f| *f > 0),
    };
    // A cancellation tells the patient, in the same transaction; the store
    // stops the reminders of a cancelled or no-show appointment.
    let letters = match to {
        Cancelled => {
            Some(crate::messages::letters(cx, &cx.store.patient(a.patient_id).await?).await?)
        }
        _ => None,
    };
    let compose = |done: &[Appointment]| {
        letters
            .as_ref()
            .map(|l| l.cancellation(done))
            .unwrap_or_default()
    };
    let done = cx
        .store
        .set_appointment_status_and_message(a.id, &change, &compose, &actor.audit, now)
        .await?;
    crate::billing::after_fee(cx, &actor.audit, &done).await;
    Ok(done)
}
