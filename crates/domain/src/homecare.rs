//! Home rolling between clinic sessions: what a patient logs, checked
//! against the knowledge base's home-care rules. The rules are defaults
//! from consumer pages, not evidence (clinical reference §10, rated U):
//! each clinic may change them, and the words say "we advise", never
//! "studies show". A warning never stops the log: the patient may have
//! rolled already, and the clinic needs to know.

use crate::depth::Depth;
use crate::knowledge::KnowledgeBase;
use crate::validation::Invalid;
use jiff::civil::Date;

/// One home-rolling session as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeUse {
    pub on: Date,
    /// The area rolled (a knowledge-base area code).
    pub area: String,
    pub needle: Depth,
    /// The patient says the skin was red, sore, broken or spotty there.
    pub inflamed: bool,
}

/// What is typed, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct HomeUseInput<'a> {
    pub on: &'a str,
    pub area: &'a str,
    pub needle_mm: &'a str,
    pub inflamed: bool,
}

impl HomeUseInput<'_> {
    /// A date up to `today` (not in the future, not before `earliest`), a
    /// known area and a needle length, each refused where typed.
    pub fn parse(
        &self,
        kb: &KnowledgeBase,
        today: Date,
        earliest: Date,
    ) -> Result<HomeUse, Invalid> {
        let mut inv = Invalid::default();
        let on = match self.on.trim().parse::<Date>() {
            Ok(d) if d > today => {
                inv.push("on", "That day has not come yet.");
                None
            }
            Ok(d) if d < earliest => {
                inv.push("on", "Log home rolling from the last few months only.");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                inv.push("on", "Choose the day.");
                None
            }
        };
        if kb.area(self.area).is_none() {
            inv.push("area", "Choose the area rolled.");
        }
        let needle = match Depth::parse_mm("needle_mm", self.needle_mm) {
            Ok(d) if d.micrometres() == 0 => {
                inv.push(
                    "needle_mm",
                    "Write the needle length printed on the roller.",
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                inv.push("needle_mm", e.message);
                None
            }
        };
        inv.into_result()?;
        Ok(HomeUse {
            on: on.expect("checked"),
            area: self.area.to_string(),
            needle: needle.expect("checked"),
            inflamed: self.inflamed,
        })
    }
}

/// Why a home-rolling session goes against the clinic's advice, in the
/// patient's words; empty when it does not.
pub fn warnings(
    kb: &KnowledgeBase,
    new: &HomeUse,
    earlier: &[HomeUse],
    sessions: &[Date],
) -> Vec<String> {
    let rules = &kb.home_care;
    let mut out = vec![];
    if new.needle > rules.max_needle {
        out.push(format!(
            "Needles longer than {} are for the clinic only: we advise a home roller of {} at most.",
            rules.max_needle, rules.max_needle
        ));
    }
    if new.inflamed {
        out.push(
            "Never roll on red, sore, broken or spotty skin: wait until it has settled.".into(),
        );
    }
    let too_soon = earlier
        .iter()
        .filter(|u| u.area == new.area)
        .map(|u| days_apart(new.on, u.on))
        .filter(|d| *d < rules.min_days_between)
        .min();
    if let Some(d) = too_soon {
        out.push(format!(
            "{} after rolling the same area: we advise at least {} days between home rollings.",
            days(d),
            rules.min_days_between
        ));
    }
    if let Some(s) = sessions
        .iter()
        .filter(|s| days_apart(new.on, **s) < rules.days_clear_of_session)
        .min_by_key(|s| days_apart(new.on, **s))
    {
        out.push(format!(
            "Too close to your clinic session on {}: we advise no home rolling for {} days before or after one.",
            crate::dates::long_date(*s),
            rules.days_clear_of_session
        ));
    }
    out
}

/// For booking a clinic session on `day`: the home rolling logged too
/// close to it, in staff's words; `None` when there is none.
pub fn booking_warning(kb: &KnowledgeBase, day: Date, uses: &[HomeUse]) -> Option<String> {
    let rules = &kb.home_care;
    let near = uses
        .iter()
        .filter(|u| days_apart(day, u.on) < rules.days_clear_of_session)
        .max_by_key(|u| u.on)?;
    Some(format!(
        "The patient logged home rolling on {} ({}, {}): the clinic advises none within {} days of a session.",
        crate::dates::long_date(near.on),
        kb.area(&near.area).map_or(near.area.as_str(), |a| a.name.as_str()),
        near.needle,
        rules.days_clear_of_session
    ))
}

/// Whole days between two dates, either way round.
fn days_apart(a: Date, b: Date) -> u32 {
    a.since(b).map_or(u32::MAX, |s| s.get_days().unsigned_abs())
}

fn days(n: u32) -> String {
    match n {
        0 => "The same day".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}
