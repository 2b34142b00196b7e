//! Finding a patient as staff type: names with or without accents and in
//! any order of words, phone numbers with or without spaces and country
//! code, birth dates as people write them. The same folding makes what is
//! stored beside each patient and what is searched for, so both databases
//! find the same patients.

use crate::PatientDetails;
use jiff::civil::Date;
use unicode_normalization::UnicodeNormalization;

/// Shorter words cannot use the trigram index (SQLite FTS5's `trigram`
/// tokenizer, PostgreSQL's `pg_trgm`); they only narrow what longer words
/// found, or are looked for row by row when they are all there is.
pub const INDEXED_WORD_CHARS: usize = 3;
/// More words than this add nothing but work.
pub const MAX_WORDS: usize = 6;

/// Lower case without accents: "Zoë Ångström-Núñez" → "zoe angstrom-nunez".
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue; // a combining accent, split off by NFD
        }
        match c {
            'ß' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'đ' | 'Đ' => out.push('d'),
            'ł' | 'Ł' => out.push('l'),
            'þ' | 'Þ' => out.push_str("th"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// What is stored beside a patient for search and order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKeys {
    /// Every form a search may match: names, e-mail, phone digits (also
    /// without the country code), birth date written three ways.
    pub text: String,
    /// The list's order: family name, then given name, folded.
    pub sort: String,
    /// The folded family name, for "exact family-name matches first".
    pub family: String,
}

/// The search keys of a patient.
pub fn keys(p: &PatientDetails) -> SearchKeys {
    let family = fold(p.family_name.trim());
    let given = fold(p.given_name.trim());
    let d = p.date_of_birth;
    let mut text = vec![
        family.clone(),
        given.clone(),
        d.to_string(),
        format!("{:02}/{:02}/{}", d.day(), d.month(), d.year()),
        format!("{:02}/{:02}/{}", d.month(), d.day(), d.year()),
    ];
    if let Some(e) = &p.email {
        text.push(e.as_str().to_string());
    }
    if let Some(phone) = &p.phone {
        text.extend(phone_forms(phone));
    }
    SearchKeys {
        text: text.join(" "),
        sort: format!("{family}\u{1f}{given}"),
        family,
    }
}

/// A phone number's digits, and for an international number ("+44 …") the
/// national forms a person may type instead ("07…"): the country code is
/// one to three digits, so each is tried.
fn phone_forms(phone: &str) -> Vec<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return vec![];
    }
    let mut forms = vec![digits.clone()];
    if phone.trim_start().starts_with('+') {
        for cc in 1..=3 {
            if let Some(rest) = digits.get(cc..).filter(|r| r.len() >= 6) {
                forms.push(format!("0{rest}"));
            }
        }
    }
    forms
}

/// The words of a search as the stored text holds them; empty for an
/// empty search.
pub fn words(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .take(MAX_WORDS)
        .map(word)
        .filter(|w| !w.is_empty())
        .collect()
}

/// The birth dates a whole date in a search means: `1997-03-13`, or
/// `13/03/1997` day first and, where it reads as one, month first
/// (`03/06/1982` is 3 June or 6 March; `13/03/1997` only 13 March). `None`
/// for any other word, which is matched as text; an impossible date
/// (`31/02/1997`) means no date at all. Takes a word as [`words`] gives it.
pub fn dates(word: &str) -> Option<Vec<Date>> {
    let number = |p: &str, max: usize| {
        (!p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<i16>().ok())
            .flatten()
    };
    let parts: Vec<&str> = word.split(['/', '-']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let valid = |y: i16, m: i16, d: i16| Date::new(y, m as i8, d as i8).ok();
    let mut out = vec![];
    if word.contains('-') && !word.contains('/') {
        // ISO: year first.
        let (y, m, d) = (number(a, 4)?, number(b, 2)?, number(c, 2)?);
        if a.len() != 4 {
            return None;
        }
        out.extend(valid(y, m, d));
    } else if !word.contains('-') {
        let (d, m, y) = (number(a, 2)?, number(b, 2)?, number(c, 4)?);
        if c.len() != 4 {
            return None;
        }
        out.extend(valid(y, m, d));
        out.extend(valid(y, d, m).filter(|us| !out.contains(us)));
    } else {
        return None;
    }
    Some(out)
}

fn word(w: &str) -> String {
    let w = fold(w);
    // A birth date typed with dots or dashes, day first: as stored, with
    // slashes. An ISO date (1997-03-13) is stored as typed.
    let parts: Vec<&str> = w.split(['.', '-']).collect();
    if parts.len() == 3
        && parts[0].len() <= 2
        && parts[2].len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return format!("{:0>2}/{:0>2}/{}", parts[0], parts[1], parts[2]);
    }
    // An ISO date or its start (1997-03), as stored.
    let b = w.as_bytes();
    let iso = b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    let phone_like = w.chars().any(|c| c.is_ascii_digit())
        && w.chars().all(|c| c.is_ascii_digit() || "+-().".contains(c));
    if phone_like && !iso {
        return w.chars().filter(char::is_ascii_digit).collect();
    }
    w
}

/// Where a page of a patient list ends, to start the next one after it:
/// lists are paged by key, never by counting rows to skip. Its text form is
/// opaque to whoever holds it (a link, an API client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// 0 for an exact family-name match (listed first), 1 for the rest in
    /// list order, 2 for the rest in the order registered (when more than
    /// 1,000 match).
    pub rank: i64,
    pub sort_key: String,
    pub id: i64,
}

impl Cursor {
    /// `rank.id.hex(sort_key)`; refused with a message at `field` when it
    /// is not one this module made.
    pub fn parse(field: &str, s: &str) -> Result<Cursor, crate::FieldError> {
        let bad = || {
            crate::FieldError::new(
                field,
                "Not a place in this list: use the `next` value of the page before.",
            )
        };
        let mut parts = s.trim().splitn(3, '.');
        let (Some(rank), Some(id), Some(hex)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let rank = rank
            .parse::<i64>()
            .ok()
            .filter(|r| (0..=2).contains(r))
            .ok_or_else(bad)?;
        let id = id.parse::<i64>().map_err(|_| bad())?;
        if hex.len() % 2 != 0 || hex.len() > 2_000 {
            return Err(bad());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("x"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        let sort_key = String::from_utf8(bytes).map_err(|_| bad())?;
        Ok(Cursor { rank, sort_key, id })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.", self.rank, self.id)?;
        for b in self.sort_key.bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Email, Sex};

    fn patient(given: &str, family: &str, phone: Option<&str>) -> PatientDetails {
        PatientDetails {
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: jiff::civil::date(1997, 3, 13),
            sex: Sex::Female,
            email: Some(Email::parse("e", "zoe@example.com").unwrap()),
            phone: phone.map(str::to_string),
            address: None,
            notes: None,
        }
    }

    /// Every word of a search is a substring of the stored text.
    fn finds(p: &PatientDetails, query: &str) -> bool {
        let k = keys(p);
        words(query).iter().all(|w| k.text.contains(w.as_str()))
    }

    #[test]
    fn accents_case_and_order_do_not_matter() {
        let p = patient("Zoë", "Ångström-Núñez", None);
        assert_eq!(fold("Zoë Ångström-Núñez"), "zoe angstrom-nunez");
        for q in ["zoe", "ZOË", "nunez zoe", "Ångström", "angs", "zoe@example"] {
            assert!(finds(&p, q), "{q:?}");
        }
        assert!(!finds(&p, "zoe smith"));
        assert_eq!(fold("Straße Øre Łódź"), "strasse ore lodz");
        let k = keys(&p);
        assert_eq!(k.family, "angstrom-nunez");
        assert!(k.sort.starts_with("angstrom-nunez"));
    }

    #[test]
    fn phones_match_with_or_without_spaces_and_country_code() {
        let p = patient("A", "B", Some("+44 7700 900123"));
        for q in [
            "+44 7700 900123",
            "+447700900123",
            "07700 900123",
            "07700900123",
            "900123",
            "(07700) 900-123",
        ] {
            assert!(finds(&p, q), "{q:?}");
        }
        assert!(!finds(&p, "07700 900124"));
        let national = patient("A", "B", Some("07700 900123"));
        assert!(finds(&national, "07700900123") && finds(&national, "7700 900"));
    }

    #[test]
    fn birth_dates_match_as_people_type_them() {
        let p = patient("A", "B", None);
        for q in [
            "1997-03-13",
            "13/03/1997",
            "13.03.1997",
            "13-03-1997",
            "03/13/1997",
            "1997",
        ] {
            assert!(finds(&p, q), "{q:?}");
        }
        assert!(!finds(&p, "14/03/1997"));
        assert_eq!(words("13.3.1997"), vec!["13/03/1997"]);
        assert_eq!(
            words("1997-03"),
            vec!["1997-03"],
            "the start of an ISO date"
        );
    }

    #[test]
    fn whole_dates_are_birth_dates() {
        let d = jiff::civil::date;
        assert_eq!(dates("1997-03-13"), Some(vec![d(1997, 3, 13)]));
        assert_eq!(dates("13/03/1997"), Some(vec![d(1997, 3, 13)]));
        assert_eq!(
            dates("03/06/1982"),
            Some(vec![d(1982, 6, 3), d(1982, 3, 6)]),
            "day first, then month first"
        );
        assert_eq!(dates("3/6/1982"), Some(vec![d(1982, 6, 3), d(1982, 3, 6)]));
        assert_eq!(dates("05/05/1990"), Some(vec![d(1990, 5, 5)]), "once");
        assert_eq!(dates("31/02/1997"), Some(vec![]), "no such day");
        for not_a_date in [
            "1997-03", "1997", "13/03", "smith", "1/2/3", "13/03/97", "97-03-13",
        ] {
            assert_eq!(dates(not_a_date), None, "{not_a_date:?}");
        }
        assert_eq!(dates(&words("13.3.1997")[0]), Some(vec![d(1997, 3, 13)]));
    }

    #[test]
    fn any_text_is_a_search() {
        // Found by the API fuzzer: a digit then characters of four bytes.
        for q in ["7\u{10de6c}\u{1db31}", "1234\u{e9}", "\u{0}", "--", "+"] {
            let _ = words(q);
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let c = Cursor {
            rank: 1,
            sort_key: "angstrom\u{1f}zoe".into(),
            id: 42,
        };
        assert_eq!(Cursor::parse("after", &c.to_string()).unwrap(), c);
        // The rest in the order registered, when more than 1,000 match.
        let registered = Cursor { rank: 2, ..c };
        assert_eq!(
            Cursor::parse("after", &registered.to_string()).unwrap(),
            registered
        );
        for bad in [
            "",
            "1",
            "1.2",
            "3.1.61",
            "1.x.61",
            "1.1.6",
            "1.1.zz",
            "1.1.ff",
            "0.1.\u{e9}",
        ] {
            let e = Cursor::parse("after", bad).unwrap_err();
            assert_eq!(e.field, "after", "{bad:?}");
        }
    }

    #[test]
    fn searches_are_bounded() {
        assert!(words("   ").is_empty());
        assert_eq!(words("a b c d e f g h").len(), MAX_WORDS);
    }
}
