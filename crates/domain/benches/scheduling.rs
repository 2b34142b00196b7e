//! Availability search and course proposal on a busy clinic: 20
//! practitioners, 10 rooms, 10 devices, a year of one-hour appointments at
//! 80 % occupancy, open Monday to Saturday 09:00–18:00 (Europe/London).
//!
//! Run: cargo bench -p needlepoint-domain --bench scheduling
//! Goals (issue #5): earliest 10 slots < 1 ms; a 6-session course < 5 ms.

use jiff::civil::{date, time, Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span};
use needlepoint_domain::scheduling::*;
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn busy_year(rng: &mut Rng, zone: &TimeZone, first: Date) -> Busy {
    let mut spans = vec![];
    let mut day = first;
    for _ in 0..365 {
        if day.weekday() != Weekday::Sunday {
            for hour in 9..18 {
                if rng.next() % 100 < 80 {
                    let s = zone
                        .to_ambiguous_timestamp(day.at(hour, 0, 0, 0))
                        .compatible()
                        .unwrap();
                    spans.push((s, s + SignedDuration::from_hours(1)));
                }
            }
        }
        day = day.tomorrow().unwrap();
    }
    Busy::new(spans)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let zone = TimeZone::get("Europe/London").unwrap();
    let first = date(2026, 1, 1);
    let mut rng = Rng(42);
    let hours = WeeklyHours::weekdays(time(9, 0, 0, 0), time(18, 0, 0, 0), Weekday::Saturday);
    let pool = |n: i64, rng: &mut Rng, base: i64| -> Vec<Resource> {
        (0..n)
            .map(|i| Resource {
                id: base + i,
                hours: None,
                busy: busy_year(rng, &zone, first),
            })
            .collect()
    };
    let pools = Pools {
        practitioners: pool(20, &mut rng, 1),
        rooms: pool(10, &mut rng, 100),
        devices: pool(10, &mut rng, 200),
    };
    let booked: usize = [&pools.practitioners, &pools.rooms, &pools.devices]
        .iter()
        .flat_map(|p| p.iter())
        .map(|r| r.busy.len())
        .sum();
    let cal = ClinicCalendar {
        zone: zone.clone(),
        hours,
        closed: vec![date(2026, 12, 25)],
    };
    let base = SlotRequest {
        duration: SignedDuration::from_mins(60),
        buffer: SignedDuration::ZERO,
        step_minutes: 15,
        not_before: "2026-01-01T00:00:00Z".parse().unwrap(),
        from: date(2026, 6, 1),
        to: date(2026, 6, 1) + Span::new().days(60),
        weekdays: vec![],
        between: None,
    };
    let runs = 2000;
    let mut t = vec![];
    let mut found = usize::MAX;
    for i in 0..runs {
        let from = date(2026, 3, 2) + Span::new().days(i % 200);
        let req = SlotRequest {
            from,
            to: from + Span::new().days(60),
            ..base.clone()
        };
        let start = Instant::now();
        let s = find_slots(&cal, &pools, &req, 10);
        t.push(start.elapsed());
        found = found.min(s.len());
    }
    assert_eq!(found, 10, "every search finds its 10 slots");
    let slots = median(t);
    let course = CourseRequest {
        tracks: vec![CourseTrack {
            sessions: 6,
            interval_min_days: 28,
            interval_max_days: 42,
            last: None,
        }],
        first_from: date(2026, 3, 2),
        first_within_days: 14,
        weekdays: vec![Weekday::Tuesday, Weekday::Thursday],
        between: Some((time(10, 0, 0, 0), time(12, 0, 0, 0))),
    };
    let mut t = vec![];
    let mut sessions = usize::MAX;
    for i in 0..500 {
        let c = CourseRequest {
            first_from: date(2026, 1, 5) + Span::new().days(i % 90),
            ..course.clone()
        };
        let start = Instant::now();
        let n = propose_course(&cal, &pools, &base, &c, &|_| base.duration)
            .map(|s| s.len())
            .unwrap_or(0);
        t.push(start.elapsed());
        sessions = sessions.min(n);
    }
    assert_eq!(sessions, 6, "every course is booked whole");
    let courses = median(t);
    println!("busy clinic: 20 practitioners, 10 rooms, 10 devices; {booked} booked hours in a year (80 % occupancy)");
    println!(
        "earliest 10 slots:                 median {:>8.1} µs   goal < 1000 µs",
        slots.as_secs_f64() * 1e6
    );
    println!(
        "6-session course proposal:         median {:>8.1} µs   goal < 5000 µs",
        courses.as_secs_f64() * 1e6
    );
}
