//! `needlepoint plan`: screens a history given as JSON and proposes a
//! course, printed as a table or JSON.

use anyhow::bail;
use jiff::civil::Date;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::planning::{propose, Proposal};
use needlepoint_domain::screening::screen;
use std::fmt::Write;
use std::path::Path;

pub fn run(
    kb: &KnowledgeBase,
    file: &Path,
    on: Date,
    device: &str,
    json: bool,
) -> anyhow::Result<String> {
    let history = crate::screen::read_history(kb, file, on)?;
    let Some(model) = kb.devices.iter().find(|d| d.code == device) else {
        let known: Vec<&str> = kb.devices.iter().map(|d| d.code.as_str()).collect();
        bail!("unknown device {device:?}: use one of {}", known.join(", "));
    };
    let screening =
        screen(kb, &history, &history.concern_areas(), on).map_err(|e| anyhow::anyhow!("{e}"))?;
    let p = propose(kb, &history, &screening, model, on)
        .map_err(|e| anyhow::anyhow!("no plan: {e}"))?;
    Ok(if json {
        serde_json::to_string_pretty(&p)? + "\n"
    } else {
        table(kb, &p, &model.name)
    })
}

fn table(kb: &KnowledgeBase, p: &Proposal, device: &str) -> String {
    let mut out = String::new();
    if let [t] = p.tracks.as_slice() {
        let _ = writeln!(
            out,
            "Proposed course with {device}: {} sessions ({}–{}), {} apart, first no earlier than {}\n",
            t.sessions,
            t.sessions_min,
            t.sessions_max,
            t.interval.words(),
            p.earliest_start
        );
    } else {
        let _ = writeln!(
            out,
            "Proposed course with {device} in {} tracks, first no earlier than {}:",
            p.tracks.len(),
            p.earliest_start
        );
        for t in &p.tracks {
            let names: Vec<&str> = t
                .areas
                .iter()
                .map(|a| kb.area(a).map_or(a.as_str(), |x| x.name.as_str()))
                .collect();
            let _ = writeln!(
                out,
                "  {}: {} sessions ({}–{}), {} apart",
                names.join(", "),
                t.sessions,
                t.sessions_min,
                t.sessions_max,
                t.interval.words()
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "{:<28} {:<12} INDICATIONS", "AREA", "DEPTH (mm)");
    for a in &p.areas {
        let name = kb
            .area(&a.area)
            .map_or(a.area.as_str(), |x| x.name.as_str());
        let _ = writeln!(
            out,
            "{name:<28} {:<12} {}",
            a.depth.to_string(),
            a.indications.join(", ")
        );
        for n in &a.notes {
            let _ = writeln!(out, "{:<28} note: {n}", "");
        }
    }
    let mut section = |title: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for i in items {
                let _ = writeln!(out, "  - {i}");
            }
        }
    };
    let reconciled: Vec<String> = p
        .reconciliation
        .iter()
        .chain(p.tracks.iter().flat_map(|t| &t.reconciliation))
        .cloned()
        .collect();
    section("Reconciled", &reconciled);
    section(
        "Not planned",
        &p.excluded
            .iter()
            .map(|(a, why)| format!("{a}: {why}"))
            .collect::<Vec<_>>(),
    );
    section("Precautions", &p.precautions);
    section("Before each session", &p.pretreatment);
    section("Alongside", &p.adjuncts);
    section("Downtime", &p.downtime);
    out
}
