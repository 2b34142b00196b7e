//! A treatment plan as agreed: every value may differ from the proposal, but
//! a value outside the guideline carries a reason and is flagged, and what
//! is never allowed (beyond the device, a no-go zone) is refused. Also the
//! consent document generated from a plan.

use crate::history::PatientHistory;
use crate::knowledge::{DepthRange, Interval, KnowledgeBase};
use crate::planning::{approx_days, check_depth, DepthCheck, Proposal};
use crate::pricing::Quote;
use crate::validation::Invalid;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanArea {
    pub area: String,
    pub indications: Vec<String>,
    pub guideline: DepthRange,
    pub depth: DepthRange,
    /// Required when `depth` is outside `guideline`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One track of the plan as agreed: the areas of the proposal's track of
/// the same position, with their sessions and interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTrack {
    pub areas: Vec<String>,
    pub sessions: u32,
    /// Why, when outside the proposal's range.
    #[serde(default)]
    pub sessions_reason: Option<String>,
    pub interval: Interval,
    #[serde(default)]
    pub interval_reason: Option<String>,
}

impl PlanTrack {
    /// The interval in days, (min, max), to compare with.
    pub fn interval_days(&self) -> (i64, i64) {
        (
            i64::from(approx_days(self.interval.min)),
            i64::from(approx_days(self.interval.max)),
        )
    }

    /// The days a session may be booked after the one before: from the
    /// interval's start (the skin's healing time is never cut short) to its
    /// end plus the clinic's tolerance, so "every 30 days" can still land on
    /// an open day.
    pub fn booking_days(&self, tolerance_days: u32) -> (i64, i64) {
        let (min, max) = self.interval_days();
        (min, max + i64::from(tolerance_days))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub device: String,
    /// One per track of the proposal, in the same order.
    pub tracks: Vec<PlanTrack>,
    pub areas: Vec<PlanArea>,
    pub earliest_start: Date,
    pub precautions: Vec<String>,
    pub pretreatment: Vec<String>,
    pub downtime: Vec<String>,
    pub adjuncts: Vec<String>,
    /// Add-on codes from the price list, each session.
    #[serde(default)]
    pub addons: Vec<String>,
}

/// A value outside the guideline, with the reason given for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub field: String,
    pub message: String,
    pub reason: String,
}

impl Plan {
    pub fn from_proposal(p: &Proposal, device: &str) -> Plan {
        Plan {
            device: device.to_string(),
            tracks: p
                .tracks
                .iter()
                .map(|t| PlanTrack {
                    areas: t.areas.clone(),
                    sessions: t.sessions,
                    sessions_reason: None,
                    interval: t.interval,
                    interval_reason: None,
                })
                .collect(),
            areas: p
                .areas
                .iter()
                .map(|a| PlanArea {
                    area: a.area.clone(),
                    indications: a.indications.clone(),
                    guideline: a.guideline,
                    depth: a.depth,
                    reason: None,
                })
                .collect(),
            earliest_start: p.earliest_start,
            precautions: p.precautions.clone(),
            pretreatment: p.pretreatment.clone(),
            downtime: p.downtime.clone(),
            adjuncts: p.adjuncts.clone(),
            addons: vec![],
        }
    }

    /// What the price list quotes: each track's areas and sessions.
    pub fn priced_tracks(&self) -> Vec<(Vec<String>, u32)> {
        self.tracks
            .iter()
            .map(|t| (t.areas.clone(), t.sessions))
            .collect()
    }

    /// The course in a few words: "4 sessions", or "4 + 12 sessions" for
    /// two tracks.
    pub fn sessions_label(&self) -> String {
        let each: Vec<String> = self.tracks.iter().map(|t| t.sessions.to_string()).collect();
        format!("{} sessions", each.join(" + "))
    }

    /// Checks the plan against its proposal and the knowledge base: refuses
    /// what is never allowed, and an off-guideline value without a reason;
    /// returns the flags for the off-guideline values that have one.
    pub fn check(&self, kb: &KnowledgeBase, proposal: &Proposal) -> Result<Vec<Flag>, Invalid> {
        let mut inv = Invalid::default();
        let mut flags = vec![];
        let mut flag =
            |inv: &mut Invalid, field: String, message: String, reason: &Option<String>| {
                match reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                    Some(r) => flags.push(Flag {
                        field,
                        message,
                        reason: r.to_string(),
                    }),
                    None => inv.push(field, format!("{message} Give a reason to keep it.")),
                }
            };
        let Some(device) = kb.devices.iter().find(|d| d.code == self.device) else {
            return Err(Invalid::one(
                "device",
                format!("Unknown device {:?}.", self.device),
            ));
        };
        if self.tracks.len() != proposal.tracks.len() {
            inv.push(
                "tracks",
                format!(
                    "The proposal has {} track(s); the plan must keep each of them.",
                    proposal.tracks.len()
                ),
            );
        }
        for (t, (track, proposed)) in self.tracks.iter().zip(&proposal.tracks).enumerate() {
            let field = |name: &str| format!("tracks[{t}].{name}");
            if track.sessions == 0 || track.sessions > 24 {
                inv.push(field("sessions"), "A course has 1 to 24 sessions.");
            } else if track.sessions < proposed.sessions_min
                || track.sessions > proposed.sessions_max
            {
                let m = format!(
                    "{} sessions is outside the guideline of {}–{}.",
                    track.sessions, proposed.sessions_min, proposed.sessions_max
                );
                flag(&mut inv, field("sessions"), m, &track.sessions_reason);
            }
            let (lo, hi) = track.interval_days();
            if lo == 0 || lo > hi {
                inv.push(
                    field("interval"),
                    "The interval needs a minimum above zero and no more than the maximum.",
                );
            } else if lo < i64::from(approx_days(proposed.interval.min))
                || hi > i64::from(approx_days(proposed.interval.max))
            {
                let m = format!(
                    "{} between sessions is outside the guideline of {}.",
                    String::from(track.interval),
                    String::from(proposed.interval)
                );
                flag(&mut inv, field("interval"), m, &track.interval_reason);
            }
            if let Some(a) = track.areas.iter().find(|a| !proposed.areas.contains(a)) {
                inv.push(
                    field("areas"),
                    format!("{a} is not on this track of the proposal."),
                );
            }
        }
        if self.areas.is_empty() {
            inv.push("areas", "A plan treats at least one area.");
        }
        if self.earliest_start < proposal.earliest_start {
            inv.push(
                "earliest_start",
                format!(
                    "The screening defers treatment until {}.",
                    proposal.earliest_start
                ),
            );
        }
        for (i, a) in self.areas.iter().enumerate() {
            let field = format!("areas[{i}].depth");
            let Some(planned) = proposal.areas.iter().find(|p| p.area == a.area) else {
                inv.push(
                    format!("areas[{i}].area"),
                    format!("{} was not screened eligible for this plan.", a.area),
                );
                continue;
            };
            match check_depth(kb, &a.area, a.depth, planned.guideline, device) {
                DepthCheck::Ok => {}
                DepthCheck::OffGuideline(m) => flag(&mut inv, field, m, &a.reason),
                DepthCheck::Refused(m) => inv.push(field, m),
            }
        }
        // Areas the proposal lacks were refused above.
        for a in self
            .areas
            .iter()
            .filter(|a| proposal.areas.iter().any(|p| p.area == a.area))
        {
            let on = self
                .tracks
                .iter()
                .filter(|t| t.areas.contains(&a.area))
                .count();
            if on != 1 {
                inv.push(
                    "tracks",
                    format!("{} must be on exactly one track (it is on {on}).", a.area),
                );
            }
        }
        if let Some(a) = self
            .tracks
            .iter()
            .flat_map(|t| &t.areas)
            .find(|c| !self.areas.iter().any(|a| &a.area == *c))
        {
            inv.push("tracks", format!("{a} is on a track but not in the plan."));
        }
        inv.into_result()?;
        Ok(flags)
    }
}

/// Where a plan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Proposed,
    Accepted,
    InProgress,
    Completed,
    Cancelled,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 5] = [
        PlanStatus::Proposed,
        PlanStatus::Accepted,
        PlanStatus::InProgress,
        PlanStatus::Completed,
        PlanStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Proposed => "proposed",
            PlanStatus::Accepted => "accepted",
            PlanStatus::InProgress => "in_progress",
            PlanStatus::Completed => "completed",
            PlanStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PlanStatus::Proposed => "Proposed",
            PlanStatus::Accepted => "Accepted",
            PlanStatus::InProgress => "In progress",
            PlanStatus::Completed => "Completed",
            PlanStatus::Cancelled => "Cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PlanStatus> {
        PlanStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The states a plan may move to from this one. Accepting and starting
    /// also need a signed consent that covers the plan (checked by the store).
    pub fn next(self) -> &'static [PlanStatus] {
        match self {
            PlanStatus::Proposed => &[PlanStatus::Accepted, PlanStatus::Cancelled],
            PlanStatus::Accepted => &[PlanStatus::InProgress, PlanStatus::Cancelled],
            PlanStatus::InProgress => &[PlanStatus::Completed, PlanStatus::Cancelled],
            PlanStatus::Completed | PlanStatus::Cancelled => &[],
        }
    }
}

/// What the patient allows their photos to be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoUse {
    ClinicalRecordOnly,
    Anonymised,
    Publish,
    /// No photos may be taken at all.
    NoPhotos,
}

impl PhotoUse {
    pub const ALL: [PhotoUse; 4] = [
        PhotoUse::ClinicalRecordOnly,
        PhotoUse::Anonymised,
        PhotoUse::Publish,
        PhotoUse::NoPhotos,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhotoUse::ClinicalRecordOnly => "clinical_record_only",
            PhotoUse::Anonymised => "anonymised",
            PhotoUse::Publish => "publish",
            PhotoUse::NoPhotos => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PhotoUse::ClinicalRecordOnly => "Only in my clinical record",
            PhotoUse::Anonymised => "In my record, and anonymised for teaching or research",
            PhotoUse::Publish => "In my record, and the clinic may publish them",
            PhotoUse::NoPhotos => "No photos may be taken of me",
        }
    }

    pub fn parse(s: &str) -> Option<PhotoUse> {
        PhotoUse::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// "Put nothing…" → "put nothing…", after a time window and a colon.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The consent document, in plain words, generated from the plan and the
/// knowledge base. The signed copy keeps this exact text.
pub fn consent_text(
    kb: &KnowledgeBase,
    plan: &Plan,
    quote: Option<&Quote>,
    patient: &str,
    clinic: &str,
    history: &PatientHistory,
) -> String {
    let area = |c: &str| kb.area(c).map_or(c.to_string(), |a| a.name.clone());
    let ind = |c: &str| kb.indication(c).map_or(c.to_string(), |i| i.name.clone());
    let mut t = String::new();
    t.push_str(&format!("CONSENT TO MICRONEEDLING (COLLAGEN INDUCTION THERAPY)\n\nPatient: {patient}\nClinic: {clinic}\n\n"));
    t.push_str(
        "What the treatment is\nMicroneedling makes many tiny, shallow punctures in the skin with fine sterile needles. \
         The skin heals them by making new collagen of its own; nothing is injected to do this. A numbing cream is \
         usually applied 30–60 minutes before. Each session uses a new, sealed, single-use needle cartridge.\n\n",
    );
    t.push_str("Where, and how deep\n");
    for a in &plan.areas {
        let why: Vec<String> = a.indications.iter().map(|i| ind(i)).collect();
        t.push_str(&format!(
            "- {}: {} mm, for {}\n",
            area(&a.area),
            a.depth,
            why.join(" and ")
        ));
    }
    t.push_str("\nThe course\n");
    for track in &plan.tracks {
        let prefix = if plan.tracks.len() > 1 {
            let names: Vec<String> = track.areas.iter().map(|a| area(a)).collect();
            format!("{}: ", names.join(", "))
        } else {
            String::new()
        };
        t.push_str(&format!(
            "{prefix}{} session(s), {} apart.\n",
            track.sessions,
            track.interval.words()
        ));
    }
    if plan.tracks.len() > 1 {
        t.push_str(
            "Where the areas' sessions fall due together, they are done on the same visit.\n",
        );
    }
    t.push_str(&format!(
        "Starting no earlier than {}. Results build over weeks to months as collagen forms.\n",
        plan.earliest_start
    ));
    if let Some(q) = quote {
        t.push_str(&format!(
            "Quoted price for the course: {} (see the quote).\n",
            crate::clinic::format_money(q.total, &q.currency)
        ));
    }
    t.push_str("\nRisks\nMicroneedling is generally well tolerated, but it has risks. Reported in the medical literature:\n");
    // Only what the literature reports goes under that heading; the rest is
    // said for what it is.
    let (studied, other): (Vec<_>, Vec<_>) = kb
        .adverse_events
        .iter()
        .partition(|e| e.evidence == crate::knowledge::Evidence::A);
    for e in studied {
        t.push_str(&format!("- {}: {}.\n", e.plain_name, e.in_words));
    }
    if !other.is_empty() {
        t.push_str("Also reported, by patients or clinics rather than in studies:\n");
        for e in other {
            t.push_str(&format!("- {}: {}.\n", e.plain_name, e.in_words));
        }
    }
    if history.fitzpatrick.is_none_or(|f| f >= 4) {
        t.push_str("For darker skin types, the risk of darker patches after treatment is higher; the plan uses a conservative depth.\n");
    }
    if !plan.precautions.is_empty() {
        t.push_str("\nPrecautions for you\n");
        for p in &plan.precautions {
            t.push_str(&format!("- {p}\n"));
        }
    }
    t.push_str("\nBefore each session\n");
    for p in &plan.pretreatment {
        t.push_str(&format!("- {p}\n"));
    }
    use crate::knowledge::AftercareKind;
    // The steps for everyone: those for some patients only (the antiviral
    // course, sun care for darker skin) are the plan's precautions above.
    t.push_str("\nAfterwards, I agree to\n");
    for s in kb
        .aftercare
        .iter()
        .filter(|s| s.kind == AftercareKind::Duty && s.when.is_none())
    {
        t.push_str(&format!("- {}: {}\n", s.window(), lower_first(&s.text)));
    }
    t.push_str("\nWhat to expect\n");
    for s in kb
        .aftercare
        .iter()
        .filter(|s| s.kind == AftercareKind::Expect && s.when.is_none())
    {
        t.push_str(&format!("- {}: {}\n", s.window(), lower_first(&s.text)));
    }
    for u in crate::knowledge::Urgency::ALL {
        let signs: Vec<&str> = kb
            .warning_signs
            .iter()
            .filter(|w| w.urgency == u)
            .map(|w| w.text.as_str())
            .collect();
        if !signs.is_empty() {
            t.push_str(&format!("\n{}:\n", u.instruction()));
            for w in signs {
                t.push_str(&format!("- {w}\n"));
            }
        }
    }
    t.push_str(
        "\nPhotos\nStandard photos are taken before and during the course for my clinical record. Below I choose \
         whether they may also be used anonymised for teaching or research, or published.\n\n\
         I have read this, had the chance to ask questions, and agree to the treatment described. I may withdraw \
         my consent at any time before a session.\n",
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_use_round_trips() {
        for p in PhotoUse::ALL {
            assert_eq!(PhotoUse::parse(p.as_str()), Some(p));
        }
        assert_eq!(PhotoUse::parse("sell"), None);
    }
}
