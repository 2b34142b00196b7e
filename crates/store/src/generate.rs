//! Generated data for a chain of clinics, for benchmarks: clinics with a
//! practitioner, stock and lots each, patients, and their past sessions,
//! each signed with the lots it used. Deterministic for a seed.
//!
//! The rows are written in bulk (many rows per statement, one transaction
//! per batch of patients), not through the one-record-at-a-time methods:
//! five million sessions that way would take hours. Generated history has
//! no audit rows and no booked time slots (its appointments are in the past).

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

/// How big a chain to make.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub clinics: u32,
    pub patients: u64,
    pub sessions: u64,
    pub seed: u64,
    /// Generated sessions lie in the three years before this instant.
    pub until: Timestamp,
}

impl Scale {
    /// What issue #6 asks for: 50 clinics, 1,000,000 patients, 5,000,000 sessions.
    pub fn chain(until: Timestamp) -> Scale {
        Scale {
            clinics: 50,
            patients: 1_000_000,
            sessions: 5_000_000,
            seed: 6,
            until,
        }
    }
}

/// How far along the generation is.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// What was made: ids a benchmark can pick from.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    pub clinic_ids: Vec<i64>,
    /// Every needle-cartridge lot, in id order.
    pub cartridge_lots: Vec<i64>,
    pub sessions: u64,
    pub patients: u64,
}

/// Cartridge lots per clinic over the three years (about a lot a week).
pub const CARTRIDGE_LOTS: u64 = 200;
/// Serum lots per clinic.
pub const PRODUCT_LOTS: u64 = 20;
/// Patients written per transaction.
pub const BATCH: u64 = 5_000;
/// The span generated sessions fall in.
pub const SPAN_DAYS: i64 = 3 * 365;

/// A small, fast, seedable generator (splitmix64): reproducible data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const GIVEN: [&str; 24] = [
    "Amara", "Bea", "Chloe", "Dana", "Elif", "Fatima", "Grace", "Hana", "Ines", "Jade", "Kemi",
    "Lena", "Maya", "Nadia", "Olivia", "Priya", "Rosa", "Sofia", "Tara", "Uma", "Vera", "Wen",
    "Yara", "Zoe",
];
const FAMILY: [&str; 24] = [
    "Adeyemi", "Brown", "Chen", "Da Silva", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones",
    "Khan", "Lopez", "Murphy", "Nowak", "Okafor", "Patel", "Quinn", "Rossi", "Smith", "Taylor",
    "Ueda", "Varga", "Walker", "Young",
];

/// One generated patient.
pub struct PatientRow {
    pub id: i64,
    pub clinic: usize,
    pub given: &'static str,
    pub family: &'static str,
    pub birth: Date,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One generated session: its appointment and chart share an id.
pub struct SessionRow {
    pub id: i64,
    pub patient_id: i64,
    pub clinic: usize,
    pub number: i64,
    pub starts_at: Timestamp,
    /// Index of the cartridge lot within the clinic's lots.
    pub cartridge_lot: usize,
    /// A serum lot index, for one session in four.
    pub product_lot: Option<usize>,
}

/// Patients `[from, to)` (0-based) and their sessions, with the first
/// session id to use.
pub fn batch(
    scale: &Scale,
    from: u64,
    to: u64,
    first_session_id: i64,
) -> (Vec<PatientRow>, Vec<SessionRow>) {
    let mut rng = Rng::new(scale.seed ^ from.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let base = scale.sessions / scale.patients.max(1);
    let extra = scale.sessions % scale.patients.max(1);
    let span = SignedDuration::from_hours(24 * SPAN_DAYS);
    let start = scale.until - span;
    let mut patients = vec![];
    let mut sessions = vec![];
    let mut sid = first_session_id;
    for i in from..to {
        let clinic = (i % u64::from(scale.clinics)) as usize;
        let id = i as i64 + 1;
        let given = GIVEN[rng.below(GIVEN.len() as u64) as usize];
        let family = FAMILY[rng.below(FAMILY.len() as u64) as usize];
        let birth = jiff::civil::date(
            1950 + rng.below(55) as i16,
            1 + rng.below(12) as i8,
            1 + rng.below(28) as i8,
        );
        let (email, phone) = match rng.below(10) {
            0 => (None, None),
            1..=2 => (None, Some(format!("+44 7700 {:06}", i % 1_000_000))),
            _ => (Some(format!("patient{id}@example.com")), None),
        };
        patients.push(PatientRow {
            id,
            clinic,
            given,
            family,
            birth,
            email,
            phone,
        });
        let n = base + u64::from(i < extra);
        // Sessions 4–6 weeks apart, starting anywhere that leaves room for
        // the rest of the course before `until`.
        let course = SignedDuration::from_hours(24 * 42 * n.saturating_sub(1) as i64);
        let room = (span - course).as_secs().max(1) as u64;
        let mut at = start + SignedDuration::from_secs((rng.below(room) / 900 * 900) as i64);
        for k in 0..n {
            let offset_days = at.duration_since(start).as_hours() / 24;
            sessions.push(SessionRow {
                id: sid,
                patient_id: id,
                clinic,
                number: k as i64 + 1,
                starts_at: at,
                cartridge_lot: ((offset_days.max(0) as u64 * CARTRIDGE_LOTS) / SPAN_DAYS as u64)
                    .min(CARTRIDGE_LOTS - 1) as usize,
                product_lot: (rng.below(4) == 0).then(|| rng.below(PRODUCT_LOTS) as usize),
            });
            sid += 1;
            at += SignedDuration::from_hours(24 * (28 + rng.below(15) as i64));
        }
    }
    (patients, sessions)
}

/// A cartridge lot's window: received at the start, expiring two years on.
pub fn lot_received(scale: &Scale, index: u64) -> Timestamp {
    let start = scale.until - SignedDuration::from_hours(24 * SPAN_DAYS);
    start + SignedDuration::from_hours(24 * SPAN_DAYS * index as i64 / CARTRIDGE_LOTS as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_add_up_to_the_scale_and_stay_in_range() {
        let scale = Scale {
            clinics: 3,
            patients: 10,
            sessions: 47,
            seed: 1,
            until: "2026-11-22T00:00:00Z".parse().unwrap(),
        };
        let (p1, s1) = batch(&scale, 0, 4, 1);
        let (p2, s2) = batch(&scale, 4, 10, 1 + s1.len() as i64);
        assert_eq!(p1.len() + p2.len(), 10);
        assert_eq!(s1.len() + s2.len(), 47);
        let all: Vec<_> = s1.iter().chain(&s2).collect();
        for (i, s) in all.iter().enumerate() {
            assert_eq!(s.id, i as i64 + 1, "ids run on across batches");
            assert!(s.starts_at <= scale.until, "in the past");
            assert!(s.cartridge_lot < CARTRIDGE_LOTS as usize);
        }
        // Lots are used from the first to the last: sessions run up to `until`.
        let lots: std::collections::BTreeSet<usize> = all.iter().map(|s| s.cartridge_lot).collect();
        assert!(lots.len() > 1);
        // The same seed gives the same data.
        let (again, _) = batch(&scale, 0, 4, 1);
        assert_eq!(again[3].family, p1[3].family);
    }
}
