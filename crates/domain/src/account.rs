//! Staff accounts: roles, e-mail addresses and the password policy.

use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a staff member may do. Every route names the roles it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the organisation: settings, staff, every clinic.
    Owner,
    /// Treats patients: the clinical record.
    Clinician,
    /// Reception: patients' details, bookings, payments; no clinical notes.
    FrontDesk,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Clinician, Role::FrontDesk];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Clinician => "clinician",
            Role::FrontDesk => "front_desk",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Clinician => "Clinician",
            Role::FrontDesk => "Front desk",
        }
    }

    /// Accepts the stored form and the forms people type (`front-desk`).
    pub fn parse(s: &str) -> Result<Role, FieldError> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "owner" => Ok(Role::Owner),
            "clinician" => Ok(Role::Clinician),
            "front_desk" | "frontdesk" => Ok(Role::FrontDesk),
            _ => Err(FieldError::new(
                "role",
                "Unknown role: choose owner, clinician or front_desk.",
            )),
        }
    }

    /// Whether a holder of `self` may hand out a token or account with `other`:
    /// nobody can grant more than they have.
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Clinician => other != Role::Owner,
            Role::FrontDesk => other == Role::FrontDesk,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lower-cased e-mail address with one `@` and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, s: &str) -> Result<Email, FieldError> {
        let s = s.trim().to_lowercase();
        let bad = || FieldError::new(field, "Enter an e-mail address like name@example.com.");
        if s.is_empty() {
            return Err(FieldError::new(field, "This field is required."));
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the policy. Its text never reaches a log.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// NIST SP 800-63B: length matters more than composition rules.
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &str, s: &str) -> Result<Password, FieldError> {
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                format!("Use at least {} characters.", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("Use at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(Password(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A clinic's sign-in rules for its staff. Someone who works at several
/// clinics is held to the strictest: the shortest idle time, and two-factor
/// sign-in when any of them asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SignInPolicy {
    /// A session unused this long ends, well before its absolute end.
    pub idle_minutes: u32,
    /// Everyone at the clinic signs in with a second factor, not only owners.
    pub require_two_factor: bool,
}

impl SignInPolicy {
    /// OWASP's Session Management Cheat Sheet puts idle timeouts at 15–30
    /// minutes for most applications; a treatment room needs the longer end.
    pub const DEFAULT_IDLE_MINUTES: u32 = 30;
    /// Short enough to be an idle timeout, no longer than a session's 12 hours.
    pub const IDLE_MINUTES: std::ops::RangeInclusive<u32> = 5..=720;

    /// From the settings form: the minutes as typed, and the box ticked or not.
    pub fn parse(idle_minutes: &str, require_two_factor: bool) -> Result<Self, crate::Invalid> {
        let (lo, hi) = (*Self::IDLE_MINUTES.start(), *Self::IDLE_MINUTES.end());
        match idle_minutes.trim().parse::<u32>() {
            Ok(m) if Self::IDLE_MINUTES.contains(&m) => Ok(SignInPolicy {
                idle_minutes: m,
                require_two_factor,
            }),
            _ => Err(crate::Invalid::one(
                "idle_minutes",
                format!("Enter whole minutes from {lo} to {hi} (12 hours)."),
            )),
        }
    }

    /// Whether this person must sign in with a second factor: owners
    /// always (they hold every clinic's records and settings), everyone
    /// else when a clinic they work at asks for it.
    pub fn two_factor_required(role: Role, a_clinic_requires: bool) -> bool {
        role == Role::Owner || a_clinic_requires
    }
}

impl Default for SignInPolicy {
    fn default() -> Self {
        SignInPolicy {
            idle_minutes: Self::DEFAULT_IDLE_MINUTES,
            require_two_factor: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_parse_typed_forms() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(Role::parse("Front-Desk").unwrap(), Role::FrontDesk);
        assert!(Role::parse("admin").is_err());
    }

    #[test]
    fn nobody_grants_more_than_they_have() {
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(Role::Clinician.may_grant(Role::FrontDesk));
        assert!(!Role::Clinician.may_grant(Role::Owner));
        assert!(!Role::FrontDesk.may_grant(Role::Clinician));
    }

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("e", " Ann@Clinic.Example ").unwrap().as_str(),
            "ann@clinic.example"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            "a@.com",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn sign_in_policy_takes_minutes_in_range() {
        assert_eq!(
            SignInPolicy::parse(" 45 ", true).unwrap(),
            SignInPolicy {
                idle_minutes: 45,
                require_two_factor: true
            }
        );
        for bad in ["", "4", "721", "-5", "30.5", "half an hour"] {
            let e = SignInPolicy::parse(bad, false).unwrap_err();
            assert!(
                e.errors.iter().any(|f| f.field == "idle_minutes"),
                "{bad:?} refused at its field"
            );
        }
        assert!(SignInPolicy::two_factor_required(Role::Owner, false));
        assert!(!SignInPolicy::two_factor_required(Role::Clinician, false));
        assert!(SignInPolicy::two_factor_required(Role::FrontDesk, true));
    }

    #[test]
    fn password_policy_is_length() {
        assert!(Password::parse("p", "short").is_err());
        assert!(Password::parse("p", "long enough pass").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("p", "secret-secret").unwrap()),
            "Password(***)"
        );
    }
}
