//! The clinical knowledge base as typed data: areas, indications, devices,
//! what a history can record, contraindication rules, aftercare, adverse
//! events and outcome scales. It is read from a TOML file by the
//! `needlepoint-knowledge` crate; every entry carries its source.

use crate::depth::Depth;
use jiff::civil::Date;
use jiff::Span;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How strong the evidence behind an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// Peer-reviewed trial, review or consensus, or an FDA record / label.
    A,
    /// Clinic, trade or manufacturer material: common practice.
    B,
    /// No source found: a reasonable default a clinic must be able to change.
    U,
}

impl Evidence {
    /// What the grade means, for a reader of a page.
    pub fn words(self) -> &'static str {
        match self {
            Evidence::A => "published evidence",
            Evidence::B => "common practice",
            Evidence::U => "no source found",
        }
    }

    /// The words to show beside a source, unless the source says them
    /// already ("Common practice").
    pub fn beside(self, source: &str) -> Option<&'static str> {
        let w = self.words();
        (!source.to_lowercase().contains(w)).then_some(w)
    }
}

/// A depth range in millimetres, written `"0.25-0.5"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DepthRange {
    pub min: Depth,
    pub max: Depth,
}

impl DepthRange {
    pub fn parse(s: &str) -> Result<DepthRange, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("{s:?} is not a range like \"0.25-0.5\""))?;
        let min = Depth::parse_mm("min", a).map_err(|e| format!("{s:?}: {}", e.message))?;
        let max = Depth::parse_mm("max", b).map_err(|e| format!("{s:?}: {}", e.message))?;
        if min > max {
            return Err(format!("{s:?}: the minimum is above the maximum"));
        }
        Ok(DepthRange { min, max })
    }

    pub fn contains(&self, d: Depth) -> bool {
        self.min <= d && d <= self.max
    }
}

impl TryFrom<String> for DepthRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        DepthRange::parse(&s)
    }
}

impl From<DepthRange> for String {
    fn from(r: DepthRange) -> String {
        r.to_string()
    }
}

/// Millimetres without trailing zeros: "0.5", "1.25", "2".
fn mm(d: Depth) -> String {
    let um = d.micrometres();
    let s = format!("{}.{:03}", um / 1000, um % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Display for DepthRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", mm(self.min), mm(self.max))
    }
}

impl DepthRange {
    /// As a person reads it: "0.5 mm" for one depth, "0.5–1 mm" for a range.
    pub fn words(self) -> String {
        if self.min == self.max {
            format!("{} mm", mm(self.min))
        } else {
            format!("{}–{} mm", mm(self.min), mm(self.max))
        }
    }
}

/// A whole-number range, written `"3-5"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountRange {
    pub min: u32,
    pub max: u32,
}

impl TryFrom<String> for CountRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a range like \"3-5\"");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let (min, max) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if min > max || min == 0 {
            return Err(format!("{s:?}: needs 1 ≤ minimum ≤ maximum"));
        }
        Ok(CountRange { min, max })
    }
}

impl From<CountRange> for String {
    fn from(r: CountRange) -> String {
        format!("{}-{}", r.min, r.max)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodUnit {
    Days,
    Weeks,
    Months,
}

/// A calendar period, written `"2 weeks"`, `"6 months"`, `"14 days"`.
/// Months are calendar months: a period from 31 August ends on the last day
/// of February when February has no 31st.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    pub amount: u32,
    pub unit: PeriodUnit,
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, String> {
        let bad = || format!("{s:?} is not a period like \"14 days\", \"2 weeks\" or \"6 months\"");
        let mut parts = s.split_whitespace();
        let amount: u32 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let unit = match parts.next().ok_or_else(bad)?.trim_end_matches('s') {
            "day" => PeriodUnit::Days,
            "week" => PeriodUnit::Weeks,
            "month" => PeriodUnit::Months,
            _ => return Err(bad()),
        };
        if parts.next().is_some() || amount > 10_000 {
            return Err(bad());
        }
        Ok(Period { amount, unit })
    }

    /// The date this period after `from`; `None` only past year 9999.
    pub fn after(&self, from: Date) -> Option<Date> {
        let span = match self.unit {
            PeriodUnit::Days => Span::new().days(i64::from(self.amount)),
            PeriodUnit::Weeks => Span::new().weeks(i64::from(self.amount)),
            PeriodUnit::Months => Span::new().months(i64::from(self.amount)),
        };
        from.checked_add(span).ok()
    }
}

impl TryFrom<String> for Period {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Period::parse(&s)
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            PeriodUnit::Days => "day",
            PeriodUnit::Weeks => "week",
            PeriodUnit::Months => "month",
        };
        write!(
            f,
            "{} {unit}{}",
            self.amount,
            if self.amount == 1 { "" } else { "s" }
        )
    }
}

/// An interval between sessions, written `"4-6 weeks"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Interval {
    pub min: Period,
    pub max: Period,
}

impl TryFrom<String> for Interval {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an interval like \"4-6 weeks\"");
        let (range, unit) = s.trim().split_once(' ').ok_or_else(bad)?;
        let (a, b) = range.split_once('-').ok_or_else(bad)?;
        let min = Period::parse(&format!("{a} {unit}"))?;
        let max = Period::parse(&format!("{b} {unit}"))?;
        if min.amount > max.amount {
            return Err(format!("{s:?}: the minimum is above the maximum"));
        }
        Ok(Interval { min, max })
    }
}

impl Interval {
    /// The unit it is written in: "weeks", "days".
    pub fn unit(self) -> String {
        self.max
            .to_string()
            .split_once(' ')
            .map(|(_, u)| u.to_string())
            .unwrap_or_default()
    }

    /// As a person says it: "7 days", "4–6 weeks".
    pub fn words(self) -> String {
        let unit = self.unit();
        if self.min.amount == self.max.amount {
            format!("{} {unit}", self.min.amount)
        } else {
            format!("{}–{} {unit}", self.min.amount, self.max.amount)
        }
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> String {
        format!("{}-{} {}", i.min.amount, i.max.amount, i.unit())
    }
}

/// Where a rule's source is and how strong it is, for every entry shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced {
    pub source: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningSettings {
    /// A screening older than this many days is stale.
    pub max_age_days: u32,
    pub source: String,
    pub evidence: Evidence,
    /// The rule (an age trigger) under which a parent or guardian signs the
    /// consent as well as the patient.
    pub guardian_rule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub code: String,
    /// Needling time for this area in a session.
    pub treatment_minutes: u32,
    pub name: String,
    /// face, neck, chest, hands, scalp or body: rules can target a region.
    pub region: String,
    pub depth: DepthRange,
    /// The range for scars, where scars go deeper than the area's default
    /// (cheeks: acne scars to 1.5–2.0 mm).
    #[serde(default)]
    pub scar_depth: Option<DepthRange>,
    #[serde(default)]
    pub note: Option<String>,
    pub source: String,
    pub evidence: Evidence,
}

impl Area {
    /// The range to start from for these indications: the scar range when
    /// a scar is among them and the area has one, else the area's own.
    pub fn depth_for(&self, kb: &KnowledgeBase, indications: &[String]) -> DepthRange {
        let scar = indications
            .iter()
            .any(|c| kb.indication(c).is_some_and(|i| i.scar));
        match self.scar_depth {
            Some(d) if scar => d,
            _ => self.depth,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indication {
    pub code: String,
    pub name: String,
    pub sessions: CountRange,
    pub typical_sessions: u32,
    pub interval: Interval,
    #[serde(default)]
    pub depth: Option<DepthRange>,
    /// A scar: it may use an area's deeper scar range.
    #[serde(default)]
    pub scar: bool,
    #[serde(default)]
    pub adjuncts: Vec<String>,
    pub downtime: String,
    /// Why it is never planned, when it is not: the patient's wish is
    /// recorded and the plan says why it is left out.
    #[serde(default)]
    pub not_proposed: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub source: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceModel {
    pub code: String,
    pub name: String,
    /// What the needles really reach (not what a dial reads).
    pub depth: DepthRange,
    pub step: String,
    /// The needles' material, an allergy code ("nickel" for stainless
    /// steel): a patient allergic to it may not be treated with the device.
    #[serde(default)]
    pub needles: Option<String>,
    /// The depth its safety was evaluated to, written "0-1.5": a plan
    /// deeper than its upper end is flagged.
    #[serde(default)]
    pub evaluated: Option<DepthRange>,
    /// The Fitzpatrick types it is cleared for, "1-4"; any when absent.
    #[serde(default)]
    pub skin_types: Option<CountRange>,
    /// Narrower clearances for an indication on an area.
    #[serde(default)]
    pub limits: Vec<DeviceLimit>,
    #[serde(default)]
    pub note: Option<String>,
    pub source: String,
    pub evidence: Evidence,
}

/// A clearance narrower than the device's own: an indication on an area
/// only for some skin types.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceLimit {
    pub indication: String,
    pub area: String,
    pub skin_types: CountRange,
    pub source: String,
}

impl DeviceModel {
    /// What is wrong with using this device for the patient, with sources:
    /// an allergy to its needles refuses it (`Err`); a skin type outside a
    /// clearance is a flag (`Ok` lines).
    pub fn fits(
        &self,
        allergies: &[String],
        fitzpatrick: Option<u8>,
        concerns: &[(String, String)],
    ) -> Result<Vec<String>, String> {
        if let Some(m) = &self.needles {
            if allergies.iter().any(|a| a == m) {
                return Err(format!(
                    "Not with {}: its needles are stainless steel, and the patient is allergic to it ({}). Choose a device whose label allows another needle material.",
                    self.name, self.source
                ));
            }
        }
        let mut flags = vec![];
        let outside = |r: CountRange, t: u8| !(r.min..=r.max).contains(&u32::from(t));
        if let (Some(r), Some(t)) = (self.skin_types, fitzpatrick) {
            if outside(r, t) {
                flags.push(format!(
                    "{} is cleared for skin types {}–{} only; this patient is type {t} ({}).",
                    self.name,
                    roman(r.min),
                    roman(r.max),
                    self.source
                ));
            }
        }
        for l in &self.limits {
            let concerned = concerns
                .iter()
                .any(|(i, a)| *i == l.indication && *a == l.area);
            if let (true, Some(t)) = (concerned, fitzpatrick) {
                if outside(l.skin_types, t) {
                    flags.push(format!(
                        "{}'s clearance for this on the {} covers skin types {}–{} only; this patient is type {t} ({}).",
                        self.name,
                        l.area,
                        roman(l.skin_types.min),
                        roman(l.skin_types.max),
                        l.source
                    ));
                }
            }
        }
        Ok(flags)
    }
}

/// 1 → "I", … 6 → "VI", for skin types.
pub fn roman(n: u32) -> &'static str {
    ["", "I", "II", "III", "IV", "V", "VI"]
        .get(n as usize)
        .copied()
        .unwrap_or("?")
}

/// Something a history can record (a condition, medicine, allergy or event),
/// with the plain-language question the intake form asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recordable {
    pub code: String,
    pub name: String,
    pub question: String,
    /// Recorded with the areas it affects.
    #[serde(default)]
    pub area_specific: bool,
    /// Recorded with whether it is controlled (diabetes).
    #[serde(default)]
    pub has_control: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleClass {
    Absolute,
    Relative,
    Precaution,
}

/// Which areas a fact touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every area screened.
    Patient,
    /// The areas recorded with the fact (every area when none were).
    Area,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A current condition; with `uncontrolled`, only when recorded as not controlled.
    Condition {
        code: String,
        scope: Scope,
        #[serde(default)]
        uncontrolled: bool,
    },
    /// Any of these medicines, taken on the screening date.
    MedicationCurrent {
        codes: Vec<String>,
    },
    /// Any of these medicines, stopped on or before the screening date.
    MedicationStopped {
        codes: Vec<String>,
    },
    /// An event (injection, radiotherapy, sunburn…) on a date.
    Event {
        code: String,
        scope: Scope,
    },
    Allergy {
        code: String,
    },
    Pregnant,
    Breastfeeding,
    AgeUnder {
        years: u8,
    },
    FitzpatrickAtLeast {
        skin_type: u8,
    },
}

/// What a rule does to an area's screening outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    NotEligible,
    /// Until the waiting period after the fact has passed, or until the
    /// condition is resolved when the rule has no waiting period.
    Defer,
    PhysicianApproval,
    Precaution,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub class: RuleClass,
    pub trigger: Trigger,
    pub effect: Effect,
    #[serde(default)]
    pub wait: Option<Period>,
    /// Where the literature leaves the wait to the clinic, the waits it may
    /// choose from, each with its source; the wait is one of them.
    #[serde(default)]
    pub wait_choices: Vec<WaitChoice>,
    /// What to do, for a precaution (and alongside other effects).
    #[serde(default)]
    pub precaution: Option<String>,
    /// Only areas in these regions (e.g. cold sores: the face).
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub source: String,
    pub evidence: Evidence,
}

/// A waiting period a clinic may choose, and who recommends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitChoice {
    pub wait: Period,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AftercareStep {
    pub from_hours: u32,
    pub to_hours: u32,
    /// A duty (what the patient does) or what to expect (what happens).
    #[serde(default)]
    pub kind: AftercareKind,
    /// Only for patients this matches; always when absent.
    #[serde(default)]
    pub when: Option<Trigger>,
    pub text: String,
    pub source: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AftercareKind {
    #[default]
    Duty,
    Expect,
}

impl AftercareStep {
    /// The step's time window in words a patient reads: "For the first 8
    /// hours", "Days 3 to 7", "From day 7". A duty without one reads as
    /// forever.
    pub fn window(&self) -> String {
        let (a, b) = (self.from_hours, self.to_hours);
        let span = |h: u32| match h {
            h if h % 168 == 0 && h >= 336 => format!("{} weeks", h / 168),
            h if h % 24 == 0 && h >= 48 => format!("{} days", h / 24),
            24 => "24 hours".to_string(),
            h => format!("{h} hours"),
        };
        let day = |h: u32| h / 24;
        if a == b {
            format!("From day {}", day(a))
        } else if a == 0 {
            format!("For the first {}", span(b))
        } else {
            format!("Days {} to {}", day(a), day(b))
        }
    }
}

/// How soon a warning sign needs someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Call emergency services now.
    Emergency,
    /// Call the clinic the same day.
    Today,
    /// Tell the clinic within a few days.
    Days,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Emergency, Urgency::Today, Urgency::Days];

    /// What the patient does, as a heading.
    pub fn instruction(self) -> &'static str {
        match self {
            Urgency::Emergency => "Call emergency services at once if you have",
            Urgency::Today => "Call the clinic the same day if you notice",
            Urgency::Days => "Tell the clinic within a few days if you notice",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningSign {
    pub urgency: Urgency,
    pub text: String,
}

/// A term of the adverse-event register, from NCI CTCAE v5.0, with each
/// grade's wording. `grades[0]` is grade 1; a term without a wording for a
/// grade may not be recorded at it (CTCAE marks it "—"). Until checked
/// against NCI's CTCAE v5 list, `wording_verified` is false and the
/// register says so.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AeTerm {
    pub code: String,
    pub term: String,
    pub grades: Vec<String>,
    /// The adverse event of the literature it is (an `adverse_event` code),
    /// when there is one.
    #[serde(default)]
    pub event: Option<String>,
    pub wording_verified: bool,
    pub source: String,
    pub evidence: Evidence,
}

/// Home rolling between clinic sessions: defaults from consumer pages, not
/// evidence (rated U), which each clinic may change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeCareRules {
    /// The longest needle advised for a home roller.
    pub max_needle: crate::depth::Depth,
    /// Fewest whole days between two home rollings of the same area.
    pub min_days_between: u32,
    /// No home rolling this many days before or after a clinic session.
    pub days_clear_of_session: u32,
    pub source: String,
    pub evidence: Evidence,
}

/// The days after a session on which the patient is asked how her skin
/// is healing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckIns {
    pub days: Vec<u32>,
    pub source: String,
    pub evidence: Evidence,
}

/// A reaction expected after needling: reassured up to `up_to` on its
/// question's scale, before day `until_day`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageExpected {
    /// A check-in question's code (see `triage::QUESTIONS`).
    pub question: String,
    pub up_to: u8,
    pub until_day: u32,
    pub source: String,
    pub evidence: Evidence,
}

/// An answer that is a warning sign from `at_least` on its scale, and how
/// soon it needs someone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageSign {
    pub question: String,
    #[serde(default = "one")]
    pub at_least: u8,
    pub urgency: Urgency,
    /// What it may mean, for the clinician ("infection").
    pub means: String,
    pub source: String,
    pub evidence: Evidence,
}

fn one() -> u8 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdverseEvent {
    pub code: String,
    pub name: String,
    /// As the studies report it, for clinicians.
    pub frequency: String,
    /// The name a patient reads, without jargon.
    pub plain_name: String,
    /// How often, in words a patient reads.
    pub in_words: String,
    pub source: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub code: String,
    pub name: String,
    pub source: String,
    pub evidence: Evidence,
    /// False where the definition was not checked against the paper.
    pub verified: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitzpatrickGuide {
    pub skin_type: u8,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanningSettings {
    /// For skin types IV–VI, how far up the guideline range the proposed
    /// depth goes, in percent.
    pub dark_skin_depth_percent: u8,
    pub source: String,
    pub evidence: Evidence,
    /// How a concern's severity places the course in its ranges; one rule
    /// per level.
    pub severity: Vec<SeverityRule>,
    /// How far a visit may fall either side of the interval a trial used.
    pub interval_tolerance: IntervalTolerance,
    /// What a plan says when it numbs a large area.
    pub large_area_numbing: LargeAreaNumbing,
}

/// Numbing cream over a large area, under a wrap or warmed has caused
/// methaemoglobinaemia, seizures and deaths: a plan that numbs an area in
/// these regions carries the precaution.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LargeAreaNumbing {
    pub regions: Vec<String>,
    pub precaution: String,
    pub source: String,
    pub evidence: Evidence,
}

/// Trials report one interval ("4 weeks", "30 days"); clinics book a few
/// days either side. Two concerns whose intervals meet within this many
/// days either way share one course.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalTolerance {
    pub days: u32,
    pub source: String,
    pub evidence: Evidence,
}

/// Where a severity puts the course: how many sessions of the indication's
/// range, and which part of the depth range.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityRule {
    pub level: crate::history::Severity,
    pub sessions: SessionsPick,
    pub depth: DepthPart,
    pub source: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionsPick {
    Fewest,
    Typical,
    Most,
}

impl SessionsPick {
    /// The sessions this pick gives for an indication.
    pub fn of(self, i: &Indication) -> u32 {
        match self {
            SessionsPick::Fewest => i.sessions.min,
            SessionsPick::Typical => i.typical_sessions,
            SessionsPick::Most => i.sessions.max,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepthPart {
    Lower,
    Whole,
    Upper,
}

impl DepthPart {
    /// This part of a range: its bottom or top half (split on a depth
    /// step, so the halves meet), or all of it.
    pub fn of(self, r: DepthRange) -> DepthRange {
        let (lo, hi) = (r.min.micrometres(), r.max.micrometres());
        let mid = (lo + hi) / 2;
        let mid = Depth::from_micrometres(mid - mid % Depth::STEP_UM).unwrap_or(r.min);
        match self {
            DepthPart::Lower => DepthRange {
                min: r.min,
                max: mid,
            },
            DepthPart::Whole => r,
            DepthPart::Upper => DepthRange {
                min: mid,
                max: r.max,
            },
        }
    }
}

impl KnowledgeBase {
    /// The rule for a severity (the knowledge base has one per level).
    pub fn severity_rule(&self, level: crate::history::Severity) -> Option<&SeverityRule> {
        self.planning.severity.iter().find(|r| r.level == level)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoGoZone {
    pub code: String,
    pub name: String,
    pub source: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreTreatment {
    pub text: String,
    /// Only for patients this matches; always when absent.
    #[serde(default)]
    pub when: Option<Trigger>,
    pub source: String,
    pub evidence: Evidence,
}

/// A kind of appointment and how long it takes. A session's length is
/// built from its parts; other kinds have a fixed length.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppointmentType {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub minutes: Option<u32>,
    #[serde(default)]
    pub numbing_minutes: u32,
    #[serde(default)]
    pub min_treatment_minutes: u32,
    #[serde(default)]
    pub max_treatment_minutes: u32,
    #[serde(default)]
    pub cleanup_minutes: u32,
    pub needs_room: bool,
    pub needs_device: bool,
    pub source: String,
    pub evidence: Evidence,
}

impl AppointmentType {
    /// Minutes for an appointment treating `areas` (the area codes).
    pub fn duration_minutes(&self, kb: &KnowledgeBase, areas: &[String]) -> u32 {
        if let Some(m) = self.minutes {
            return m;
        }
        let needling: u32 = areas
            .iter()
            .filter_map(|a| kb.area(a))
            .map(|a| a.treatment_minutes)
            .sum();
        self.numbing_minutes
            + needling.clamp(
                self.min_treatment_minutes,
                self.max_treatment_minutes.max(self.min_treatment_minutes),
            )
            + self.cleanup_minutes
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulingSettings {
    pub buffer_minutes: u32,
    pub source: String,
    pub evidence: Evidence,
}

/// What a session's chart checks before and during needling.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartingSettings {
    pub min_numbing_minutes: u32,
    /// The contraindication whose precaution is antiviral prophylaxis.
    pub antiviral_rule: String,
    /// Photo views needed before a session that treats a face area.
    pub face_views: Vec<String>,
    pub max_passes: u32,
    pub source: String,
    pub evidence: Evidence,
}

/// One item of the pre-procedure checklist, with why it is there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    pub code: String,
    pub name: String,
    pub why: String,
    pub source: String,
    pub evidence: Evidence,
}

/// A rule about needles and products used in a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplyRule {
    pub code: String,
    pub text: String,
    pub source: String,
    pub evidence: Evidence,
}

/// The whole knowledge base. Field names are the TOML's table names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeBase {
    pub version: String,
    pub screening: ScreeningSettings,
    pub planning: PlanningSettings,
    pub scheduling: SchedulingSettings,
    pub charting: ChartingSettings,
    #[serde(rename = "checklist_item")]
    pub checklist: Vec<ChecklistItem>,
    #[serde(rename = "supply_rule")]
    pub supply_rules: Vec<SupplyRule>,
    #[serde(rename = "appointment_type")]
    pub appointment_types: Vec<AppointmentType>,
    #[serde(rename = "no_go_zone")]
    pub no_go_zones: Vec<NoGoZone>,
    #[serde(rename = "area")]
    pub areas: Vec<Area>,
    #[serde(rename = "indication")]
    pub indications: Vec<Indication>,
    #[serde(rename = "device")]
    pub devices: Vec<DeviceModel>,
    #[serde(rename = "condition")]
    pub conditions: Vec<Recordable>,
    #[serde(rename = "medication")]
    pub medications: Vec<Recordable>,
    #[serde(rename = "allergy")]
    pub allergies: Vec<Recordable>,
    #[serde(rename = "event")]
    pub events: Vec<Recordable>,
    #[serde(rename = "contraindication")]
    pub rules: Vec<Rule>,
    #[serde(rename = "pretreatment")]
    pub pretreatments: Vec<PreTreatment>,
    pub aftercare: Vec<AftercareStep>,
    #[serde(rename = "warning_sign")]
    pub warning_signs: Vec<WarningSign>,
    pub checkins: CheckIns,
    pub home_care: HomeCareRules,
    #[serde(rename = "ae_term")]
    pub ae_terms: Vec<AeTerm>,
    #[serde(rename = "triage_expected")]
    pub triage_expected: Vec<TriageExpected>,
    #[serde(rename = "triage_sign")]
    pub triage_signs: Vec<TriageSign>,
    #[serde(rename = "adverse_event")]
    pub adverse_events: Vec<AdverseEvent>,
    #[serde(rename = "scale")]
    pub scales: Vec<Scale>,
    pub fitzpatrick: Vec<FitzpatrickGuide>,
}

/// A problem found in a knowledge base: the entry (its code or id), the
/// field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbProblem {
    pub entry: String,
    pub field: String,
    pub message: String,
}

impl KnowledgeBase {
    pub fn checklist_item(&self, code: &str) -> Option<&ChecklistItem> {
        self.checklist.iter().find(|c| c.code == code)
    }

    pub fn supply_rule(&self, code: &str) -> Option<&SupplyRule> {
        self.supply_rules.iter().find(|c| c.code == code)
    }

    pub fn area(&self, code: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.code == code)
    }

    pub fn appointment_type(&self, code: &str) -> Option<&AppointmentType> {
        self.appointment_types.iter().find(|t| t.code == code)
    }

    pub fn indication(&self, code: &str) -> Option<&Indication> {
        self.indications.iter().find(|i| i.code == code)
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn condition(&self, code: &str) -> Option<&Recordable> {
        self.conditions.iter().find(|c| c.code == code)
    }

    /// The code a trigger names that nothing in the knowledge base defines.
    fn unknown_code(&self, t: &Trigger) -> Option<String> {
        let known = |list: &[Recordable], code: &str| list.iter().any(|x| x.code == code);
        match t {
            Trigger::Condition { code, .. } => {
                (!known(&self.conditions, code)).then(|| code.clone())
            }
            Trigger::Event { code, .. } => (!known(&self.events, code)).then(|| code.clone()),
            Trigger::Allergy { code } => (!known(&self.allergies, code)).then(|| code.clone()),
            Trigger::MedicationCurrent { codes } | Trigger::MedicationStopped { codes } => {
                codes.iter().find(|c| !known(&self.medications, c)).cloned()
            }
            Trigger::FitzpatrickAtLeast { skin_type } if !(1..=6).contains(skin_type) => {
                Some(format!("skin type {skin_type}"))
            }
            _ => None,
        }
    }

    /// The age under which a parent or guardian signs the consent too.
    pub fn guardian_under(&self) -> Option<u8> {
        match self.rule(&self.screening.guardian_rule)?.trigger {
            Trigger::AgeUnder { years } => Some(years),
            _ => None,
        }
    }

    /// Adverse-event terms: unique codes, grades 1 up to 5 without gaps,
    /// a known event.
    fn check_ae_terms(&self, p: &mut impl FnMut(&str, &str, String)) {
        for t in &self.ae_terms {
            if self.ae_terms.iter().filter(|x| x.code == t.code).count() > 1 {
                p(&t.code, "code", "used twice".into());
            }
            if t.grades.is_empty()
                || t.grades.len() > 5
                || t.grades.iter().any(|g| g.trim().is_empty())
            {
                p(
                    &t.code,
                    "grades",
                    "from grade 1, at most 5, each in words".into(),
                );
            }
            if let Some(e) = &t.event {
                if !self.adverse_events.iter().any(|a| &a.code == e) {
                    p(
                        &t.code,
                        "event",
                        format!("names {e:?}, which is not an adverse_event"),
                    );
                }
            }
        }
    }

    /// Check-ins and triage: days in order, questions the form asks,
    /// levels on their scales, one expected reaction per question.
    fn check_triage(&self, p: &mut impl FnMut(&str, &str, String)) {
        let days = &self.checkins.days;
        if days.is_empty() || days[0] == 0 || days.windows(2).any(|w| w[0] >= w[1]) {
            p(
                "checkins",
                "days",
                "check-in days are 1 or later, in order, each once".into(),
            );
        }
        let on_scale = |q: &str, v: u8| crate::triage::question(q).map(|q| v <= q.scale.max());
        for e in &self.triage_expected {
            match on_scale(&e.question, e.up_to) {
                None => p(&e.question, "question", "not a check-in question".into()),
                Some(false) => p(&e.question, "up_to", "beyond the question's scale".into()),
                Some(true) => {}
            }
            if self
                .triage_expected
                .iter()
                .filter(|x| x.question == e.question)
                .count()
                > 1
            {
                p(&e.question, "question", "expected more than once".into());
            }
        }
        for s in &self.triage_signs {
            match on_scale(&s.question, s.at_least) {
                None => p(&s.question, "question", "not a check-in question".into()),
                Some(false) => p(
                    &s.question,
                    "at_least",
                    "beyond the question's scale".into(),
                ),
                Some(true) if s.at_least == 0 => p(
                    &s.question,
                    "at_least",
                    "an answer of none is no sign".into(),
                ),
                Some(true) => {}
            }
        }
    }

    /// Checks what types alone cannot: unique codes, and that every code a
    /// rule or instruction names exists.
    pub fn check(&self) -> Vec<KbProblem> {
        let mut problems = vec![];
        let mut p = |entry: &str, field: &str, message: String| {
            problems.push(KbProblem {
                entry: entry.to_string(),
                field: field.to_string(),
                message,
            })
        };
        let lists: [(&str, Vec<&str>); 9] = [
            ("area", self.areas.iter().map(|a| a.code.as_str()).collect()),
            (
                "indication",
                self.indications.iter().map(|a| a.code.as_str()).collect(),
            ),
            (
                "device",
                self.devices.iter().map(|a| a.code.as_str()).collect(),
            ),
            (
                "condition",
                self.conditions.iter().map(|a| a.code.as_str()).collect(),
            ),
            (
                "medication",
                self.medications.iter().map(|a| a.code.as_str()).collect(),
            ),
            (
                "allergy",
                self.allergies.iter().map(|a| a.code.as_str()).collect(),
            ),
            (
                "event",
                self.events.iter().map(|a| a.code.as_str()).collect(),
            ),
            (
                "contraindication",
                self.rules.iter().map(|a| a.id.as_str()).collect(),
            ),
            (
                "adverse_event",
                self.adverse_events
                    .iter()
                    .map(|a| a.code.as_str())
                    .collect(),
            ),
        ];
        for (kind, codes) in &lists {
            for (i, c) in codes.iter().enumerate() {
                if codes[..i].contains(c) {
                    p(c, "code", format!("duplicate {kind} code"));
                }
                if c.is_empty()
                    || !c
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                {
                    p(c, "code", "use lower-case letters, digits and _".into());
                }
            }
        }
        if !self
            .rules
            .iter()
            .any(|r| r.id == self.charting.antiviral_rule)
        {
            p(
                "charting",
                "antiviral_rule",
                format!("no contraindication {:?}", self.charting.antiviral_rule),
            );
        }
        if self.guardian_under().is_none() {
            p(
                "screening",
                "guardian_rule",
                format!("no age rule {:?}", self.screening.guardian_rule),
            );
        }
        for v in &self.charting.face_views {
            if !crate::charting::VIEWS.iter().any(|(code, _)| code == v) {
                p(
                    "charting",
                    "face_views",
                    format!("unknown photo view {v:?}"),
                );
            }
        }
        for code in crate::charting::CHECKLIST {
            if self.checklist_item(code).is_none() {
                p("checklist_item", code, "missing".into());
            }
        }
        for code in ["single_use_needles", "not_intradermal"] {
            if self.supply_rule(code).is_none() {
                p("supply_rule", code, "missing".into());
            }
        }
        let regions: Vec<&str> = self.areas.iter().map(|a| a.region.as_str()).collect();
        for r in &self.rules {
            if let Some(m) = self.unknown_code(&r.trigger) {
                p(
                    &r.id,
                    "trigger",
                    format!("names {m:?}, which the knowledge base does not define"),
                );
            }
            for reg in &r.regions {
                if !regions.contains(&reg.as_str()) {
                    p(&r.id, "regions", format!("no area is in region {reg:?}"));
                }
            }
            if r.effect == Effect::Precaution && r.precaution.is_none() {
                p(
                    &r.id,
                    "precaution",
                    "a precaution rule must say what to do".into(),
                );
            }
            if !r.wait_choices.is_empty() && !r.wait_choices.iter().any(|c| Some(c.wait) == r.wait)
            {
                p(&r.id, "wait", "the wait must be one of wait_choices".into());
            }
            if r.wait.is_some() && r.effect != Effect::Defer {
                p(
                    &r.id,
                    "wait",
                    "only a defer rule has a waiting period".into(),
                );
            }
        }
        self.check_triage(&mut p);
        self.check_ae_terms(&mut p);
        for (n, t) in self.pretreatments.iter().enumerate() {
            if let Some(m) = t.when.as_ref().and_then(|w| self.unknown_code(w)) {
                p(
                    &format!("pretreatment[{n}]"),
                    "when",
                    format!("names {m:?}, which the knowledge base does not define"),
                );
            }
        }
        for (n, t) in self.aftercare.iter().enumerate() {
            if let Some(m) = t.when.as_ref().and_then(|w| self.unknown_code(w)) {
                p(
                    &format!("aftercare[{n}]"),
                    "when",
                    format!("names {m:?}, which the knowledge base does not define"),
                );
            }
            if t.to_hours < t.from_hours {
                p(
                    &format!("aftercare[{n}]"),
                    "to_hours",
                    "ends before it starts".into(),
                );
            }
        }
        for i in &self.indications {
            if !(i.sessions.min..=i.sessions.max).contains(&i.typical_sessions) {
                p(
                    &i.code,
                    "typical_sessions",
                    "outside the sessions range".into(),
                );
            }
        }
        for level in crate::history::Severity::ALL {
            let n = self
                .planning
                .severity
                .iter()
                .filter(|r| r.level == level)
                .count();
            if n != 1 {
                p(
                    "planning",
                    "severity",
                    format!("needs exactly one rule for {}, has {n}", level.as_str()),
                );
            }
        }
        if self.planning.dark_skin_depth_percent > 100 {
            p(
                "planning",
                "dark_skin_depth_percent",
                "a percentage, 0 to 100".into(),
            );
        }
        for reg in &self.planning.large_area_numbing.regions {
            if !regions.contains(&reg.as_str()) {
                p(
                    "planning",
                    "large_area_numbing",
                    format!("no area is in region {reg:?}"),
                );
            }
        }
        for z in &self.no_go_zones {
            if self.area(&z.code).is_some() {
                p(
                    &z.code,
                    "code",
                    "a no-go zone cannot also be a treatment area".into(),
                );
            }
        }
        for t in &self.appointment_types {
            if t.minutes.is_none() && t.min_treatment_minutes > t.max_treatment_minutes {
                p(&t.code, "min_treatment_minutes", "above the maximum".into());
            }
            // Appointments keep their kind as one of the product's own.
            if let Err(e) = crate::appointment::AppointmentKind::parse(&t.code) {
                p(&t.code, "code", e.message);
            }
        }
        if self.appointment_type("session").is_none() {
            p(
                "appointment_type",
                "code",
                "a `session` appointment type is needed to book courses".into(),
            );
        }
        if self.fitzpatrick.len() != 6 {
            p(
                "fitzpatrick",
                "skin_type",
                "describe all six skin types".into(),
            );
        }
        problems
    }
}

/// A value a clinic may change, as shown in Settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// `screening.max_age_days`, `contraindication.ID.wait`, `area.CODE.depth`.
    pub key: String,
    pub label: String,
    pub value: String,
    /// How to write a new value.
    pub format: &'static str,
    /// The values allowed, with their sources, where the value is a choice
    /// rather than a number to type.
    pub choices: Vec<(String, String)>,
    pub source: String,
    pub evidence: Evidence,
}

impl KnowledgeBase {
    /// Every value a clinic may override, with its current value.
    pub fn settings(&self) -> Vec<Setting> {
        let mut out = vec![Setting {
            key: "screening.max_age_days".into(),
            label: "A screening is stale after (days)".into(),
            value: self.screening.max_age_days.to_string(),
            format: "a number of days, e.g. 30",
            choices: vec![],
            source: self.screening.source.clone(),
            evidence: self.screening.evidence,
        }];
        for r in self.rules.iter().filter(|r| r.wait.is_some()) {
            out.push(Setting {
                key: format!("contraindication.{}.wait", r.id),
                label: format!("Wait after: {}", r.name),
                value: r.wait.map(|w| w.to_string()).unwrap_or_default(),
                format: "a period, e.g. 14 days, 2 weeks or 6 months",
                choices: r
                    .wait_choices
                    .iter()
                    .map(|c| (c.wait.to_string(), c.source.clone()))
                    .collect(),
                source: r.source.clone(),
                evidence: r.evidence,
            });
        }
        for a in &self.areas {
            out.push(Setting {
                key: format!("area.{}.depth", a.code),
                label: format!("Depth range: {} (mm)", a.name),
                value: a.depth.to_string(),
                format: "a range in mm, e.g. 0.25-0.5",
                choices: vec![],
                source: a.source.clone(),
                evidence: a.evidence,
            });
            if let Some(d) = a.scar_depth {
                out.push(Setting {
                    key: format!("area.{}.scar_depth", a.code),
                    label: format!("Depth range for scars: {} (mm)", a.name),
                    value: d.to_string(),
                    format: "a range in mm, e.g. 0.5-2.0",
                    choices: vec![],
                    source: a.source.clone(),
                    evidence: a.evidence,
                });
            }
        }
        out.push(Setting {
            key: "planning.interval_tolerance.days".into(),
            label: "Days a visit may fall either side of a trial's interval".into(),
            value: self.planning.interval_tolerance.days.to_string(),
            format: "a number of days, e.g. 3",
            choices: vec![],
            source: self.planning.interval_tolerance.source.clone(),
            evidence: self.planning.interval_tolerance.evidence,
        });
        out.push(Setting {
            key: "charting.min_numbing_minutes".into(),
            label: "Minimum numbing time before needling (minutes)".into(),
            value: self.charting.min_numbing_minutes.to_string(),
            format: "a number of minutes, e.g. 30",
            choices: vec![],
            source: self.charting.source.clone(),
            evidence: self.charting.evidence,
        });
        out.push(Setting {
            key: "scheduling.buffer_minutes".into(),
            label: "Minutes kept free between appointments".into(),
            value: self.scheduling.buffer_minutes.to_string(),
            format: "a number of minutes, e.g. 10",
            choices: vec![],
            source: self.scheduling.source.clone(),
            evidence: self.scheduling.evidence,
        });
        for t in &self.appointment_types {
            let parts: &[(&str, &str, u32)] = match t.minutes {
                Some(m) => &[("minutes", "length (minutes)", m)],
                None => &[
                    ("numbing_minutes", "numbing (minutes)", t.numbing_minutes),
                    ("cleanup_minutes", "clean-up (minutes)", t.cleanup_minutes),
                ],
            };
            for (field, what, value) in parts {
                out.push(Setting {
                    key: format!("appointment_type.{}.{field}", t.code),
                    label: format!("{}: {what}", t.name),
                    value: value.to_string(),
                    format: "a number of minutes, e.g. 30",
                    choices: vec![],
                    source: t.source.clone(),
                    evidence: t.evidence,
                });
            }
        }
        out.extend(self.after_session_settings());
        out
    }

    /// The values of check-ins and home-care advice a clinic may change
    /// (part of [`KnowledgeBase::settings`]).
    fn after_session_settings(&self) -> Vec<Setting> {
        let mut out = vec![];
        out.push(Setting {
            key: "checkins.days".into(),
            label: "Days after a session the patient is asked how her skin is".into(),
            value: self
                .checkins
                .days
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            format: "days after the session, in order, e.g. 1, 3, 7, 14",
            choices: vec![],
            source: self.checkins.source.clone(),
            evidence: self.checkins.evidence,
        });
        let home = &self.home_care;
        for (key, label, value, format) in [
            (
                "home_care.max_needle",
                "Longest home-roller needle advised (mm)",
                home.max_needle.to_string().replace(" mm", ""),
                "a length in mm, e.g. 0.3",
            ),
            (
                "home_care.min_days_between",
                "Days between home rollings of an area, at least",
                home.min_days_between.to_string(),
                "a number of days, e.g. 2",
            ),
            (
                "home_care.days_clear_of_session",
                "No home rolling this many days before or after a session",
                home.days_clear_of_session.to_string(),
                "a number of days, e.g. 7",
            ),
        ] {
            out.push(Setting {
                key: key.into(),
                label: label.into(),
                value,
                format,
                choices: vec![],
                source: home.source.clone(),
                evidence: home.evidence,
            });
        }
        out
    }

    /// Replaces one value (see [`KnowledgeBase::settings`]); the message
    /// says what is wrong with a value that does not fit.
    pub fn apply_override(&mut self, key: &str, value: &str) -> Result<(), String> {
        let parts: Vec<&str> = key.split('.').collect();
        match parts.as_slice() {
            ["screening", "max_age_days"] => {
                let days: u32 = value
                    .trim()
                    .parse()
                    .map_err(|_| "Enter a whole number of days.".to_string())?;
                if !(1..=365).contains(&days) {
                    return Err("Use 1 to 365 days.".into());
                }
                self.screening.max_age_days = days;
            }
            ["contraindication", id, "wait"] => {
                let rule = self
                    .rules
                    .iter_mut()
                    .find(|r| r.id == *id && r.wait.is_some());
                let rule = rule.ok_or_else(|| format!("No waiting period called {key:?}."))?;
                let wait = Period::parse(value.trim())?;
                if !rule.wait_choices.is_empty()
                    && !rule.wait_choices.iter().any(|c| c.wait == wait)
                {
                    let allowed: Vec<String> = rule
                        .wait_choices
                        .iter()
                        .map(|c| c.wait.to_string())
                        .collect();
                    return Err(format!(
                        "Choose one of {}: the waits with a source.",
                        allowed.join(", ")
                    ));
                }
                rule.wait = Some(wait);
            }
            ["area", code, "depth"] => {
                let area = self.areas.iter_mut().find(|a| a.code == *code);
                let area = area.ok_or_else(|| format!("No area called {code:?}."))?;
                area.depth = DepthRange::parse(value.trim())?;
            }
            ["area", code, "scar_depth"] => {
                let area = self.areas.iter_mut().find(|a| a.code == *code);
                let area = area
                    .filter(|a| a.scar_depth.is_some())
                    .ok_or_else(|| format!("No scar range called {key:?}."))?;
                area.scar_depth = Some(DepthRange::parse(value.trim())?);
            }
            ["planning", "interval_tolerance", "days"] => {
                let days: u32 = value
                    .trim()
                    .parse()
                    .map_err(|_| "Enter a whole number of days.".to_string())?;
                if days > 14 {
                    return Err("Use 0 to 14 days.".into());
                }
                self.planning.interval_tolerance.days = days;
            }
            ["charting", "min_numbing_minutes"] => {
                self.charting.min_numbing_minutes = minutes(value, 0..=120)?;
            }
            ["scheduling", "buffer_minutes"] => {
                self.scheduling.buffer_minutes = minutes(value, 0..=120)?;
            }
            ["checkins", "days"] => {
                let days: Vec<u32> = value
                    .split(',')
                    .map(|d| d.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        "Write whole days after the session, e.g. 1, 3, 7, 14.".to_string()
                    })?;
                if days.is_empty()
                    || days[0] == 0
                    || days.windows(2).any(|w| w[0] >= w[1])
                    || days.last().is_some_and(|d| *d > 60)
                {
                    return Err("Use days 1 to 60, in order, each once.".into());
                }
                self.checkins.days = days;
            }
            ["home_care", "max_needle"] => {
                let d = crate::depth::Depth::parse_mm("value", value).map_err(|e| e.message)?;
                if d.micrometres() == 0 {
                    return Err("A needle is longer than 0 mm.".into());
                }
                self.home_care.max_needle = d;
            }
            ["home_care", "min_days_between"] => {
                self.home_care.min_days_between = days(value, 0..=30)?;
            }
            ["home_care", "days_clear_of_session"] => {
                self.home_care.days_clear_of_session = days(value, 0..=60)?;
            }
            ["appointment_type", code, field] => {
                let t = self.appointment_types.iter_mut().find(|t| t.code == *code);
                let t = t.ok_or_else(|| format!("No appointment type called {code:?}."))?;
                match (*field, t.minutes.is_some()) {
                    ("minutes", true) => t.minutes = Some(minutes(value, 5..=480)?),
                    ("numbing_minutes", false) => t.numbing_minutes = minutes(value, 0..=120)?,
                    ("cleanup_minutes", false) => t.cleanup_minutes = minutes(value, 0..=120)?,
                    _ => return Err(format!("{key:?} cannot be changed.")),
                }
            }
            _ => return Err(format!("{key:?} cannot be changed.")),
        }
        Ok(())
    }
}

/// A whole number of days within `range`, as a clinic types it.
fn days(value: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, String> {
    let d: u32 = value
        .trim()
        .parse()
        .map_err(|_| "Enter a whole number of days.".to_string())?;
    if !range.contains(&d) {
        return Err(format!("Use {} to {} days.", range.start(), range.end()));
    }
    Ok(d)
}

/// A whole number of minutes within `range`, as a clinic types it.
fn minutes(value: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, String> {
    let m: u32 = value
        .trim()
        .parse()
        .map_err(|_| "Enter a whole number of minutes.".to_string())?;
    if !range.contains(&m) {
        return Err(format!("Use {} to {} minutes.", range.start(), range.end()));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn periods_add_calendar_exactly() {
        let six_months = Period::parse("6 months").unwrap();
        assert_eq!(six_months.after(date(2026, 8, 31)), Some(date(2027, 2, 28)));
        assert_eq!(
            six_months.after(date(2027, 8, 31)),
            Some(date(2028, 2, 29)),
            "leap year"
        );
        assert_eq!(
            Period::parse("2 weeks").unwrap().after(date(2026, 12, 25)),
            Some(date(2027, 1, 8))
        );
        assert_eq!(
            Period::parse("1 day").unwrap().after(date(2028, 2, 28)),
            Some(date(2028, 2, 29))
        );
        for bad in [
            "",
            "6",
            "six months",
            "6 fortnights",
            "6 months ago",
            "-1 days",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Period::parse("1 week").unwrap().to_string(), "1 week");
    }

    #[test]
    fn ranges_parse_and_refuse() {
        let r = DepthRange::parse("0.25-0.5").unwrap();
        assert_eq!((r.min.micrometres(), r.max.micrometres()), (250, 500));
        assert_eq!(r.to_string(), "0.25-0.5");
        assert_eq!(r.words(), "0.25–0.5 mm", "as a person reads it");
        assert_eq!(Evidence::B.beside("Common practice"), None, "said once");
        assert_eq!(Evidence::A.beside("FDA label"), Some("published evidence"));
        assert_eq!(DepthRange::parse("0.5-0.5").unwrap().words(), "0.5 mm");
        assert_eq!(DepthRange::parse("1.0-2").unwrap().words(), "1–2 mm");
        assert!(DepthRange::parse("1.0-0.5").is_err());
        assert!(DepthRange::parse("abc").is_err());
        let i = Interval::try_from("4-6 weeks".to_string()).unwrap();
        assert_eq!(
            (i.min.amount, i.max.amount, i.max.unit),
            (4, 6, PeriodUnit::Weeks)
        );
        assert_eq!(String::from(i), "4-6 weeks");
    }
}
