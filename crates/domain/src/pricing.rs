//! Quotes from a clinic's price list, in integer minor units. Percentages
//! are basis points (1 % = 100). Every rounding is half up, once, at the
//! place the rule says, so a quote can be checked by hand.

use crate::validation::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceList {
    pub currency: String,
    /// e.g. 2000 for 20 % VAT.
    pub tax_rate_bp: u32,
    /// Prices include the tax (UK VAT) rather than having it added (US sales tax).
    pub tax_included: bool,
    /// Price of one area for one session.
    pub areas: Vec<(String, i64)>,
    pub bundles: Vec<Bundle>,
    pub packages: Vec<Package>,
    pub addons: Vec<Addon>,
}

/// Several areas together for one session, e.g. full face.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub code: String,
    pub name: String,
    pub areas: Vec<String>,
    pub price_minor: i64,
}

/// A course of at least `sessions` sessions at a discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub code: String,
    pub name: String,
    pub sessions: u32,
    pub discount_bp: u32,
}

/// Something added to each session, e.g. a serum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addon {
    pub code: String,
    pub name: String,
    pub price_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    pub label: String,
    pub amount_minor: i64,
}

/// The price of one track of a plan: its areas' sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackQuote {
    pub areas: Vec<String>,
    /// What one session of this track is made of.
    pub session_lines: Vec<QuoteLine>,
    pub per_session: i64,
    pub sessions: u32,
    /// per_session × sessions.
    pub course: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub currency: String,
    /// One per track of the plan, in its order.
    pub tracks: Vec<TrackQuote>,
    /// The tracks' courses together.
    pub course: i64,
    pub package: Option<QuoteLine>,
    /// What is paid for the course, before tax is added (or with it, when included).
    pub net: i64,
    pub tax_rate_bp: u32,
    pub tax_included: bool,
    pub tax: i64,
    pub total: i64,
}

/// `a × b / d` rounded half up, without overflow, for non-negative inputs.
pub fn mul_div_round(a: i64, b: i64, d: i64) -> i64 {
    let (a, b, d) = (i128::from(a), i128::from(b), i128::from(d));
    ((a * b + d / 2) / d) as i64
}

impl PriceList {
    /// Checks the list itself: no negative price, discounts and tax in range.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut inv = Invalid::default();
        for (a, p) in &self.areas {
            if *p < 0 {
                inv.push(format!("areas.{a}"), "A price cannot be negative.");
            }
        }
        for b in &self.bundles {
            if b.price_minor < 0 {
                inv.push(format!("bundles.{}", b.code), "A price cannot be negative.");
            }
            if b.areas.len() < 2 {
                inv.push(
                    format!("bundles.{}", b.code),
                    "A bundle groups two or more areas.",
                );
            }
        }
        for p in &self.packages {
            if p.discount_bp > 10_000 {
                inv.push(
                    format!("packages.{}", p.code),
                    "A discount is at most 100 %.",
                );
            }
            if p.sessions < 2 {
                inv.push(
                    format!("packages.{}", p.code),
                    "A package has two or more sessions.",
                );
            }
        }
        for a in &self.addons {
            if a.price_minor < 0 {
                inv.push(format!("addons.{}", a.code), "A price cannot be negative.");
            }
        }
        if self.tax_rate_bp > 10_000 {
            inv.push("tax_rate", "A tax rate is at most 100 %.");
        }
        inv.into_result()
    }

    /// Prices a plan: each track's areas for its sessions, with the add-ons
    /// each session (of every track: each is a needling of its own areas).
    pub fn quote(
        &self,
        tracks: &[(Vec<String>, u32)],
        addons: &[String],
    ) -> Result<Quote, Invalid> {
        self.validate()?;
        let mut inv = Invalid::default();
        let mut priced = vec![];
        for (areas, sessions) in tracks {
            if *sessions == 0 {
                inv.push("sessions", "A course has at least one session.");
            }
            let lines = self.session_lines(areas, addons, &mut inv);
            let per_session: i64 = lines.iter().map(|l| l.amount_minor).sum();
            priced.push(TrackQuote {
                areas: areas.clone(),
                session_lines: lines,
                per_session,
                sessions: *sessions,
                course: per_session * i64::from(*sessions),
            });
        }
        if priced.is_empty() {
            inv.push("sessions", "A course has at least one session.");
        }
        inv.into_result()?;
        let course: i64 = priced.iter().map(|t| t.course).sum();
        // A package is a course of so many sessions: a plan qualifies by
        // its longest track, and the discount applies to the whole course.
        let longest = priced.iter().map(|t| t.sessions).max().unwrap_or(0);
        let package = self
            .packages
            .iter()
            .filter(|p| p.sessions <= longest)
            .map(|p| QuoteLine {
                // The package's terms beside its name: a "Course of 3" on a
                // course of five reads as the rule it is.
                label: format!("{} (a course of {} or more sessions)", p.name, p.sessions),
                amount_minor: -mul_div_round(course, i64::from(p.discount_bp), 10_000),
            })
            .min_by_key(|l| l.amount_minor);
        let net = course + package.as_ref().map_or(0, |l| l.amount_minor);
        let rate = i64::from(self.tax_rate_bp);
        let (tax, total) = if self.tax_included {
            (mul_div_round(net, rate, 10_000 + rate), net)
        } else {
            let tax = mul_div_round(net, rate, 10_000);
            (tax, net + tax)
        };
        Ok(Quote {
            currency: self.currency.clone(),
            tracks: priced,
            course,
            package,
            net,
            tax_rate_bp: self.tax_rate_bp,
            tax_included: self.tax_included,
            tax,
            total,
        })
    }

    /// What one session of `areas` costs, line by line: bundles first, the
    /// one saving most first, while all its areas remain; then single areas
    /// and the add-ons. A missing price is pushed to `inv`.
    fn session_lines(
        &self,
        areas: &[String],
        addons: &[String],
        inv: &mut Invalid,
    ) -> Vec<QuoteLine> {
        let mut lines = vec![];
        let mut left: Vec<&String> = areas.iter().collect();
        let mut bundles: Vec<&Bundle> = self.bundles.iter().collect();
        let separately = |b: &Bundle| -> i64 {
            b.areas
                .iter()
                .map(|a| {
                    self.areas
                        .iter()
                        .find(|(x, _)| x == a)
                        .map_or(0, |(_, p)| *p)
                })
                .sum()
        };
        bundles.sort_by_key(|b| std::cmp::Reverse(separately(b) - b.price_minor));
        for b in bundles {
            if b.areas.iter().all(|a| left.contains(&a)) {
                left.retain(|a| !b.areas.contains(a));
                lines.push(QuoteLine {
                    label: b.name.clone(),
                    amount_minor: b.price_minor,
                });
            }
        }
        for a in left {
            match self.areas.iter().find(|(x, _)| x == a) {
                Some((_, p)) => lines.push(QuoteLine {
                    label: a.clone(),
                    amount_minor: *p,
                }),
                None => inv.push("areas", format!("The price list has no price for {a}.")),
            }
        }
        for code in addons {
            match self.addons.iter().find(|x| &x.code == code) {
                Some(x) => lines.push(QuoteLine {
                    label: x.name.clone(),
                    amount_minor: x.price_minor,
                }),
                None => inv.push("addons", format!("No add-on {code:?} on the price list.")),
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(tax_included: bool) -> PriceList {
        PriceList {
            currency: "GBP".into(),
            tax_rate_bp: 2000,
            tax_included,
            areas: vec![
                ("cheeks".into(), 15_000),
                ("forehead".into(), 9_999),
                ("nose".into(), 6_000),
                ("neck".into(), 12_500),
            ],
            bundles: vec![Bundle {
                code: "face".into(),
                name: "Full face".into(),
                areas: vec!["cheeks".into(), "forehead".into(), "nose".into()],
                price_minor: 25_000,
            }],
            packages: vec![
                Package {
                    code: "three".into(),
                    name: "Course of 3 (10 % off)".into(),
                    sessions: 3,
                    discount_bp: 1000,
                },
                Package {
                    code: "six".into(),
                    name: "Course of 6 (15 % off)".into(),
                    sessions: 6,
                    discount_bp: 1500,
                },
            ],
            addons: vec![Addon {
                code: "serum".into(),
                name: "Hyaluronic serum".into(),
                price_minor: 3_333,
            }],
        }
    }

    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    /// One track of `areas` for `n` sessions.
    fn one(xs: &[&str], n: u32) -> Vec<(Vec<String>, u32)> {
        vec![(s(xs), n)]
    }

    #[test]
    fn a_bundle_replaces_its_areas_and_the_rest_is_priced_singly() {
        let q = list(true)
            .quote(&one(&["cheeks", "forehead", "nose", "neck"], 1), &[])
            .unwrap();
        assert_eq!(
            q.tracks[0]
                .session_lines
                .iter()
                .map(|l| l.amount_minor)
                .collect::<Vec<_>>(),
            [25_000, 12_500]
        );
        assert_eq!(
            (q.tracks[0].per_session, q.course, q.package, q.net),
            (37_500, 37_500, None, 37_500)
        );
        // VAT included: 37500 × 2000 / 12000 = 6250 exactly.
        assert_eq!((q.tax, q.total), (6_250, 37_500));
    }

    #[test]
    fn packages_discount_the_course_and_round_half_up() {
        // Per session 9999 + 3333 = 13332; three sessions 39996; 10 % = 3999.6 → 4000.
        let q = list(false)
            .quote(&one(&["forehead"], 3), &s(&["serum"]))
            .unwrap();
        assert_eq!((q.tracks[0].per_session, q.course), (13_332, 39_996));
        assert_eq!(q.package.as_ref().unwrap().amount_minor, -4_000);
        assert_eq!(q.net, 35_996);
        // Tax added: 35996 × 20 % = 7199.2 → 7199.
        assert_eq!((q.tax, q.total), (7_199, 43_195));
    }

    #[test]
    fn the_best_package_the_course_qualifies_for_applies() {
        let q = list(true).quote(&one(&["cheeks"], 6), &[]).unwrap();
        assert_eq!(q.course, 90_000);
        assert_eq!(
            q.package.unwrap().amount_minor,
            -13_500,
            "15 % for six, not 10 %"
        );
        let q = list(true).quote(&one(&["cheeks"], 5), &[]).unwrap();
        assert_eq!(q.package.unwrap().amount_minor, -7_500);
        // Included VAT on 67500: 67500 × 2000 / 12000 = 11250.
        assert_eq!(q.tax, 11_250);
        let q = list(true).quote(&one(&["cheeks"], 2), &[]).unwrap();
        assert!(q.package.is_none());
    }

    #[test]
    fn tracks_are_priced_apart_and_a_package_follows_the_longest() {
        // Cheeks 3 × 15000 = 45000 and neck 6 × 12500 = 75000: 120000.
        let q = list(true)
            .quote(&[(s(&["cheeks"]), 3), (s(&["neck"]), 6)], &[])
            .unwrap();
        assert_eq!(
            q.tracks.iter().map(|t| t.course).collect::<Vec<_>>(),
            [45_000, 75_000]
        );
        assert_eq!(q.course, 120_000);
        assert_eq!(q.package.unwrap().amount_minor, -18_000, "15 % for six");
        // Cheeks and forehead and nose on different tracks: no bundle.
        let q = list(true)
            .quote(&[(s(&["cheeks", "forehead"]), 3), (s(&["nose"]), 3)], &[])
            .unwrap();
        assert_eq!(q.tracks[0].per_session, 24_999);
    }

    #[test]
    fn included_tax_rounds_half_up() {
        let mut l = list(true);
        l.areas = vec![("nose".into(), 1_001)];
        l.packages.clear();
        // 1001 × 2000 / 12000 = 166.83 → 167.
        assert_eq!(l.quote(&one(&["nose"], 1), &[]).unwrap().tax, 167);
        l.tax_rate_bp = 0;
        assert_eq!(l.quote(&one(&["nose"], 1), &[]).unwrap().tax, 0);
    }

    #[test]
    fn bad_lists_and_missing_prices_are_refused() {
        let mut l = list(true);
        l.packages[0].discount_bp = 12_000;
        l.addons[0].price_minor = -1;
        let e = l.quote(&one(&["cheeks"], 3), &[]).unwrap_err();
        assert_eq!(e.errors.len(), 2);
        let e = list(true)
            .quote(&one(&["scalp"], 3), &s(&["gold_leaf"]))
            .unwrap_err();
        assert_eq!(
            e.errors
                .iter()
                .map(|e| e.field.as_str())
                .collect::<Vec<_>>(),
            ["areas", "addons"]
        );
        assert!(list(true).quote(&one(&["cheeks"], 0), &[]).is_err());
    }

    #[test]
    fn rounding_helper_is_exact() {
        assert_eq!(mul_div_round(5, 1, 2), 3);
        assert_eq!(mul_div_round(4, 1, 2), 2);
        assert_eq!(
            mul_div_round(i64::MAX / 2, 2, 2),
            i64::MAX / 2,
            "no overflow"
        );
    }
}
