//! The patient's timeline in words: one line per thing that happened,
//! newest first, each linked to where it can be read whole.

use crate::view::local_time;
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::message::{kind_label, MessageChannel, MessageStatus};
use needlepoint_domain::plan::PlanStatus;
use needlepoint_practice::timeline::{Event, Happening};

/// How many lines the patient's page shows before "Show all".
pub const SHOWN: usize = 12;

pub struct Row {
    pub when: String,
    pub what: String,
    /// Who did it, when the record says.
    pub by: String,
    /// Where to read it; empty when there is nowhere more to read.
    pub href: String,
    /// A CSS class for the marker: ok, warn, error or grey.
    pub tone: &'static str,
}

/// The lines for `events` of patient `patient_id`, in the clinic's `zone`.
/// `clinical` links to the clinical record; the events a role may not
/// see were never read.
pub fn rows(
    kb: &KnowledgeBase,
    patient_id: i64,
    events: &[Event],
    zone: &str,
    clinical: bool,
) -> Vec<Row> {
    let history = format!("/patients/{patient_id}/history");
    let plan = |id: i64| {
        if clinical {
            format!("/patients/{patient_id}/plans/{id}")
        } else {
            String::new()
        }
    };
    events
        .iter()
        .map(|e| {
            let (what, by, href, tone) = match &e.happening {
                Happening::Registered => ("Record created".into(), None, String::new(), ""),
                Happening::IntakeReceived => (
                    "The patient sent intake answers, to be reviewed".into(),
                    None,
                    if clinical {
                        history.clone()
                    } else {
                        String::new()
                    },
                    "warn",
                ),
                Happening::HistoryUpdated(h) => (
                    match h.source.as_str() {
                        "intake" => format!(
                            "Medical history version {}: the patient's intake answers, confirmed",
                            h.version
                        ),
                        "api" => {
                            format!("Medical history version {} from another system", h.version)
                        }
                        _ => format!("Medical history version {}", h.version),
                    },
                    h.created_by_name.clone(),
                    history.clone(),
                    "",
                ),
                Happening::Screened(s) => (
                    format!(
                        "Screened: {}",
                        super::screenings::outcome(s.status(), s.result.deferral)
                    ),
                    s.created_by_name.clone(),
                    format!("/patients/{patient_id}/screenings/{}", s.id),
                    super::screenings::tone(s.status()),
                ),
                Happening::PlanProposed(r) => (
                    format!("{} proposed", super::patients::plan_title(kb, r)),
                    None,
                    plan(r.id),
                    "",
                ),
                Happening::PlanEnded(r) => (
                    format!(
                        "{} {}",
                        super::patients::plan_title(kb, r),
                        if r.status == PlanStatus::Completed {
                            "completed"
                        } else {
                            "cancelled"
                        }
                    ),
                    None,
                    plan(r.id),
                    if r.status == PlanStatus::Completed {
                        "ok"
                    } else {
                        "grey"
                    },
                ),
                Happening::ConsentSigned { plan: r, via } => (
                    format!(
                        "Consent signed {} for the {}",
                        if via == "link" {
                            "by link"
                        } else {
                            "at the clinic"
                        },
                        lower_first(&super::patients::plan_title(kb, r))
                    ),
                    None,
                    plan(r.id),
                    "ok",
                ),
                Happening::Appointment(a) => (
                    format!(
                        "{}: {}",
                        super::appointments::kind_label(a),
                        match a.status {
                            AppointmentStatus::Booked => "due",
                            s => s.label(),
                        }
                        .to_lowercase()
                    ),
                    None,
                    format!("/appointments/{}", a.id),
                    match a.status {
                        AppointmentStatus::Completed => "ok",
                        AppointmentStatus::NoShow => "warn",
                        AppointmentStatus::Cancelled => "grey",
                        _ => "",
                    },
                ),
                Happening::ChartSigned(c) => (
                    format!("{} charted and signed", session(c.session_number)),
                    c.signed_by_name.clone(),
                    format!("/sessions/{}", c.id),
                    "ok",
                ),
                Happening::ChartCosigned(c) => (
                    format!("{}: second sign-off", session(c.session_number)),
                    c.cosigned_by_name.clone(),
                    format!("/sessions/{}", c.id),
                    "ok",
                ),
                Happening::CheckinAnswered(k) => (
                    format!(
                        "Check-in of day {} answered: {}",
                        k.day,
                        k.advice.map_or("", |a| a.label())
                    ),
                    None,
                    format!("/checkins/{}", k.id),
                    match k.advice {
                        Some(a) if a.flags() => "warn",
                        _ => "ok",
                    },
                ),
                Happening::AdverseEvent(a) => (
                    format!(
                        "Adverse event recorded: {}, grade {}",
                        kb.ae_terms
                            .iter()
                            .find(|t| t.code == a.versions[0].event.term)
                            .map_or(a.versions[0].event.term.as_str(), |t| t.term.as_str()),
                        a.versions[0].event.grade
                    ),
                    Some(a.versions[0].signed_by_name.clone()),
                    format!("/adverse-events/{}", a.id),
                    "error",
                ),
                Happening::HomeCare(h) => (
                    format!(
                        "Home rolling logged for {}{}",
                        needlepoint_domain::dates::long_date(h.used_on),
                        if h.warnings.is_empty() {
                            String::new()
                        } else {
                            format!(" ({} against the clinic's advice)", h.warnings.len())
                        }
                    ),
                    None,
                    format!("/patients/{patient_id}/home-care"),
                    if h.warnings.is_empty() { "" } else { "warn" },
                ),
                Happening::Photos { count, .. } => (
                    match count {
                        1 => "1 photo taken".into(),
                        n => format!("{n} photos taken"),
                    },
                    None,
                    format!("/patients/{patient_id}/photos"),
                    "",
                ),
                Happening::Message(m) => (
                    format!(
                        "{} {} by {}: “{}”",
                        kind_label(&m.kind),
                        if m.status == MessageStatus::Failed {
                            "could not be sent"
                        } else {
                            "sent"
                        },
                        match m.channel {
                            MessageChannel::Email => "e-mail",
                            MessageChannel::Sms => "text message",
                        },
                        m.subject
                    ),
                    None,
                    format!("/messages/{}", m.id),
                    if m.status == MessageStatus::Failed {
                        "error"
                    } else {
                        ""
                    },
                ),
            };
            Row {
                when: local_time(e.at, zone),
                what,
                by: by.unwrap_or_default(),
                href,
                tone,
            }
        })
        .collect()
}

fn session(n: Option<i64>) -> String {
    n.map_or("A session".into(), |n| format!("Session {n}"))
}

/// "Plan for Face" → "plan for Face", to sit inside a sentence.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}
