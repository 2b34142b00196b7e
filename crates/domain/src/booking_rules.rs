//! Whether an appointment may be booked at a time chosen by hand, and if
//! not, every reason why. The search in [`crate::scheduling`] only offers
//! times that pass; these checks are for a time typed in or moved to.
//!
//! Pure: the clinic's calendar, the patient's deferral, the course's other
//! sessions and "now" come in as arguments.

use crate::scheduling::{ClinicCalendar, WeeklyHours};
use crate::screening::Deferral;
use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Span, Timestamp};
use serde::Serialize;

/// Why a time was refused. Only a broken healing window can be overridden,
/// by a clinician, with a written reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    InThePast,
    /// The wall-clock time is skipped or repeated by a clock change.
    NoSuchTime,
    ClosedDay,
    OutsideHours,
    PractitionerOff,
    Deferred,
    TooSoon,
    TooLate,
}

impl RefusalKind {
    pub fn overridable(self) -> bool {
        matches!(self, RefusalKind::TooSoon | RefusalKind::TooLate)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

/// Where a session sits in its course: the sessions booked before and after
/// it, and the plan's interval in days. In a plan of several tracks, one
/// window per track, named by its areas.
#[derive(Debug, Clone)]
pub struct Window {
    pub previous: Option<Date>,
    pub next: Option<Date>,
    pub min_days: i64,
    pub max_days: i64,
    /// The track's areas ("Scalp"), when the plan has several tracks.
    pub track: Option<String>,
}

impl Window {
    fn interval(&self) -> String {
        match &self.track {
            Some(t) => format!("the interval for {t}"),
            None => "the plan's interval".to_string(),
        }
    }

    /// The refusals for a session on `day`; the next session is checked too,
    /// since moving this one can break the gap after it.
    pub fn check(&self, day: Date) -> Vec<Refusal> {
        let mut out = vec![];
        let span = |a: Date, b: Date| (b - a).get_days() as i64;
        if let Some(prev) = self.previous {
            let gap = span(prev, day);
            if gap < self.min_days {
                out.push(Refusal {
                    kind: RefusalKind::TooSoon,
                    message: format!(
                        "Only {gap} days after the previous session ({prev}); {} is at least {} days, so the skin may not have healed.",
                        self.interval(),
                        self.min_days
                    ),
                });
            } else if gap > self.max_days {
                out.push(Refusal {
                    kind: RefusalKind::TooLate,
                    message: format!(
                        "{gap} days after the previous session ({prev}); {} is at most {} days.",
                        self.interval(),
                        self.max_days
                    ),
                });
            }
        }
        if let Some(next) = self.next {
            let gap = span(day, next);
            if gap < 0 {
                // Past the next session: the course's order would change.
                out.push(Refusal {
                    kind: RefusalKind::TooSoon,
                    message: format!(
                        "That is after the next session ({next}); sessions keep their order, at least {} days apart.",
                        self.min_days
                    ),
                });
            } else if gap < self.min_days {
                out.push(Refusal {
                    kind: RefusalKind::TooSoon,
                    message: format!(
                        "Only {gap} days before the next session ({next}); {} is at least {} days.",
                        self.interval(),
                        self.min_days
                    ),
                });
            } else if gap > self.max_days {
                out.push(Refusal {
                    kind: RefusalKind::TooLate,
                    message: format!(
                        "{gap} days before the next session ({next}); {} is at most {} days.",
                        self.interval(),
                        self.max_days
                    ),
                });
            }
        }
        out
    }
}

/// A time asked for by hand.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub local: DateTime,
    pub duration: SignedDuration,
    pub now: Timestamp,
    /// The practitioner's hours in this clinic; `None`: whenever it is open.
    pub practitioner_hours: Option<&'a WeeklyHours>,
    /// A deferral from screening the patient's current history, and why.
    pub deferral: Option<(Deferral, String)>,
    /// For a session of a course.
    /// The healing windows the day must fall in: one per track of the
    /// plan this session treats.
    pub windows: Vec<Window>,
}

/// The instants [start, end) of the request, or every reason it is refused.
pub fn check(
    cal: &ClinicCalendar,
    req: &Request<'_>,
) -> Result<(Timestamp, Timestamp), Vec<Refusal>> {
    let mut out = vec![];
    let refuse = |kind, message: String| Refusal { kind, message };
    let day = req.local.date();
    let start = cal
        .zone
        .to_ambiguous_timestamp(req.local)
        .unambiguous()
        .ok();
    if start.is_none() {
        out.push(refuse(
            RefusalKind::NoSuchTime,
            format!(
                "{} does not happen exactly once on {day} in {}: the clocks change then. Choose another time.",
                req.local.time().strftime("%H:%M"),
                cal.zone.iana_name().unwrap_or("the clinic's zone")
            ),
        ));
    }
    let end = start.map(|s| s + req.duration);
    if start.is_some_and(|s| s < req.now) {
        out.push(refuse(
            RefusalKind::InThePast,
            "That time has already passed.".into(),
        ));
    }
    // Hours are wall-clock: the end is read on the clinic's clock.
    let end_local = end.map(|e| e.to_zoned(cal.zone.clone()).datetime());
    let fits = |h: &WeeklyHours| {
        end_local.is_some_and(|e| {
            e.date() == day
                && h.on(day.weekday())
                    .iter()
                    .any(|(o, c)| *o <= req.local.time() && e.time() <= *c)
        })
    };
    if start.is_none() {
        // Already refused: hours mean nothing for a time that does not exist.
    } else if cal.closed.contains(&day) {
        out.push(refuse(
            RefusalKind::ClosedDay,
            format!("The clinic is closed on {day}."),
        ));
    } else if !fits(&cal.hours) {
        let open = cal
            .hours
            .format_day(day.weekday().to_monday_zero_offset() as usize);
        out.push(refuse(
            RefusalKind::OutsideHours,
            if open.is_empty() {
                format!("The clinic is not open on {}s.", day.strftime("%A"))
            } else {
                format!(
                    "Outside opening hours: on {}s the clinic is open {open}, and this appointment lasts {} minutes.",
                    day.strftime("%A"),
                    req.duration.as_mins()
                )
            },
        ));
    } else if req.practitioner_hours.is_some_and(|h| !fits(h)) {
        out.push(refuse(
            RefusalKind::PractitionerOff,
            "The practitioner does not work at this clinic then.".into(),
        ));
    }
    match &req.deferral {
        Some((Deferral::Until(d), why)) if day < *d => out.push(refuse(
            RefusalKind::Deferred,
            format!(
                "The patient's screening defers treatment until {}: {why}.",
                crate::dates::long_date(*d)
            ),
        )),
        Some((Deferral::UntilResolved, why)) => out.push(refuse(
            RefusalKind::Deferred,
            format!("The patient's screening defers treatment until this has resolved: {why}."),
        )),
        _ => {}
    }
    for w in &req.windows {
        out.extend(w.check(day));
    }
    match (start, end) {
        (Some(s), Some(e)) if out.is_empty() => Ok((s, e)),
        _ => Err(out),
    }
}

/// Who may book or move outside a healing window (with a written reason):
/// a clinician, or an owner (who holds every clinical role).
pub fn may_override_window(role: crate::Role) -> bool {
    matches!(role, crate::Role::Clinician | crate::Role::Owner)
}

/// The refusal when someone else asks to.
pub const OVERRIDE_NEEDS_A_CLINICIAN: &str = "Only a clinician can book outside a healing window.";

/// Whether every refusal may be overridden (by a clinician, with a reason).
pub fn only_overridable(refusals: &[Refusal]) -> bool {
    !refusals.is_empty() && refusals.iter().all(|r| r.kind.overridable())
}

/// The same wall-clock time `days` later, for moving later sessions along.
pub fn shifted(local: DateTime, days: i64) -> DateTime {
    local
        .date()
        .saturating_add(Span::new().days(days))
        .to_datetime(local.time())
}

/// A clinic's cancellation policy: a patient who cancels with less notice,
/// or does not come, is charged the fee. No notice period: no fee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CancellationPolicy {
    pub notice_hours: u32,
    /// Minor units of the clinic's currency.
    pub fee_minor: i64,
}

impl CancellationPolicy {
    /// From the settings form: hours of notice and the fee as written.
    pub fn parse(hours: &str, fee: &str) -> Result<Self, crate::Invalid> {
        let mut inv = crate::Invalid::default();
        let notice_hours = match hours.trim().parse::<u32>() {
            Ok(h) if h <= 24 * 14 => Some(h),
            _ => {
                inv.push(
                    "notice_hours",
                    "Enter whole hours from 0 (no policy) to 336 (two weeks).",
                );
                None
            }
        };
        let fee_minor = inv.check(crate::clinic::parse_amount("fee", fee));
        inv.into_result()?;
        Ok(CancellationPolicy {
            notice_hours: notice_hours.unwrap_or_default(),
            fee_minor: fee_minor.unwrap_or_default(),
        })
    }

    /// The fee when the patient cancels at `at` an appointment starting at
    /// `start`; a no-show is a cancellation at the start.
    pub fn fee(&self, start: Timestamp, at: Timestamp) -> i64 {
        let notice = SignedDuration::from_hours(i64::from(self.notice_hours));
        if self.notice_hours > 0 && start.duration_since(at) < notice {
            self.fee_minor
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time, Weekday};
    use jiff::tz::TimeZone;

    fn cal() -> ClinicCalendar {
        ClinicCalendar {
            zone: TimeZone::get("Europe/London").unwrap(),
            hours: WeeklyHours::weekdays(time(9, 0, 0, 0), time(17, 0, 0, 0), Weekday::Friday),
            closed: vec![date(2026, 12, 24)],
        }
    }

    fn req(local: DateTime) -> Request<'static> {
        Request {
            local,
            duration: SignedDuration::from_mins(60),
            now: "2026-11-22T12:00:00Z".parse().unwrap(),
            practitioner_hours: None,
            deferral: None,
            windows: vec![],
        }
    }

    fn kinds(r: Result<(Timestamp, Timestamp), Vec<Refusal>>) -> Vec<RefusalKind> {
        r.err().unwrap_or_default().iter().map(|x| x.kind).collect()
    }

    #[test]
    fn a_time_inside_hours_gives_its_instants() {
        let (s, e) = check(&cal(), &req(date(2026, 11, 23).at(10, 0, 0, 0))).unwrap();
        assert_eq!(s, "2026-11-23T10:00:00Z".parse().unwrap());
        assert_eq!(e.duration_since(s).as_mins(), 60);
    }

    #[test]
    fn each_refusal_names_its_reason() {
        use RefusalKind::*;
        assert_eq!(
            kinds(check(&cal(), &req(date(2026, 11, 20).at(10, 0, 0, 0)))),
            [InThePast]
        );
        assert_eq!(
            kinds(check(&cal(), &req(date(2026, 12, 24).at(10, 0, 0, 0)))),
            [ClosedDay]
        );
        assert_eq!(
            kinds(check(&cal(), &req(date(2026, 11, 28).at(10, 0, 0, 0)))),
            [OutsideHours],
            "Saturday"
        );
        assert_eq!(
            kinds(check(&cal(), &req(date(2026, 11, 23).at(16, 30, 0, 0)))),
            [OutsideHours],
            "ends after closing"
        );
        let e = check(&cal(), &req(date(2026, 11, 23).at(8, 0, 0, 0))).unwrap_err();
        assert!(e[0].message.contains("09:00-17:00"), "{}", e[0].message);

        let mornings = WeeklyHours::weekdays(time(9, 0, 0, 0), time(12, 0, 0, 0), Weekday::Friday);
        let mut r = req(date(2026, 11, 23).at(14, 0, 0, 0));
        r.practitioner_hours = Some(&mornings);
        assert_eq!(kinds(check(&cal(), &r)), [PractitionerOff]);

        let mut r = req(date(2026, 11, 23).at(10, 0, 0, 0));
        r.deferral = Some((
            Deferral::Until(date(2026, 12, 1)),
            "filler on 17 November".into(),
        ));
        let e = check(&cal(), &r).unwrap_err();
        assert_eq!(e[0].kind, Deferred);
        assert!(e[0].message.contains("1 Dec 2026") && e[0].message.contains("filler"));
        r.local = date(2026, 12, 1).at(10, 0, 0, 0);
        assert!(
            check(&cal(), &r).is_ok(),
            "the deferral's last day has passed"
        );
        r.deferral = Some((Deferral::UntilResolved, "active herpes".into()));
        assert_eq!(kinds(check(&cal(), &r)), [Deferred]);
    }

    #[test]
    fn healing_windows_before_and_after_can_be_overridden() {
        let w = Window {
            previous: Some(date(2026, 11, 2)),
            next: Some(date(2027, 1, 11)),
            min_days: 28,
            max_days: 42,
            track: None,
        };
        let mut r = req(date(2026, 11, 23).at(10, 0, 0, 0));
        r.windows = vec![w];
        let e = check(&cal(), &r).unwrap_err();
        assert_eq!(
            e.iter().map(|x| x.kind).collect::<Vec<_>>(),
            [RefusalKind::TooSoon, RefusalKind::TooLate]
        );
        assert!(only_overridable(&e));
        assert!(e[0].message.contains("21 days"), "{}", e[0].message);
        r.local = date(2026, 12, 7).at(10, 0, 0, 0);
        assert!(check(&cal(), &r).is_ok(), "35 and 28 days");
        r.local = date(2026, 12, 24).at(10, 0, 0, 0);
        let e = check(&cal(), &r).unwrap_err();
        assert!(!only_overridable(&e), "a closed day is not overridable");
        // Past the next session: said as such, never as "-3 days before".
        r.local = date(2027, 1, 14).at(10, 0, 0, 0);
        let e = check(&cal(), &r).unwrap_err();
        let words: Vec<_> = e.iter().map(|x| x.message.as_str()).collect();
        assert!(
            words
                .iter()
                .any(|m| m.contains("after the next session (2027-01-11)")),
            "{words:?}"
        );
        assert!(!words.iter().any(|m| m.contains("-3")), "{words:?}");
    }

    #[test]
    fn only_clinicians_override_a_window() {
        use crate::Role;
        assert!(may_override_window(Role::Clinician));
        assert!(may_override_window(Role::Owner));
        assert!(!may_override_window(Role::FrontDesk));
    }

    #[test]
    fn late_cancellations_and_no_shows_pay_the_fee() {
        let p = CancellationPolicy::parse("48", "25.00").unwrap();
        let start: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            p.fee(start, at("2026-11-23T09:59:00Z")),
            0,
            "49 hours' notice"
        );
        assert_eq!(p.fee(start, at("2026-11-23T10:01:00Z")), 2500, "47 hours");
        assert_eq!(p.fee(start, start), 2500, "no-show");
        assert_eq!(
            CancellationPolicy::parse("0", "25")
                .unwrap()
                .fee(start, start),
            0
        );
        let e = CancellationPolicy::parse("two days", "-5").unwrap_err();
        assert!(e.message_for("notice_hours").is_some() && e.message_for("fee").is_some());
    }

    #[test]
    fn clock_changes() {
        // 02:30 on 8 March 2026 does not exist in New York.
        let ny = ClinicCalendar {
            zone: TimeZone::get("America/New_York").unwrap(),
            hours: WeeklyHours {
                days: std::array::from_fn(|_| vec![(time(0, 0, 0, 0), time(23, 59, 0, 0))]),
            },
            closed: vec![],
        };
        let mut r = req(date(2026, 3, 8).at(2, 30, 0, 0));
        r.now = "2026-01-01T00:00:00Z".parse().unwrap();
        let e = check(&ny, &r).unwrap_err();
        assert_eq!(e[0].kind, RefusalKind::NoSuchTime);
        assert!(e[0].message.contains("America/New_York"));
        // 01:30 on 1 November 2026 happens twice.
        r.local = date(2026, 11, 1).at(1, 30, 0, 0);
        assert_eq!(kinds(check(&ny, &r)), [RefusalKind::NoSuchTime]);
        // 03:30 the day of spring forward is EDT.
        r.local = date(2026, 3, 8).at(3, 30, 0, 0);
        assert_eq!(
            check(&ny, &r).unwrap().0,
            "2026-03-08T07:30:00Z".parse().unwrap()
        );
        assert_eq!(shifted(r.local, 28), date(2026, 4, 5).at(3, 30, 0, 0));
    }
}
