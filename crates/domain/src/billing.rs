//! Money after the quote: invoice lines and their tax, payment methods,
//! what a cancelled package gives back, balances by age and the day's
//! takings. Integer minor units throughout; every rounding is half up, once
//! per line, as in quotes, so an invoice can be checked by hand.

use crate::pricing::mul_div_round;
use crate::validation::Invalid;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How money came in (or went back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Cash,
    /// A card terminal; the terminal's reference is kept.
    Card,
    Transfer,
    /// A session drawn from a course package paid for earlier.
    Package,
    Voucher,
    /// Through the online payment provider's hosted checkout.
    Online,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Cash,
        Method::Card,
        Method::Transfer,
        Method::Package,
        Method::Voucher,
        Method::Online,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Cash => "cash",
            Method::Card => "card",
            Method::Transfer => "transfer",
            Method::Package => "package",
            Method::Voucher => "voucher",
            Method::Online => "online",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Cash => "Cash",
            Method::Card => "Card",
            Method::Transfer => "Bank transfer",
            Method::Package => "Package credit",
            Method::Voucher => "Gift voucher",
            Method::Online => "Online",
        }
    }

    /// Whether this is money taken that day. Package credit was taken when
    /// the package was sold, so counting it again would count it twice.
    pub fn is_money(self) -> bool {
        self != Method::Package
    }

    /// Methods staff record by hand at the desk (package credit is drawn
    /// by a session; online payments come from the provider).
    pub const AT_DESK: [Method; 4] = [
        Method::Cash,
        Method::Card,
        Method::Transfer,
        Method::Voucher,
    ];
}

/// One line of an invoice as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub label: String,
    pub quantity: u32,
    pub unit_minor: i64,
    /// quantity × unit.
    pub amount_minor: i64,
    /// This line's tax, rounded half up on its own.
    pub tax_minor: i64,
    /// What the line bills ("chart:12", "fee:40", "package:7"), so that
    /// nothing is billed twice; `None` for a line typed at the desk.
    pub source: Option<String>,
}

/// An invoice's (or credit note's) sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// The lines' amounts together.
    pub lines: i64,
    pub tax: i64,
    /// What the patient pays: the lines, plus the tax when it is added.
    pub total: i64,
}

/// A line before it is priced into an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub label: String,
    pub quantity: u32,
    pub unit_minor: i64,
    pub source: Option<String>,
}

/// Prices lines with the clinic's tax: each line's tax on its own, half
/// up; included in the line's amount, or added to it.
pub fn price_lines(
    lines: &[LineInput],
    tax_rate_bp: u32,
    tax_included: bool,
) -> Result<(Vec<Line>, Totals), Invalid> {
    let mut inv = Invalid::default();
    if lines.is_empty() {
        inv.push("lines", "An invoice has at least one line.");
    }
    let rate = i64::from(tax_rate_bp);
    let mut out = vec![];
    for (i, l) in lines.iter().enumerate() {
        if l.label.trim().is_empty() {
            inv.push(format!("lines.{i}.label"), "Say what the line is for.");
        }
        if l.quantity == 0 {
            inv.push(format!("lines.{i}.quantity"), "A quantity is at least 1.");
        }
        if l.unit_minor < 0 {
            inv.push(
                format!("lines.{i}.unit"),
                "A price cannot be negative; a correction is a credit note.",
            );
        }
        let amount = l.unit_minor.saturating_mul(i64::from(l.quantity));
        let tax = if tax_included {
            mul_div_round(amount.max(0), rate, 10_000 + rate)
        } else {
            mul_div_round(amount.max(0), rate, 10_000)
        };
        out.push(Line {
            label: l.label.trim().to_string(),
            quantity: l.quantity,
            unit_minor: l.unit_minor,
            amount_minor: amount,
            tax_minor: tax,
            source: l.source.clone(),
        });
    }
    inv.into_result()?;
    let sum: i64 = out.iter().map(|l| l.amount_minor).sum();
    let tax: i64 = out.iter().map(|l| l.tax_minor).sum();
    let total = if tax_included { sum } else { sum + tax };
    Ok((
        out,
        Totals {
            lines: sum,
            tax,
            total,
        },
    ))
}

/// What a package gives back for sessions not used: the price paid for
/// each unused session, half up (the clinic's rule, from its billing
/// settings, keeps `keep_bp` of it as a fee).
pub fn package_refund(paid_minor: i64, sessions: u32, unused: u32, keep_bp: u32) -> i64 {
    if sessions == 0 || unused == 0 || paid_minor <= 0 {
        return 0;
    }
    let unused = i64::from(unused.min(sessions));
    let share = mul_div_round(paid_minor, unused, i64::from(sessions));
    share - mul_div_round(share, i64::from(keep_bp.min(10_000)), 10_000)
}

/// Outstanding amounts by age: 0–30, 31–60, 61–90 and over 90 days.
pub const AGE_BUCKETS: [&str; 4] = ["0–30 days", "31–60 days", "61–90 days", "Over 90 days"];

/// Which age bucket an amount owed since `since` is in on `today`.
pub fn age_bucket(since: Date, today: Date) -> usize {
    let days = (today - since).get_days().max(0);
    match days {
        0..=30 => 0,
        31..=60 => 1,
        61..=90 => 2,
        _ => 3,
    }
}

/// What a patient owes, oldest first: the invoices' totals less what was
/// credited, with payments on account taken from the oldest invoice first
/// (first in, first out). Gives each invoice's date with what is still
/// owed on it.
pub fn outstanding(invoices: &[(Date, i64)], paid: i64) -> Vec<(Date, i64)> {
    let mut left = paid.max(0);
    let mut sorted: Vec<(Date, i64)> = invoices.to_vec();
    sorted.sort_by_key(|(d, _)| *d);
    let mut out = vec![];
    for (d, owed) in sorted {
        let take = left.min(owed.max(0));
        left -= take;
        if owed - take > 0 {
            out.push((d, owed - take));
        }
    }
    out
}

/// A cash-up's difference: counted less expected (negative is short).
pub fn cash_difference(expected_minor: i64, counted_minor: i64) -> i64 {
    counted_minor - expected_minor
}

/// Formats an invoice or credit note number for people: "INV-000042".
pub fn document_number(credit_note: bool, number: i64) -> String {
    format!("{}-{number:06}", if credit_note { "CN" } else { "INV" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(label: &str, q: u32, unit: i64) -> LineInput {
        LineInput {
            label: label.into(),
            quantity: q,
            unit_minor: unit,
            source: None,
        }
    }

    #[test]
    fn tax_is_rounded_per_line_half_up() {
        // 20 % included: £10.01 holds 166.83p → 167p; £0.03 holds 0.5p → 1p.
        let (lines, t) =
            price_lines(&[line("Face", 1, 1001), line("Serum", 1, 3)], 2000, true).unwrap();
        assert_eq!(lines[0].tax_minor, 167);
        assert_eq!(lines[1].tax_minor, 1);
        assert_eq!(t.lines, 1004);
        assert_eq!(t.tax, 168);
        assert_eq!(t.total, 1004);
        // Added: 8.25 % of $99.99 = 824.9175 → 825; the total adds it.
        let (_, t) = price_lines(&[line("Neck", 1, 9999)], 825, false).unwrap();
        assert_eq!(t.tax, 825);
        assert_eq!(t.total, 9999 + 825);
        // Quantity multiplies before the tax is taken.
        let (l, _) = price_lines(&[line("Serum", 3, 1500)], 2000, true).unwrap();
        assert_eq!(l[0].amount_minor, 4500);
        assert_eq!(l[0].tax_minor, 750);
    }

    #[test]
    fn bad_lines_are_refused_by_field() {
        let e = price_lines(&[line("", 0, -5)], 2000, true).unwrap_err();
        assert!(e.message_for("lines.0.label").is_some());
        assert!(e.message_for("lines.0.quantity").is_some());
        assert!(e.message_for("lines.0.unit").is_some());
        assert!(price_lines(&[], 2000, true).is_err());
    }

    #[test]
    fn package_refunds_the_unused_share() {
        // £600 for 4 sessions, 1 used: 3 × £150.
        assert_eq!(package_refund(60000, 4, 3, 0), 45000);
        // A 10 % fee kept by the clinic's rule.
        assert_eq!(package_refund(60000, 4, 3, 1000), 40500);
        // Thirds round half up: 100p over 3, 2 unused → 66.67 → 67.
        assert_eq!(package_refund(100, 3, 2, 0), 67);
        assert_eq!(package_refund(60000, 4, 0, 0), 0);
        assert_eq!(package_refund(60000, 4, 9, 0), 60000);
    }

    #[test]
    fn ages_fall_in_four_buckets() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let today = d("2026-12-31");
        assert_eq!(age_bucket(d("2026-12-01"), today), 0);
        assert_eq!(age_bucket(d("2026-11-30"), today), 1);
        assert_eq!(age_bucket(d("2026-10-31"), today), 2);
        assert_eq!(age_bucket(d("2026-10-01"), today), 3);
    }

    #[test]
    fn payments_settle_the_oldest_invoice_first() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let owed = outstanding(&[(d("2026-02-01"), 500), (d("2026-01-01"), 300)], 400);
        assert_eq!(owed, vec![(d("2026-02-01"), 400)]);
        assert!(outstanding(&[(d("2026-01-01"), 300)], 900).is_empty());
    }

    #[test]
    fn methods_round_trip_and_package_credit_is_not_takings() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert!(!Method::Package.is_money());
        assert!(Method::Cash.is_money());
        assert_eq!(document_number(false, 42), "INV-000042");
        assert_eq!(document_number(true, 7), "CN-000007");
    }
}
