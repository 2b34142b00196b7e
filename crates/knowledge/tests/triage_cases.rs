//! Triage of check-ins on the shipped knowledge base: a table of cases
//! from the clinical reference (§5 warning signs by urgency, §11 what each
//! check-in day means), and a seeded property test: a worse answer, or the
//! same answer later, never gives a calmer result.

use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::triage::{triage, Advice, Answers, Scale, QUESTIONS};

fn kb() -> KnowledgeBase {
    needlepoint_knowledge::shipped().unwrap()
}

fn answers(levels: &[(&str, u8)]) -> Answers {
    Answers {
        levels: levels.iter().map(|(c, v)| (c.to_string(), *v)).collect(),
        note: String::new(),
    }
}

use Advice::{CallToday as Today, Emergency, Reassure, TellUsWithinDays as Review};

/// A case: day after the session, answers, advice, why the reference says so.
type Case = (u32, &'static [(&'static str, u8)], Advice, &'static str);

const CASES: &[Case] = &[
    (1, &[], Reassure, "nothing to report"),
    (1, &[("redness", 1)], Reassure, "§5: redness expected"),
    (
        1,
        &[("redness", 2)],
        Reassure,
        "§5: like a moderate sunburn",
    ),
    (
        1,
        &[("redness", 3)],
        Today,
        "§5: severe, spreading redness → today",
    ),
    (
        1,
        &[("swelling", 1)],
        Reassure,
        "§11 day 1: mild swelling expected",
    ),
    (1, &[("swelling", 2)], Review, "more swelling than expected"),
    (1, &[("swelling", 3)], Review, "more swelling than expected"),
    (1, &[("pain", 2)], Reassure, "§11: soreness expected"),
    (1, &[("pain", 4)], Reassure, "the edge of expected soreness"),
    (1, &[("pain", 5)], Review, "more pain than expected"),
    (1, &[("pain", 7)], Today, "severe pain"),
    (1, &[("pain", 10)], Today, "severe pain"),
    (
        1,
        &[("redness", 2), ("swelling", 1), ("pain", 3)],
        Reassure,
        "§11 day 1, all expected",
    ),
    (
        3,
        &[("redness", 1), ("pain", 1)],
        Reassure,
        "§11 day 3: redness fading",
    ),
    (3, &[("pus", 1)], Today, "§11 day 3: pus → same day"),
    (3, &[("fever", 1)], Today, "§11 day 3: fever → same day"),
    (3, &[("heat", 1)], Today, "§5: heat → same day"),
    (
        3,
        &[("blisters", 1)],
        Today,
        "§11 day 3: cold sores → same day",
    ),
    (3, &[("eye", 1)], Today, "§5: eye pain → same day"),
    (
        3,
        &[("pus", 1), ("fever", 1), ("redness", 2)],
        Today,
        "infection",
    ),
    (
        0,
        &[("numbing_reaction", 1)],
        Emergency,
        "§5: methaemoglobinaemia",
    ),
    (1, &[("breathing", 1)], Emergency, "§5: allergic reaction"),
    (
        3,
        &[("breathing", 1), ("pus", 1)],
        Emergency,
        "the most urgent decides",
    ),
    (3, &[("pain_worse", 1)], Review, "§5: pain that gets worse"),
    (6, &[("redness", 1)], Reassure, "still inside its window"),
    (
        7,
        &[("redness", 1)],
        Review,
        "§11 day 7: persisting redness → review",
    ),
    (
        7,
        &[("swelling", 1)],
        Review,
        "§11 day 7: persisting swelling → review",
    ),
    (
        7,
        &[("pain", 1)],
        Review,
        "§11 day 7: persisting pain → review",
    ),
    (7, &[], Reassure, "§11 day 7: nothing left"),
    (
        14,
        &[("dark_patches", 1)],
        Review,
        "§11 day 14: PIH → review",
    ),
    (
        14,
        &[("lumps", 1)],
        Review,
        "§11 day 14: granuloma → review",
    ),
    (
        14,
        &[("lines", 1)],
        Review,
        "§11 day 14: tram tracks → review",
    ),
    (14, &[("redness", 1)], Review, "long past its window"),
    (
        14,
        &[("dark_patches", 1), ("pus", 1)],
        Today,
        "the most urgent decides",
    ),
    (
        3,
        &[("redness", 2), ("lumps", 1)],
        Review,
        "a lump is never expected",
    ),
];

#[test]
fn the_reference_cases() {
    let kb = kb();
    assert!(CASES.len() >= 30);
    for (day, levels, advice, why) in CASES {
        let a = answers(levels);
        assert_eq!(a.validate(), Ok(()));
        let t = triage(&kb, *day, &a);
        assert_eq!(t.advice, *advice, "day {day}, {levels:?}: {why}");
        assert_eq!(
            t.findings.len(),
            levels.iter().filter(|(_, v)| *v > 0).count(),
            "one finding per answer: {levels:?}"
        );
        assert!(
            t.findings.windows(2).all(|w| w[0].advice >= w[1].advice),
            "most urgent first"
        );
        assert_eq!(advice.flags(), *advice != Reassure);
    }
}

#[test]
fn findings_say_why_and_the_day_says_what_is_normal() {
    let kb = kb();
    let t = triage(&kb, 7, &answers(&[("redness", 1)]));
    assert!(
        t.findings[0].why.contains("expected only until day 7"),
        "{:?}",
        t.findings
    );
    let t = triage(&kb, 3, &answers(&[("pus", 1)]));
    assert_eq!(t.findings[0].why, "possible infection");
    let normal = |day| triage(&kb, day, &Answers::default()).normal_today.join(" ");
    assert!(normal(1).contains("moderate sunburn"), "{}", normal(1));
    assert!(normal(3).contains("flaking"), "{}", normal(3));
    assert!(normal(7).contains("bruising"), "{}", normal(7));
    assert!(!normal(3).contains("sunburn"), "redness is over by day 3");
}

#[test]
fn answers_off_their_scale_are_refused_at_their_question() {
    let bad = answers(&[("pain", 11), ("redness", 4), ("pus", 2), ("elbow", 1)]);
    let e = bad.validate().unwrap_err();
    let at = |f: &str| {
        e.errors
            .iter()
            .find(|x| x.field == f)
            .map(|x| x.message.clone())
    };
    assert_eq!(at("pain").as_deref(), Some("Pain is from 0 to 10."));
    assert_eq!(
        at("redness").as_deref(),
        Some("Choose none, mild, moderate or severe.")
    );
    assert_eq!(at("pus").as_deref(), Some("Answer yes or no."));
    assert!(at("elbow").is_some());
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random answers: most questions "none", a few answered anywhere on their
/// scale.
fn random(r: &mut Rng) -> Answers {
    let mut levels = vec![];
    for q in &QUESTIONS {
        if r.below(3) == 0 {
            let v = r.below(u64::from(q.scale.max()) + 1) as u8;
            levels.push((q.code.to_string(), v));
        }
    }
    Answers {
        levels,
        note: String::new(),
    }
}

/// The same answers with one question's answer raised.
fn worse(r: &mut Rng, a: &Answers) -> Answers {
    let q = &QUESTIONS[r.below(QUESTIONS.len() as u64) as usize];
    let now = a.level(q.code);
    let max = q.scale.max();
    let mut b = a.clone();
    if now < max {
        let up = now + 1 + r.below(u64::from(max - now)) as u8;
        b.levels.retain(|(c, _)| c != q.code);
        b.levels.push((q.code.to_string(), up));
    }
    b
}

#[test]
fn a_worse_answer_or_a_later_day_never_gives_a_calmer_result() {
    let kb = kb();
    let seed = 20_261_207;
    let mut r = Rng(seed);
    for n in 0..20_000 {
        let a = random(&mut r);
        let day = r.below(30) as u32;
        let b = worse(&mut r, &a);
        let (ta, tb) = (triage(&kb, day, &a), triage(&kb, day, &b));
        assert!(
            tb.advice >= ta.advice,
            "seed {seed}, case {n}: day {day}, {a:?} gave {:?} but the worse {b:?} gave {:?}",
            ta.advice,
            tb.advice
        );
        let later = day + 1 + r.below(14) as u32;
        let tl = triage(&kb, later, &a);
        assert!(
            tl.advice >= ta.advice,
            "seed {seed}, case {n}: {a:?} gave {:?} on day {day} but {:?} on day {later}",
            ta.advice,
            tl.advice
        );
    }
}

#[test]
fn every_question_has_a_scale_and_words() {
    for q in &QUESTIONS {
        assert!(!q.text.is_empty());
        assert!(matches!(q.scale, Scale::YesNo | Scale::Level | Scale::Pain));
    }
}
