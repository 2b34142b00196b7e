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
