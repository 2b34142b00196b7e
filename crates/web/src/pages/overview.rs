//! Today, Calendar, Inventory, Reports and the organisation's audit trail.

use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use jiff::tz::TimeZone;
use needlepoint_domain::message::MessageStatus;
use needlepoint_store::AuditEntry;

pub struct ClinicToday {
    name: String,
    zone: String,
    local_date: String,
    local_time: String,
    patients: i64,
    appointments: Vec<TodayRow>,
    /// Items at or below their reorder level: (name, usable, reorder at).
    low_stock: Vec<(String, i64, i64)>,
}

/// One of today's appointments, with what can be done next.
pub struct TodayRow {
    id: i64,
    time: String,
    patient: String,
    patient_id: i64,
    what: String,
    status: &'static str,
    actions: Vec<(&'static str, &'static str)>,
    /// A session a clinician can chart.
    chartable: bool,
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    shell: Shell,
    greeting: &'static str,
    first_name: String,
    organisation: String,
    clinics: Vec<ClinicToday>,
    recent: Vec<(i64, String, String)>,
}

pub async fn today(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let mut clinics = vec![];
    for c in st.store.clinics_for_staff(caller.staff.id).await? {
        let tz = TimeZone::get(&c.details.time_zone).unwrap_or(TimeZone::UTC);
        let z = st.wall_clock(&c.details.time_zone);
        let today = z.date();
        let patients = st
            .store
            .search_patients(caller.staff.id, Some(c.id), "", 1, None)
            .await?
            .total;
        let midnight = |d: jiff::civil::Date| {
            tz.to_ambiguous_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .compatible()
        };
        let (from, to) = (midnight(today), midnight(today.tomorrow().unwrap_or(today)));
        let mut appointments = vec![];
        if let (Ok(from), Ok(to)) = (from, to) {
            for a in st.store.appointments(c.id, from, to).await? {
                let who = st.store.patient(a.patient_id).await?.details.full_name();
                appointments.push(TodayRow {
                    id: a.id,
                    time: a
                        .starts_at
                        .to_zoned(tz.clone())
                        .strftime("%H:%M")
                        .to_string(),
                    patient: who,
                    patient_id: a.patient_id,
                    what: format!(
                        "{}{}",
                        if a.kind.is_session() {
                            "Session"
                        } else {
                            a.kind.as_str()
                        },
                        a.session_number
                            .map(|n| format!(" {n}"))
                            .unwrap_or_default()
                    ),
                    status: a.status.label(),
                    actions: needlepoint_practice::booking::actions(&st, &a)
                        .into_iter()
                        .map(|(to, label)| (to.as_str(), label))
                        .collect(),
                    chartable: a.kind.is_session() && a.status.holds_time(),
                });
            }
        }
        clinics.push(ClinicToday {
            name: c.details.name,
            zone: c.details.time_zone,
            local_date: z.strftime("%A %-d %B %Y").to_string(),
            local_time: z.strftime("%H:%M").to_string(),
            patients,
            appointments,
            low_stock: needlepoint_practice::stock::low_stock(&st, &caller, c.id)
                .await?
                .into_iter()
                .map(|i| (i.name, i.usable, i.reorder_at))
                .collect(),
        });
    }
    // Greet by the first clinic's local hour: that is where the person works.
    let hour = clinics
        .first()
        .and_then(|c| c.local_time.get(..2))
        .and_then(|h| h.parse::<u8>().ok())
        .unwrap_or(12);
    let zone = clinics.first().map_or("UTC", |c| c.zone.as_str());
    let recent = st
        .store
        .recent_patients(caller.staff.id, 8)
        .await?
        .into_iter()
        .map(|p| (p.id, p.details.full_name(), local_time(p.created_at, zone)))
        .collect();
    Ok(render(&TodayPage {
        shell: Shell::new(&caller, &csrf, "today"),
        greeting: match hour {
            0..=11 => "morning",
            12..=17 => "afternoon",
            _ => "evening",
        },
        first_name: caller
            .staff
            .name
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string(),
        organisation: st
            .store
            .organisation()
            .await?
            .map(|o| o.name)
            .unwrap_or_default(),
        clinics,
        recent,
    }))
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    shell: Shell,
    rows: Vec<(String, String, i64)>,
    total: i64,
}

pub async fn reports(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let mut rows = vec![];
    for c in st.store.clinics_for_staff(caller.staff.id).await? {
        let n = st
            .store
            .search_patients(caller.staff.id, Some(c.id), "", 1, None)
            .await?
            .total;
        rows.push((c.details.name, c.details.time_zone, n));
    }
    let total = rows.iter().map(|r| r.2).sum();
    Ok(render(&ReportsPage {
        shell: Shell::new(&caller, &csrf, "reports"),
        rows,
        total,
    }))
}

pub struct AuditRow {
    when: String,
    who: String,
    from: String,
    action: String,
    what: String,
    detail: String,
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
}

/// Whether the audit trail's chain holds, in words.
pub enum ChainCheck {
    NotChecked,
    Intact(u64),
    Broken(i64, String),
}

impl AuditPage {
    pub fn new(
        shell: Shell,
        heading: String,
        subheading: String,
        zone: String,
        entries: Vec<AuditEntry>,
    ) -> Self {
        let entries = entries
            .into_iter()
            .map(|e| AuditRow {
                when: local_time(e.at, &zone),
                who: e.actor_label,
                from: format!(
                    "{}{}",
                    e.channel,
                    e.ip.map(|ip| format!(" · {ip}")).unwrap_or_default()
                ),
                action: e.action,
                what: match e.entity_id {
                    Some(id) => format!("{} {id}", e.entity),
                    None => e.entity,
                },
                detail: if e.detail.as_object().is_some_and(|o| o.is_empty()) {
                    String::new()
                } else {
                    e.detail.to_string()
                },
            })
            .collect();
        AuditPage {
            shell,
            heading,
            subheading,
            zone,
            entries,
            chain: None,
        }
    }
}

#[derive(serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    check: Option<String>,
}

pub async fn audit_log(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> Result<Response, PageError> {
    let zone = super::home_zone(st.store.as_ref(), &caller).await?;
    let entries = st.store.recent_audit(500).await?;
    let mut page = AuditPage::new(
        Shell::new(&caller, &csrf, "settings"),
        "Audit trail".into(),
        "The latest 500 events across the organisation, newest first.".into(),
        zone,
        entries,
    );
    page.chain = Some(match q.check {
        None => ChainCheck::NotChecked,
        Some(_) => {
            let v = st.store.verify_audit().await?;
            match v.broken {
                None => ChainCheck::Intact(v.rows),
                Some((row, why)) => ChainCheck::Broken(row, why),
            }
        }
    });
    Ok(render(&page))
}

/// Moves one of today's appointments on (check in, complete, no-show, cancel).
pub struct MessageRow {
    when: String,
    to: String,
    subject: String,
    status: String,
    error: String,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesPage {
    shell: Shell,
    rows: Vec<MessageRow>,
}

/// What was sent to patients, or is waiting to be, in the caller's clinics.
pub async fn messages(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let mut rows = vec![];
    for c in st.store.clinics_for_staff(caller.staff.id).await? {
        for m in st.store.messages(c.id, 200).await? {
            rows.push(MessageRow {
                when: local_time(m.sent_at.unwrap_or(m.due_at), &c.details.time_zone),
                to: format!("{} ({})", m.to_address, m.channel.label()),
                subject: m.subject,
                status: if m.attempts > 0 && m.status == MessageStatus::Failed {
                    format!("failed {} time(s), retrying", m.attempts)
                } else {
                    m.status.to_string()
                },
                error: m.last_error.unwrap_or_default(),
            });
        }
    }
    Ok(render(&MessagesPage {
        shell: Shell::new(&caller, &csrf, "today"),
        rows,
    }))
}
