//! How booked time is claimed, for both backends' [`ScheduleRecords`]
//! (in `sql/schedule.rs`).

/// Booked time is claimed in slots of this many seconds.
pub const SLOT_SECONDS: i64 = 300;

/// The slots [start, end) overlaps.
pub fn slots(start: jiff::Timestamp, end: jiff::Timestamp) -> std::ops::Range<i64> {
    let (s, e) = (start.as_second(), end.as_second());
    s.div_euclid(SLOT_SECONDS)..(e + SLOT_SECONDS - 1).div_euclid(SLOT_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::slots;

    #[test]
    fn slots_cover_every_five_minutes_touched() {
        let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(
            slots(t("2026-11-23T10:00:00Z"), t("2026-11-23T11:00:00Z")).count(),
            12
        );
        assert_eq!(
            slots(t("2026-11-23T10:02:00Z"), t("2026-11-23T10:07:00Z")).count(),
            2
        );
        let a = slots(t("2026-11-23T10:00:00Z"), t("2026-11-23T11:00:00Z"));
        let b = slots(t("2026-11-23T11:00:00Z"), t("2026-11-23T12:00:00Z"));
        assert_eq!(a.end, b.start, "back to back does not overlap");
    }
}
