//! Property: a stricter history never gives a less strict screening. For
//! random histories H and one added fact f, every area's outcome for H + f
//! is at least as strict as for H, and its deferral lasts at least as long.
//! (A small seeded generator rather than a property-testing crate: the
//! cases are reproducible from the seed printed on failure.)

use jiff::civil::{date, Date};
use jiff::Span;
use needlepoint_domain::history::*;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::screening::screen;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn date_before(&mut self, on: Date, max_days: i64) -> Date {
        on - Span::new().days(self.below(max_days as usize) as i64)
    }
    fn areas(&mut self, kb: &KnowledgeBase) -> Vec<String> {
        (0..self.below(3))
            .map(|_| self.pick(&kb.areas).code.clone())
            .collect()
    }
}

/// One fact that can only make a history stricter when added.
fn add_fact(r: &mut Rng, kb: &KnowledgeBase, h: &mut PatientHistory, on: Date) {
    match r.below(8) {
        0 => h.conditions.push(ConditionEntry {
            code: r.pick(&kb.conditions).code.clone(),
            areas: r.areas(kb),
            since: (r.below(2) == 0).then(|| r.date_before(on, 400)),
            resolved_on: None,
            controlled: [None, Some(true), Some(false)][r.below(3)],
            note: None,
        }),
        1 => {
            let started = r.date_before(on, 900);
            let stopped = (r.below(2) == 0)
                .then(|| started + Span::new().days(r.below(300) as i64))
                .filter(|d| *d <= on);
            h.medications.push(MedicationEntry {
                code: r.pick(&kb.medications).code.clone(),
                started_on: Some(started),
                stopped_on: stopped,
                note: None,
            })
        }
        2 => h.allergies.push(AllergyEntry {
            code: r.pick(&kb.allergies).code.clone(),
            note: None,
        }),
        3 => h.events.push(EventEntry {
            code: r.pick(&kb.events).code.clone(),
            on: r.date_before(on, 200),
            areas: r.areas(kb),
            note: None,
        }),
        4 => h.pregnant = true,
        5 => h.breastfeeding = true,
        // A higher skin type, or a later birth date (younger), is stricter.
        6 => h.fitzpatrick = Some(h.fitzpatrick.unwrap_or(1).max(1 + r.below(6) as u8)),
        _ => {
            h.date_of_birth = h
                .date_of_birth
                .map(|d| (d + Span::new().days(r.below(5000) as i64)).min(on))
        }
    }
}

#[test]
fn stricter_facts_never_loosen_the_outcome() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let all_areas: Vec<String> = kb.areas.iter().map(|a| a.code.clone()).collect();
    for seed in 0..3000u64 {
        let mut r = Rng(seed);
        let on = date(2026, 1, 1) + Span::new().days(r.below(1000) as i64);
        let mut h = PatientHistory {
            date_of_birth: Some(on - Span::new().days(6000 + r.below(20000) as i64)),
            fitzpatrick: Some(1 + r.below(6) as u8),
            ..Default::default()
        };
        for _ in 0..r.below(5) {
            add_fact(&mut r, &kb, &mut h, on);
        }
        let mut stricter = h.clone();
        add_fact(&mut r, &kb, &mut stricter, on);
        h.validate(&kb, on)
            .unwrap_or_else(|e| panic!("seed {seed}: generated an invalid history: {e}"));
        stricter
            .validate(&kb, on)
            .unwrap_or_else(|e| panic!("seed {seed}: generated an invalid history: {e}"));

        let before = screen(&kb, &h, &all_areas, on).unwrap();
        let after = screen(&kb, &stricter, &all_areas, on).unwrap();
        for (a, b) in before.areas.iter().zip(&after.areas) {
            assert!(
                b.status >= a.status,
                "seed {seed}, {}: {:?} became {:?}\n{h:#?}\n{stricter:#?}",
                a.area,
                a.status,
                b.status
            );
            assert!(
                b.deferral >= a.deferral,
                "seed {seed}, {}: deferral {:?} became {:?}",
                a.area,
                a.deferral,
                b.deferral
            );
            for p in &a.precautions {
                assert!(
                    b.precautions.contains(p),
                    "seed {seed}, {}: lost precaution {p}",
                    a.area
                );
            }
        }
        assert!(
            after.status >= before.status,
            "seed {seed}: overall loosened"
        );
    }
}
