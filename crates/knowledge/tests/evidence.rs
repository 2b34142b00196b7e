//! The knowledge base's evidence levels are honest: an entry rated A rests
//! on a trial, review, consensus, label or FDA record for every part of it.
//! A part that comes from a consumer article, common or clinic practice, or
//! that its own source rates B or U, makes the whole entry B or U.

use toml::Value;

/// Words in a source that mark a part weaker than A.
const WEAKER: &[&str] = &[
    "consumer",
    "common practice",
    "clinic practice",
    "seed",
    "(b)",
    "(u)",
    ", b)",
    ", u)",
    "no source",
    "common in",
];

/// Every table in the file that has both `source` and `evidence`, with a
/// path to name it by.
fn rated(v: &Value, path: String, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::Table(t) => {
            if let (Some(Value::String(s)), Some(Value::String(e))) =
                (t.get("source"), t.get("evidence"))
            {
                let id = ["code", "id"]
                    .iter()
                    .find_map(|k| t.get(*k).and_then(Value::as_str))
                    .unwrap_or("");
                out.push((format!("{path} {id}"), s.clone(), e.clone()));
            }
            for (k, x) in t {
                rated(x, format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for x in a {
                rated(x, path.clone(), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_entry_rated_a_rests_on_weaker_sources() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../knowledge/microneedling.toml"
    ))
    .unwrap();
    let doc: Value = text.parse().unwrap();
    let mut entries = vec![];
    rated(&doc, String::new(), &mut entries);
    assert!(entries.len() > 50, "found {} rated entries", entries.len());
    let wrong: Vec<String> = entries
        .iter()
        .filter(|(_, source, level)| {
            let s = source.to_lowercase();
            level == "A" && WEAKER.iter().any(|w| s.contains(w))
        })
        .map(|(id, source, _)| format!("{id}: {source}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "rated A, but a part rests on a weaker source:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_catches_a_consumer_source_rated_a() {
    let doc: Value =
        "[[x]]\ncode = \"c\"\nsource = \"Consumer article (seed 000)\"\nevidence = \"A\"\n"
            .parse()
            .unwrap();
    let mut entries = vec![];
    rated(&doc, String::new(), &mut entries);
    assert_eq!(entries.len(), 1);
    assert!(WEAKER
        .iter()
        .any(|w| entries[0].1.to_lowercase().contains(w)));
}

/// Marks a part whose citation the clinical reference gives without
/// authors or title: kept so a reader can look for it, never enough alone.
const NOT_RECORDED: &str = "authors and title not recorded";

/// Whether a part of a source names what a reader can find: authors
/// ("et al.", "Goodman & Baron"), a device label or an FDA record, or a
/// trial registration.
fn citable(part: &str) -> bool {
    // One author: "Doddaballapur, J Cutan Aesthet Surg 2009".
    let sole_author = part
        .split_once(", ")
        .is_some_and(|(author, rest)| !author.contains(' ') && rest.contains(" 20"));
    !part.contains(NOT_RECORDED)
        && (sole_author
            || [
                "et al",
                " & ",
                "label",
                "FDA",
                "DEN",
                "NCT",
                "StatPearls",
                "CTCAE",
            ]
            .iter()
            .any(|m| part.contains(m)))
}

/// A journal and a year and nothing else ("J Drugs Dermatol 2024"): no
/// reader can find that paper.
fn bare_journal_year(part: &str) -> bool {
    let words: Vec<&str> = part.split_whitespace().collect();
    let Some((year, journal)) = words.split_last() else {
        return false;
    };
    year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
        && !journal.is_empty()
        && journal.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase) && w.chars().all(char::is_alphabetic)
        })
        && !part.contains(NOT_RECORDED)
}

fn parts(source: &str) -> Vec<String> {
    source
        .split(';')
        .map(|p| p.split('(').next().unwrap_or(p).trim().to_string())
        .chain(source.split(';').map(|p| p.trim().to_string()))
        .collect()
}

/// Every entry rated A names at least one source a reader can find, and
/// no source anywhere is a bare journal and year.
#[test]
fn sources_are_named_as_a_reader_would_cite_them() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../knowledge/microneedling.toml"
    ))
    .unwrap();
    let doc: Value = text.parse().unwrap();
    let mut entries = vec![];
    rated(&doc, String::new(), &mut entries);
    let mut wrong = vec![];
    for (id, source, level) in &entries {
        let raw: Vec<&str> = source.split(';').map(str::trim).collect();
        if raw.iter().any(|p| bare_journal_year(p)) {
            wrong.push(format!(
                "{id}: a journal and year without authors: {source}"
            ));
        }
        if level == "A" && !parts(source).iter().any(|p| citable(p)) {
            wrong.push(format!(
                "{id}: rated A without a source a reader can find: {source}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(bare_journal_year("J Drugs Dermatol 2024"));
    assert!(!bare_journal_year(
        "Harris et al., Int J Womens Dermatol 2015"
    ));
    assert!(!citable(
        "J Drugs Dermatol 2024 (authors and title not recorded)"
    ));
}

/// Cold-sore reactivation is its own adverse event: an acne flare or
/// milia recorded after a session is not a herpes reactivation.
#[test]
fn each_adverse_event_is_one_event() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let name = |code: &str| {
        kb.adverse_events
            .iter()
            .find(|e| e.code == code)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| panic!("no adverse event {code}"))
    };
    assert_eq!(
        name("herpes_reactivation"),
        "Cold-sore (herpes) reactivation"
    );
    assert_eq!(name("acne_flare"), "Acne flare");
    assert_eq!(name("milia"), "Milia");
}
