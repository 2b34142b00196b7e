//! The clinical knowledge base: the file shipped in the repository
//! (`knowledge/microneedling.toml`, built into the binary) or another one
//! given at start, parsed into the domain's [`KnowledgeBase`].
//!
//! A malformed file stops the start with a message that names the file, the
//! line and the field.

use needlepoint_domain::knowledge::KnowledgeBase;
use std::fmt;
use std::path::Path;

/// The shipped knowledge base's text and name.
pub const SHIPPED: &str = include_str!("../../../knowledge/microneedling.toml");
pub const SHIPPED_NAME: &str = "knowledge/microneedling.toml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbError {
    pub file: String,
    /// 1-based; 0 when the problem has no place in the file.
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for KbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: field `{}`: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

impl std::error::Error for KbError {}

/// The shipped knowledge base. It is checked by the tests, so this only
/// fails if the binary was built from a broken file.
pub fn shipped() -> Result<KnowledgeBase, KbError> {
    parse(SHIPPED, SHIPPED_NAME)
}

/// Reads and checks a knowledge-base file.
pub fn load(path: &Path) -> Result<KnowledgeBase, KbError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| KbError {
        file: name.clone(),
        line: 0,
        field: "-".into(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, &name)
}

/// Parses and checks a knowledge base's text; `name` is used in messages.
pub fn parse(text: &str, name: &str) -> Result<KnowledgeBase, KbError> {
    let de = toml::Deserializer::new(text);
    let kb: KnowledgeBase = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        KbError {
            file: name.to_string(),
            line,
            field: if path == "." || path.is_empty() {
                "-".into()
            } else {
                path
            },
            message: inner.message().trim().to_string(),
        }
    })?;
    if let Some(p) = kb.check().into_iter().next() {
        return Err(KbError {
            file: name.to_string(),
            line: locate(text, &p.entry, &p.field),
            field: format!("{}.{}", p.entry, p.field),
            message: p.message,
        });
    }
    Ok(kb)
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].lines().count().max(1)
        + usize::from(text[..byte.min(text.len())].ends_with('\n'))
}

/// The line of `field` within the entry whose code or id is `entry` (or of
/// the entry itself when the field is not written there).
fn locate(text: &str, entry: &str, field: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| {
        let l = l.trim();
        (l.starts_with("code") || l.starts_with("id")) && l.ends_with(&format!("\"{entry}\""))
    });
    let Some(start) = start else { return 0 };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with("[["))
        .map_or(lines.len(), |n| start + 1 + n);
    lines[start..end]
        .iter()
        .position(|l| l.trim_start().starts_with(field))
        .map_or(start + 1, |n| start + n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_loads_and_is_complete() {
        let kb = shipped().unwrap();
        assert_eq!(kb.areas.len(), 15);
        assert!(kb.rules.len() >= 20);
        for r in &kb.rules {
            assert!(!r.source.is_empty(), "{} has a source", r.id);
        }
        assert!(
            kb.indication("hair_removal").is_none(),
            "not an indication (seed 002 is wrong)"
        );
    }

    fn broken(from: &str, to: &str) -> KbError {
        assert!(SHIPPED.contains(from), "{from:?} is in the file");
        parse(&SHIPPED.replacen(from, to, 1), "kb.toml").unwrap_err()
    }

    #[test]
    fn a_bad_value_names_file_line_and_field() {
        let e = broken("depth = \"0.2-0.3\"", "depth = \"0.3-0.2\"");
        assert_eq!(e.file, "kb.toml");
        assert_eq!(e.field, "area[1].depth");
        assert_eq!(
            SHIPPED.lines().nth(e.line - 1).unwrap().trim(),
            "depth = \"0.2-0.3\""
        );
        assert!(e.message.contains("minimum is above the maximum"), "{e}");
    }

    #[test]
    fn a_missing_or_unknown_field_is_named() {
        let e = broken("wait = \"6 months\"", "wait = \"6 moons\"");
        assert!(e.field.ends_with(".wait"), "{e}");
        assert!(e.line > 0);
        let e = broken(
            "evidence = \"B\"\n\n[[area]]\ncode = \"periorbital\"",
            "evidance = \"B\"\n\n[[area]]\ncode = \"periorbital\"",
        );
        assert!(e.field.starts_with("area[0]"), "{e}");
        assert!(e.message.contains("evidance"), "{e}");
        assert!(e.to_string().starts_with("kb.toml:"), "{e}");
    }

    #[test]
    fn a_rule_naming_an_unknown_code_is_located() {
        let e = broken(
            "trigger = { kind = \"medication_current\", codes = [\"isotretinoin\"] }",
            "trigger = { kind = \"medication_current\", codes = [\"isotretinon\"] }",
        );
        assert_eq!(e.field, "isotretinoin_current.trigger");
        assert!(
            SHIPPED.lines().nth(e.line - 1).unwrap().contains("trigger"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = parse("version = \"1\"\n[screening\n", "x.toml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }
}

#[cfg(test)]
mod override_tests {
    use super::*;

    #[test]
    fn clinics_override_listed_values_only() {
        let mut kb = shipped().unwrap();
        let keys: Vec<String> = kb.settings().into_iter().map(|s| s.key).collect();
        assert!(keys.contains(&"contraindication.isotretinoin_stopped.wait".to_string()));
        assert!(keys.contains(&"screening.max_age_days".to_string()));
        kb.apply_override("contraindication.isotretinoin_stopped.wait", "3 months")
            .unwrap();
        assert_eq!(
            kb.rule("isotretinoin_stopped")
                .unwrap()
                .wait
                .unwrap()
                .to_string(),
            "3 months"
        );
        kb.apply_override("screening.max_age_days", "14").unwrap();
        assert_eq!(kb.screening.max_age_days, 14);
        kb.apply_override("area.cheeks.depth", "0.5-1.5").unwrap();
        assert_eq!(kb.area("cheeks").unwrap().depth.to_string(), "0.5-1.5");
        assert!(kb
            .apply_override("contraindication.isotretinoin_stopped.wait", "soon")
            .is_err());
        assert!(
            kb.apply_override("contraindication.bleeding_disorder.wait", "1 day")
                .is_err(),
            "no wait to change"
        );
        assert!(kb.apply_override("area.cheeks.depth", "1.5-0.5").is_err());
        assert!(kb.apply_override("screening.max_age_days", "0").is_err());
        assert!(kb.apply_override("version", "x").is_err());
    }

    #[test]
    fn clinics_set_their_check_in_days_and_home_care_advice() {
        let mut kb = shipped().unwrap();
        // Every listed value takes its own shown value back unchanged.
        let all = kb.settings();
        for k in [
            "checkins.days",
            "home_care.max_needle",
            "home_care.min_days_between",
            "home_care.days_clear_of_session",
        ] {
            assert!(all.iter().any(|s| s.key == k), "{k} is listed");
        }
        for s in all {
            kb.apply_override(&s.key, &s.value)
                .unwrap_or_else(|e| panic!("{}: {e}", s.key));
        }
        kb.apply_override("checkins.days", "2, 5, 10").unwrap();
        assert_eq!(kb.checkins.days, [2, 5, 10]);
        for bad in ["", "0, 3", "3, 1", "1, 1", "1, x", "1, 90"] {
            assert!(kb.apply_override("checkins.days", bad).is_err(), "{bad:?}");
        }
        kb.apply_override("home_care.max_needle", "0.25").unwrap();
        assert_eq!(kb.home_care.max_needle.micrometres(), 250);
        assert!(kb.apply_override("home_care.max_needle", "0").is_err());
        assert!(kb.apply_override("home_care.max_needle", "0.33").is_err());
        kb.apply_override("home_care.min_days_between", "3")
            .unwrap();
        kb.apply_override("home_care.days_clear_of_session", "10")
            .unwrap();
        assert_eq!(
            (
                kb.home_care.min_days_between,
                kb.home_care.days_clear_of_session
            ),
            (3, 10)
        );
        assert!(kb
            .apply_override("home_care.days_clear_of_session", "-1")
            .is_err());
        assert!(kb.check().is_empty(), "{:?}", kb.check());
    }

    #[test]
    fn clinics_set_their_appointment_lengths() {
        let mut kb = shipped().unwrap();
        let keys: Vec<String> = kb.settings().into_iter().map(|s| s.key).collect();
        for k in [
            "appointment_type.consultation.minutes",
            "appointment_type.session.numbing_minutes",
            "scheduling.buffer_minutes",
        ] {
            assert!(keys.contains(&k.to_string()), "{k} listed");
            assert!(kb.apply_override(k, "abc").is_err(), "{k}");
        }
        kb.apply_override("appointment_type.consultation.minutes", "45")
            .unwrap();
        assert_eq!(
            kb.appointment_type("consultation")
                .unwrap()
                .duration_minutes(&kb, &[]),
            45
        );
        let cheeks = ["cheeks".to_string()];
        let before = kb
            .appointment_type("session")
            .unwrap()
            .duration_minutes(&kb, &cheeks);
        kb.apply_override("appointment_type.session.numbing_minutes", "30")
            .unwrap();
        let after = kb
            .appointment_type("session")
            .unwrap()
            .duration_minutes(&kb, &cheeks);
        assert_eq!(before - after, 15, "45 minutes' numbing became 30");
        assert!(
            kb.apply_override("appointment_type.session.minutes", "20")
                .is_err(),
            "a session's length is made of parts"
        );
        assert!(kb
            .apply_override("appointment_type.consultation.minutes", "0")
            .is_err());
        assert!(kb
            .apply_override("appointment_type.massage.minutes", "30")
            .is_err());
        kb.apply_override("scheduling.buffer_minutes", "0").unwrap();
        assert_eq!(kb.scheduling.buffer_minutes, 0);
    }
}

#[cfg(test)]
mod pretreatment_tests {
    use super::*;

    #[test]
    fn a_pretreatment_naming_an_unknown_code_is_located() {
        let text = SHIPPED.replacen(
            "codes = [\"topical_retinoid\"] }",
            "codes = [\"retinol\"] }",
            1,
        );
        let e = parse(&text, "kb.toml").unwrap_err();
        assert_eq!(e.field, "pretreatment[2].when", "{e}");
    }
}

#[cfg(test)]
mod appointment_tests {
    use super::*;

    #[test]
    fn a_session_lasts_numbing_plus_needling_by_area_plus_cleanup() {
        let kb = shipped().unwrap();
        let session = kb.appointment_type("session").unwrap();
        let areas = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            session.duration_minutes(&kb, &areas(&["cheeks"])),
            45 + 10 + 10
        );
        assert_eq!(
            session.duration_minutes(&kb, &areas(&["nose"])),
            45 + 10 + 10,
            "at least 10 minutes' needling"
        );
        assert_eq!(
            session.duration_minutes(&kb, &areas(&["abdomen", "thighs", "back"])),
            45 + 30 + 10,
            "at most 30"
        );
        assert_eq!(
            kb.appointment_type("consultation")
                .unwrap()
                .duration_minutes(&kb, &[]),
            30
        );
    }
}
