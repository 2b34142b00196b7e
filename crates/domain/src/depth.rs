//! Needle depth, the one number that most decides safety.

use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A needle depth in micrometres, always a whole number of 0.05 mm steps and
/// never negative. Pens adjust in 0.05–0.25 mm steps, so a finer value is a
/// typing error rather than a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Depth(u32);

impl Depth {
    pub const STEP_UM: u32 = 50;
    /// No pen or roller in the knowledge base reaches past 3 mm; a larger
    /// number is a unit mistake (µm typed as mm).
    pub const MAX_UM: u32 = 3_000;

    pub fn from_micrometres(um: u32) -> Result<Depth, String> {
        if !um.is_multiple_of(Self::STEP_UM) {
            return Err("Depth must be in steps of 0.05 mm.".into());
        }
        if um > Self::MAX_UM {
            return Err("Depth above 3.0 mm is not a needling depth.".into());
        }
        Ok(Depth(um))
    }

    /// Parses millimetres as people write them: "1", "1.5", "0.25", "1,5".
    pub fn parse_mm(field: &str, s: &str) -> Result<Depth, FieldError> {
        let t = s.trim().replace(',', ".");
        let err = |m: &str| FieldError::new(field, m);
        if t.is_empty() {
            return Err(err("This field is required."));
        }
        if t.starts_with('-') {
            return Err(err("Depth cannot be negative."));
        }
        let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || whole.len() > 2
        {
            return Err(err("Enter a depth in millimetres, like 0.5 or 1.25."));
        }
        if frac.len() > 3 && frac[3..].chars().any(|c| c != '0') {
            return Err(err("Depth must be in steps of 0.05 mm."));
        }
        let whole: u32 = if whole.is_empty() {
            0
        } else {
            whole.parse().unwrap_or(0)
        };
        let mut frac_um = 0u32;
        for (i, c) in frac.chars().take(3).enumerate() {
            frac_um += (c as u32 - '0' as u32) * [100, 10, 1][i];
        }
        Depth::from_micrometres(whole * 1000 + frac_um).map_err(|m| err(&m))
    }

    pub fn micrometres(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Depth {
    type Error = String;
    fn try_from(um: u32) -> Result<Self, String> {
        Depth::from_micrometres(um)
    }
}

impl From<Depth> for u32 {
    fn from(d: Depth) -> u32 {
        d.0
    }
}

impl fmt::Display for Depth {
    /// Millimetres with two decimals, the way pens are labelled: "1.25 mm".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02} mm", self.0 / 1000, (self.0 % 1000) / 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_millimetres_exactly() {
        for (s, um) in [
            ("1", 1000),
            ("1.5", 1500),
            ("0.25", 250),
            ("1,75", 1750),
            (".5", 500),
            ("2.500", 2500),
            ("0", 0),
        ] {
            assert_eq!(Depth::parse_mm("d", s).unwrap().micrometres(), um, "{s}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_depth() {
        for s in [
            "-1", "abc", "", "1.23", "3.05", "1.2.3", "1e3", "0.0001", ".",
        ] {
            assert!(Depth::parse_mm("d", s).is_err(), "{s:?} should be refused");
        }
    }

    #[test]
    fn displays_like_a_pen_label() {
        assert_eq!(
            Depth::from_micrometres(1250).unwrap().to_string(),
            "1.25 mm"
        );
        assert_eq!(Depth::from_micrometres(500).unwrap().to_string(), "0.50 mm");
    }
}
