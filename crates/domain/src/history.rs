//! A patient's medical history as screening reads it: skin type, pregnancy,
//! conditions, medicines with dates, allergies, recent events and what they
//! want treated. Stored as immutable versions, so a screening always points
//! at exactly what was known when it was made.

use crate::knowledge::{KnowledgeBase, Recordable};
use crate::validation::Invalid;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientHistory {
    pub date_of_birth: Option<Date>,
    #[serde(default)]
    pub pregnant: bool,
    #[serde(default)]
    pub breastfeeding: bool,
    /// Fitzpatrick skin type, 1 to 6.
    #[serde(default)]
    pub fitzpatrick: Option<u8>,
    #[serde(default)]
    pub conditions: Vec<ConditionEntry>,
    #[serde(default)]
    pub medications: Vec<MedicationEntry>,
    #[serde(default)]
    pub allergies: Vec<AllergyEntry>,
    #[serde(default)]
    pub events: Vec<EventEntry>,
    #[serde(default)]
    pub concerns: Vec<Concern>,
    /// What the patient wrote that the lists do not cover (other
    /// conditions, medicines, allergies), for the clinician to go through.
    /// Screening does not read it: a clinician records what it means.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionEntry {
    pub code: String,
    /// Where it is, for conditions recorded by area; empty means anywhere.
    #[serde(default)]
    pub areas: Vec<String>,
    #[serde(default)]
    pub since: Option<Date>,
    /// When it cleared up; a resolved condition no longer counts.
    #[serde(default)]
    pub resolved_on: Option<Date>,
    /// For diabetes: whether it is controlled.
    #[serde(default)]
    pub controlled: Option<bool>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicationEntry {
    pub code: String,
    #[serde(default)]
    pub started_on: Option<Date>,
    /// Empty while still taken.
    #[serde(default)]
    pub stopped_on: Option<Date>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllergyEntry {
    pub code: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEntry {
    pub code: String,
    pub on: Date,
    #[serde(default)]
    pub areas: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Mild, Severity::Moderate, Severity::Severe];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Mild => "mild",
            Severity::Moderate => "moderate",
            Severity::Severe => "severe",
        }
    }
}

/// What the patient wants treated: an indication in an area, and how bad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Concern {
    pub indication: String,
    pub area: String,
    pub severity: Severity,
}

fn known(list: &[Recordable], code: &str) -> bool {
    list.iter().any(|r| r.code == code)
}

impl PatientHistory {
    /// Checks the history against the knowledge base and the calendar:
    /// every code known, no date of birth or event in the future, nothing
    /// stopping before it started. All problems are reported, each with the
    /// path of its field (`medications[0].stopped_on`).
    pub fn validate(&self, kb: &KnowledgeBase, today: Date) -> Result<(), Invalid> {
        let mut inv = Invalid::default();
        let area_ok = |a: &str| kb.area(a).is_some();
        match self.date_of_birth {
            None => inv.push("date_of_birth", "The date of birth is needed to screen."),
            Some(d) if d > today => {
                inv.push("date_of_birth", "Date of birth cannot be in the future.")
            }
            _ => {}
        }
        if let Some(t) = self.fitzpatrick {
            if !(1..=6).contains(&t) {
                inv.push("fitzpatrick", "Fitzpatrick skin type is 1 to 6.");
            }
        }
        for (i, c) in self.conditions.iter().enumerate() {
            let at = |f: &str| format!("conditions[{i}].{f}");
            if !known(&kb.conditions, &c.code) {
                inv.push(at("code"), format!("Unknown condition {:?}.", c.code));
            }
            for a in c.areas.iter().filter(|a| !area_ok(a)) {
                inv.push(at("areas"), format!("Unknown area {a:?}."));
            }
            if let (Some(s), Some(r)) = (c.since, c.resolved_on) {
                if r < s {
                    inv.push(at("resolved_on"), "Resolved before it started.");
                }
            }
            if c.since.is_some_and(|s| s > today) {
                inv.push(at("since"), "Cannot start in the future.");
            }
        }
        for (i, m) in self.medications.iter().enumerate() {
            let at = |f: &str| format!("medications[{i}].{f}");
            if !known(&kb.medications, &m.code) {
                inv.push(at("code"), format!("Unknown medication {:?}.", m.code));
            }
            if let (Some(s), Some(e)) = (m.started_on, m.stopped_on) {
                if e < s {
                    inv.push(at("stopped_on"), "The stop date is before the start date.");
                }
            }
            if m.started_on.is_some_and(|s| s > today) {
                inv.push(at("started_on"), "Cannot start in the future.");
            }
            if m.stopped_on.is_some_and(|s| s > today) {
                inv.push(
                    at("stopped_on"),
                    "A stop date in the future is not known yet: leave it empty while it is taken.",
                );
            }
        }
        for (i, a) in self.allergies.iter().enumerate() {
            if !known(&kb.allergies, &a.code) {
                inv.push(
                    format!("allergies[{i}].code"),
                    format!("Unknown allergy {:?}.", a.code),
                );
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            let at = |f: &str| format!("events[{i}].{f}");
            if !known(&kb.events, &e.code) {
                inv.push(at("code"), format!("Unknown event {:?}.", e.code));
            }
            for a in e.areas.iter().filter(|a| !area_ok(a)) {
                inv.push(at("areas"), format!("Unknown area {a:?}."));
            }
            if e.on > today {
                inv.push(at("on"), "An event cannot be in the future.");
            }
        }
        for (i, c) in self.concerns.iter().enumerate() {
            if kb.indication(&c.indication).is_none() {
                inv.push(
                    format!("concerns[{i}].indication"),
                    format!("Unknown indication {:?}.", c.indication),
                );
            }
            if !area_ok(&c.area) {
                inv.push(
                    format!("concerns[{i}].area"),
                    format!("Unknown area {:?}.", c.area),
                );
            }
        }
        inv.into_result()
    }

    /// The areas named by the patient's concerns, in order, without repeats.
    pub fn concern_areas(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for c in &self.concerns {
            if !out.contains(&c.area) {
                out.push(c.area.clone());
            }
        }
        out
    }
}
