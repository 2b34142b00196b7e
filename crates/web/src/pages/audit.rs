//! The audit trail as people read it: who (by name), what they did (in
//! words, with each change as before → after), to which patient, when
//! (in the viewer's clinic's zone) and from where; filtered by person,
//! patient, kind of action and dates; and the same list as CSV.

use crate::auth::{urlencode, Caller};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use needlepoint_store::{AuditEntry, AuditFilter};
use serde_json::Value;
use std::collections::HashMap;

/// How many entries the page lists, and the CSV holds.
const LISTED: i64 = 500;
const EXPORTED: i64 = 10_000;

/// What each kind of entry did, in words.
const SUMMARIES: &[((&str, &str), &str)] = &[
    (("create", "patient"), "Registered the patient"),
    (("update", "patient"), "Changed the patient's details"),
    (("create", "clinical_note"), "Wrote a clinical note"),
    (("update", "history"), "Recorded the medical history"),
    (
        ("create", "intake_link"),
        "Made a link to the health questions",
    ),
    (
        ("create", "intake_submission"),
        "The patient sent intake answers",
    ),
    (("create", "screening"), "Screened the patient"),
    (("override", "screening"), "Overrode a screening"),
    (("create", "plan"), "Proposed a plan"),
    (("update", "plan"), "Changed a plan"),
    (("status", "plan"), "Moved a plan on"),
    (("create", "consent_link"), "Made a consent link"),
    (("sign", "consent"), "Consent signed"),
    (("create", "appointment"), "Booked an appointment"),
    (("reschedule", "appointment"), "Moved an appointment"),
    (("status", "appointment"), "Changed an appointment's state"),
    (("create", "chart"), "Opened a session's chart"),
    (("checklist", "chart"), "Saved a session's checklist"),
    (("start", "chart"), "Started needling"),
    (("zone", "chart"), "Charted a zone"),
    (("lot", "chart"), "Recorded a lot used"),
    (("lot_removed", "chart"), "Took a lot off a chart"),
    (("sign", "chart"), "Signed a session"),
    (("cosign", "chart"), "Gave a session's second sign-off"),
    (("amend", "chart"), "Amended a signed session"),
    (("create", "photo"), "Kept a photo"),
    (("create", "supply_item"), "Added a stock item"),
    (("receive", "lot"), "Received a lot"),
    (("count", "lot"), "Counted a lot"),
    (("recall", "lot"), "Recalled a lot"),
    (("recall_notify", "lot"), "Told patients of a recall"),
    (("retry", "message"), "Sent a message again"),
    (("login", "staff"), "Signed in"),
    (("logout", "staff"), "Signed out"),
    (("logout_everywhere", "staff"), "Signed out everywhere"),
    (("two_factor_on", "staff"), "Set up two-factor sign-in"),
    (("two_factor_off", "staff"), "Turned off two-factor sign-in"),
    (("recovery_codes", "staff"), "Made new recovery codes"),
    (("create", "staff"), "Added a staff member"),
    (("update", "staff"), "Changed a staff member"),
    (
        ("medical_director", "staff"),
        "Changed who is medical director",
    ),
    (("update", "staff_hours"), "Changed working hours"),
    (("create", "api_token"), "Made an API token"),
    (("revoke", "api_token"), "Revoked an API token"),
    (("create", "calendar_feed"), "Made a calendar feed"),
    (("revoke", "calendar_feed"), "Revoked a calendar feed"),
    (("setup", "organisation"), "Set up the organisation"),
    (("create", "clinic"), "Added a clinic"),
    (("update", "clinic"), "Changed a clinic's details"),
    (("update", "clinic_hours"), "Changed the opening hours"),
    (("create", "closure"), "Closed the clinic for a day"),
    (("update", "clinic_pricing"), "Changed how prices are taxed"),
    (("create", "price_item"), "Added a price"),
    (("create", "room"), "Added a room"),
    (("create", "device"), "Added a device"),
    (
        ("update", "cancellation_policy"),
        "Changed the cancellation policy",
    ),
    (("update", "sign_in_policy"), "Changed the sign-in policy"),
    (
        ("update", "message_template"),
        "Changed a message's wording",
    ),
    (("override", "knowledge"), "Changed a clinical rule"),
];

/// Kinds of action to filter by: (code, words).
const ACTIONS: [(&str, &str); 20] = [
    ("create", "Added or made"),
    ("update", "Changed"),
    ("status", "Moved on"),
    ("reschedule", "Appointment moved"),
    ("sign", "Signed"),
    ("cosign", "Second sign-off"),
    ("amend", "Amended"),
    ("override", "Overrode"),
    ("checklist", "Checklist saved"),
    ("start", "Needling started"),
    ("zone", "Zone charted"),
    ("lot", "Lot recorded"),
    ("receive", "Stock received"),
    ("count", "Stock counted"),
    ("recall", "Recalled"),
    ("retry", "Message sent again"),
    ("login", "Signed in"),
    ("logout", "Signed out"),
    ("revoke", "Revoked"),
    ("setup", "Set up"),
];

/// Detail keys that are for machines (hashes, ids shown elsewhere).
const UNSHOWN: [&str; 4] = ["sha256", "token_hash", "hash", "password"];

/// "time_zone" → "Time zone".
fn words(code: &str) -> String {
    let s = code.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// A value as a person reads it; codes lose their underscores.
fn value(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => {
            // Instants and dates in the product's one format.
            if let Ok(t) = s.parse::<jiff::Timestamp>() {
                format!("{} UTC", local_time(t, "UTC"))
            } else if let Ok(d) = s.parse::<jiff::civil::Date>() {
                crate::view::long_date(d)
            } else {
                s.replace('_', " ")
            }
        }
        Value::Object(o) => o
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{} {}", words(k).to_lowercase(), value(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(a) => a.iter().map(value).collect::<Vec<_>>().join(", "),
        other => {
            let s = other.to_string();
            if s.chars().count() > 120 {
                s.chars().take(117).collect::<String>() + "…"
            } else {
                s
            }
        }
    }
}

/// What an entry did: its summary, and each detail (changes as
/// before → after).
pub fn describe(e: &AuditEntry) -> (String, Vec<String>) {
    let summary = SUMMARIES
        .iter()
        .find(|((a, n), _)| *a == e.action && *n == e.entity)
        .map_or_else(
            || format!("{} {}", words(&e.action), e.entity.replace('_', " ")),
            |(_, s)| s.to_string(),
        );
    let mut details = vec![];
    let Some(o) = e.detail.as_object() else {
        return (summary, details);
    };
    if let (Some(from), Some(to)) = (o.get("from"), o.get("to")) {
        details.push(format!("{} → {}", value(from), value(to)));
    }
    if let Some(changed) = o.get("changed").and_then(Value::as_object) {
        for (field, pair) in changed {
            let (before, after) = match pair.as_array().map(Vec::as_slice) {
                Some([b, a]) => (value(b), value(a)),
                _ => ("—".into(), value(pair)),
            };
            details.push(format!("{}: {before} → {after}", words(field)));
        }
    }
    for (k, v) in o {
        if matches!(k.as_str(), "from" | "to" | "changed")
            || UNSHOWN.contains(&k.as_str())
            || v.is_null()
        {
            continue;
        }
        details.push(format!("{}: {}", words(k), value(v)));
    }
    (summary, details)
}

pub struct AuditRow {
    when: String,
    who: String,
    email: String,
    from: String,
    summary: String,
    patient: Option<(i64, String)>,
    details: Vec<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    shell: Shell,
    heading: String,
    subheading: String,
    zone: String,
    entries: Vec<AuditRow>,
    /// On the organisation's trail: the result of checking the hash chain,
    /// when asked (it reads every row, so only on demand).
    chain: Option<ChainCheck>,
    /// On the organisation's trail: the filters, and the CSV of the list.
    filters: Option<Filters>,
}

pub struct Filters {
    people: Vec<(i64, String, bool)>,
    actions: Vec<(&'static str, &'static str, bool)>,
    patient: Option<(i64, String)>,
    from: String,
    to: String,
    problem: Option<String>,
    csv: String,
    everyone: String,
}

/// Whether the audit trail's chain holds, in words.
pub enum ChainCheck {
    NotChecked,
    Intact(u64),
    Broken(i64, String),
}

/// Each entry in words, named: staff by name, patients by name.
async fn rows(
    st: &AppState,
    caller: &Caller,
    zone: &str,
    entries: Vec<AuditEntry>,
) -> Result<Vec<AuditRow>, PageError> {
    let staff: HashMap<i64, String> = st
        .store
        .list_staff(caller.staff.organisation_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let ids: Vec<i64> = entries.iter().filter_map(|e| e.patient_id).collect();
    let patients = st.patient_names(&ids).await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let (summary, details) = describe(&e);
            let who = e
                .actor_id
                .and_then(|id| staff.get(&id).cloned())
                .unwrap_or_else(|| match e.actor_label.as_str() {
                    l if l.starts_with("system") => "Needlepoint".into(),
                    l => l.to_string(),
                });
            AuditRow {
                when: local_time(e.at, zone),
                email: if e.actor_id.is_some() {
                    e.actor_label.clone()
                } else {
                    String::new()
                },
                who,
                from: format!(
                    "{}{}",
                    words(&e.channel),
                    e.ip.map(|ip| format!(" · {ip}")).unwrap_or_default()
                ),
                summary,
                patient: e.patient_id.map(|id| {
                    (
                        id,
                        patients
                            .get(&id)
                            .cloned()
                            .unwrap_or_else(|| format!("patient {id}")),
                    )
                }),
                details,
            }
        })
        .collect())
}

impl AuditPage {
    /// One patient's trail (no filters).
    pub async fn of_patient(
        st: &AppState,
        caller: &Caller,
        csrf: &CsrfToken,
        p: &needlepoint_store::Patient,
        zone: String,
    ) -> Result<Self, PageError> {
        let entries = st.store.patient_audit(p.id, LISTED).await?;
        Ok(AuditPage {
            shell: Shell::new(caller, csrf, "patients"),
            heading: format!("Audit trail · {}", p.details.full_name()),
            subheading: "Every view and change of this patient's record, newest first.".into(),
            entries: rows(st, caller, &zone, entries).await?,
            zone,
            chain: None,
            filters: None,
        })
    }
}

#[derive(serde::Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    check: Option<String>,
    #[serde(default)]
    who: String,
    #[serde(default)]
    patient: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl AuditQuery {
    /// The query string of these filters (without the chain check).
    fn params(&self, with_patient: bool) -> String {
        let mut parts = vec![];
        for (k, v) in [
            ("who", &self.who),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        if with_patient && !self.patient.is_empty() {
            parts.push(format!("patient={}", urlencode(&self.patient)));
        }
        parts.join("&")
    }
}

/// The filters as asked, checked: dates in the viewer's zone (a date
/// that is not one is said so, and not applied).
async fn filter(
    st: &AppState,
    caller: &Caller,
    q: &AuditQuery,
    zone: &str,
) -> Result<(AuditFilter, Option<(i64, String)>, Option<String>), PageError> {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let mut problem = None;
    let mut day = |s: &str, field: &str, next: bool| -> Option<jiff::Timestamp> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        match s.parse::<jiff::civil::Date>() {
            Ok(d) => {
                let d = if next { d.tomorrow().ok()? } else { d };
                d.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
            }
            Err(_) => {
                problem = Some(format!(
                    "The {field} date is not a date (write it as 2026-12-31): it was not applied."
                ));
                None
            }
        }
    };
    let from = day(&q.from, "from", false);
    let to = day(&q.to, "to", true);
    let patient = match q.patient.parse::<i64>() {
        Ok(id) => {
            let p = needlepoint_practice::access::patient(st, caller, id).await?;
            Some((p.id, p.details.full_name()))
        }
        Err(_) => None,
    };
    Ok((
        AuditFilter {
            actor_id: q.who.parse().ok(),
            patient_id: patient.as_ref().map(|(id, _)| *id),
            action: ACTIONS
                .iter()
                .find(|(a, _)| *a == q.action)
                .map(|(a, _)| a.to_string()),
            from,
            to,
        },
        patient,
        problem,
    ))
}

/// The organisation's trail, newest first, filtered as asked.
pub async fn page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let zone = super::home_zone(st.store.as_ref(), &caller).await?;
    let (f, patient, problem) = filter(&st, &caller, &q, &zone).await?;
    let entries = st.store.find_audit(&f, LISTED).await?;
    let people = st
        .store
        .list_staff(caller.staff.organisation_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name, Some(s.id) == f.actor_id))
        .collect();
    let chain = Some(match q.check {
        None => ChainCheck::NotChecked,
        Some(_) => {
            let v = st.store.verify_audit().await?;
            match v.broken {
                None => ChainCheck::Intact(v.rows),
                Some((row, why)) => ChainCheck::Broken(row, why),
            }
        }
    });
    let filtered = f != AuditFilter::default();
    Ok(render(&AuditPage {
        shell: Shell::new(&caller, &csrf, "audit"),
        heading: "Audit trail".into(),
        subheading: if filtered {
            format!("The latest {LISTED} events that match, newest first.")
        } else {
            format!("The latest {LISTED} events across the organisation, newest first.")
        },
        entries: rows(&st, &caller, &zone, entries).await?,
        zone,
        chain,
        filters: Some(Filters {
            people,
            actions: ACTIONS
                .iter()
                .map(|(a, w)| (*a, *w, f.action.as_deref() == Some(*a)))
                .collect(),
            patient,
            from: q.from.clone(),
            to: q.to.clone(),
            problem,
            csv: format!("/audit.csv?{}", q.params(true)),
            everyone: format!("/audit?{}", q.params(false)),
        }),
    })
    .into_response())
}

/// A CSV cell: quoted when it must be, and never read as a formula by a
/// spreadsheet (a leading = + - @ gets a quote mark first).
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The same list as CSV, up to [`EXPORTED`] entries.
pub async fn csv(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let zone = super::home_zone(st.store.as_ref(), &caller).await?;
    let (f, _, _) = filter(&st, &caller, &q, &zone).await?;
    let entries = st.store.find_audit(&f, EXPORTED).await?;
    let mut out = format!("When ({zone}),Who,E-mail,From,What,Patient,Details\r\n");
    for r in rows(&st, &caller, &zone, entries).await? {
        let line = [
            r.when,
            r.who,
            r.email,
            r.from,
            r.summary,
            r.patient.map(|(_, n)| n).unwrap_or_default(),
            r.details.join("; "),
        ]
        .iter()
        .map(|c| cell(c))
        .collect::<Vec<_>>()
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-trail.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, entity: &str, detail: Value) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: "2026-12-01T10:00:00Z".parse().unwrap(),
            actor_id: Some(1),
            actor_label: "a@example.com".into(),
            channel: "web".into(),
            ip: None,
            action: action.into(),
            entity: entity.into(),
            entity_id: Some(3),
            patient_id: Some(9),
            detail,
        }
    }

    #[test]
    fn entries_read_as_words_with_before_and_after() {
        let (s, d) = describe(&entry(
            "update",
            "patient",
            serde_json::json!({"changed": {"phone": ["+44 1", "+44 2"], "email": [null, "a@b.c"]}}),
        ));
        assert_eq!(s, "Changed the patient's details");
        assert!(d.contains(&"Phone: +44 1 → +44 2".to_string()), "{d:?}");
        assert!(d.contains(&"Email: — → a@b.c".to_string()), "{d:?}");
        let (s, d) = describe(&entry(
            "status",
            "appointment",
            serde_json::json!({"from": "booked", "to": "checked_in", "reason": null}),
        ));
        assert_eq!(
            (s.as_str(), d),
            (
                "Changed an appointment's state",
                vec!["booked → checked in".to_string()]
            )
        );
        let (_, d) = describe(&entry(
            "checklist",
            "chart",
            serde_json::json!({"anaesthetic": {"at": "2026-05-20T06:35:00Z", "kind": "applied_at"}}),
        ));
        assert_eq!(
            d,
            vec!["Anaesthetic: at 20 May 2026, 06:35 UTC, kind applied at".to_string()]
        );
        let (_, d) = describe(&entry(
            "create",
            "photo",
            serde_json::json!({"sha256": "abc", "view": "left_45"}),
        ));
        assert_eq!(
            d,
            vec!["View: left 45".to_string()],
            "hashes are for machines"
        );
        let (s, _) = describe(&entry("frobnicate", "widget_part", serde_json::json!({})));
        assert_eq!(s, "Frobnicate widget part", "an unknown kind still reads");
    }

    #[test]
    fn every_kind_the_record_writes_has_words() {
        // The actions and entities the store audits (crates/store/src/sql).
        let sources = [
            include_str!("../../../store/src/sql/store.rs"),
            include_str!("../../../store/src/sql/schedule.rs"),
            include_str!("../../../store/src/sql/plans.rs"),
            include_str!("../../../store/src/sql/charting.rs"),
            include_str!("../../../store/src/sql/screening.rs"),
        ];
        for src in sources {
            for part in src.split("AuditEvent::new(\"").skip(1) {
                let mut it = part.split('"');
                let action = it.next().unwrap();
                let entity = it.nth(1).unwrap();
                assert!(
                    SUMMARIES
                        .iter()
                        .any(|((a, n), _)| *a == action && *n == entity),
                    "no words for ({action}, {entity})"
                );
            }
        }
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
    }
}
