//! Triage of a check-in after a session: from what the patient reports on
//! a given day after it, what she is told and how soon the clinic must act.
//! Pure, and driven by the knowledge base: which reactions are expected and
//! until when, and which answers are warning signs at which urgency
//! (clinical reference §5 and §11).
//!
//! The rule of the whole: a reaction inside its window and size is
//! reassured; the same reaction larger, or past its window, is for a
//! clinician to see; a warning sign needs someone at its urgency; any
//! other answer a patient reports is for a clinician to see. The most
//! urgent finding decides, so a worse answer never gives a calmer result.

use crate::knowledge::{AftercareKind, KnowledgeBase, Urgency};
use crate::validation::Invalid;
use serde::{Deserialize, Serialize};

/// How one question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// 0 no, 1 yes.
    YesNo,
    /// 0 none, 1 mild, 2 moderate, 3 severe.
    Level,
    /// 0–10.
    Pain,
}

impl Scale {
    pub fn max(self) -> u8 {
        match self {
            Scale::YesNo => 1,
            Scale::Level => 3,
            Scale::Pain => 10,
        }
    }
}

/// A question of the check-in form: its code (as the knowledge base names
/// it), its scale and the words the patient reads.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    pub code: &'static str,
    pub scale: Scale,
    pub text: &'static str,
}

/// The check-in's questions, in the order the form asks them.
pub const QUESTIONS: [Question; 14] = [
    q("redness", Scale::Level, "Redness"),
    q("swelling", Scale::Level, "Swelling"),
    q(
        "pain",
        Scale::Pain,
        "Pain or soreness, from 0 (none) to 10 (the worst you can imagine)",
    ),
    q(
        "pain_worse",
        Scale::YesNo,
        "Is the pain getting worse from one day to the next?",
    ),
    q(
        "heat",
        Scale::YesNo,
        "Does the skin feel hot, or is the redness spreading?",
    ),
    q(
        "pus",
        Scale::YesNo,
        "Yellow or green fluid (pus), or crusts that weep",
    ),
    q(
        "fever",
        Scale::YesNo,
        "A fever (38 °C or more), or feeling hot and shivery",
    ),
    q("blisters", Scale::YesNo, "Blisters or cold sores"),
    q("eye", Scale::YesNo, "Eye pain or a change in your vision"),
    q(
        "breathing",
        Scale::YesNo,
        "Swelling of the lips or tongue, or trouble breathing",
    ),
    q(
        "numbing_reaction",
        Scale::YesNo,
        "Blue-grey lips or fingertips, breathlessness, dizziness or confusion",
    ),
    q("dark_patches", Scale::YesNo, "New dark patches on the skin"),
    q("lumps", Scale::YesNo, "Lumps or bumps under the skin"),
    q(
        "lines",
        Scale::YesNo,
        "Raised marks, or marks in lines or tracks",
    ),
];

const fn q(code: &'static str, scale: Scale, text: &'static str) -> Question {
    Question { code, scale, text }
}

pub fn question(code: &str) -> Option<&'static Question> {
    QUESTIONS.iter().find(|q| q.code == code)
}

/// What the patient reported: each question's answer on its scale, and
/// anything else in her words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    /// (question code, answer), one per question answered; a question not
    /// answered counts as 0.
    pub levels: Vec<(String, u8)>,
    #[serde(default)]
    pub note: String,
}

impl Answers {
    pub fn level(&self, code: &str) -> u8 {
        self.levels
            .iter()
            .find(|(c, _)| c == code)
            .map_or(0, |(_, v)| *v)
    }

    /// Refuses an unknown question and an answer off its scale ("Pain is
    /// from 0 to 10."), each at its question.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut inv = Invalid::default();
        for (code, v) in &self.levels {
            match question(code) {
                None => inv.push(code, "This is not a question of the check-in."),
                Some(q) if *v > q.scale.max() => inv.push(
                    code,
                    match q.scale {
                        Scale::Pain => "Pain is from 0 to 10.".to_string(),
                        Scale::Level => "Choose none, mild, moderate or severe.".to_string(),
                        Scale::YesNo => "Answer yes or no.".to_string(),
                    },
                ),
                Some(_) => {}
            }
        }
        if self.note.chars().count() > 2000 {
            inv.push("note", "Keep it under 2,000 characters.");
        }
        inv.into_result()
    }
}

/// What the patient is told, calmest first: the order is the urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Advice {
    /// All expected for the day: what is normal now.
    Reassure,
    /// A clinician looks within a few days.
    TellUsWithinDays,
    /// Call the clinic today.
    CallToday,
    /// Call emergency services now.
    Emergency,
}

impl Advice {
    pub fn of(u: Urgency) -> Advice {
        match u {
            Urgency::Emergency => Advice::Emergency,
            Urgency::Today => Advice::CallToday,
            Urgency::Days => Advice::TellUsWithinDays,
        }
    }

    /// Whether the clinic is alerted and the check-in flagged.
    pub fn flags(self) -> bool {
        self != Advice::Reassure
    }

    pub fn label(self) -> &'static str {
        match self {
            Advice::Reassure => "As expected",
            Advice::TellUsWithinDays => "For review within days",
            Advice::CallToday => "Call the clinic today",
            Advice::Emergency => "Emergency",
        }
    }
}

/// One answer and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub question: &'static str,
    pub advice: Advice,
    /// For the clinician: why, in words.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triage {
    /// The most urgent finding's advice; reassurance when there is none.
    pub advice: Advice,
    /// Every answer that is not "none", most urgent first.
    pub findings: Vec<Finding>,
    /// What is expected on this day after the session, from the
    /// knowledge base's aftercare: the patient's "what is normal today".
    pub normal_today: Vec<String>,
}

/// Triage of `answers` given `day` days after the session (0 = the day of
/// the session).
pub fn triage(kb: &KnowledgeBase, day: u32, answers: &Answers) -> Triage {
    let mut findings = vec![];
    for q in &QUESTIONS {
        let level = answers.level(q.code);
        if level == 0 {
            continue;
        }
        let mut found: Option<Finding> = None;
        let mut raise = |advice: Advice, why: String| {
            if found.as_ref().is_none_or(|f| advice > f.advice) {
                found = Some(Finding {
                    question: q.code,
                    advice,
                    why,
                });
            }
        };
        for s in kb.triage_signs.iter().filter(|s| s.question == q.code) {
            if level >= s.at_least {
                raise(Advice::of(s.urgency), s.means.clone());
            }
        }
        match kb.triage_expected.iter().find(|e| e.question == q.code) {
            Some(e) if level <= e.up_to && day < e.until_day => raise(
                Advice::Reassure,
                format!("expected until day {}", e.until_day),
            ),
            Some(e) if day >= e.until_day => raise(
                Advice::TellUsWithinDays,
                format!(
                    "still there on day {day}: expected only until day {}",
                    e.until_day
                ),
            ),
            Some(_) => raise(
                Advice::TellUsWithinDays,
                "more than the reaction expected after needling".into(),
            ),
            None => raise(
                Advice::TellUsWithinDays,
                "not an expected reaction after needling".into(),
            ),
        }
        findings.extend(found);
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.advice));
    let hour = day * 24;
    Triage {
        advice: findings
            .iter()
            .map(|f| f.advice)
            .max()
            .unwrap_or(Advice::Reassure),
        findings,
        normal_today: kb
            .aftercare
            .iter()
            // A step for some patients only (its `when`) is not said to be
            // normal for all: triage does not read the history.
            .filter(|s| {
                s.kind == AftercareKind::Expect
                    && s.when.is_none()
                    && s.from_hours <= hour
                    && hour < s.to_hours
            })
            .map(|s| s.text.clone())
            .collect(),
    }
}
