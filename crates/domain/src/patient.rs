//! A patient's identity and contact details, as reception records them.

use crate::account::Email;
use crate::validation::{optional_text, required_line, FieldError, Invalid};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Administrative sex, with FHIR's codes so the record maps one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Sex {
    pub const ALL: [Sex; 4] = [Sex::Female, Sex::Male, Sex::Other, Sex::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sex::Female => "Female",
            Sex::Male => "Male",
            Sex::Other => "Other",
            Sex::Unknown => "Not stated",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Sex, FieldError> {
        Sex::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| FieldError::new(field, "Choose female, male, other or unknown."))
    }
}

/// What a form or an API call sends: every field as text, checked by
/// [`PatientInput::validate`]. Unknown fields are refused by the API layer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatientInput {
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub sex: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub notes: String,
}

/// A patient's checked details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientDetails {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Date,
    pub sex: Sex,
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
}

/// The oldest age we accept without calling it a typing error.
const MAX_AGE_YEARS: i16 = 130;

impl PatientInput {
    /// Checks every field, collecting all errors; `today` bounds the birth date.
    pub fn validate(&self, today: Date) -> Result<PatientDetails, Invalid> {
        let mut inv = Invalid::default();
        let given_name = inv.check(required_line("given_name", &self.given_name, 100));
        let family_name = inv.check(required_line("family_name", &self.family_name, 100));
        let date_of_birth = inv.check(parse_birth_date(
            "date_of_birth",
            &self.date_of_birth,
            today,
        ));
        let sex = if self.sex.trim().is_empty() {
            Some(Sex::Unknown)
        } else {
            inv.check(Sex::parse("sex", &self.sex))
        };
        let email = if self.email.trim().is_empty() {
            Some(None)
        } else {
            inv.check(Email::parse("email", &self.email).map(Some))
        };
        let phone = inv.check(parse_phone("phone", &self.phone));
        let address = inv.check(optional_text("address", &self.address, 300));
        let notes = inv.check(optional_text("notes", &self.notes, 2000));
        inv.into_result()?;
        Ok(PatientDetails {
            given_name: given_name.unwrap(),
            family_name: family_name.unwrap(),
            date_of_birth: date_of_birth.unwrap(),
            sex: sex.unwrap(),
            email: email.unwrap(),
            phone: phone.unwrap(),
            address: address.unwrap(),
            notes: notes.unwrap(),
        })
    }
}

impl From<&PatientDetails> for PatientInput {
    fn from(p: &PatientDetails) -> Self {
        PatientInput {
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            date_of_birth: p.date_of_birth.to_string(),
            sex: p.sex.as_str().into(),
            email: p.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            phone: p.phone.clone().unwrap_or_default(),
            address: p.address.clone().unwrap_or_default(),
            notes: p.notes.clone().unwrap_or_default(),
        }
    }
}

impl PatientDetails {
    /// Whole years of age on `on`.
    pub fn age_on(&self, on: Date) -> i16 {
        age_on(self.date_of_birth, on)
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// Whole years between a birth date and `on`; a 29 February birthday counts
/// on 1 March in common years, as most jurisdictions count it.
pub fn age_on(born: Date, on: Date) -> i16 {
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years
}

pub fn parse_date(field: &str, s: &str) -> Result<Date, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "This field is required."));
    }
    if s.len() != 10 {
        return Err(FieldError::new(field, "Enter a date as YYYY-MM-DD."));
    }
    s.parse::<Date>()
        .map_err(|_| FieldError::new(field, "Not a real date: enter it as YYYY-MM-DD."))
}

fn parse_birth_date(field: &str, s: &str, today: Date) -> Result<Date, FieldError> {
    let d = parse_date(field, s)?;
    if d > today {
        return Err(FieldError::new(
            field,
            "Date of birth cannot be in the future.",
        ));
    }
    if age_on(d, today) > MAX_AGE_YEARS {
        return Err(FieldError::new(
            field,
            "Date of birth is more than 130 years ago.",
        ));
    }
    Ok(d)
}

/// Phone numbers vary too much to check strictly; we keep what was typed if it
/// looks like a number: digits, spaces, + ( ) - . and at least 6 digits.
fn parse_phone(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    if s.len() > 30
        || digits < 6
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
    {
        return Err(FieldError::new(
            field,
            "Enter a phone number, like +44 20 7946 0000.",
        ));
    }
    Ok(Some(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn input() -> PatientInput {
        PatientInput {
            given_name: "Amara".into(),
            family_name: "Okafor".into(),
            date_of_birth: "1990-02-28".into(),
            sex: "female".into(),
            email: "amara@example.com".into(),
            phone: "+44 7700 900123".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_input_gives_details() {
        let p = input().validate(date(2026, 11, 22)).unwrap();
        assert_eq!(p.full_name(), "Amara Okafor");
        assert_eq!(p.age_on(date(2026, 11, 22)), 36);
        assert_eq!(p.email.unwrap().as_str(), "amara@example.com");
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = PatientInput {
            given_name: " ".into(),
            date_of_birth: "2030-01-01".into(),
            sex: "x".into(),
            email: "nope".into(),
            phone: "call me".into(),
            ..Default::default()
        };
        let inv = bad.validate(date(2026, 11, 22)).unwrap_err();
        for f in [
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "email",
            "phone",
        ] {
            assert!(inv.message_for(f).is_some(), "{f} should be named: {inv}");
        }
        assert_eq!(
            inv.message_for("date_of_birth"),
            Some("Date of birth cannot be in the future.")
        );
    }

    #[test]
    fn birth_date_edges() {
        let today = date(2026, 11, 22);
        let mut i = input();
        i.date_of_birth = "2026-11-22".into();
        assert!(i.validate(today).is_ok(), "born today is allowed");
        i.date_of_birth = "2026-11-23".into();
        assert!(i.validate(today).is_err());
        i.date_of_birth = "2026-02-30".into();
        assert!(i.validate(today).is_err());
        i.date_of_birth = "1890-01-01".into();
        assert!(i.validate(today).is_err());
    }

    #[test]
    fn age_counts_birthdays_exactly() {
        assert_eq!(age_on(date(2004, 2, 29), date(2026, 2, 28)), 21);
        assert_eq!(age_on(date(2004, 2, 29), date(2026, 3, 1)), 22);
        assert_eq!(age_on(date(2000, 11, 22), date(2026, 11, 22)), 26);
        assert_eq!(age_on(date(2000, 11, 23), date(2026, 11, 22)), 25);
    }
}
