//! The outbox as staff see it: what is scheduled to go, apart from what
//! was sent, failed or was stopped; filtered by clinic, patient and kind;
//! each message opened whole, and a failed one sent again.

use crate::auth::{urlencode, Caller};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::message::{kind_label, MessageStatus, KIND_LABELS};
use needlepoint_practice::messages;
use needlepoint_store::{Message, MessageFilter, MessageState};
use std::collections::HashMap;

/// How many messages a list shows.
const LISTED: i64 = 200;

/// A message to a patient as the lists show it.
pub struct MessageRow {
    pub id: i64,
    pub when: String,
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub tone: &'static str,
    pub error: String,
    pub patient: Option<(i64, String)>,
}

impl MessageRow {
    /// `zone` is the clinic's, in which the time is shown.
    pub fn of(m: Message, zone: &str) -> Self {
        MessageRow {
            id: m.id,
            when: local_time(m.sent_at.unwrap_or(m.due_at), zone),
            to: format!("{} ({})", m.to_address, m.channel.label()),
            kind: kind_label(&m.kind).to_string(),
            subject: m.subject,
            status: if m.status == MessageStatus::Failed {
                format!("Failed {} time(s), retrying", m.attempts)
            } else {
                m.status.label().to_string()
            },
            tone: match m.status {
                MessageStatus::Sent => "ok",
                MessageStatus::Failed => "error",
                MessageStatus::Cancelled => "grey",
                MessageStatus::Pending => "",
            },
            error: m.last_error.unwrap_or_default(),
            patient: None,
        }
    }
}

/// The list's tabs: the state's code in links, and its name.
const STATES: [(&str, &str); 5] = [
    ("scheduled", "Scheduled"),
    ("sent", "Sent"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("all", "All"),
];

#[derive(Template)]
#[template(path = "messages.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<MessageRow>,
    /// (code, name, link, current)
    tabs: Vec<(&'static str, &'static str, String, bool)>,
    state: &'static str,
    clinics: Vec<(i64, String, bool)>,
    kinds: Vec<(&'static str, &'static str, bool)>,
    /// The patient the list is narrowed to: id and name.
    patient: Option<(i64, String)>,
    /// The same list for every patient.
    everyone: String,
    /// What was typed to find the patient (shown back, cut short).
    who: String,
    /// Several patients match what was typed: (link, name, born) to
    /// choose from; the list waits for the choice.
    choose: Vec<(String, String, String)>,
    /// Nobody matches what was typed.
    nobody: bool,
}

/// How many patients a typed name offers to choose from.
const CHOICES: i64 = 10;

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    clinic: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    patient: String,
    /// A patient's name, phone, e-mail or birth date, typed.
    #[serde(default)]
    who: String,
}

impl ListQuery {
    fn state(&self) -> (&'static str, Option<MessageState>) {
        match self.state.as_str() {
            "sent" => ("sent", Some(MessageState::Sent)),
            "failed" => ("failed", Some(MessageState::Failed)),
            "cancelled" => ("cancelled", Some(MessageState::Cancelled)),
            "all" => ("all", None),
            _ => ("scheduled", Some(MessageState::Scheduled)),
        }
    }

    /// This list's link with `state` in place of its own (and without the
    /// patient, chosen or typed, when `everyone`).
    fn link(&self, state: &str, everyone: bool) -> String {
        let mut parts = vec![format!("state={state}")];
        for (k, v) in [("clinic", &self.clinic), ("kind", &self.kind)] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        if !everyone {
            if !self.patient.is_empty() {
                parts.push(format!("patient={}", urlencode(&self.patient)));
            } else if !self.who.trim().is_empty() {
                parts.push(format!("who={}", urlencode(self.who.trim())));
            }
        }
        format!("/messages?{}", parts.join("&"))
    }
}

/// The caller's clinics' messages, one state at a time (scheduled first),
/// narrowed as asked. Unknown filter values are ignored, not errors.
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let all = st.store.clinics_for_staff(caller.staff.id).await?;
    let zones: HashMap<i64, String> = all
        .iter()
        .map(|c| (c.id, c.details.time_zone.clone()))
        .collect();
    let clinic_id = q.clinic.parse().ok().filter(|c| zones.contains_key(c));
    let kind = KIND_LABELS
        .iter()
        .find(|(k, _)| *k == q.kind)
        .map(|(k, _)| k.to_string());
    let (state, filter_state) = q.state();
    // A patient the caller may not see is not found, as everywhere. A name
    // typed instead: one patient found is the filter; several are offered
    // to choose from, and the list waits for the choice.
    let who = q.who.trim();
    let (mut choose, mut nobody) = (vec![], false);
    let patient = match q.patient.parse::<i64>() {
        Ok(id) => {
            let p = needlepoint_practice::access::patient(&st, &caller, id).await?;
            Some((p.id, p.details.full_name()))
        }
        Err(_) if !who.is_empty() => {
            let found = st
                .store
                .search_patients(caller.staff.id, clinic_id, who, CHOICES, None)
                .await?;
            match found.patients.as_slice() {
                [p] if !found.more => Some((p.id, p.details.full_name())),
                [] => {
                    nobody = true;
                    None
                }
                many => {
                    choose = many
                        .iter()
                        .map(|p| {
                            (
                                format!("{}&patient={}", q.link(state, true), p.id),
                                p.details.full_name(),
                                crate::view::long_date(p.details.date_of_birth),
                            )
                        })
                        .collect();
                    None
                }
            }
        }
        Err(_) => None,
    };
    let filter = MessageFilter {
        clinic_id,
        patient_id: patient.as_ref().map(|(id, _)| *id),
        kind: kind.clone(),
        state: filter_state,
    };
    let found = if nobody || !choose.is_empty() {
        vec![]
    } else {
        messages::find(&st, &caller, &filter, LISTED).await?
    };
    let ids: Vec<i64> = found.iter().filter_map(|m| m.patient_id).collect();
    let names = st.patient_names(&ids).await?;
    let rows = found
        .into_iter()
        .map(|m| {
            let who = m
                .patient_id
                .and_then(|id| names.get(&id).map(|n| (id, n.clone())));
            let zone = zones.get(&m.clinic_id).map_or("UTC", String::as_str);
            MessageRow {
                patient: who,
                ..MessageRow::of(m, zone)
            }
        })
        .collect();
    Ok(render(&ListPage {
        shell: Shell::new(&caller, &csrf, "messages"),
        rows,
        tabs: STATES
            .iter()
            .map(|(code, name)| (*code, *name, q.link(code, false), *code == state))
            .collect(),
        state,
        clinics: all
            .iter()
            .map(|c| (c.id, c.details.name.clone(), Some(c.id) == clinic_id))
            .collect(),
        kinds: KIND_LABELS
            .iter()
            .map(|(k, l)| (*k, *l, kind.as_deref() == Some(*k)))
            .collect(),
        patient,
        everyone: q.link(state, true),
        who: who.chars().take(60).collect(),
        choose,
        nobody,
    })
    .into_response())
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    shell: Shell,
    m: MessageRow,
    body: String,
    due: String,
    sent: Option<String>,
    attachment: bool,
    appointment_id: Option<i64>,
    may_retry: bool,
    notice: Option<String>,
    problem: Option<String>,
}

async fn message_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    m: Message,
    notice: Option<String>,
    problem: Option<String>,
) -> Result<MessagePage, PageError> {
    let zone = st.store.clinic(m.clinic_id).await?.details.time_zone;
    let patient = match m.patient_id {
        Some(id) => st.patient_names(&[id]).await?.remove(&id).map(|n| (id, n)),
        None => None,
    };
    Ok(MessagePage {
        shell: Shell::new(caller, csrf, "messages"),
        body: m.body.clone(),
        due: local_time(m.due_at, &zone),
        sent: m.sent_at.map(|t| local_time(t, &zone)),
        attachment: m.attachment.is_some(),
        appointment_id: m.appointment_id,
        may_retry: m.status == MessageStatus::Failed,
        notice,
        problem,
        m: MessageRow {
            patient,
            ..MessageRow::of(m, &zone)
        },
    })
}

/// Sends a failed message again; anything else is refused on its page.
pub async fn retry(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(_f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    match messages::retry(&st, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/messages/{id}?retried=1")).into_response()),
        Err(e) if e.is_answer_to_input() => {
            let m = messages::open(&st, &caller, id).await?;
            let page =
                message_page(&st, &caller, &csrf, m, None, Some(e.lines().join(" "))).await?;
            Ok((axum::http::StatusCode::CONFLICT, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    retried: Option<String>,
}

/// One message whole; after "Send again", says it goes again.
pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let m = messages::open(&st, &caller, id).await?;
    let notice = q
        .retried
        .map(|_| "It goes again with the outbox's next round, within a minute.".to_string());
    Ok(render(
        &message_page(&st, &caller, &csrf, m, notice, None).await?,
    ))
}
