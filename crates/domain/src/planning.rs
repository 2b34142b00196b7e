//! Proposing a course from a patient's concerns, skin type and screening:
//! sessions, the interval window, a depth range per area bounded by the
//! area, the indications and the device, precautions and pre-treatment.
//! And the guardrails that any edit of a plan passes through.

use crate::depth::Depth;
use crate::history::PatientHistory;
use crate::history::Severity;
use crate::knowledge::{
    DepthPart, DepthRange, DeviceModel, Indication, Interval, KnowledgeBase, Period, PeriodUnit,
    SessionsPick,
};
use crate::screening::{applies, Deferral, Screening, Status};
use crate::validation::Invalid;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Days in a period, to compare windows. Months count as 30 days here only;
/// dates themselves are always computed on the calendar.
pub fn approx_days(p: Period) -> u32 {
    match p.unit {
        PeriodUnit::Days => p.amount,
        PeriodUnit::Weeks => p.amount * 7,
        PeriodUnit::Months => p.amount * 30,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedArea {
    pub area: String,
    pub indications: Vec<String>,
    /// What the knowledge base advises here: area ∩ indications ∩ device.
    pub guideline: DepthRange,
    /// What is proposed (the guideline, or less for skin types IV–VI).
    pub depth: DepthRange,
    /// Why the guideline is not simply the area's range, when it is not.
    pub notes: Vec<String>,
}

/// One course inside a plan: a group of areas whose indications heal on
/// windows that overlap, with its own sessions and interval. Indications
/// whose windows do not overlap get separate tracks, booked together on the
/// days their windows meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub areas: Vec<String>,
    pub indications: Vec<String>,
    pub sessions: u32,
    pub sessions_min: u32,
    pub sessions_max: u32,
    pub interval: Interval,
    /// How this track's indications were reconciled into one course.
    pub reconciliation: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// At least one; each planned area is in exactly one.
    pub tracks: Vec<Track>,
    /// Why the plan has several tracks, and which area follows which.
    pub reconciliation: Vec<String>,
    pub areas: Vec<PlannedArea>,
    /// Areas the screening forbids, with why; they cannot be planned.
    pub excluded: Vec<(String, String)>,
    /// No session before this date (today, or the end of a deferral).
    pub earliest_start: Date,
    pub precautions: Vec<String>,
    pub pretreatment: Vec<String>,
    pub downtime: Vec<String>,
    pub adjuncts: Vec<String>,
}

impl Proposal {
    /// The track that holds an area.
    pub fn track_of(&self, area: &str) -> Option<usize> {
        self.tracks
            .iter()
            .position(|t| t.areas.iter().any(|a| a == area))
    }
}

/// Proposes a course for the history's concerns, given its screening.
/// Refused when nothing is left to plan (every area excluded, or no concern).
pub fn propose(
    kb: &KnowledgeBase,
    history: &PatientHistory,
    screening: &Screening,
    device: &DeviceModel,
    today: Date,
) -> Result<Proposal, Invalid> {
    if history.concerns.is_empty() {
        return Err(Invalid::one(
            "concerns",
            "Record what the patient wants treated first.",
        ));
    }
    // The device against the patient: its needles against her allergies,
    // her skin type against its clearances.
    let allergies: Vec<String> = history.allergies.iter().map(|a| a.code.clone()).collect();
    let concerns: Vec<(String, String)> = history
        .concerns
        .iter()
        .map(|c| (c.indication.clone(), c.area.clone()))
        .collect();
    let device_flags = device
        .fits(&allergies, history.fitzpatrick, &concerns)
        .map_err(|m| Invalid::one("device", m))?;
    let mut excluded = vec![];
    // Concerns the product never plans, with why.
    let mut declined: Vec<String> = vec![];
    let mut earliest = today.max(screening.on);
    let mut indications: Vec<&Indication> = vec![];
    let mut areas: Vec<PlannedArea> = vec![];
    // The worst severity per indication sets its sessions; per area, the
    // part of the depth range proposed.
    let mut ind_severity: Vec<(String, Severity)> = vec![];
    let mut area_severity: Vec<(String, Severity)> = vec![];
    for c in &history.concerns {
        let (Some(ind), Some(area)) = (kb.indication(&c.indication), kb.area(&c.area)) else {
            continue;
        };
        if let Some(why) = &ind.not_proposed {
            let note = format!("{} is not planned: {why}", ind.name);
            if !declined.contains(&note) {
                declined.push(note);
            }
            continue;
        }
        let Some(result) = screening.area(&c.area) else {
            excluded.push((
                c.area.clone(),
                "Not screened: screen this area first.".into(),
            ));
            continue;
        };
        if result.status == Status::NotEligible {
            let why = result
                .reasons
                .iter()
                .filter(|r| r.status == Status::NotEligible)
                .map(|r| r.rule.clone())
                .collect::<Vec<_>>()
                .join("; ");
            if !excluded.iter().any(|(a, _)| a == &c.area) {
                excluded.push((c.area.clone(), format!("Not eligible: {why}")));
            }
            continue;
        }
        match result.deferral {
            Some(Deferral::Until(d)) => earliest = earliest.max(d),
            // Whatever else applies (a physician's approval too), an open
            // deferral holds the area back until it resolves.
            Some(Deferral::UntilResolved) => {
                excluded.push((
                    c.area.clone(),
                    "Deferred until a condition resolves: screen again then.".into(),
                ));
                continue;
            }
            _ => {}
        }
        if !indications.iter().any(|i| i.code == ind.code) {
            indications.push(ind);
        }
        worsen(&mut ind_severity, &ind.code, c.severity);
        worsen(&mut area_severity, &c.area, c.severity);
        match areas.iter_mut().find(|a| a.area == c.area) {
            Some(a) => a.indications.push(ind.code.clone()),
            None => areas.push(PlannedArea {
                area: area.code.clone(),
                indications: vec![ind.code.clone()],
                guideline: area.depth,
                depth: area.depth,
                notes: vec![],
            }),
        }
    }
    if areas.is_empty() {
        let mut inv = Invalid::one(
            "concerns",
            "No area of the patient's concerns can be treated now.",
        );
        for (a, why) in &excluded {
            inv.push("concerns", format!("{a}: {why}"));
        }
        for why in &declined {
            inv.push("concerns", why.clone());
        }
        return Err(inv);
    }
    for a in areas.iter_mut() {
        let severity = severity_of(&area_severity, &a.area);
        bound_depth(kb, a, device, history, severity);
    }
    let courses: Vec<(&crate::knowledge::Indication, u32)> = indications
        .iter()
        .map(|i| {
            let severity = severity_of(&ind_severity, &i.code);
            let pick = kb
                .severity_rule(severity)
                .map_or(SessionsPick::Typical, |r| r.sessions);
            (*i, pick.of(i))
        })
        .collect();
    let (tracks, mut reconciliation) = tracks(kb, &courses, &areas, &ind_severity);
    reconciliation.extend(declined);
    let mut adjuncts: Vec<String> = vec![];
    let mut downtime: Vec<String> = vec![];
    for i in &indications {
        for x in &i.adjuncts {
            if !adjuncts.contains(x) {
                adjuncts.push(x.clone());
            }
        }
        let d = format!("{}: {}", i.name, i.downtime);
        if !downtime.contains(&d) {
            downtime.push(d);
        }
    }
    let planned: Vec<&str> = areas.iter().map(|a| a.area.as_str()).collect();
    let mut precautions = screening
        .areas
        .iter()
        .filter(|a| planned.contains(&a.area.as_str()))
        .flat_map(|a| a.precautions.iter().cloned())
        .fold(vec![], |mut acc: Vec<String>, p| {
            if !acc.contains(&p) {
                acc.push(p);
            }
            acc
        });
    for f in device_flags {
        if !precautions.contains(&f) {
            precautions.push(f);
        }
    }
    let numbing = &kb.planning.large_area_numbing;
    let large = areas
        .iter()
        .filter_map(|a| kb.area(&a.area))
        .find(|a| numbing.regions.contains(&a.region));
    if let Some(a) = large {
        precautions.push(format!(
            "{}: {} ({})",
            a.name, numbing.precaution, numbing.source
        ));
    }
    let pretreatment = kb
        .pretreatments
        .iter()
        .filter(|p| {
            p.when
                .as_ref()
                .is_none_or(|t| applies(kb, t, history, today))
        })
        .map(|p| p.text.clone())
        .collect();
    Ok(Proposal {
        tracks,
        reconciliation,
        areas,
        excluded,
        earliest_start: earliest,
        precautions,
        pretreatment,
        downtime,
        adjuncts,
    })
}

/// Adds a concern's severity to a list of the worst per code.
fn worsen(list: &mut Vec<(String, Severity)>, code: &str, s: Severity) {
    match list.iter_mut().find(|(c, _)| c == code) {
        Some((_, worst)) => *worst = (*worst).max(s),
        None => list.push((code.to_string(), s)),
    }
}

fn severity_of(list: &[(String, Severity)], code: &str) -> Severity {
    list.iter()
        .find(|(c, _)| c == code)
        .map_or(Severity::Moderate, |(_, s)| *s)
}

/// Narrows an area's range by its indications and the device, proposes the
/// part of it the concern's severity calls for, then makes the proposal
/// conservative for skin types IV–VI.
fn bound_depth(
    kb: &KnowledgeBase,
    a: &mut PlannedArea,
    device: &DeviceModel,
    h: &PatientHistory,
    severity: Severity,
) {
    let mut g = kb
        .area(&a.area)
        .map_or(a.guideline, |area| area.depth_for(kb, &a.indications));
    for code in &a.indications {
        let Some(ind) = kb.indication(code) else {
            continue;
        };
        let Some(r) = ind.depth else { continue };
        let (lo, hi) = (g.min.max(r.min), g.max.min(r.max));
        if lo <= hi {
            if (lo, hi) != (g.min, g.max) {
                a.notes
                    .push(format!("{}: {}–{} mm", ind.name, mm(lo), mm(hi)));
            }
            g = DepthRange { min: lo, max: hi };
        } else {
            // They disagree: depth is where harm happens, so the shallower
            // range is proposed, and the clinician may go deeper with a reason.
            let shallower = if r.max < g.min { r } else { g };
            a.notes.push(format!(
                "{} advises {}–{} mm, outside this area's {}–{} mm; the shallower range is proposed",
                ind.name,
                mm(r.min),
                mm(r.max),
                mm(g.min),
                mm(g.max)
            ));
            g = shallower;
        }
    }
    if g.max > device.depth.max {
        a.notes.push(format!(
            "{} reaches at most {} mm",
            device.name,
            mm(device.depth.max)
        ));
        g.max = device.depth.max;
        g.min = g.min.min(g.max);
    }
    if let Some(e) = device.evaluated.filter(|e| g.max > e.max) {
        a.notes.push(format!(
            "{}'s safety was not evaluated beyond {} mm; going deeper takes a reason",
            device.name,
            mm(e.max)
        ));
        g.max = e.max;
        g.min = g.min.min(g.max);
    }
    a.guideline = g;
    let part = kb
        .severity_rule(severity)
        .map_or(DepthPart::Whole, |r| r.depth);
    a.depth = part.of(g);
    if a.depth != g {
        a.notes.push(format!(
            "A {} concern: {}–{} mm, the {} part of the range",
            severity.as_str(),
            mm(a.depth.min),
            mm(a.depth.max),
            if part == DepthPart::Lower {
                "lower"
            } else {
                "upper"
            }
        ));
    }
    // An unrecorded skin type is treated as IV–VI until a clinician records it.
    if h.fitzpatrick.is_none_or(|t| t >= 4) {
        let span = g.max.micrometres() - g.min.micrometres();
        let um = g.min.micrometres() + span * u32::from(kb.planning.dark_skin_depth_percent) / 100;
        let capped = Depth::from_micrometres(um - um % Depth::STEP_UM).unwrap_or(g.min);
        if capped < a.depth.max {
            // The cap holds whatever the severity: the range ends there.
            let max = capped.max(g.min);
            a.depth = DepthRange {
                min: a.depth.min.min(max),
                max,
            };
            a.notes.push(format!(
                "{}: conservative, up to {} mm",
                if h.fitzpatrick.is_some() {
                    "Skin type IV–VI"
                } else {
                    "Skin type not recorded, so as for IV–VI"
                },
                mm(a.depth.max)
            ));
        }
    }
}

/// Millimetres without trailing zeros: "0.5", "1.25".
pub fn mm(d: Depth) -> String {
    let um = d.micrometres();
    let s = format!("{}.{:03}", um / 1000, um % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Groups the indications into tracks whose healing windows overlap, and
/// puts each area on the track of its indications. An area whose
/// indications fall on several tracks follows the slowest of them: the skin
/// there is never needled before its longest healing time.
fn tracks(
    kb: &KnowledgeBase,
    courses: &[(&Indication, u32)],
    areas: &[PlannedArea],
    severity: &[(String, Severity)],
) -> (Vec<Track>, Vec<String>) {
    // Windows overlap when the latest minimum is at most the earliest
    // maximum, each widened by the tolerance either way; sorted by minimum,
    // a group grows while that holds.
    let tolerance = kb.planning.interval_tolerance.days;
    let mut sorted: Vec<&(&Indication, u32)> = courses.iter().collect();
    sorted.sort_by_key(|(i, _)| (approx_days(i.interval.min), approx_days(i.interval.max)));
    let mut groups: Vec<Vec<(&Indication, u32)>> = vec![];
    for c in sorted {
        let fits = groups.last().is_some_and(|g| {
            let earliest_max = g.iter().map(|(i, _)| approx_days(i.interval.max)).min();
            earliest_max.is_some_and(|m| approx_days(c.0.interval.min) <= m + 2 * tolerance)
        });
        match groups.last_mut() {
            Some(g) if fits => g.push(*c),
            _ => groups.push(vec![*c]),
        }
    }
    let group_of = |code: &str| {
        groups
            .iter()
            .position(|g| g.iter().any(|(i, _)| i.code == code))
    };
    let mut members: Vec<Vec<String>> = vec![vec![]; groups.len()];
    let mut notes = vec![];
    for a in areas {
        let mut gs: Vec<usize> = a.indications.iter().filter_map(|c| group_of(c)).collect();
        gs.sort_unstable();
        gs.dedup();
        // Groups are ordered by their shortest interval: the last is slowest.
        let Some(&g) = gs.last() else { continue };
        if gs.len() > 1 {
            let slow = groups[g][0].0;
            notes.push(format!(
                "{}: treated for several concerns whose healing windows do not overlap; it follows {} (every {}) so it heals fully between sessions.",
                kb.area(&a.area).map_or(a.area.as_str(), |x| x.name.as_str()),
                slow.name,
                slow.interval.words()
            ));
        }
        members[g].push(a.area.clone());
    }
    let name = |code: &str| kb.area(code).map_or(code.to_string(), |a| a.name.clone());
    let mut out = vec![];
    for (g, group) in groups.iter().enumerate() {
        if members[g].is_empty() {
            continue;
        }
        let (sessions, smin, smax, interval, mut reconciliation) = reconcile(group, tolerance);
        for (i, n) in group {
            if *n != i.typical_sessions {
                let s = severity_of(severity, &i.code);
                reconciliation.push(format!(
                    "{}: {n} sessions for a {} concern (usually {}; {}–{}).",
                    i.name,
                    s.as_str(),
                    i.typical_sessions,
                    i.sessions.min,
                    i.sessions.max
                ));
            }
        }
        out.push(Track {
            areas: members[g].clone(),
            indications: group.iter().map(|(i, _)| i.code.clone()).collect(),
            sessions,
            sessions_min: smin,
            sessions_max: smax,
            interval,
            reconciliation,
        });
    }
    // Tracks in the order their areas were asked for.
    out.sort_by_key(|t| areas.iter().position(|a| t.areas.contains(&a.area)));
    if out.len() > 1 {
        let each: Vec<String> = out
            .iter()
            .map(|t| {
                let names: Vec<String> = t.areas.iter().map(|a| name(a)).collect();
                format!("{} every {}", names.join(", "), t.interval.words())
            })
            .collect();
        notes.insert(
            0,
            format!(
                "{} tracks, because their healing windows do not overlap: {}. Each keeps its own sessions and interval; sessions fall on the same visit where the windows meet.",
                out.len(),
                each.join("; ")
            ),
        );
    }
    (out, notes)
}

/// One course for indications whose windows overlap, each with the
/// sessions its severity calls for: the most sessions, and the interval
/// every window allows.
fn reconcile(
    courses: &[(&Indication, u32)],
    tolerance: u32,
) -> (u32, u32, u32, Interval, Vec<String>) {
    let (first, first_sessions) = courses[0];
    if courses.len() == 1 {
        return (
            first_sessions,
            first.sessions.min,
            first.sessions.max,
            first.interval,
            vec![],
        );
    }
    let mut notes = vec![];
    let (most, sessions) = courses
        .iter()
        .max_by_key(|(_, n)| *n)
        .copied()
        .unwrap_or((first, first_sessions));
    let smin = courses
        .iter()
        .map(|(i, _)| i.sessions.min)
        .max()
        .unwrap_or(1);
    let smax = courses
        .iter()
        .map(|(i, _)| i.sessions.max)
        .max()
        .unwrap_or(sessions);
    notes.push(format!(
        "Sessions: {sessions}, as {} needs the most.",
        most.name
    ));
    let lo = courses
        .iter()
        .map(|(i, _)| *i)
        .max_by_key(|i| approx_days(i.interval.min))
        .unwrap_or(first);
    let hi = courses
        .iter()
        .map(|(i, _)| *i)
        .min_by_key(|i| approx_days(i.interval.max))
        .unwrap_or(first);
    // Windows that meet only within the tolerance: the course runs between
    // the two intervals, each within its tolerance.
    let meet_within_tolerance = approx_days(lo.interval.min) > approx_days(hi.interval.max);
    let (min, max) = if meet_within_tolerance {
        (hi.interval.max, lo.interval.min)
    } else {
        (lo.interval.min, hi.interval.max)
    };
    // An interval is written in one unit; mixed units become days.
    let interval = if min.unit == max.unit {
        Interval { min, max }
    } else {
        let days = |p: Period| Period {
            amount: approx_days(p),
            unit: PeriodUnit::Days,
        };
        Interval {
            min: days(min),
            max: days(max),
        }
    };
    notes.push(if meet_within_tolerance {
        format!(
            "Interval: {}: {} (every {}) and {} (every {}) meet within the {tolerance} days either side the clinic allows.",
            interval.words(),
            hi.name,
            hi.interval.words(),
            lo.name,
            lo.interval.words()
        )
    } else {
        format!(
            "Interval: {}, the window every indication allows.",
            interval.words()
        )
    });
    (sessions, smin, smax.max(sessions), interval, notes)
}

/// What a depth edit amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepthCheck {
    Ok,
    /// Allowed with a written reason, and flagged wherever the plan appears.
    OffGuideline(String),
    /// Never allowed.
    Refused(String),
}

/// Checks a depth for an area against the guideline and the device.
pub fn check_depth(
    kb: &KnowledgeBase,
    area: &str,
    depth: DepthRange,
    guideline: DepthRange,
    device: &DeviceModel,
) -> DepthCheck {
    if let Some(z) = kb.no_go_zones.iter().find(|z| z.code == area) {
        return DepthCheck::Refused(format!("{} is never needled ({}).", z.name, z.source));
    }
    if kb.area(area).is_none() {
        return DepthCheck::Refused(format!("Unknown area {area:?}."));
    }
    if depth.max > device.depth.max || depth.min < device.depth.min {
        return DepthCheck::Refused(format!(
            "{} mm is beyond what {} allows ({}–{} mm).",
            mm(depth.max.max(depth.min)),
            device.name,
            mm(device.depth.min),
            mm(device.depth.max)
        ));
    }
    // Both are said when both apply.
    let mut off = vec![];
    if depth.min < guideline.min || depth.max > guideline.max {
        off.push(format!(
            "{}–{} mm is outside the guideline of {}–{} mm for this area.",
            mm(depth.min),
            mm(depth.max),
            mm(guideline.min),
            mm(guideline.max)
        ));
    }
    if let Some(e) = device.evaluated.filter(|e| depth.max > e.max) {
        off.push(format!(
            "{} mm is beyond the {} mm to which {}'s safety was evaluated ({}).",
            mm(depth.max),
            mm(e.max),
            device.name,
            device.source
        ));
    }
    if !off.is_empty() {
        return DepthCheck::OffGuideline(off.join(" "));
    }
    DepthCheck::Ok
}
