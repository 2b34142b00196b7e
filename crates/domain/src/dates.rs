//! How dates and times are written for people, everywhere in the product:
//! pages, messages and alerts use these, so every role reads the same
//! time in the same form, in the clinic's zone.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// "22 Nov 2026" for a calendar date.
pub fn long_date(d: Date) -> String {
    d.strftime("%-d %b %Y").to_string()
}

/// "22 Nov 2026, 09:30" in the given IANA zone (falls back to UTC).
pub fn local_time(t: Timestamp, zone: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    t.to_zoned(tz).strftime("%-d %b %Y, %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_the_same_everywhere() {
        let d = jiff::civil::date(2026, 3, 9);
        assert_eq!(long_date(d), "9 Mar 2026");
        let t: Timestamp = "2026-07-01T08:30:00Z".parse().unwrap();
        assert_eq!(local_time(t, "Europe/London"), "1 Jul 2026, 09:30");
        assert_eq!(local_time(t, "America/New_York"), "1 Jul 2026, 04:30");
        assert_eq!(local_time(t, "Nowhere/Else"), "1 Jul 2026, 08:30");
    }
}
