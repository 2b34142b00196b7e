//! An adverse event as the register records it: a CTCAE term from the
//! knowledge base, graded with that term's wording, dated from its onset
//! after the session, expected or not, serious or not, with what was done
//! and how it ended. Each field is checked where it is typed.

use crate::knowledge::{AeTerm, KnowledgeBase};
use crate::validation::Invalid;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How an adverse event ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ongoing,
    Resolved,
    ResolvedWithSequelae,
    Fatal,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Ongoing,
        Outcome::Resolved,
        Outcome::ResolvedWithSequelae,
        Outcome::Fatal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ongoing => "ongoing",
            Outcome::Resolved => "resolved",
            Outcome::ResolvedWithSequelae => "resolved_with_sequelae",
            Outcome::Fatal => "fatal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ongoing => "Not resolved yet",
            Outcome::Resolved => "Resolved",
            Outcome::ResolvedWithSequelae => "Resolved, with lasting effects",
            Outcome::Fatal => "Fatal",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    fn ended(self) -> bool {
        self != Outcome::Ongoing
    }
}

/// What is typed into the register's form.
#[derive(Debug, Clone, Default)]
pub struct AdverseInput<'a> {
    pub term: &'a str,
    /// For "Other, specify": what it was.
    pub specify: &'a str,
    pub onset: &'a str,
    pub grade: &'a str,
    pub expected: bool,
    pub serious: bool,
    pub actions: &'a str,
    pub outcome: &'a str,
    pub resolved_on: &'a str,
}

/// An adverse event, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdverseEvent {
    pub term: String,
    pub specify: Option<String>,
    pub onset: Date,
    pub grade: u8,
    pub expected: bool,
    pub serious: bool,
    pub actions: String,
    pub outcome: Outcome,
    pub resolved_on: Option<Date>,
}

/// The term's wording of a grade, if the term has that grade.
pub fn grade_words(term: &AeTerm, grade: u8) -> Option<&str> {
    term.grades
        .get(usize::from(grade).checked_sub(1)?)
        .map(String::as_str)
}

impl AdverseInput<'_> {
    /// Checks the event of a session on `session_day`, on `today`.
    pub fn parse(
        &self,
        kb: &KnowledgeBase,
        session_day: Date,
        today: Date,
    ) -> Result<AdverseEvent, Invalid> {
        let mut inv = Invalid::default();
        let term = kb.ae_terms.iter().find(|t| t.code == self.term);
        if term.is_none() {
            inv.push("term", "Choose the term from the list.");
        }
        let specify = self.specify.trim();
        if self.term == "skin_other" && specify.is_empty() {
            inv.push("specify", "Say what it was.");
        } else if specify.chars().count() > 200 {
            inv.push("specify", "Keep it under 200 characters.");
        }
        let grade = match (self.grade.trim().parse::<u8>(), term) {
            (Ok(g @ 1..=5), Some(t)) if grade_words(t, g).is_none() => {
                inv.push(
                    "grade",
                    format!("{} has grades 1 to {} in CTCAE.", t.term, t.grades.len()),
                );
                None
            }
            (Ok(g @ 1..=5), _) => Some(g),
            _ => {
                inv.push("grade", "Choose a grade from 1 to 5.");
                None
            }
        };
        let onset = match self.onset.trim().parse::<Date>() {
            Ok(d) if d < session_day => {
                inv.push(
                    "onset",
                    format!(
                        "The onset is before the session on {}.",
                        crate::dates::long_date(session_day)
                    ),
                );
                None
            }
            Ok(d) if d > today => {
                inv.push("onset", "That day has not come yet.");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                inv.push("onset", "Choose the day it began.");
                None
            }
        };
        let outcome = Outcome::parse(self.outcome);
        if outcome.is_none() {
            inv.push("outcome", "Choose how it ended, or that it has not.");
        }
        let resolved_on = match (self.resolved_on.trim(), outcome) {
            ("", Some(o)) if o.ended() && o != Outcome::Fatal => {
                inv.push("resolved_on", "Give the day it resolved.");
                None
            }
            ("", _) => None,
            (_, Some(Outcome::Ongoing)) => {
                inv.push(
                    "resolved_on",
                    "An event not resolved yet has no resolution day.",
                );
                None
            }
            (d, _) => match d.parse::<Date>() {
                Ok(d) if d > today => {
                    inv.push("resolved_on", "That day has not come yet.");
                    None
                }
                Ok(d) if onset.is_some_and(|o| d < o) => {
                    inv.push("resolved_on", "It cannot resolve before it began.");
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    inv.push("resolved_on", "Choose the day it resolved.");
                    None
                }
            },
        };
        // Death is grade 5 and serious; grade 5 is death.
        if (grade == Some(5)) != (outcome == Some(Outcome::Fatal))
            && grade.is_some()
            && outcome.is_some()
        {
            inv.push(
                "grade",
                "Grade 5 is death: the grade and the outcome must agree.",
            );
        }
        // A life-threatening or fatal event is serious by definition (ICH
        // E2A), whatever the box says.
        let serious = self.serious || grade.is_some_and(|g| g >= 4);
        if self.actions.chars().count() > 4000 {
            inv.push("actions", "Keep it under 4,000 characters.");
        }
        inv.into_result()?;
        Ok(AdverseEvent {
            term: self.term.to_string(),
            specify: (!specify.is_empty()).then(|| specify.to_string()),
            onset: onset.expect("checked"),
            grade: grade.expect("checked"),
            expected: self.expected,
            serious,
            actions: self.actions.trim().to_string(),
            outcome: outcome.expect("checked"),
            resolved_on,
        })
    }
}
