//! Check-ins: the patient's form from the link in a message (phone first,
//! no JavaScript needed, an optional photo), what they are told after it,
//! and a clinician's view of an answer with its review.

use super::charting::read_upload;
use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::triage::{Answers, Scale, QUESTIONS};
use needlepoint_domain::Invalid;
use needlepoint_practice::{checkins, Error};
use needlepoint_store::{Checkin, LinkRefusal};

/// A question as the form shows it: its choices, value and label each.
pub struct FormQuestion {
    code: &'static str,
    text: &'static str,
    choices: Vec<(String, &'static str)>,
    /// Pain's eleven choices sit in a row of numbers.
    numbers: bool,
}

fn form_questions() -> Vec<FormQuestion> {
    QUESTIONS
        .iter()
        .map(|q| FormQuestion {
            code: q.code,
            text: q.text,
            numbers: q.scale == Scale::Pain,
            choices: match q.scale {
                Scale::YesNo => vec![("0".into(), "No"), ("1".into(), "Yes")],
                Scale::Level => vec![
                    ("0".into(), "None"),
                    ("1".into(), "Mild"),
                    ("2".into(), "Moderate"),
                    ("3".into(), "Severe"),
                ],
                Scale::Pain => (0..=10).map(|n| (n.to_string(), "")).collect(),
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "checkin.html")]
struct FormPage {
    csrf: String,
    /// Where the form is sent: the link's own address, or the patient's
    /// page's.
    action: String,
    clinic: String,
    first_name: String,
    day: u32,
    questions: Vec<FormQuestion>,
    form: FormValues,
    errors: Invalid,
    problems: Vec<String>,
}

impl FormPage {
    fn is(&self, field: &str, value: &str) -> bool {
        self.form.has(field, value)
    }
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }
}

#[derive(Template)]
#[template(path = "checkin_done.html")]
struct DonePage {
    clinic: String,
    /// The clinic's number to call from the phone (`tel:`), when the
    /// answer asks for a call and the clinic gave one.
    call: Option<String>,
    /// reassure, tell_us_within_days, call_today, emergency: the page's tone.
    tone: &'static str,
    headline: String,
    text: String,
    /// What is normal at this stage, when all is as expected.
    normal: Vec<String>,
    /// What the patient reported that the clinic will look at.
    reported: Vec<String>,
}

/// Every question answered, on its scale; the note kept as typed. A form
/// never answers for the patient: an unanswered question is refused.
pub fn answers(v: &FormValues) -> Result<Answers, Invalid> {
    let mut inv = Invalid::default();
    let mut levels = vec![];
    for q in &QUESTIONS {
        match v.get(q.code).parse::<u8>() {
            Ok(n) => levels.push((q.code.to_string(), n)),
            Err(_) => inv.push(q.code, format!("Please answer: {}", q.text)),
        }
    }
    let a = Answers {
        levels,
        note: v.get("note").trim().to_string(),
    };
    if let Err(more) = a.validate() {
        inv.errors.extend(more.errors);
    }
    inv.into_result()?;
    Ok(a)
}

fn refused(r: LinkRefusal) -> Response {
    let (status, title, message) = match r {
        LinkRefusal::Unknown => (StatusCode::NOT_FOUND, "This link does not work", "Check that you opened the whole link from the clinic's message. If something worries you, call the clinic."),
        LinkRefusal::Expired => (StatusCode::GONE, "This check-in has closed", "The next check-in will come by message. If something worries you now, call the clinic."),
        LinkRefusal::AlreadyUsed => (StatusCode::GONE, "You have answered this check-in", "Thank you: the clinic has your answers. If something has changed or worries you, call the clinic."),
    };
    (
        status,
        render(&super::intake::DonePage {
            title,
            message: message.into(),
        }),
    )
        .into_response()
}

async fn form_page(
    st: &AppState,
    csrf: &CsrfToken,
    action: &str,
    c: &Checkin,
    form: FormValues,
    errors: Invalid,
) -> Result<FormPage, PageError> {
    let p = st.store.patient(c.patient_id).await?;
    Ok(FormPage {
        csrf: csrf.0.clone(),
        action: action.to_string(),
        clinic: st.store.clinic(c.clinic_id).await?.details.name,
        first_name: p.details.given_name,
        day: checkins::day_after_session(st, c).await?,
        questions: form_questions(),
        form,
        problems: errors.errors.iter().map(|e| e.message.clone()).collect(),
        errors,
    })
}

/// The form of a check-in that may be answered, or why not.
pub async fn form(
    st: &AppState,
    csrf: &CsrfToken,
    action: &str,
    c: Result<Checkin, LinkRefusal>,
) -> Result<Response, PageError> {
    match c {
        Ok(c) => Ok(render(
            &form_page(
                st,
                csrf,
                action,
                &c,
                FormValues::default(),
                Invalid::default(),
            )
            .await?,
        )),
        Err(r) => Ok(refused(r)),
    }
}

pub async fn show(
    State(st): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let c = checkins::by_token(&st, &token).await?;
    form(&st, &csrf, &format!("/checkin/{token}"), c).await
}

pub async fn submit(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(token): Path<String>,
    m: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let c = checkins::by_token(&st, &token).await?;
    answer(&st, &csrf, &headers, &format!("/checkin/{token}"), c, m).await
}

/// Takes a patient's answers to a check-in (from its link or their page)
/// and shows what the triage tells them.
pub async fn answer(
    st: &AppState,
    csrf: &CsrfToken,
    headers: &HeaderMap,
    action: &str,
    c: Result<Checkin, LinkRefusal>,
    m: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let c = match c {
        Ok(c) => c,
        Err(r) => return Ok(refused(r)),
    };
    let upload = match m {
        Ok(m) => read_upload(headers, m).await,
        Err(_) => Err(needlepoint_practice::photos::PhotoError::Unreadable),
    };
    let outcome = match upload {
        Err(e) => Err((FormValues::default(), Invalid::one("photo", e.message()))),
        Ok((v, data)) => match answers(&v) {
            Err(inv) => Err((v, inv)),
            Ok(a) => {
                let photo = (!data.is_empty()).then_some(data);
                match checkins::answer(st, &st.config.data_dir, &c, a, photo).await {
                    Ok(Ok(done)) => Ok(done),
                    Ok(Err(r)) => return Ok(refused(r)),
                    Err(Error::Invalid(inv)) => Err((v, inv)),
                    Err(e) => return Err(e.into()),
                }
            }
        },
    };
    match outcome {
        Ok(done) => {
            let (headline, text) = done.words;
            let advice = done.triage.advice;
            let clinic = st.store.clinic(c.clinic_id).await?.details;
            Ok(render(&DonePage {
                call: clinic.phone.filter(|_| advice.flags()),
                clinic: clinic.name,
                tone: match advice {
                    needlepoint_domain::triage::Advice::Reassure => "ok",
                    needlepoint_domain::triage::Advice::TellUsWithinDays => "warn",
                    _ => "error",
                },
                headline,
                text,
                normal: if advice.flags() {
                    vec![]
                } else {
                    done.triage.normal_today
                },
                reported: done
                    .triage
                    .findings
                    .iter()
                    .filter(|f| f.advice.flags())
                    .filter_map(|f| needlepoint_domain::triage::question(f.question))
                    .map(|q| q.text.to_string())
                    .collect(),
            }))
        }
        Err((v, inv)) => {
            let page = form_page(st, csrf, action, &c, v, inv).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "checkin_review.html")]
struct ReviewPage {
    shell: Shell,
    c: Checkin,
    patient: String,
    chart_id: i64,
    due: String,
    answered: Option<String>,
    advice: Option<&'static str>,
    /// (question, answer in words) for each answer given.
    answers: Vec<(&'static str, String)>,
    note: String,
    reviewed: Option<String>,
    error: Option<String>,
}

/// An answer in words: "Moderate", "Yes", "6 / 10".
fn in_words(scale: Scale, v: u8) -> String {
    match scale {
        Scale::YesNo => if v > 0 { "Yes" } else { "No" }.into(),
        Scale::Level => ["None", "Mild", "Moderate", "Severe"]
            .get(usize::from(v))
            .unwrap_or(&"?")
            .to_string(),
        Scale::Pain => format!("{v} / 10"),
    }
}

async fn review_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    id: i64,
    error: Option<String>,
) -> Result<ReviewPage, PageError> {
    let c = st.store.checkin(id).await?;
    if !caller.sees_clinic(c.clinic_id) {
        return Err(PageError::NotFound);
    }
    let zone = st.store.clinic(c.clinic_id).await?.details.time_zone;
    let patient = st.store.patient(c.patient_id).await?.details.full_name();
    let reviewed = match (c.reviewed_at, c.reviewed_by) {
        (Some(at), Some(by)) => Some(format!(
            "Reviewed by {} on {}{}",
            st.store.staff(by).await?.name,
            local_time(at, &zone),
            c.review_note
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        )),
        _ => None,
    };
    Ok(ReviewPage {
        shell: Shell::new(caller, csrf, "patients"),
        patient,
        chart_id: c.chart_id,
        due: local_time(c.due_at, &zone),
        answered: c.answered_at.map(|t| local_time(t, &zone)),
        advice: c.advice.map(|a| a.label()),
        answers: c
            .answers
            .as_ref()
            .map(|a| {
                QUESTIONS
                    .iter()
                    .map(|q| (q.text, in_words(q.scale, a.level(q.code))))
                    .collect()
            })
            .unwrap_or_default(),
        note: c
            .answers
            .as_ref()
            .map(|a| a.note.clone())
            .unwrap_or_default(),
        reviewed,
        error,
        c,
    })
}

pub async fn review_show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    Ok(render(&review_page(&st, &caller, &csrf, id, None).await?))
}

pub async fn review(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    match checkins::review(&st, &caller, id, v.get("note")).await {
        Ok(_) => Ok(Redirect::to(&format!("/checkins/{id}")).into_response()),
        Err(e) if e.is_answer_to_input() => {
            let page = review_page(&st, &caller, &csrf, id, Some(e.message())).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
