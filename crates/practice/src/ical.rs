//! iCalendar (RFC 5545) for appointments: a feed per practitioner and one
//! event per appointment. Times are written in UTC (`…Z`), which is exact
//! across DST changes; calendar apps show them in their own zone.

use jiff::Timestamp;

pub struct Event {
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub location: String,
    pub description: String,
    pub cancelled: bool,
}

/// `20261124T090000Z`.
fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets without splitting a character (§3.1).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// A whole calendar with these events, stamped `now`.
pub fn calendar(name: &str, events: &[Event], now: Timestamp) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Needlepoint//Needlepoint//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        fold(l, &mut out);
    }
    fold(&format!("X-WR-CALNAME:{}", text(name)), &mut out);
    for e in events {
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}", e.uid), &mut out);
        fold(&format!("DTSTAMP:{}", utc(now)), &mut out);
        fold(&format!("DTSTART:{}", utc(e.start)), &mut out);
        fold(&format!("DTEND:{}", utc(e.end)), &mut out);
        fold(&format!("SUMMARY:{}", text(&e.summary)), &mut out);
        fold(&format!("LOCATION:{}", text(&e.location)), &mut out);
        fold(&format!("DESCRIPTION:{}", text(&e.description)), &mut out);
        fold(
            if e.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            },
            &mut out,
        );
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

/// How far back and ahead a practitioner's feed reaches. Calendar apps
/// fetch the whole feed at every refresh: a month back is enough to look up
/// a recent session, and keeps a busy practitioner's feed small (90 days of
/// a chain's busiest practitioner took 100–140 ms to build).
const FEED_DAYS_BACK: i32 = 30;
const FEED_DAYS_AHEAD: i32 = 400;

/// A practitioner's private feed, found by the hash of the token in its
/// address (the token is the credential); `None` for an unknown token.
pub async fn feed(
    cx: &crate::Context,
    token_hash: &str,
) -> Result<Option<String>, needlepoint_store::StoreError> {
    let Some(staff_id) = cx.store.calendar_feed_owner(token_hash).await? else {
        return Ok(None);
    };
    let now = cx.now();
    let day = jiff::SignedDuration::from_hours(24);
    let list = cx
        .store
        .practitioner_appointments(
            staff_id,
            now - day * FEED_DAYS_BACK,
            now + day * FEED_DAYS_AHEAD,
        )
        .await?;
    let name = format!("Needlepoint — {}", cx.store.staff(staff_id).await?.name);
    Ok(Some(calendar(&name, &events(cx, list).await?, now)))
}

/// One appointment the actor may see, as a calendar of one event (what a
/// confirmation e-mail attaches).
pub async fn appointment(
    cx: &crate::Context,
    actor: &crate::Actor,
    id: i64,
) -> crate::Result<String> {
    let a = crate::access::appointment(cx, actor, id).await?;
    Ok(calendar(
        "Needlepoint",
        &events(cx, vec![a]).await?,
        cx.now(),
    ))
}

/// Events for appointments, named for the calendar's reader.
async fn events(
    cx: &crate::Context,
    list: Vec<needlepoint_store::Appointment>,
) -> Result<Vec<Event>, needlepoint_store::StoreError> {
    let mut out = vec![];
    let mut clinics: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    // Every patient's name in one read, not one per appointment.
    let ids: Vec<i64> = list.iter().map(|a| a.patient_id).collect();
    let names = cx.patient_names(&ids).await?;
    for a in list {
        if let std::collections::hash_map::Entry::Vacant(e) = clinics.entry(a.clinic_id) {
            e.insert(cx.store.clinic(a.clinic_id).await?.details.name);
        }
        out.push(Event {
            uid: format!("appointment-{}@needlepoint", a.id),
            start: a.starts_at,
            end: a.ends_at,
            summary: format!(
                "{}{} — {}",
                if a.kind.is_session() {
                    "Microneedling session"
                } else {
                    a.kind.as_str()
                },
                a.session_number
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default(),
                names.get(&a.patient_id).map_or("", String::as_str)
            ),
            location: clinics[&a.clinic_id].clone(),
            description: format!(
                "Booked in Needlepoint; starts {} {}.",
                a.local_start, a.time_zone
            ),
            cancelled: a.status == needlepoint_domain::appointment::AppointmentStatus::Cancelled,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_escaped_folded_and_crlf() {
        let e = Event {
            uid: "appointment-1@needlepoint".into(),
            start: "2026-03-31T10:00:00Z".parse().unwrap(),
            end: "2026-03-31T11:05:00Z".parse().unwrap(),
            summary: "Session 2; cheeks, forehead".into(),
            location: "Harbour Clinic".into(),
            description: "é".repeat(60),
            cancelled: false,
        };
        let c = calendar("Dr X", &[e], "2026-03-01T00:00:00Z".parse().unwrap());
        assert!(c.contains("SUMMARY:Session 2\\; cheeks\\, forehead\r\n"));
        assert!(c.contains("DTSTART:20260331T100000Z\r\n"));
        assert!(
            c.lines().all(|l| l.trim_end_matches('\r').len() <= 75),
            "folded"
        );
        assert!(c.contains("\r\n "), "a long line was folded");
        assert!(!c.replace("\r\n", "").contains('\n'), "CRLF only");
        assert!(c.ends_with("END:VCALENDAR\r\n"));
    }
}
