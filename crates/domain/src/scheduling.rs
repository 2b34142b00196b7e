//! Finding times: the earliest starts at which every resource an
//! appointment needs is free, inside the clinic's hours and the patient's
//! constraints, and a whole course of sessions inside its healing windows.
//!
//! Pure: the clinic's calendar, every resource's busy times and "now" come
//! in as arguments. Candidate starts are wall-clock times in the clinic's
//! zone; a wall-clock time that does not exist (spring forward) or exists
//! twice (fall back) is skipped rather than guessed.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

/// Opening (or working) hours for each weekday, Monday first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    pub days: [Vec<(Time, Time)>; 7],
}

impl WeeklyHours {
    pub fn on(&self, w: Weekday) -> &[(Time, Time)] {
        &self.days[usize::from(w.to_monday_zero_offset() as u8)]
    }

    /// The same hours every weekday from Monday to `last`.
    pub fn weekdays(open: Time, close: Time, last: Weekday) -> WeeklyHours {
        let mut h = WeeklyHours::default();
        for i in 0..=last.to_monday_zero_offset() as usize {
            h.days[i] = vec![(open, close)];
        }
        h
    }

    /// Whether [start, end) of one day lies inside one interval.
    fn covers(&self, day: Weekday, start: Time, end: Time) -> bool {
        self.on(day).iter().any(|(o, c)| *o <= start && end <= *c)
    }
}

/// The weekday field names of an hours form, Monday first.
pub const DAY_FIELDS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WeeklyHours {
    /// Parses one day's hours as people write them: "09:00-17:00", or
    /// several intervals "09:00-12:30, 13:30-17:00"; empty means closed.
    pub fn parse_day(field: &str, s: &str) -> Result<Vec<(Time, Time)>, crate::FieldError> {
        let bad = |m: &str| crate::FieldError::new(field, m);
        let mut out: Vec<(Time, Time)> = vec![];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = part
                .split_once('-')
                .ok_or_else(|| bad("Write hours like 09:00-17:00."))?;
            let t = |x: &str| {
                Time::strptime("%H:%M", x.trim())
                    .map_err(|_| bad("Write times as HH:MM, like 09:00-17:00."))
            };
            let (open, close) = (t(a)?, t(b)?);
            if open >= close {
                return Err(bad("Closing time must come after opening time."));
            }
            if out.last().is_some_and(|(_, c)| *c > open) {
                return Err(bad("Intervals must be in order and not overlap."));
            }
            out.push((open, close));
        }
        Ok(out)
    }

    /// "09:00-12:30, 13:30-17:00" for a day; empty when closed.
    pub fn format_day(&self, i: usize) -> String {
        self.days[i]
            .iter()
            .map(|(o, c)| format!("{}-{}", o.strftime("%H:%M"), c.strftime("%H:%M")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Times a resource is taken, sorted by start and not overlapping (a
/// resource is never double-booked), so one binary search answers "free?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Busy(Vec<(Timestamp, Timestamp)>);

impl Busy {
    pub fn new(mut spans: Vec<(Timestamp, Timestamp)>) -> Busy {
        spans.sort();
        Busy(spans)
    }

    pub fn add(&mut self, span: (Timestamp, Timestamp)) {
        let i = self.0.partition_point(|b| b.0 < span.0);
        self.0.insert(i, span);
    }

    /// Free for [start, end)?
    pub fn is_free(&self, start: Timestamp, end: Timestamp) -> bool {
        let i = self.0.partition_point(|b| b.1 <= start);
        self.0.get(i).is_none_or(|b| b.0 >= end)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A practitioner, room or device that can be booked.
#[derive(Debug, Clone, Default)]
pub struct Resource {
    pub id: i64,
    /// Working hours in this clinic (practitioners); `None`: whenever open.
    pub hours: Option<WeeklyHours>,
    /// Appointments and time off.
    pub busy: Busy,
}

#[derive(Debug, Clone)]
pub struct ClinicCalendar {
    pub zone: TimeZone,
    pub hours: WeeklyHours,
    /// Days the clinic is closed (holidays).
    pub closed: Vec<Date>,
}

/// What a search looks for.
#[derive(Debug, Clone)]
pub struct SlotRequest {
    pub duration: SignedDuration,
    /// Kept free before and after, for cleaning and notes.
    pub buffer: SignedDuration,
    /// Candidate starts are this many minutes apart on the wall clock.
    pub step_minutes: i64,
    /// Nothing starts before this instant (now, in practice).
    pub not_before: Timestamp,
    /// Inclusive range of clinic-local dates.
    pub from: Date,
    pub to: Date,
    /// Only these weekdays; empty means any.
    pub weekdays: Vec<Weekday>,
    /// Only starts within this wall-clock window (e.g. mornings).
    pub between: Option<(Time, Time)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: Timestamp,
    pub end: Timestamp,
    /// The wall-clock start in the clinic's zone.
    pub local: DateTime,
    pub practitioner: Option<i64>,
    pub room: Option<i64>,
    pub device: Option<i64>,
}

/// The resources a search may use; an empty list means "not needed".
#[derive(Debug, Clone, Default)]
pub struct Pools {
    pub practitioners: Vec<Resource>,
    pub rooms: Vec<Resource>,
    pub devices: Vec<Resource>,
}

/// The first resource of a pool free for the span; `Ok(None)` when the pool
/// is empty (not needed), `Err(())` when none is free.
fn pick(
    pool: &[Resource],
    start: Timestamp,
    end: Timestamp,
    local: (Weekday, Time, Time),
) -> Result<Option<i64>, ()> {
    if pool.is_empty() {
        return Ok(None);
    }
    pool.iter()
        .find(|r| {
            r.hours
                .as_ref()
                .is_none_or(|h| h.covers(local.0, local.1, local.2))
                && r.busy.is_free(start, end)
        })
        .map(|r| Some(r.id))
        .ok_or(())
}

/// The earliest `n` slots for the request.
pub fn find_slots(cal: &ClinicCalendar, pools: &Pools, req: &SlotRequest, n: usize) -> Vec<Slot> {
    let mut out = vec![];
    let mut day = req.from;
    while day <= req.to && out.len() < n {
        let wd = day.weekday();
        if !cal.closed.contains(&day) && (req.weekdays.is_empty() || req.weekdays.contains(&wd)) {
            for (open, close) in cal.hours.on(wd) {
                let mut t = *open;
                loop {
                    let local = day.to_datetime(t);
                    // Durations are real time: the end is the start plus the
                    // duration, then read on the clinic's clock.
                    let start = cal.zone.to_ambiguous_timestamp(local).unambiguous().ok();
                    let end_local =
                        start.map(|s| (s + req.duration).to_zoned(cal.zone.clone()).datetime());
                    if end_local.is_some_and(|e| e.date() > day || e.time() > *close) {
                        break;
                    }
                    let wanted = req.between.is_none_or(|(a, b)| a <= t && t <= b);
                    if let (true, Some(start), Some(end_local)) = (wanted, start, end_local) {
                        if let Some(slot) = try_slot(pools, req, start, local, end_local) {
                            out.push(slot);
                            if out.len() == n {
                                return out;
                            }
                        }
                    }
                    match t.checked_add(Span::new().minutes(req.step_minutes)) {
                        Ok(next) if next > t => t = next,
                        _ => break,
                    }
                }
            }
        }
        match day.tomorrow() {
            Ok(d) => day = d,
            Err(_) => break,
        }
    }
    out
}

/// The resources free at one chosen instant (a time typed in by hand):
/// the first free practitioner, room and device, as the search would pick.
pub fn resources_at(
    pools: &Pools,
    zone: &TimeZone,
    start: Timestamp,
    duration: SignedDuration,
    buffer: SignedDuration,
) -> Option<Slot> {
    let req = SlotRequest {
        duration,
        buffer,
        step_minutes: 5,
        not_before: start,
        from: Date::MIN,
        to: Date::MIN,
        weekdays: vec![],
        between: None,
    };
    let local = start.to_zoned(zone.clone()).datetime();
    let end_local = (start + duration).to_zoned(zone.clone()).datetime();
    try_slot(pools, &req, start, local, end_local)
}

/// A wall-clock start skipped or repeated by a DST change never gets here:
/// `start` is its one instant.
fn try_slot(
    pools: &Pools,
    req: &SlotRequest,
    start: Timestamp,
    local: DateTime,
    end_local: DateTime,
) -> Option<Slot> {
    let end = start + req.duration;
    if start < req.not_before {
        return None;
    }
    let (s, e) = (start - req.buffer, end + req.buffer);
    let hours = (local.weekday(), local.time(), end_local.time());
    let practitioner = pick(&pools.practitioners, s, e, hours).ok()?;
    let room = pick(&pools.rooms, s, e, hours).ok()?;
    let device = pick(&pools.devices, s, e, hours).ok()?;
    Some(Slot {
        start,
        end,
        local,
        practitioner,
        room,
        device,
    })
}

/// One track of a course: how many sessions are left to book, its healing
/// window in days, and the date of its last session already booked.
#[derive(Debug, Clone)]
pub struct CourseTrack {
    pub sessions: u32,
    pub interval_min_days: i64,
    pub interval_max_days: i64,
    pub last: Option<Date>,
}

/// When a course's sessions may fall, and what the patient prefers.
#[derive(Debug, Clone)]
pub struct CourseRequest {
    pub tracks: Vec<CourseTrack>,
    /// No session before this date (today, or a deferral's end).
    pub first_from: Date,
    /// How far ahead to look for a track's first session.
    pub first_within_days: i64,
    pub weekdays: Vec<Weekday>,
    pub between: Option<(Time, Time)>,
}

/// One proposed visit: its time and the tracks (by position) treated then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub slot: Slot,
    pub tracks: Vec<usize>,
}

/// Proposes every session of a course, each inside its track's window after
/// the one before, on the patient's preferred days and times where possible
/// (any day and time of the window otherwise). The track due soonest leads;
/// every other track whose window meets its window joins the same visit,
/// on a day both allow. A visit lasts `duration(tracks)` for the tracks it
/// treats. All or nothing: the error says which session found no time.
pub fn propose_course(
    cal: &ClinicCalendar,
    pools: &Pools,
    base: &SlotRequest,
    course: &CourseRequest,
    duration: &dyn Fn(&[usize]) -> SignedDuration,
) -> Result<Vec<Visit>, String> {
    let mut pools = pools.clone();
    let mut left: Vec<u32> = course.tracks.iter().map(|t| t.sessions).collect();
    let mut last: Vec<Option<Date>> = course.tracks.iter().map(|t| t.last).collect();
    let mut done: Vec<u32> = vec![0; course.tracks.len()];
    let window = |i: usize, last: &[Option<Date>]| -> (Date, Date) {
        let t = &course.tracks[i];
        match last[i] {
            None => (
                course.first_from,
                course.first_from + Span::new().days(course.first_within_days),
            ),
            Some(d) => (
                (d + Span::new().days(t.interval_min_days)).max(course.first_from),
                d + Span::new().days(t.interval_max_days),
            ),
        }
    };
    let mut visits: Vec<Visit> = vec![];
    while let Some(lead) = (0..left.len())
        .filter(|&i| left[i] > 0)
        .min_by_key(|&i| (window(i, &last).1, window(i, &last).0, i))
    {
        let (mut from, mut to) = window(lead, &last);
        let mut joined = vec![lead];
        for i in (0..left.len()).filter(|&i| i != lead && left[i] > 0) {
            let (f, t) = window(i, &last);
            if f.max(from) <= t.min(to) {
                (from, to) = (f.max(from), t.min(to));
                joined.push(i);
            }
        }
        joined.sort_unstable();
        let lasting = |tracks: &[usize]| SlotRequest {
            duration: duration(tracks),
            ..base.clone()
        };
        let mut found = find_one(cal, &pools, &lasting(&joined), course, from, to);
        if found.is_none() && joined.len() > 1 {
            // No time where the windows meet: the lead goes alone.
            joined = vec![lead];
            (from, to) = window(lead, &last);
            found = find_one(cal, &pools, &lasting(&joined), course, from, to);
        }
        let Some(slot) = found else {
            let which = if course.tracks.len() > 1 {
                format!(" of track {}", lead + 1)
            } else {
                String::new()
            };
            let n = done[lead] + 1;
            return Err(if from > to {
                format!("Session {n}{which} is due by {to}, before the first day allowed ({from}).")
            } else {
                format!("No time for session {n}{which} between {from} and {to}.")
            });
        };
        // The course must not book its own resources twice.
        let span = (slot.start - base.buffer, slot.end + base.buffer);
        for (pool, id) in [
            (&mut pools.practitioners, slot.practitioner),
            (&mut pools.rooms, slot.room),
            (&mut pools.devices, slot.device),
        ] {
            if let Some(r) = id.and_then(|id| pool.iter_mut().find(|r| r.id == id)) {
                r.busy.add(span);
            }
        }
        for &i in &joined {
            left[i] -= 1;
            done[i] += 1;
            last[i] = Some(slot.local.date());
        }
        visits.push(Visit {
            slot,
            tracks: joined,
        });
    }
    Ok(visits)
}

/// The first free slot from `from` to `to`: at the preferred days and
/// times if any, else at any.
fn find_one(
    cal: &ClinicCalendar,
    pools: &Pools,
    base: &SlotRequest,
    course: &CourseRequest,
    from: Date,
    to: Date,
) -> Option<Slot> {
    let mut req = SlotRequest {
        from,
        to,
        weekdays: course.weekdays.clone(),
        between: course.between,
        ..base.clone()
    };
    let mut found = find_slots(cal, pools, &req, 1);
    if found.is_empty() {
        req.weekdays.clear();
        req.between = None;
        found = find_slots(cal, pools, &req, 1);
    }
    found.pop()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn london() -> ClinicCalendar {
        ClinicCalendar {
            zone: TimeZone::get("Europe/London").unwrap(),
            hours: WeeklyHours::weekdays(time(9, 0, 0, 0), time(17, 0, 0, 0), Weekday::Saturday),
            closed: vec![date(2026, 12, 25)],
        }
    }

    fn request(from: Date, to: Date) -> SlotRequest {
        SlotRequest {
            duration: SignedDuration::from_mins(60),
            buffer: SignedDuration::from_mins(15),
            step_minutes: 15,
            not_before: "2026-01-01T00:00:00Z".parse().unwrap(),
            from,
            to,
            weekdays: vec![],
            between: None,
        }
    }

    fn pools() -> Pools {
        Pools {
            practitioners: vec![Resource {
                id: 1,
                hours: Some(WeeklyHours::weekdays(
                    time(10, 0, 0, 0),
                    time(16, 0, 0, 0),
                    Weekday::Friday,
                )),
                busy: Busy::default(),
            }],
            rooms: vec![Resource {
                id: 10,
                hours: None,
                busy: Busy::default(),
            }],
            devices: vec![Resource {
                id: 20,
                hours: None,
                busy: Busy::default(),
            }],
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn hours_parse_as_people_write_them() {
        assert_eq!(
            WeeklyHours::parse_day("mon", "09:00-17:00").unwrap(),
            vec![(time(9, 0, 0, 0), time(17, 0, 0, 0))]
        );
        assert_eq!(
            WeeklyHours::parse_day("mon", " 09:00-12:30, 13:30-17:00 ")
                .unwrap()
                .len(),
            2
        );
        assert!(
            WeeklyHours::parse_day("mon", "").unwrap().is_empty(),
            "closed"
        );
        for bad in [
            "9-5",
            "17:00-09:00",
            "09:00-12:00, 11:00-13:00",
            "nine to five",
            "25:00-26:00",
        ] {
            assert!(WeeklyHours::parse_day("mon", bad).is_err(), "{bad}");
        }
        let mut h = WeeklyHours::default();
        h.days[0] = WeeklyHours::parse_day("mon", "09:00-12:30, 13:30-17:00").unwrap();
        assert_eq!(h.format_day(0), "09:00-12:30, 13:30-17:00");
    }

    #[test]
    fn the_first_slot_respects_clinic_and_practitioner_hours() {
        let s = find_slots(
            &london(),
            &pools(),
            &request(date(2026, 11, 23), date(2026, 11, 23)),
            3,
        );
        assert_eq!(
            s[0].local,
            date(2026, 11, 23).at(10, 0, 0, 0),
            "practitioner starts at 10"
        );
        assert_eq!(s[0].start, at("2026-11-23T10:00:00Z"), "GMT in winter");
        assert_eq!(
            s.iter().map(|x| x.local.time()).collect::<Vec<_>>(),
            [time(10, 0, 0, 0), time(10, 15, 0, 0), time(10, 30, 0, 0)]
        );
        assert_eq!(
            (s[0].practitioner, s[0].room, s[0].device),
            (Some(1), Some(10), Some(20))
        );
        let last = find_slots(
            &london(),
            &pools(),
            &request(date(2026, 11, 23), date(2026, 11, 23)),
            100,
        );
        assert_eq!(
            last.last().unwrap().local.time(),
            time(15, 0, 0, 0),
            "ends by 16:00"
        );
    }

    #[test]
    fn busy_resources_and_buffers_are_respected() {
        let mut p = pools();
        p.rooms[0].busy = Busy::new(vec![(
            at("2026-11-23T10:00:00Z"),
            at("2026-11-23T11:00:00Z"),
        )]);
        let s = find_slots(
            &london(),
            &p,
            &request(date(2026, 11, 23), date(2026, 11, 23)),
            1,
        );
        assert_eq!(
            s[0].local.time(),
            time(11, 15, 0, 0),
            "15 minutes' buffer after 11:00"
        );
        p.rooms.push(Resource {
            id: 11,
            hours: None,
            busy: Busy::default(),
        });
        let s = find_slots(
            &london(),
            &p,
            &request(date(2026, 11, 23), date(2026, 11, 23)),
            1,
        );
        assert_eq!(
            (s[0].local.time(), s[0].room),
            (time(10, 0, 0, 0), Some(11)),
            "another room is free"
        );
    }

    #[test]
    fn closed_days_weekends_and_preferences() {
        let s = find_slots(
            &london(),
            &pools(),
            &request(date(2026, 12, 25), date(2026, 12, 28)),
            1,
        );
        assert_eq!(
            s[0].local.date(),
            date(2026, 12, 28),
            "closed on the 25th, practitioner off at weekends"
        );
        let mut r = request(date(2026, 11, 23), date(2026, 11, 30));
        r.weekdays = vec![Weekday::Thursday];
        r.between = Some((time(14, 0, 0, 0), time(15, 0, 0, 0)));
        let s = find_slots(&london(), &pools(), &r, 1);
        assert_eq!(s[0].local, date(2026, 11, 26).at(14, 0, 0, 0));
    }

    #[test]
    fn spring_forward_skips_the_missing_hour_and_keeps_wall_clock_times() {
        // 29 March 2026: London clocks go from 01:00 to 02:00 GMT… to 02:00 BST.
        let mut cal = london();
        cal.hours = WeeklyHours::default();
        for d in cal.hours.days.iter_mut() {
            *d = vec![(time(0, 0, 0, 0), time(23, 59, 0, 0))];
        }
        let mut r = request(date(2026, 3, 29), date(2026, 3, 29));
        r.duration = SignedDuration::from_mins(30);
        r.buffer = SignedDuration::ZERO;
        let s = find_slots(&cal, &Pools::default(), &r, 12);
        let times: Vec<_> = s.iter().map(|x| x.local.time()).collect();
        assert!(times.contains(&time(0, 30, 0, 0)));
        assert!(
            !times.contains(&time(1, 0, 0, 0)) && !times.contains(&time(1, 30, 0, 0)),
            "01:00–02:00 does not exist: {times:?}"
        );
        let two = s
            .iter()
            .find(|x| x.local.time() == time(2, 0, 0, 0))
            .unwrap();
        assert_eq!(two.start, at("2026-03-29T01:00:00Z"), "02:00 BST");
        // New York: 02:30 on 8 March 2026 does not exist.
        let ny = ClinicCalendar {
            zone: TimeZone::get("America/New_York").unwrap(),
            ..cal
        };
        let s = find_slots(
            &ny,
            &Pools::default(),
            &SlotRequest {
                from: date(2026, 3, 8),
                to: date(2026, 3, 8),
                ..r
            },
            20,
        );
        assert!(!s.iter().any(|x| x.local.time() == time(2, 30, 0, 0)));
    }

    #[test]
    fn a_course_keeps_its_windows_and_local_time_across_dst() {
        let base = request(date(2026, 3, 1), date(2026, 3, 1));
        let course = CourseRequest {
            tracks: vec![track(4, 28, 42)],
            first_from: date(2026, 3, 2),
            first_within_days: 14,
            weekdays: vec![Weekday::Tuesday],
            between: Some((time(11, 0, 0, 0), time(11, 0, 0, 0))),
        };
        let s =
            slots(propose_course(&london(), &pools(), &base, &course, &|_| base.duration).unwrap());
        let dates: Vec<_> = s.iter().map(|x| x.local.date()).collect();
        assert_eq!(
            dates,
            [
                date(2026, 3, 3),
                date(2026, 3, 31),
                date(2026, 4, 28),
                date(2026, 5, 26)
            ]
        );
        assert!(
            s.iter().all(|x| x.local.time() == time(11, 0, 0, 0)),
            "11:00 every time, GMT or BST"
        );
        assert_eq!(s[0].start, at("2026-03-03T11:00:00Z"));
        assert_eq!(
            s[1].start,
            at("2026-03-31T10:00:00Z"),
            "after the change, 11:00 BST is 10:00 UTC"
        );
        for w in s.windows(2) {
            let gap = (w[1].local.date() - w[0].local.date()).get_days();
            assert!((28..=42).contains(&gap));
        }
    }

    #[test]
    fn a_course_falls_back_to_any_time_then_fails_whole() {
        let base = request(date(2026, 3, 1), date(2026, 3, 1));
        let mut course = CourseRequest {
            tracks: vec![track(3, 28, 28)],
            first_from: date(2026, 3, 2),
            first_within_days: 7,
            weekdays: vec![Weekday::Sunday],
            between: None,
        };
        let s = propose_course(&london(), &pools(), &base, &course, &|_| base.duration).unwrap();
        assert_eq!(s.len(), 3, "no Sundays: any day in the window instead");
        // A window that lands on the 25 December closure for every session fails whole.
        course.first_from = date(2026, 12, 25);
        course.first_within_days = 0;
        let e =
            propose_course(&london(), &pools(), &base, &course, &|_| base.duration).unwrap_err();
        assert!(e.contains("session 1"), "{e}");
    }

    fn track(sessions: u32, min: i64, max: i64) -> CourseTrack {
        CourseTrack {
            sessions,
            interval_min_days: min,
            interval_max_days: max,
            last: None,
        }
    }

    fn slots(visits: Vec<Visit>) -> Vec<Slot> {
        visits.into_iter().map(|v| v.slot).collect()
    }

    #[test]
    fn tracks_keep_their_own_windows_and_share_a_visit_where_they_meet() {
        // Scalp weekly × 6, abdomen every 28–42 days × 2, from Monday 2 March.
        let base = request(date(2026, 3, 1), date(2026, 3, 1));
        let course = CourseRequest {
            tracks: vec![track(6, 7, 7), track(2, 28, 42)],
            first_from: date(2026, 3, 2),
            first_within_days: 14,
            weekdays: vec![],
            between: None,
        };
        // Each track adds its own needling time to a visit.
        let per_track = SignedDuration::from_mins(30);
        let visits = propose_course(&london(), &pools(), &base, &course, &|t| {
            per_track * t.len() as i32
        })
        .unwrap();
        for v in &visits {
            assert_eq!(
                v.slot.end.duration_since(v.slot.start),
                per_track * v.tracks.len() as i32
            );
        }
        let plan: Vec<(Date, Vec<usize>)> = visits
            .iter()
            .map(|v| (v.slot.local.date(), v.tracks.clone()))
            .collect();
        assert_eq!(
            plan,
            [
                (date(2026, 3, 2), vec![0, 1]),
                (date(2026, 3, 9), vec![0]),
                (date(2026, 3, 16), vec![0]),
                (date(2026, 3, 23), vec![0]),
                (date(2026, 3, 30), vec![0, 1]),
                (date(2026, 4, 6), vec![0]),
            ]
        );
        // Each track's own gaps stay inside its window.
        for (t, (min, max)) in [(0, (7, 7)), (1, (28, 42))] {
            let days: Vec<Date> = plan
                .iter()
                .filter(|(_, ts)| ts.contains(&t))
                .map(|(d, _)| *d)
                .collect();
            for w in days.windows(2) {
                let gap = (w[1] - w[0]).get_days() as i64;
                assert!((min..=max).contains(&gap), "track {t}: {gap} days");
            }
        }
    }

    #[test]
    fn a_track_whose_window_never_meets_the_other_goes_alone() {
        // A track already begun: its next window (12–14 March) lies before
        // the new track's first possible day (16 March).
        let base = request(date(2026, 3, 1), date(2026, 3, 1));
        let mut begun = track(1, 10, 12);
        begun.last = Some(date(2026, 3, 2));
        let course = CourseRequest {
            tracks: vec![begun, track(1, 28, 42)],
            first_from: date(2026, 3, 16),
            first_within_days: 7,
            weekdays: vec![],
            between: None,
        };
        let e =
            propose_course(&london(), &pools(), &base, &course, &|_| base.duration).unwrap_err();
        assert!(
            e.contains("Session 1 of track 1 is due by 2026-03-14"),
            "{e}"
        );
    }
}
