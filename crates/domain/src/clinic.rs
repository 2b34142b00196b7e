//! The organisation's places and things: clinics, rooms, devices,
//! practitioners and the price list, as the Settings page edits them.

use crate::depth::Depth;
use crate::validation::{optional_line, optional_text, required_line, FieldError, Invalid};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicDetails {
    pub name: String,
    /// IANA zone, e.g. `Europe/London`: times are stored in UTC and shown here.
    pub time_zone: String,
    pub address: Option<String>,
    pub phone: Option<String>,
}

impl ClinicDetails {
    pub fn parse(name: &str, time_zone: &str, address: &str, phone: &str) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = inv.check(required_line("name", name, 120));
        let time_zone = inv.check(parse_time_zone("time_zone", time_zone));
        let address = inv.check(optional_text("address", address, 300));
        let phone = inv.check(optional_line("phone", phone, 30));
        inv.into_result()?;
        Ok(ClinicDetails {
            name: name.unwrap(),
            time_zone: time_zone.unwrap(),
            address: address.unwrap(),
            phone: phone.unwrap(),
        })
    }
}

/// Accepts only zones the bundled IANA database knows, so every stored zone
/// can later turn a UTC instant into the clinic's wall-clock time.
pub fn parse_time_zone(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "This field is required."));
    }
    jiff::tz::TimeZone::get(s)
        .map(|_| s.to_string())
        .map_err(|_| {
            FieldError::new(
                field,
                "Unknown time zone: use an IANA name like Europe/London.",
            )
        })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomDetails {
    pub name: String,
}

impl RoomDetails {
    pub fn parse(name: &str) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = inv.check(required_line("name", name, 80));
        inv.into_result()?;
        Ok(RoomDetails {
            name: name.unwrap(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceDetails {
    pub name: String,
    pub model: String,
    pub serial_number: Option<String>,
    /// The deepest setting the device allows, from its label.
    pub max_depth: Depth,
}

impl DeviceDetails {
    pub fn parse(
        name: &str,
        model: &str,
        serial: &str,
        max_depth_mm: &str,
    ) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = inv.check(required_line("name", name, 80));
        let model = inv.check(required_line("model", model, 80));
        let serial_number = inv.check(optional_line("serial_number", serial, 80));
        let max_depth = inv.check(Depth::parse_mm("max_depth_mm", max_depth_mm));
        inv.into_result()?;
        Ok(DeviceDetails {
            name: name.unwrap(),
            model: model.unwrap(),
            serial_number: serial_number.unwrap(),
            max_depth: max_depth.unwrap(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PractitionerDetails {
    pub name: String,
    pub profession: String,
    pub registration_number: Option<String>,
}

impl PractitionerDetails {
    pub fn parse(name: &str, profession: &str, registration: &str) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = inv.check(required_line("name", name, 120));
        let profession = inv.check(required_line("profession", profession, 80));
        let registration_number = inv.check(optional_line("registration_number", registration, 40));
        inv.into_result()?;
        Ok(PractitionerDetails {
            name: name.unwrap(),
            profession: profession.unwrap(),
            registration_number: registration_number.unwrap(),
        })
    }
}

/// What a price-list line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceKind {
    /// One area, one session.
    Area,
    /// Several areas together, one session.
    Bundle,
    /// A course of N sessions at a discount.
    Package,
    /// Added to each session (a serum).
    Addon,
    /// Anything else (a consultation): not used in quotes.
    Other,
}

impl PriceKind {
    pub const ALL: [PriceKind; 5] = [
        PriceKind::Area,
        PriceKind::Bundle,
        PriceKind::Package,
        PriceKind::Addon,
        PriceKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PriceKind::Area => "area",
            PriceKind::Bundle => "bundle",
            PriceKind::Package => "package",
            PriceKind::Addon => "addon",
            PriceKind::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PriceKind::Area => "One area, per session",
            PriceKind::Bundle => "Several areas together, per session",
            PriceKind::Package => "Course package (discount)",
            PriceKind::Addon => "Add-on, per session",
            PriceKind::Other => "Other (consultation…)",
        }
    }

    pub fn parse(s: &str) -> Option<PriceKind> {
        PriceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One line of a clinic's price list. Amounts are integer minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceItemDetails {
    pub code: String,
    pub name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub kind: PriceKind,
    /// The area (one) or areas (a bundle) it prices.
    pub areas: Vec<String>,
    /// For a package: the least number of sessions it applies to.
    pub sessions: u32,
    /// For a package: the discount in basis points (10 % = 1000).
    pub discount_bp: u32,
}

/// A clinic's currency and tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicPricing {
    pub currency: String,
    pub tax_rate_bp: u32,
    /// Prices include the tax (as UK VAT is quoted).
    pub tax_included: bool,
}

/// Currencies a clinic may price in, all with two decimal places.
pub const CURRENCIES: [&str; 7] = ["GBP", "EUR", "USD", "AUD", "CAD", "NZD", "CHF"];

impl PriceItemDetails {
    pub fn parse(code: &str, name: &str, amount: &str, currency: &str) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let code = inv.check(parse_code("code", code));
        let name = inv.check(required_line("name", name, 120));
        let amount_minor = inv.check(parse_amount("amount", amount));
        let cur = currency.trim().to_ascii_uppercase();
        if !CURRENCIES.contains(&cur.as_str()) {
            inv.push(
                "currency",
                format!("Choose one of {}.", CURRENCIES.join(", ")),
            );
        }
        inv.into_result()?;
        Ok(PriceItemDetails {
            code: code.unwrap(),
            name: name.unwrap(),
            amount_minor: amount_minor.unwrap(),
            currency: cur,
            kind: PriceKind::Other,
            areas: vec![],
            sessions: 0,
            discount_bp: 0,
        })
    }

    /// A typed line: `areas` is a comma-separated list of area codes (one
    /// for an area, two or more for a bundle), `discount` a percentage with
    /// up to two decimals for a package. Area codes are checked by the
    /// caller against the knowledge base.
    #[allow(clippy::too_many_arguments)]
    pub fn parse_typed(
        kind: &str,
        code: &str,
        name: &str,
        amount: &str,
        currency: &str,
        areas: &str,
        sessions: &str,
        discount_percent: &str,
    ) -> Result<Self, Invalid> {
        let Some(kind) = PriceKind::parse(kind) else {
            return Err(Invalid::one("kind", "Choose what the price is for."));
        };
        let mut inv = Invalid::default();
        // A package is a discount, so its amount may be left empty.
        let amount = if kind == PriceKind::Package && amount.trim().is_empty() {
            "0"
        } else {
            amount
        };
        let mut item = match PriceItemDetails::parse(code, name, amount, currency) {
            Ok(i) => i,
            Err(e) => {
                inv = e;
                PriceItemDetails::parse("x", "x", "0", "GBP").expect("a valid placeholder")
            }
        };
        item.kind = kind;
        item.areas = areas
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        match kind {
            PriceKind::Area if item.areas.len() != 1 => {
                inv.push("areas", "Name the one area this price is for.")
            }
            PriceKind::Bundle if item.areas.len() < 2 => inv.push(
                "areas",
                "A bundle names two or more areas, separated by commas.",
            ),
            PriceKind::Package => {
                match sessions.trim().parse::<u32>() {
                    Ok(n) if n >= 2 => item.sessions = n,
                    _ => inv.push("sessions", "A package is for 2 or more sessions."),
                }
                match parse_amount("discount", discount_percent) {
                    Ok(hundredths) if hundredths <= 10_000 => item.discount_bp = hundredths as u32,
                    Ok(_) => inv.push("discount", "A discount is at most 100 %."),
                    Err(e) => inv.push("discount", e.message),
                }
            }
            _ => {}
        }
        inv.into_result()?;
        Ok(item)
    }
}

/// Builds the quoting price list from a clinic's lines in its currency.
pub fn price_list(
    pricing: &ClinicPricing,
    items: &[PriceItemDetails],
) -> crate::pricing::PriceList {
    use crate::pricing::{Addon, Bundle, Package, PriceList};
    let mine = || items.iter().filter(|i| i.currency == pricing.currency);
    PriceList {
        currency: pricing.currency.clone(),
        tax_rate_bp: pricing.tax_rate_bp,
        tax_included: pricing.tax_included,
        areas: mine()
            .filter(|i| i.kind == PriceKind::Area)
            .filter_map(|i| i.areas.first().map(|a| (a.clone(), i.amount_minor)))
            .collect(),
        bundles: mine()
            .filter(|i| i.kind == PriceKind::Bundle)
            .map(|i| Bundle {
                code: i.code.clone(),
                name: i.name.clone(),
                areas: i.areas.clone(),
                price_minor: i.amount_minor,
            })
            .collect(),
        packages: mine()
            .filter(|i| i.kind == PriceKind::Package)
            .map(|i| Package {
                code: i.code.clone(),
                name: i.name.clone(),
                sessions: i.sessions,
                discount_bp: i.discount_bp,
            })
            .collect(),
        addons: mine()
            .filter(|i| i.kind == PriceKind::Addon)
            .map(|i| Addon {
                code: i.code.clone(),
                name: i.name.clone(),
                price_minor: i.amount_minor,
            })
            .collect(),
    }
}

fn parse_code(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 40
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new(
            field,
            "Use letters, digits, - and _ (up to 40).",
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// Parses a non-negative amount with at most two decimals into minor units,
/// without floating point: "120", "120.5", "120.50" → 12000, 12050, 12050.
pub fn parse_amount(field: &str, s: &str) -> Result<i64, FieldError> {
    let s = s.trim();
    let err = |m: &str| FieldError::new(field, m);
    if s.is_empty() {
        return Err(err("This field is required."));
    }
    if s.starts_with('-') {
        return Err(err("A price cannot be negative."));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(err("Enter an amount like 120 or 120.50."));
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| err("Enter an amount like 120 or 120.50."))?;
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().unwrap() * 10,
        _ => frac.parse::<i64>().unwrap(),
    };
    Ok(whole * 100 + cents)
}

/// Formats minor units for people: 12050 GBP → "£120.50".
pub fn format_money(amount_minor: i64, currency: &str) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let a = amount_minor.unsigned_abs();
    let symbol = match currency {
        "GBP" => "£",
        "EUR" => "€",
        "USD" | "AUD" | "CAD" | "NZD" => "$",
        _ => "",
    };
    let suffix = if symbol.is_empty() || symbol == "$" && currency != "USD" {
        format!(" {currency}")
    } else {
        String::new()
    };
    format!(
        "{sign}{symbol}{}.{:02}{suffix}",
        group_thousands(a / 100),
        a % 100
    )
}

/// 1440 → "1,440".
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_minor_units() {
        assert_eq!(parse_amount("a", "120").unwrap(), 12000);
        assert_eq!(parse_amount("a", "120.5").unwrap(), 12050);
        assert_eq!(parse_amount("a", "0.07").unwrap(), 7);
        for bad in ["-1", "1.234", "abc", "", "1,5", ".5"] {
            assert!(parse_amount("a", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_formats_with_symbol() {
        assert_eq!(format_money(12050, "GBP"), "£120.50");
        assert_eq!(format_money(5, "USD"), "$0.05");
        assert_eq!(format_money(30000, "AUD"), "$300.00 AUD");
        assert_eq!(format_money(100, "CHF"), "1.00 CHF");
        assert_eq!(format_money(144_000, "USD"), "$1,440.00");
        assert_eq!(format_money(123_456_789, "GBP"), "£1,234,567.89");
        assert_eq!(format_money(-99_900, "EUR"), "-€999.00");
    }

    #[test]
    fn time_zones_must_be_iana() {
        assert!(parse_time_zone("tz", "Europe/London").is_ok());
        assert!(parse_time_zone("tz", "America/New_York").is_ok());
        assert!(parse_time_zone("tz", "Mars/Olympus").is_err());
        assert!(
            ClinicDetails::parse("", "Nowhere", "", "")
                .unwrap_err()
                .errors
                .len()
                == 2
        );
    }

    #[test]
    fn typed_price_items_check_their_parts() {
        let b = PriceItemDetails::parse_typed(
            "bundle",
            "face",
            "Full face",
            "250",
            "GBP",
            "cheeks, forehead,nose",
            "",
            "",
        )
        .unwrap();
        assert_eq!(b.areas, ["cheeks", "forehead", "nose"]);
        let p = PriceItemDetails::parse_typed(
            "package",
            "three",
            "Course of 3",
            "",
            "GBP",
            "",
            "3",
            "12.5",
        )
        .unwrap();
        assert_eq!((p.sessions, p.discount_bp, p.amount_minor), (3, 1250, 0));
        let e = PriceItemDetails::parse_typed("package", "x", "X", "", "GBP", "", "1", "120")
            .unwrap_err();
        assert!(e.message_for("sessions").is_some() && e.message_for("discount").is_some());
        let e =
            PriceItemDetails::parse_typed("area", "x", "X", "-5", "GBP", "", "", "").unwrap_err();
        assert!(e.message_for("amount").is_some() && e.message_for("areas").is_some());
        assert!(PriceItemDetails::parse_typed("gift", "x", "X", "1", "GBP", "", "", "").is_err());
    }

    #[test]
    fn devices_need_a_real_depth() {
        assert!(DeviceDetails::parse("Pen 1", "SkinPen", "", "2.5").is_ok());
        let e = DeviceDetails::parse("Pen 1", "SkinPen", "", "-1").unwrap_err();
        assert!(e.message_for("max_depth_mm").is_some());
    }
}
