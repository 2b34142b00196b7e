//! Charting a session: the checklist that gates the start, the guardrails on
//! each zone's depth, which lots may be used, and who may sign. Pure: every
//! fact (the screening in force, the photos taken, the time now) comes in as
//! an argument.

use crate::history::PatientHistory;
use crate::knowledge::{DeviceModel, KnowledgeBase};
use crate::planning::mm;
use crate::screening::{Deferral, Status};
use crate::validation::{FieldError, Invalid};
use crate::{Depth, Role};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The checklist items, in the order they are shown.
pub const CHECKLIST: [&str; 5] = ["screening", "consent", "photos", "anaesthetic", "antiviral"];

/// Standard photo views; an area close-up is `closeup_<area code>`.
pub const VIEWS: [(&str, &str); 5] = [
    ("front", "Front"),
    ("left_45", "Left 45°"),
    ("right_45", "Right 45°"),
    ("left_90", "Left 90° (profile)"),
    ("right_90", "Right 90° (profile)"),
];

const CLOSEUP: &str = "closeup_";

/// The label of a view, or `None` for an unknown one.
pub fn view_label(kb: &KnowledgeBase, view: &str) -> Option<String> {
    if let Some((_, l)) = VIEWS.iter().find(|(c, _)| *c == view) {
        return Some(l.to_string());
    }
    let area = kb.area(view.strip_prefix(CLOSEUP)?)?;
    Some(format!("Close-up: {}", area.name))
}

/// Every view a photo can be filed under, with its label.
pub fn all_views(kb: &KnowledgeBase) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = VIEWS
        .iter()
        .map(|(c, l)| (c.to_string(), l.to_string()))
        .collect();
    for a in &kb.areas {
        out.push((
            format!("{CLOSEUP}{}", a.code),
            format!("Close-up: {}", a.name),
        ));
    }
    out
}

/// The photos a session treating `areas` needs before needling: the
/// standard face views when a face area is treated, and a close-up of each
/// other area.
pub fn required_views(kb: &KnowledgeBase, areas: &[String]) -> Vec<String> {
    let mut out = vec![];
    let face = areas
        .iter()
        .any(|a| kb.area(a).is_some_and(|a| a.region == "face"));
    if face {
        out.extend(kb.charting.face_views.iter().cloned());
    }
    for a in areas {
        if kb.area(a).is_some_and(|a| a.region != "face") {
            out.push(format!("{CLOSEUP}{a}"));
        }
    }
    out
}

// ---- a chart's life -----------------------------------------------------------

/// Where a session's chart is: the checklist, needling, signed (read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChartStatus {
    Checklist,
    InProgress,
    Signed,
}

impl ChartStatus {
    pub const ALL: [ChartStatus; 3] = [
        ChartStatus::Checklist,
        ChartStatus::InProgress,
        ChartStatus::Signed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChartStatus::Checklist => "checklist",
            ChartStatus::InProgress => "in_progress",
            ChartStatus::Signed => "signed",
        }
    }

    pub fn parse(s: &str) -> Option<ChartStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

// ---- opening a chart ---------------------------------------------------------

/// The longest reason for opening a chart on another day.
pub const OFF_DAY_REASON_MAX_CHARS: usize = 500;

/// Whether a session's chart may be opened `today` (the clinic's date) for
/// an appointment on `day` (its local date). On the day, yes. On any other
/// day, only with a written reason: the checklist is judged as of the day it
/// is filled in, so a chart opened days ahead would pass checks (numbing,
/// a current screening) that no longer hold when the patient is needled.
/// Returns the trimmed reason to keep, or the refusal on the `reason` field.
pub fn may_open_chart(
    day: Date,
    today: Date,
    reason: Option<&str>,
) -> Result<Option<String>, Invalid> {
    if day == today {
        return Ok(None);
    }
    let reason = reason.map(str::trim).unwrap_or("");
    if reason.chars().count() > OFF_DAY_REASON_MAX_CHARS {
        return Err(Invalid::one(
            "reason",
            format!("Keep the reason under {OFF_DAY_REASON_MAX_CHARS} characters."),
        ));
    }
    if reason.is_empty() {
        let when = if day > today { "ahead of" } else { "after" };
        return Err(Invalid::one(
            "reason",
            format!(
                "This session is on {day}; its chart opens on that day. To open it {when} \
                 the day, a clinician writes why."
            ),
        ));
    }
    Ok(Some(reason.to_string()))
}

// ---- checklist ---------------------------------------------------------------

/// The screening as the checklist sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreeningFact {
    None,
    /// Too old, or the history changed since: the reason.
    Stale(String),
    /// Current, with the outcome in force.
    Current {
        status: Status,
        deferral: Option<Deferral>,
    },
}

/// Topical anaesthetic, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Anaesthetic {
    NotRecorded,
    AppliedAt {
        at: Timestamp,
    },
    /// None used (an allergy, or the patient declined), with the reason.
    NotUsed {
        reason: String,
    },
}

/// What the checklist is evaluated from.
#[derive(Debug, Clone)]
pub struct ChecklistFacts {
    pub screening: ScreeningFact,
    /// The areas the screening in force covered: every area planned for
    /// today must be among them.
    pub screened_areas: Vec<String>,
    /// The areas the signed consent covers; `None` when none is signed for
    /// the plan as it stands.
    pub consented_areas: Option<Vec<String>>,
    /// The areas to treat today.
    pub areas: Vec<String>,
    /// `false` when the patient's consent allows no photos at all.
    pub photos_allowed: bool,
    /// The views photographed for this session.
    pub photos: Vec<String>,
    pub first_session: bool,
    pub anaesthetic: Anaesthetic,
    /// The screening names the antiviral precaution.
    pub antiviral_needed: bool,
    pub antiviral_taken: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum CheckState {
    Done(String),
    Missing(String),
    NotNeeded(String),
}

impl CheckState {
    pub fn passes(&self) -> bool {
        !matches!(self, CheckState::Missing(_))
    }
    pub fn detail(&self) -> &str {
        match self {
            CheckState::Done(d) | CheckState::Missing(d) | CheckState::NotNeeded(d) => d,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckState::Done(_) => "done",
            CheckState::Missing(_) => "missing",
            CheckState::NotNeeded(_) => "not_needed",
        }
    }
}

/// One evaluated item, with why it is on the list.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub code: String,
    pub name: String,
    pub why: String,
    pub source: String,
    pub state: CheckState,
}

/// Evaluates the pre-procedure checklist at `now` (the clinic's `today`).
pub fn checklist(
    kb: &KnowledgeBase,
    f: &ChecklistFacts,
    now: Timestamp,
    today: Date,
) -> Vec<Check> {
    CHECKLIST
        .iter()
        .map(|code| {
            let state = match *code {
                "screening" => screening_state(kb, f, today),
                "consent" => consent_state(f),
                "photos" => photos_state(kb, f),
                "anaesthetic" => anaesthetic_state(kb, &f.anaesthetic, now),
                _ => antiviral_state(f),
            };
            let item = kb.checklist_item(code);
            Check {
                code: code.to_string(),
                name: item.map_or(code.to_string(), |i| i.name.clone()),
                why: item.map_or(String::new(), |i| i.why.clone()),
                source: item.map_or(String::new(), |i| i.source.clone()),
                state,
            }
        })
        .collect()
}

/// Needling may start only when every item passes.
pub fn ready(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.state.passes())
}

fn screening_state(kb: &KnowledgeBase, f: &ChecklistFacts, today: Date) -> CheckState {
    let unscreened: Vec<&str> = f
        .areas
        .iter()
        .filter(|a| !f.screened_areas.contains(a))
        .map(|a| kb.area(a).map_or(a.as_str(), |x| x.name.as_str()))
        .collect();
    if matches!(f.screening, ScreeningFact::Current { .. }) && !unscreened.is_empty() {
        return CheckState::Missing(format!(
            "The screening did not cover {}: screen every area planned for this session.",
            unscreened.join(", ")
        ));
    }
    match &f.screening {
        ScreeningFact::None => CheckState::Missing("The patient has not been screened.".into()),
        ScreeningFact::Stale(why) => CheckState::Missing(format!("Screen again: {why}")),
        ScreeningFact::Current { status, deferral } => match (status, deferral) {
            (_, Some(Deferral::UntilResolved)) => CheckState::Missing(
                "Deferred until a condition has resolved; screen again once it has.".into(),
            ),
            (_, Some(Deferral::Until(d))) if *d > today => {
                CheckState::Missing(format!("Deferred until {}.", crate::dates::long_date(*d)))
            }
            (Status::NotEligible, _) => CheckState::Missing("Not eligible for treatment.".into()),
            (Status::NeedsPhysicianApproval, _) => CheckState::Missing(
                "Needs a physician's approval, recorded as an override of the screening.".into(),
            ),
            (status, _) => CheckState::Done(format!("{} and current.", status.label())),
        },
    }
}

fn consent_state(f: &ChecklistFacts) -> CheckState {
    let Some(covered) = &f.consented_areas else {
        return CheckState::Missing("No consent is signed for the plan as it stands.".into());
    };
    let missing: Vec<&str> = f
        .areas
        .iter()
        .filter(|a| !covered.contains(a))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        CheckState::Done("Signed, covering every area planned for today.".into())
    } else {
        CheckState::Missing(format!(
            "The consent does not cover: {}.",
            missing.join(", ")
        ))
    }
}

fn photos_state(kb: &KnowledgeBase, f: &ChecklistFacts) -> CheckState {
    if !f.photos_allowed {
        return CheckState::NotNeeded("The patient's consent allows no photos.".into());
    }
    let kind = if f.first_session {
        "Baseline"
    } else {
        "Progress"
    };
    let missing: Vec<String> = required_views(kb, &f.areas)
        .into_iter()
        .filter(|v| !f.photos.contains(v))
        .map(|v| view_label(kb, &v).unwrap_or(v))
        .collect();
    if missing.is_empty() {
        CheckState::Done(format!("{kind} photos taken."))
    } else {
        CheckState::Missing(format!(
            "{kind} photos still to take: {}.",
            missing.join(", ")
        ))
    }
}

fn anaesthetic_state(kb: &KnowledgeBase, a: &Anaesthetic, now: Timestamp) -> CheckState {
    let min = i64::from(kb.charting.min_numbing_minutes);
    match a {
        Anaesthetic::NotRecorded => {
            CheckState::Missing("Record when the numbing cream went on.".into())
        }
        Anaesthetic::NotUsed { reason } => {
            CheckState::NotNeeded(format!("No anaesthetic: {reason}"))
        }
        Anaesthetic::AppliedAt { at } => {
            let on = (now.as_second() - at.as_second()).div_euclid(60);
            if *at > now {
                CheckState::Missing("The time the cream went on is in the future.".into())
            } else if on < min {
                CheckState::Missing(format!(
                    "On for {on} min; wait {} more (at least {min} min).",
                    min - on
                ))
            } else {
                CheckState::Done(format!("On for {on} min (at least {min})."))
            }
        }
    }
}

fn antiviral_state(f: &ChecklistFacts) -> CheckState {
    match (f.antiviral_needed, f.antiviral_taken) {
        (false, _) => CheckState::NotNeeded("The screening names no cold-sore history.".into()),
        (true, true) => CheckState::Done("The patient confirms taking it.".into()),
        (true, false) => CheckState::Missing(
            "A history of cold sores: confirm the antiviral was started before today.".into(),
        ),
    }
}

// ---- zones -------------------------------------------------------------------

/// How far the clinician took the skin in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Erythema,
    PinpointBleeding,
    NotReached,
}

impl Endpoint {
    pub const ALL: [Endpoint; 3] = [
        Endpoint::Erythema,
        Endpoint::PinpointBleeding,
        Endpoint::NotReached,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Erythema => "erythema",
            Endpoint::PinpointBleeding => "pinpoint_bleeding",
            Endpoint::NotReached => "not_reached",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Erythema => "Uniform erythema",
            Endpoint::PinpointBleeding => "Pinpoint bleeding",
            Endpoint::NotReached => "Endpoint not reached",
        }
    }
    pub fn parse(s: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.as_str() == s.trim())
    }
}

/// What was done in one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneRecord {
    /// The area's code in the knowledge base.
    pub zone: String,
    pub depth: Depth,
    pub passes: u32,
    /// The device model's code in the knowledge base.
    pub device: String,
    /// The speed setting, as the device labels it ("single speed", "120 Hz").
    pub speed: String,
    pub endpoint: Endpoint,
    pub notes: String,
    /// Why the depth is above the area's range; the zone is flagged.
    pub override_reason: Option<String>,
    /// The warning that was overridden, as shown then.
    pub flag: Option<String>,
}

/// A zone as typed into the form or the API.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ZoneInput {
    pub zone: String,
    pub depth: String,
    pub passes: String,
    pub device: String,
    #[serde(default)]
    pub speed: String,
    pub endpoint: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub override_reason: String,
}

/// What the guardrails say about a depth in a zone with a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneCheck {
    Ok,
    /// Above the area's usual range: allowed with a reason, and flagged.
    AboveRange(String),
    /// Never allowed.
    Refused(String),
}

/// The guardrails: refused inside a no-go zone or beyond the device's
/// limits; a warning above the area's range.
pub fn check_zone(kb: &KnowledgeBase, zone: &str, depth: Depth, device: &DeviceModel) -> ZoneCheck {
    if let Some(z) = kb.no_go_zones.iter().find(|z| z.code == zone) {
        return ZoneCheck::Refused(format!("{} is never needled ({}).", z.name, z.source));
    }
    let Some(area) = kb.area(zone) else {
        return ZoneCheck::Refused(format!("Unknown zone {zone:?}."));
    };
    if depth > device.depth.max || depth < device.depth.min {
        return ZoneCheck::Refused(format!(
            "{} mm is beyond what {} allows ({}–{} mm; {}).",
            mm(depth),
            device.name,
            mm(device.depth.min),
            mm(device.depth.max),
            device.source
        ));
    }
    // Both are shown when both apply.
    let mut above = vec![];
    if depth > area.depth.max {
        above.push(format!(
            "{} mm is above the usual {}–{} mm for {} ({}).",
            mm(depth),
            mm(area.depth.min),
            mm(area.depth.max),
            area.name,
            area.source
        ));
    }
    if let Some(e) = device.evaluated.filter(|e| depth > e.max) {
        above.push(format!(
            "{} mm is deeper than {}'s safety was evaluated to ({} mm; {}).",
            mm(depth),
            device.name,
            mm(e.max),
            device.source
        ));
    }
    if !above.is_empty() {
        return ZoneCheck::AboveRange(above.join(" "));
    }
    ZoneCheck::Ok
}

/// A zone the patient's history bars on the day, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Barred {
    pub zone: String,
    pub why: String,
}

/// The zones the history bars on `today`: every area screened afresh, and
/// those not eligible or deferred there (a tattoo, a mole being checked,
/// skin cancer, a recent peel…), each with the rules that bar it and when
/// the bar lifts. The zone map greys them out; charting refuses them.
pub fn barred_zones(kb: &KnowledgeBase, h: &PatientHistory, today: Date) -> Vec<Barred> {
    let all: Vec<String> = kb.areas.iter().map(|a| a.code.clone()).collect();
    let Ok(s) = crate::screening::screen(kb, h, &all, today) else {
        return vec![];
    };
    s.areas
        .iter()
        .filter(|a| matches!(a.status, Status::NotEligible | Status::Deferred))
        .map(|a| {
            let why: Vec<String> = a
                .reasons
                .iter()
                .filter(|r| matches!(r.status, Status::NotEligible | Status::Deferred))
                .map(|r| match r.deferral {
                    Some(Deferral::Until(d)) => {
                        format!("{} (until {})", r.rule, crate::dates::long_date(d))
                    }
                    Some(Deferral::UntilResolved) => format!("{} (until it resolves)", r.rule),
                    None => r.rule.clone(),
                })
                .collect();
            Barred {
                zone: a.area.clone(),
                why: why.join("; "),
            }
        })
        .collect()
}

/// Refuses a zone the history bars, naming why.
pub fn check_not_barred(kb: &KnowledgeBase, zone: &str, barred: &[Barred]) -> Result<(), Invalid> {
    match barred.iter().find(|b| b.zone == zone.trim()) {
        Some(b) => {
            let name = kb
                .area(&b.zone)
                .map_or(b.zone.as_str(), |a| a.name.as_str());
            Err(Invalid::one(
                "zone",
                format!("{name} must not be needled today: {}.", b.why),
            ))
        }
        None => Ok(()),
    }
}

/// Parses and checks a zone. `consented` lists the areas the signed consent
/// covers: a zone outside it is refused. `planned` lists the areas planned
/// for this session (the plan's tracks due today): another area of the
/// plan needs a reason and is flagged, since its track's healing window
/// may not have passed.
pub fn parse_zone(
    kb: &KnowledgeBase,
    input: &ZoneInput,
    consented: &[String],
    planned: &[String],
) -> Result<ZoneRecord, Invalid> {
    let mut inv = Invalid::default();
    let zone = input.zone.trim().to_string();
    let is_no_go = kb.no_go_zones.iter().any(|z| z.code == zone);
    if zone.is_empty() {
        inv.push("zone", "Choose a zone on the map.");
    } else if !is_no_go && kb.area(&zone).is_none() {
        inv.push("zone", format!("Unknown zone {zone:?}."));
    } else if !is_no_go && !consented.contains(&zone) {
        let name = kb.area(&zone).map_or(zone.as_str(), |a| a.name.as_str());
        inv.push(
            "zone",
            format!("The signed consent does not cover {name}: add it to the plan and have the consent signed again."),
        );
    }
    let depth = inv.check(Depth::parse_mm("depth", &input.depth));
    let passes = match input.passes.trim().parse::<u32>() {
        Ok(n) if n >= 1 && n <= kb.charting.max_passes => Some(n),
        Ok(_) => {
            inv.push(
                "passes",
                format!("Passes are 1 to {}.", kb.charting.max_passes),
            );
            None
        }
        Err(_) => {
            inv.push("passes", "Enter the number of passes, like 3.");
            None
        }
    };
    let device = kb.devices.iter().find(|d| d.code == input.device.trim());
    if device.is_none() {
        inv.push("device", "Choose the device used.");
    }
    let endpoint = Endpoint::parse(&input.endpoint);
    if endpoint.is_none() {
        inv.push("endpoint", "Choose the endpoint reached.");
    }
    let speed = input.speed.trim().to_string();
    if speed.chars().count() > 40 {
        inv.push("speed", "Keep the speed under 40 characters.");
    }
    let notes = input.notes.trim().to_string();
    if notes.chars().count() > 2000 {
        inv.push("notes", "Keep notes under 2000 characters.");
    }
    let reason = Some(input.override_reason.trim().to_string()).filter(|r| !r.is_empty());
    let mut flags: Vec<String> = vec![];
    if !is_no_go && consented.contains(&zone) && !planned.contains(&zone) {
        let name = kb.area(&zone).map_or(zone.as_str(), |a| a.name.as_str());
        let m = format!(
            "{name} is not planned for this session: its track is not due today, so the skin may not have healed."
        );
        match &reason {
            Some(_) => flags.push(m),
            None => inv.push(
                "zone",
                format!("{m} Give a reason to needle it today; the zone will be flagged and the session needs a medical director's second sign-off."),
            ),
        }
    }
    if let (Some(depth), Some(device)) = (depth, device) {
        match check_zone(kb, &zone, depth, device) {
            ZoneCheck::Ok => {}
            ZoneCheck::Refused(m) => inv.push(if is_no_go { "zone" } else { "depth" }, m),
            ZoneCheck::AboveRange(m) => match &reason {
                Some(_) => flags.push(m),
                None => inv.push(
                    "depth",
                    format!("{m} Give a reason to go deeper; the zone will be flagged and the session needs a medical director's second sign-off."),
                ),
            },
        }
    }
    let flag = (!flags.is_empty()).then(|| flags.join(" "));
    inv.into_result()?;
    Ok(ZoneRecord {
        zone,
        depth: depth.unwrap(),
        passes: passes.unwrap(),
        device: device.unwrap().code.clone(),
        speed,
        endpoint: endpoint.unwrap(),
        notes,
        override_reason: flag.as_ref().and(reason),
        flag,
    })
}

// ---- needles and products ------------------------------------------------------

/// What a stock item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyKind {
    Cartridge,
    Roller,
    Product,
}

impl SupplyKind {
    pub const ALL: [SupplyKind; 3] = [
        SupplyKind::Cartridge,
        SupplyKind::Roller,
        SupplyKind::Product,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SupplyKind::Cartridge => "cartridge",
            SupplyKind::Roller => "roller",
            SupplyKind::Product => "product",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SupplyKind::Cartridge => "Needle cartridge",
            SupplyKind::Roller => "Roller",
            SupplyKind::Product => "Product",
        }
    }
    pub fn parse(s: &str) -> Result<SupplyKind, FieldError> {
        SupplyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("kind", "Choose cartridge, roller or product."))
    }
    /// Needles: single use, and a session needs at least one.
    pub fn is_needle(self) -> bool {
        self != SupplyKind::Product
    }
}

/// A lot as the rules see it.
#[derive(Debug, Clone)]
pub struct LotFacts<'a> {
    pub item: &'a str,
    pub lot_number: &'a str,
    pub expires_on: Date,
    pub recalled: Option<&'a str>,
    pub quantity: i64,
}

/// Why a lot cannot be used on `today`, if it cannot.
pub fn lot_refusal(lot: &LotFacts<'_>, today: Date) -> Option<String> {
    let name = format!("{} lot {}", lot.item, lot.lot_number);
    if let Some(reason) = lot.recalled {
        return Some(format!(
            "{name} has been recalled ({reason}): it must not be used."
        ));
    }
    if lot.expires_on < today {
        return Some(format!(
            "{name} expired on {}: it must not be used.",
            lot.expires_on
        ));
    }
    if lot.quantity <= 0 {
        return Some(format!("{name} has none left in stock."));
    }
    None
}

/// The warning for a product applied after needling that is not made for
/// intradermal contact, with its source.
pub fn product_warning(kb: &KnowledgeBase, kind: SupplyKind, intradermal: bool) -> Option<String> {
    if kind != SupplyKind::Product || intradermal {
        return None;
    }
    kb.supply_rule("not_intradermal")
        .map(|r| format!("{} ({})", r.text, r.source))
}

// ---- sign-off ----------------------------------------------------------------

/// Who is signing, as the rules need them.
#[derive(Debug, Clone, Copy)]
pub struct Signer {
    pub id: i64,
    pub role: Role,
    /// Has practitioner details: treats patients.
    pub practitioner: bool,
    pub medical_director: bool,
}

impl Signer {
    fn is_clinician(&self) -> bool {
        self.practitioner && matches!(self.role, Role::Clinician | Role::Owner)
    }
}

/// Why this session cannot be signed by `who`, if it cannot.
pub fn sign_refusals(
    kb: &KnowledgeBase,
    who: Signer,
    zones: &[ZoneRecord],
    needle_lots: usize,
) -> Vec<String> {
    let mut out = vec![];
    if !who.is_clinician() {
        out.push("Only a clinician who treats patients can sign a session.".into());
    }
    if zones.is_empty() {
        out.push("Chart at least one zone before signing.".into());
    }
    if needle_lots == 0 {
        let rule = kb
            .supply_rule("single_use_needles")
            .map_or(String::new(), |r| format!(" {} ({})", r.text, r.source));
        out.push(format!("Record the cartridge or roller lot used.{rule}"));
    }
    out
}

/// A session with a flagged zone needs a second sign-off.
pub fn needs_second_signoff(zones: &[ZoneRecord]) -> bool {
    zones.iter().any(|z| z.flag.is_some())
}

/// Why `who` cannot give the second sign-off of a session signed by
/// `signed_by`, if they cannot.
pub fn second_signoff_refusal(who: Signer, signed_by: i64) -> Option<String> {
    if !who.is_clinician() || !who.medical_director {
        Some("The second sign-off is by a clinician who is a medical director.".into())
    } else if who.id == signed_by {
        Some("The second sign-off must be by someone other than the clinician who signed.".into())
    } else {
        None
    }
}

/// A correction to a signed session: the original stays as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentInput {
    /// A zone's code, or empty for the session as a whole.
    pub zone: String,
    pub text: String,
    pub reason: String,
    /// A corrected depth for the zone, in mm as typed; empty when the
    /// amendment corrects no depth.
    pub depth: String,
}

impl AmendmentInput {
    /// Checks the amendment. A corrected depth passes the same guardrails
    /// as the zone did when charted (no-go zones, the device's limits), and
    /// may not take a zone above its area's range unless the zone was
    /// already flagged with a reason (and so went to a second sign-off).
    pub fn check(&self, kb: &KnowledgeBase, zones: &[ZoneRecord]) -> Result<(), Invalid> {
        let mut inv = Invalid::default();
        let z = self.zone.trim();
        let record = zones.iter().find(|r| r.zone == z);
        if !z.is_empty() && record.is_none() {
            inv.push("zone", "That zone was not charted in this session.");
        }
        for (field, v, what) in [
            ("text", &self.text, "the correction"),
            ("reason", &self.reason, "why it is corrected"),
        ] {
            let t = v.trim();
            if t.is_empty() {
                inv.push(field, format!("Write {what}."));
            } else if t.chars().count() > 4000 {
                inv.push(field, "Keep it under 4000 characters.");
            }
        }
        if !self.depth.trim().is_empty() {
            match (
                z.is_empty(),
                record,
                inv.check(Depth::parse_mm("depth", &self.depth)),
            ) {
                (true, _, _) => inv.push("depth", "Choose the zone whose depth is corrected."),
                (false, Some(r), Some(depth)) => {
                    let device = kb.devices.iter().find(|d| d.code == r.device);
                    let check = device.map_or(ZoneCheck::Ok, |d| check_zone(kb, &r.zone, depth, d));
                    match check {
                        ZoneCheck::Ok => {}
                        ZoneCheck::Refused(m) => inv.push("depth", m),
                        ZoneCheck::AboveRange(_) if r.override_reason.is_some() => {}
                        ZoneCheck::AboveRange(m) => inv.push(
                            "depth",
                            format!("{m} The zone was not flagged when signed, so a correction cannot take it above the range; ask the medical director to review the session."),
                        ),
                    }
                }
                _ => {}
            }
        }
        inv.into_result()
    }

    /// The amendment's words as kept on the record: a corrected depth is
    /// said first, in the form every chart uses.
    pub fn recorded_text(&self) -> String {
        match Depth::parse_mm("depth", &self.depth) {
            Ok(d) if !self.depth.trim().is_empty() => {
                format!("Depth corrected to {} mm. {}", mm(d), self.text.trim())
            }
            _ => self.text.trim().to_string(),
        }
    }
}
