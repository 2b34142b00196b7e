//! The screening engine: for a history, a set of areas and a date, whether
//! each area may be treated, and why. Pure: the date comes in as an argument,
//! the rules from the knowledge base.
//!
//! Outcomes are ordered from least to most strict; an area's outcome is the
//! strictest of its reasons, and the overall outcome the strictest of the
//! areas. A stricter history never gives a less strict outcome.

use crate::history::PatientHistory;
use crate::knowledge::{Effect, Evidence, KnowledgeBase, RuleClass, Scope, Trigger};
use crate::patient::age_on;
use crate::validation::Invalid;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScreeningStatus))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Eligible,
    EligibleWithPrecautions,
    Deferred,
    NeedsPhysicianApproval,
    NotEligible,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Eligible,
        Status::EligibleWithPrecautions,
        Status::Deferred,
        Status::NeedsPhysicianApproval,
        Status::NotEligible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Eligible => "eligible",
            Status::EligibleWithPrecautions => "eligible_with_precautions",
            Status::Deferred => "deferred",
            Status::NeedsPhysicianApproval => "needs_physician_approval",
            Status::NotEligible => "not_eligible",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Eligible => "Eligible",
            Status::EligibleWithPrecautions => "Eligible with precautions",
            Status::Deferred => "Deferred",
            Status::NeedsPhysicianApproval => "Needs physician approval",
            Status::NotEligible => "Not eligible",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    fn of(effect: Effect) -> Status {
        match effect {
            Effect::NotEligible => Status::NotEligible,
            Effect::Defer => Status::Deferred,
            Effect::PhysicianApproval => Status::NeedsPhysicianApproval,
            Effect::Precaution => Status::EligibleWithPrecautions,
        }
    }
}

/// An outcome in words, as the headline, the table, the CLI and the API say
/// it. When a deferral and a stricter rule apply together, both are said:
/// "Deferred until 4 Dec 2026, then needs physician approval", so nobody
/// reads the approval alone and books inside the deferral. `date` formats a
/// date for the reader (the page's long form, the CLI's ISO form).
pub fn outcome_words(
    status: Status,
    deferral: Option<Deferral>,
    date: impl Fn(Date) -> String,
) -> String {
    let deferred = match deferral {
        Some(Deferral::Until(d)) => format!("Deferred until {}", date(d)),
        Some(Deferral::UntilResolved) => "Deferred until resolved".to_string(),
        None => return status.label().to_string(),
    };
    match status {
        // A deferral is always at least "Deferred"; a weaker status with a
        // deferral cannot come from the engine, but an override can say so.
        Status::Eligible | Status::EligibleWithPrecautions => status.label().to_string(),
        Status::Deferred => deferred,
        Status::NeedsPhysicianApproval => format!("{deferred}, then needs physician approval"),
        // Not eligible outranks any wait: the deferral would mislead.
        Status::NotEligible => status.label().to_string(),
    }
}

/// How long a deferral lasts. A deferral until a condition resolves is
/// stricter than any dated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "date")]
pub enum Deferral {
    /// Eligible again from this date (the first day every wait has passed).
    Until(Date),
    /// Until the condition has resolved; no date can be given.
    UntilResolved,
}

/// One rule that applied, with the fact that triggered it and its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule_id: String,
    pub rule: String,
    pub class: RuleClass,
    pub status: Status,
    /// The fact in the history, in words.
    pub fact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferral: Option<Deferral>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precaution: Option<String>,
    pub source: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaScreening {
    pub area: String,
    pub status: Status,
    /// The latest deferral among the reasons, whatever the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferral: Option<Deferral>,
    pub precautions: Vec<String>,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    pub on: Date,
    pub knowledge_version: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferral: Option<Deferral>,
    pub precautions: Vec<String>,
    pub areas: Vec<AreaScreening>,
}

impl Screening {
    pub fn area(&self, code: &str) -> Option<&AreaScreening> {
        self.areas.iter().find(|a| a.area == code)
    }

    /// Every reason across the areas, each rule once.
    pub fn reasons(&self) -> Vec<&Reason> {
        let mut out: Vec<&Reason> = vec![];
        for r in self.areas.iter().flat_map(|a| &a.reasons) {
            if !out
                .iter()
                .any(|o| o.rule_id == r.rule_id && o.fact == r.fact)
            {
                out.push(r);
            }
        }
        out
    }
}

/// A rule's match on the history: which areas it touches (`None`: all) and
/// until when a deferral lasts.
struct Hit {
    areas: Option<Vec<String>>,
    fact: String,
    deferral: Option<Deferral>,
}

fn scoped(scope: Scope, areas: &[String]) -> Option<Vec<String>> {
    match scope {
        Scope::Area if !areas.is_empty() => Some(areas.to_vec()),
        _ => None,
    }
}

fn name_of(list: &[crate::knowledge::Recordable], code: &str) -> String {
    list.iter()
        .find(|r| r.code == code)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| code.to_string())
}

fn where_(areas: &[String]) -> String {
    if areas.is_empty() {
        String::new()
    } else {
        format!(" ({})", areas.join(", "))
    }
}

/// Whether a trigger matches a history on a date (pre-treatment
/// instructions use the same triggers as the rules).
pub fn applies(kb: &KnowledgeBase, trigger: &Trigger, h: &PatientHistory, on: Date) -> bool {
    !hits(kb, trigger, Effect::Precaution, None, h, on).is_empty()
}

fn hits(
    kb: &KnowledgeBase,
    trigger: &Trigger,
    effect: Effect,
    wait: Option<crate::knowledge::Period>,
    h: &PatientHistory,
    on: Date,
) -> Vec<Hit> {
    let defer_for = |from: Date| -> Option<Deferral> {
        match (effect, wait) {
            (Effect::Defer, Some(w)) => Some(Deferral::Until(w.after(from).unwrap_or(Date::MAX))),
            (Effect::Defer, None) => Some(Deferral::UntilResolved),
            _ => None,
        }
    };
    let open = || {
        if effect == Effect::Defer {
            Some(Deferral::UntilResolved)
        } else {
            None
        }
    };
    match trigger {
        Trigger::Condition {
            code,
            scope,
            uncontrolled,
        } => h
            .conditions
            .iter()
            .filter(|c| &c.code == code)
            .filter(|c| c.since.is_none_or(|s| s <= on) && c.resolved_on.is_none_or(|r| r > on))
            .filter(|c| !uncontrolled || c.controlled == Some(false))
            .map(|c| Hit {
                areas: scoped(*scope, &c.areas),
                fact: format!(
                    "{}{}{}{}",
                    name_of(&kb.conditions, code),
                    if *uncontrolled {
                        ", not controlled"
                    } else {
                        ""
                    },
                    where_(&c.areas),
                    c.since.map(|s| format!(" since {s}")).unwrap_or_default()
                ),
                deferral: open(),
            })
            .collect(),
        Trigger::MedicationCurrent { codes } => h
            .medications
            .iter()
            .filter(|m| codes.contains(&m.code))
            .filter(|m| m.started_on.is_none_or(|s| s <= on) && m.stopped_on.is_none_or(|s| s > on))
            .map(|m| Hit {
                areas: None,
                fact: format!(
                    "{}, taken now{}",
                    name_of(&kb.medications, &m.code),
                    m.started_on
                        .map(|s| format!(" (since {s})"))
                        .unwrap_or_default()
                ),
                deferral: open(),
            })
            .collect(),
        Trigger::MedicationStopped { codes } => h
            .medications
            .iter()
            .filter(|m| codes.contains(&m.code))
            .filter_map(|m| m.stopped_on.filter(|s| *s <= on).map(|s| (m, s)))
            .filter_map(|(m, stopped)| {
                let deferral = defer_for(stopped);
                // A wait that has passed no longer applies.
                if matches!(deferral, Some(Deferral::Until(d)) if d <= on) {
                    return None;
                }
                Some(Hit {
                    areas: None,
                    fact: format!("{}, stopped {stopped}", name_of(&kb.medications, &m.code)),
                    deferral,
                })
            })
            .collect(),
        Trigger::Event { code, scope } => h
            .events
            .iter()
            .filter(|e| &e.code == code && e.on <= on)
            .filter_map(|e| {
                let deferral = defer_for(e.on);
                if matches!(deferral, Some(Deferral::Until(d)) if d <= on) {
                    return None;
                }
                Some(Hit {
                    areas: scoped(*scope, &e.areas),
                    fact: format!(
                        "{} on {}{}",
                        name_of(&kb.events, code),
                        crate::dates::long_date(e.on),
                        where_(&e.areas)
                    ),
                    deferral,
                })
            })
            .collect(),
        Trigger::Allergy { code } => h
            .allergies
            .iter()
            .filter(|a| &a.code == code)
            .map(|_| Hit {
                areas: None,
                fact: format!("Allergy: {}", name_of(&kb.allergies, code)),
                deferral: open(),
            })
            .collect(),
        Trigger::Pregnant => h
            .pregnant
            .then(|| Hit {
                areas: None,
                fact: "Pregnant".into(),
                deferral: open(),
            })
            .into_iter()
            .collect(),
        Trigger::Breastfeeding => h
            .breastfeeding
            .then(|| Hit {
                areas: None,
                fact: "Breastfeeding".into(),
                deferral: open(),
            })
            .into_iter()
            .collect(),
        Trigger::AgeUnder { years } => h
            .date_of_birth
            .map(|dob| age_on(dob, on))
            .filter(|age| *age < i16::from(*years))
            .map(|age| Hit {
                areas: None,
                fact: format!("Aged {age} on {}", crate::dates::long_date(on)),
                deferral: open(),
            })
            .into_iter()
            .collect(),
        // A skin type nobody has recorded (the patient was not sure) is
        // treated as the darker types until a clinician records it.
        Trigger::FitzpatrickAtLeast { skin_type } => match h.fitzpatrick {
            Some(t) if t >= *skin_type => vec![Hit {
                areas: None,
                fact: format!("Fitzpatrick skin type {}", roman(t)),
                deferral: open(),
            }],
            Some(_) => vec![],
            None => vec![Hit {
                areas: None,
                fact: "Skin type not recorded: treated as the darker types until a clinician records it"
                    .into(),
                deferral: open(),
            }],
        },
    }
}

pub fn roman(t: u8) -> &'static str {
    ["0", "I", "II", "III", "IV", "V", "VI"]
        .get(usize::from(t))
        .copied()
        .unwrap_or("?")
}

/// Screens `areas` for the patient whose history is `h`, on the date `on`.
/// Refused when no area is given or an area code is unknown.
pub fn screen(
    kb: &KnowledgeBase,
    h: &PatientHistory,
    areas: &[String],
    on: Date,
) -> Result<Screening, Invalid> {
    let mut inv = Invalid::default();
    if areas.is_empty() {
        inv.push("areas", "Choose at least one area to screen.");
    }
    for a in areas.iter().filter(|a| kb.area(a).is_none()) {
        inv.push("areas", format!("Unknown area {a:?}."));
    }
    inv.into_result()?;

    let mut results: Vec<AreaScreening> = areas
        .iter()
        .map(|a| AreaScreening {
            area: a.clone(),
            status: Status::Eligible,
            deferral: None,
            precautions: vec![],
            reasons: vec![],
        })
        .collect();
    for rule in &kb.rules {
        for hit in hits(kb, &rule.trigger, rule.effect, rule.wait, h, on) {
            for r in results.iter_mut() {
                let region = kb.area(&r.area).map(|a| a.region.as_str()).unwrap_or("");
                let in_scope = hit.areas.as_ref().is_none_or(|list| list.contains(&r.area));
                let in_region = rule.regions.is_empty() || rule.regions.iter().any(|g| g == region);
                if in_scope && in_region {
                    r.reasons.push(Reason {
                        rule_id: rule.id.clone(),
                        rule: rule.name.clone(),
                        class: rule.class,
                        status: Status::of(rule.effect),
                        fact: hit.fact.clone(),
                        deferral: hit.deferral,
                        precaution: rule.precaution.clone(),
                        source: rule.source.clone(),
                        evidence: rule.evidence,
                    });
                }
            }
        }
    }
    for r in results.iter_mut() {
        r.status = r
            .reasons
            .iter()
            .map(|x| x.status)
            .max()
            .unwrap_or(Status::Eligible);
        r.deferral = r.reasons.iter().filter_map(|x| x.deferral).max();
        for p in r.reasons.iter().filter_map(|x| x.precaution.clone()) {
            if !r.precautions.contains(&p) {
                r.precautions.push(p);
            }
        }
    }
    let mut precautions: Vec<String> = vec![];
    for p in results.iter().flat_map(|r| r.precautions.iter()) {
        if !precautions.contains(p) {
            precautions.push(p.clone());
        }
    }
    Ok(Screening {
        on,
        knowledge_version: kb.version.clone(),
        status: results
            .iter()
            .map(|r| r.status)
            .max()
            .unwrap_or(Status::Eligible),
        deferral: results.iter().filter_map(|r| r.deferral).max(),
        precautions,
        areas: results,
    })
}
