//! The intake questionnaire: staff make a link that expires; the patient
//! answers on their phone, one screen at a time, without an account; the
//! answers wait on the history page for a clinician to confirm.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use needlepoint_domain::history::*;
use needlepoint_domain::knowledge::{KnowledgeBase, Recordable};
use needlepoint_domain::message::MessageChannel;
use needlepoint_domain::Invalid;
use needlepoint_practice::messages::{self, LinkSent};
use needlepoint_practice::signin;
use needlepoint_practice::{access, history, Error};
use needlepoint_store::LinkRefusal;

/// How many concerns the form offers.
const CONCERN_ROWS: usize = 3;

#[derive(Template)]
#[template(path = "intake_link.html")]
struct LinkPage {
    shell: Shell,
    id: i64,
    name: String,
    url: String,
    expires: String,
    /// "Sent by e-mail to …", when it was.
    sent: Option<String>,
    /// Why it could not be sent, beside the link to copy.
    unsent: Option<String>,
}

/// How a link is to reach the patient, from the form's `send`: "email",
/// "sms", "copy" (shown only), or blank for the patient's usual way.
pub enum Delivery {
    Send(Option<MessageChannel>),
    CopyOnly,
}

impl Delivery {
    pub fn from_form(v: &FormValues) -> Delivery {
        match v.get("send") {
            "email" => Delivery::Send(Some(MessageChannel::Email)),
            "sms" => Delivery::Send(Some(MessageChannel::Sms)),
            "copy" => Delivery::CopyOnly,
            _ => Delivery::Send(None),
        }
    }
}

/// Sends a link as asked and says what happened: (sent, why not).
pub async fn deliver(
    st: &AppState,
    caller: &Caller,
    p: &needlepoint_store::Patient,
    kind: &str,
    how: Delivery,
    url: &str,
    expires: jiff::Timestamp,
) -> Result<(Option<String>, Option<String>), PageError> {
    let Delivery::Send(channel) = how else {
        return Ok((None, None));
    };
    Ok(
        match messages::send_link(st, caller, p, kind, channel, url, expires).await? {
            LinkSent::Sent { channel, to } => {
                let by = match channel {
                    MessageChannel::Email => "e-mail",
                    MessageChannel::Sms => "text message",
                };
                (Some(format!("Sent by {by} to {to}.")), None)
            }
            LinkSent::NoAddress => (
                None,
                Some(match channel {
                    Some(MessageChannel::Email) => "The patient has no e-mail address on file, so nothing was sent: copy the link below, or add their e-mail to their details.".to_string(),
                    Some(MessageChannel::Sms) => "The patient has no phone number on file, so nothing was sent: copy the link below, or add their phone to their details.".to_string(),
                    None => "The patient has no e-mail address or phone number on file, so nothing was sent: copy the link below and give it to them, or add their contact details.".to_string(),
                }),
            ),
        },
    )
}

pub async fn create_link(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let how = Delivery::from_form(&FormValues(f));
    let token = signin::random_token();
    let link = history::create_intake_link(&st, &caller, id, &signin::token_hash(&token)).await?;
    let zone = st.store.clinic(p.clinic_id).await?.details.time_zone;
    let url = format!("{}/intake/{token}", crate::view::site_url(&st, &headers));
    let (sent, unsent) =
        deliver(&st, &caller, &p, "intake_link", how, &url, link.expires_at).await?;
    let page = LinkPage {
        shell: Shell::new(&caller, &csrf, "patients"),
        id,
        name: p.details.full_name(),
        url,
        expires: local_time(link.expires_at, &zone),
        sent,
        unsent,
    };
    Ok((StatusCode::CREATED, render(&page)).into_response())
}

/// A question about something recordable, as the form shows it.
pub struct Question {
    code: String,
    question: String,
    area_specific: bool,
    has_control: bool,
}

fn questions(list: &[Recordable]) -> Vec<Question> {
    list.iter()
        .map(|r| Question {
            code: r.code.clone(),
            question: r.question.clone(),
            area_specific: r.area_specific,
            has_control: r.has_control,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "intake.html")]
struct FormPage {
    csrf: String,
    token: String,
    clinic: String,
    first_name: String,
    skin_types: Vec<(u8, &'static str, String)>,
    /// The health questions in two steps: the skin where the patient wants
    /// treatment (asked per area), then health in general; one long page
    /// of 23 questions is where a hurried patient stops reading.
    condition_steps: Vec<(&'static str, Vec<Question>)>,
    medications: Vec<Question>,
    allergies: Vec<Question>,
    events: Vec<Question>,
    areas: Vec<(String, String)>,
    indications: Vec<(String, String)>,
    concern_rows: Vec<usize>,
    form: FormValues,
    /// What is wrong, each beside its question and listed at the top.
    errors: Invalid,
    problems: Vec<String>,
    today: String,
}

impl FormPage {
    /// The form field for a question: `key("med", "isotretinoin", ".stopped")`.
    fn key(&self, prefix: &str, code: &str, suffix: &str) -> String {
        format!("{prefix}.{code}{suffix}")
    }

    fn value(&self, field: &str) -> &str {
        self.form.get(field)
    }

    fn is(&self, field: &str, value: &str) -> bool {
        self.form.has(field, value)
    }

    fn err(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }
}

#[derive(Template)]
#[template(path = "intake_done.html")]
pub(super) struct DonePage {
    pub(super) title: &'static str,
    pub(super) message: String,
}

fn refused(r: LinkRefusal) -> Response {
    let (status, title, message) = match r {
        LinkRefusal::Unknown => (StatusCode::NOT_FOUND, "This link does not work", "Check that you opened the whole link from the clinic's message, or ask the clinic for a new one."),
        LinkRefusal::Expired => (StatusCode::GONE, "This link has expired", "Links work for a week. Ask the clinic to send you a new one."),
        LinkRefusal::AlreadyUsed => (StatusCode::GONE, "These answers were already sent", "Thank you: the clinic has them. If something changed, tell the clinic at your visit."),
    };
    (
        status,
        render(&DonePage {
            title,
            message: message.into(),
        }),
    )
        .into_response()
}

async fn form_page(
    st: &AppState,
    csrf: &CsrfToken,
    token: &str,
    patient_id: i64,
    form: FormValues,
    errors: Invalid,
) -> Result<FormPage, PageError> {
    let p = st.store.patient(patient_id).await?;
    let kb = st.clinic_kb(p.clinic_id).await?;
    let clinic = st.store.clinic(p.clinic_id).await?.details.name;
    Ok(FormPage {
        csrf: csrf.0.clone(),
        token: token.to_string(),
        clinic,
        first_name: p.details.given_name.clone(),
        skin_types: super::history::skin_types(&kb),
        condition_steps: {
            let (skin, health): (Vec<Question>, Vec<Question>) = questions(&kb.conditions)
                .into_iter()
                .partition(|q| q.area_specific);
            vec![
                ("Your skin where you want treatment", skin),
                ("Your health", health),
            ]
        },
        medications: questions(&kb.medications),
        allergies: questions(&kb.allergies),
        events: questions(&kb.events),
        areas: kb
            .areas
            .iter()
            .map(|a| (a.code.clone(), a.name.clone()))
            .collect(),
        indications: kb
            .indications
            .iter()
            .map(|i| (i.code.clone(), i.name.clone()))
            .collect(),
        concern_rows: (1..=CONCERN_ROWS).collect(),
        form,
        problems: errors.errors.iter().map(|e| e.message.clone()).collect(),
        errors,
        today: st.clinic_today(p.clinic_id).await?.to_string(),
    })
}

pub async fn show(
    State(st): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match history::intake_link(&st, &signin::token_hash(&token)).await? {
        Ok(link) => Ok(render(
            &form_page(
                &st,
                &csrf,
                &token,
                link.patient_id,
                FormValues::default(),
                Invalid::default(),
            )
            .await?,
        )),
        Err(r) => Ok(refused(r)),
    }
}

fn date(v: &FormValues, field: &str, label: &str, inv: &mut Invalid) -> Option<jiff::civil::Date> {
    let s = v.get(field).trim();
    if s.is_empty() {
        return None;
    }
    inv.check(
        needlepoint_domain::patient::parse_date(field, s).map_err(|e| {
            needlepoint_domain::FieldError::new(field, format!("{label}: {}", e.message))
        }),
    )
}

fn areas(v: &FormValues, field: &str) -> Vec<String> {
    v.all(field).into_iter().map(str::to_string).collect()
}

/// The longest free text the form keeps per box.
const OTHER_MAX_CHARS: usize = 1000;

/// One required question's answer: one of `allowed`, or an error naming the
/// question. A form never answers for the patient: nothing is pre-chosen,
/// so an unanswered question is refused rather than read as "no".
fn answer<'a>(
    v: &'a FormValues,
    field: &str,
    question: &str,
    allowed: &[&str],
    inv: &mut Invalid,
) -> Option<&'a str> {
    let a = v.get(field);
    if allowed.contains(&a) {
        Some(a)
    } else {
        inv.push(field, format!("Please answer: {question}"));
        None
    }
}

/// Words kept beside an entry the patient was not sure of.
const NOT_SURE: &str = "the patient was not sure";

/// The answers as a history. Field names: `pregnant`, `breastfeeding`,
/// `fitzpatrick`, `cond.CODE` (`no`/`yes`/`unsure`), `cond.CODE.areas`,
/// `med.CODE` (`no`/`now`/`stopped`/`unsure`), `med.CODE.started`/`.stopped`,
/// `allergy.CODE` (`no`/`yes`/`unsure`), `event.CODE` (`no`/`yes`),
/// `event.CODE.on`/`.areas`, `other.conditions`/`.medicines`/`.allergies`,
/// `concernN.*` and `declaration`. Every question must be answered. "Not
/// sure" is recorded as if yes, with a note, so screening stays on the safe
/// side until a clinician has asked.
pub fn answers(kb: &KnowledgeBase, v: &FormValues) -> Result<PatientHistory, Invalid> {
    let mut inv = Invalid::default();
    let mut h = PatientHistory::default();
    let yes_no_unsure = ["no", "yes", "unsure"];
    match answer(
        v,
        "pregnant",
        "Are you pregnant, trying to become pregnant, or could you be?",
        &yes_no_unsure,
        &mut inv,
    ) {
        Some("yes") => h.pregnant = true,
        Some("unsure") => {
            h.pregnant = true;
            h.notes.push("Not sure whether she is pregnant.".into());
        }
        _ => {}
    }
    h.breastfeeding = answer(
        v,
        "breastfeeding",
        "Are you breastfeeding?",
        &["no", "yes"],
        &mut inv,
    ) == Some("yes");
    let skin_types = ["1", "2", "3", "4", "5", "6", "unsure"];
    h.fitzpatrick = answer(
        v,
        "fitzpatrick",
        "Which describes your skin best in the sun?",
        &skin_types,
        &mut inv,
    )
    .and_then(|t| t.parse().ok());
    for c in &kb.conditions {
        let field = format!("cond.{}", c.code);
        let Some(a) = answer(v, &field, &c.question, &yes_no_unsure, &mut inv) else {
            continue;
        };
        if a != "no" {
            h.conditions.push(ConditionEntry {
                code: c.code.clone(),
                areas: areas(v, &format!("cond.{}.areas", c.code)),
                since: None,
                resolved_on: None,
                controlled: match v.get(&format!("cond.{}.controlled", c.code)) {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                },
                note: (a == "unsure").then(|| NOT_SURE.to_string()),
            });
        }
    }
    for m in &kb.medications {
        let field = format!("med.{}", m.code);
        let Some(state) = answer(
            v,
            &field,
            &m.question,
            &["no", "now", "stopped", "unsure"],
            &mut inv,
        ) else {
            continue;
        };
        if state == "no" {
            continue;
        }
        let started_on = date(v, &format!("med.{}.started", m.code), &m.name, &mut inv);
        let stopped_on = date(v, &format!("med.{}.stopped", m.code), &m.name, &mut inv);
        if state == "stopped" && stopped_on.is_none() {
            inv.push(
                format!("med.{}.stopped", m.code),
                format!(
                    "{}: when did you stop? An approximate date is fine.",
                    m.name
                ),
            );
        }
        h.medications.push(MedicationEntry {
            code: m.code.clone(),
            started_on,
            stopped_on: stopped_on.filter(|_| state == "stopped"),
            note: (state == "unsure").then(|| NOT_SURE.to_string()),
        });
    }
    for a in &kb.allergies {
        let field = format!("allergy.{}", a.code);
        match answer(v, &field, &a.question, &yes_no_unsure, &mut inv) {
            Some("yes") | Some("unsure") => h.allergies.push(AllergyEntry {
                code: a.code.clone(),
                note: v.has(&field, "unsure").then(|| NOT_SURE.to_string()),
            }),
            _ => {}
        }
    }
    for e in &kb.events {
        let field = format!("event.{}", e.code);
        if answer(v, &field, &e.question, &["no", "yes"], &mut inv) != Some("yes") {
            continue;
        }
        match date(v, &format!("event.{}.on", e.code), &e.name, &mut inv) {
            Some(on) => h.events.push(EventEntry {
                code: e.code.clone(),
                on,
                areas: areas(v, &format!("event.{}.areas", e.code)),
                note: None,
            }),
            None => inv.push(
                format!("event.{}.on", e.code),
                format!("{}: when was it? An approximate date is fine.", e.name),
            ),
        }
    }
    for (field, label) in [
        ("other.conditions", "Other conditions"),
        ("other.medicines", "Other medicines"),
        ("other.allergies", "Other allergies"),
    ] {
        let text = v.get(field).trim();
        if text.chars().count() > OTHER_MAX_CHARS {
            inv.push(
                field,
                format!("{label}: please keep it under {OTHER_MAX_CHARS} characters."),
            );
        } else if !text.is_empty() {
            h.notes.push(format!("{label}: {text}"));
        }
    }
    for n in 1..=CONCERN_ROWS {
        let (ind, area) = (
            v.get(&format!("concern{n}.indication")),
            v.get(&format!("concern{n}.area")),
        );
        if ind.is_empty() && area.is_empty() {
            continue;
        }
        let severity = Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == v.get(&format!("concern{n}.severity")))
            .unwrap_or(Severity::Moderate);
        if ind.is_empty() || area.is_empty() {
            inv.push(
                format!("concern{n}"),
                "Say both what you would like treated and where.",
            );
            continue;
        }
        h.concerns.push(Concern {
            indication: ind.into(),
            area: area.into(),
            severity,
        });
    }
    if v.get("declaration") != "yes" {
        inv.push(
            "declaration",
            "Tick the box to say you answered every question yourself, then send.",
        );
    }
    inv.into_result()?;
    Ok(h)
}

pub async fn submit(
    State(st): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let hash = signin::token_hash(&token);
    let link = match history::intake_link(&st, &hash).await? {
        Ok(l) => l,
        Err(r) => return Ok(refused(r)),
    };
    let p = st.store.patient(link.patient_id).await?;
    let kb = st.clinic_kb(p.clinic_id).await?;
    let v = FormValues(f);
    let outcome = match answers(&kb, &v) {
        Ok(h) => history::submit_intake(&st, &hash, &h).await,
        Err(inv) => Err(Error::Invalid(inv)),
    };
    match outcome {
        Ok(Ok(_)) => Ok(render(&DonePage {
            title: "Thank you",
            message: format!("Your answers are with {}. A clinician will go through them with you before any treatment.", st.store.clinic(p.clinic_id).await?.details.name),
        })),
        Ok(Err(r)) => Ok(refused(r)),
        Err(Error::Invalid(inv)) => {
            let page = form_page(&st, &csrf, &token, link.patient_id, v, inv).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
