//! `needlepoint screen`: screens a patient history given as JSON and prints
//! the outcome per area as a table, or as JSON.

use anyhow::{bail, Context};
use jiff::civil::Date;
use needlepoint_domain::history::PatientHistory;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::screening::{screen, Deferral, Screening, Status};
use std::fmt::Write;
use std::path::Path;

/// Reads a history file and checks it; errors name the field.
pub fn read_history(kb: &KnowledgeBase, file: &Path, on: Date) -> anyhow::Result<PatientHistory> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let history: PatientHistory = serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow::anyhow!("{}: field `{}`: {}", file.display(), e.path(), e.inner()))?;
    if let Err(inv) = history.validate(kb, on) {
        let lines: Vec<String> = inv
            .errors
            .iter()
            .map(|e| format!("  {}: {}", e.field, e.message))
            .collect();
        bail!(
            "{} is not a valid history:\n{}",
            file.display(),
            lines.join("\n")
        );
    }
    Ok(history)
}

/// Reads, checks and screens; returns the text to print.
pub fn run(
    kb: &KnowledgeBase,
    file: &Path,
    on: Date,
    areas: &[String],
    json: bool,
) -> anyhow::Result<String> {
    let history = read_history(kb, file, on)?;
    let areas = if areas.is_empty() {
        history.concern_areas()
    } else {
        areas.to_vec()
    };
    if areas.is_empty() {
        bail!("no areas to screen: pass --areas, or list concerns in the history");
    }
    let result = screen(kb, &history, &areas, on).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(if json {
        serde_json::to_string_pretty(&result)? + "\n"
    } else {
        table(kb, &result)
    })
}

pub fn outcome(status: Status, deferral: Option<Deferral>) -> String {
    needlepoint_domain::screening::outcome_words(status, deferral, |d| d.to_string())
}

fn table(kb: &KnowledgeBase, s: &Screening) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Screening on {} (knowledge base {})",
        s.on, s.knowledge_version
    );
    let _ = writeln!(out, "Overall: {}\n", outcome(s.status, s.deferral));
    let _ = writeln!(out, "{:<14} OUTCOME", "AREA");
    for a in &s.areas {
        let name = kb
            .area(&a.area)
            .map_or(a.area.as_str(), |x| x.code.as_str());
        let _ = writeln!(out, "{name:<14} {}", outcome(a.status, a.deferral));
    }
    let reasons = s.reasons();
    if !reasons.is_empty() {
        let _ = writeln!(out, "\nReasons:");
        for r in reasons {
            let areas: Vec<&str> = s
                .areas
                .iter()
                .filter(|a| {
                    a.reasons
                        .iter()
                        .any(|x| x.rule_id == r.rule_id && x.fact == r.fact)
                })
                .map(|a| a.area.as_str())
                .collect();
            let _ = writeln!(out, "  - {} [{}]: {}", r.rule, r.rule_id, r.fact);
            let _ = writeln!(
                out,
                "    {} · areas: {} · source: {} · evidence {:?}",
                r.status.label(),
                areas.join(", "),
                r.source,
                r.evidence
            );
        }
    }
    if !s.precautions.is_empty() {
        let _ = writeln!(out, "\nPrecautions:");
        for p in &s.precautions {
            let _ = writeln!(out, "  - {p}");
        }
    }
    out
}
