//! Check-ins after a session: scheduled when the chart is signed, on the
//! knowledge base's days; answered by the patient from a link, triaged by
//! the domain's rules; a flagged answer alerts the clinician who signed
//! and waits on Today until a clinician has reviewed it.

use crate::charting::Session;
use crate::{Actor, Context, Error, Result};
use jiff::{SignedDuration, Timestamp};
use needlepoint_domain::message::MessageChannel;
use needlepoint_domain::triage::{self, Answers};
use needlepoint_store::{Checkin, CheckinAnswer, LinkRefusal, NewCheckin, NewMessage, NewPhoto};

/// The hour of the clinic's day a check-in's link is sent: morning, so a
/// sign reported reaches the clinic while it is open.
const SEND_AT_HOUR: i8 = 9;
/// How long the last check-in's link works (the others work until the
/// next one is sent).
const LAST_LINK_DAYS: i64 = 7;
/// How long an unanswered check-in waits before Today shows it.
pub const UNANSWERED_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// A check-in to schedule, with its raw token (for the link) beside the
/// record.
pub struct Planned {
    pub checkin: NewCheckin,
    pub token: String,
}

/// The check-ins of a session signed now, on the knowledge base's days
/// after the session's day, each sent at [`SEND_AT_HOUR`] in the clinic's
/// zone. A day already past when the chart is signed late is sent at once
/// if its link would still work; otherwise it is skipped.
pub fn plan(sx: &Session, now: Timestamp) -> Vec<Planned> {
    let tz = jiff::tz::TimeZone::get(&sx.zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let session_day = sx.appointment.starts_at.to_zoned(tz.clone()).date();
    let due = |day: u32| -> Option<Timestamp> {
        let d = session_day
            .checked_add(jiff::Span::new().days(i64::from(day)))
            .ok()?;
        let at = d.at(SEND_AT_HOUR, 0, 0, 0);
        tz.to_ambiguous_timestamp(at).compatible().ok()
    };
    let days = &sx.kb.checkins.days;
    let mut out = vec![];
    for (i, day) in days.iter().enumerate() {
        let Some(due_at) = due(*day) else { continue };
        let expires_at = match days.get(i + 1).and_then(|next| due(*next)) {
            Some(next) => next,
            None => due_at + SignedDuration::from_hours(24 * LAST_LINK_DAYS),
        };
        if expires_at <= now {
            continue;
        }
        let token = crate::signin::random_token();
        out.push(Planned {
            checkin: NewCheckin {
                day: *day,
                token_hash: crate::signin::token_hash(&token),
                due_at: due_at.max(now),
                expires_at,
            },
            token,
        });
    }
    out
}

/// The link messages of planned check-ins (none without an address).
pub fn link_messages(
    letters: &crate::messages::Letters,
    sx: &Session,
    planned: &[Planned],
    site: &str,
) -> Vec<NewMessage> {
    planned
        .iter()
        .filter_map(|p| {
            letters.checkin_link(
                &sx.appointment,
                &format!("{site}/checkin/{}", p.token),
                p.checkin.due_at,
                p.checkin.expires_at,
            )
        })
        .collect()
}

/// The check-in a link opens, while it can be answered.
pub async fn by_token(cx: &Context, token: &str) -> Result<Result<Checkin, LinkRefusal>> {
    Ok(cx
        .store
        .checkin_by_token(&crate::signin::token_hash(token), cx.now())
        .await?)
}

/// A check-in of the signed-in patient, opened from their page: another
/// patient's, or one not sent yet, is not found.
pub async fn of_patient(
    cx: &Context,
    patient_id: i64,
    id: i64,
) -> Result<Result<Checkin, LinkRefusal>> {
    let c = cx.store.checkin(id).await?;
    if c.patient_id != patient_id || c.due_at > cx.now() {
        return Err(Error::NotFound);
    }
    Ok(if c.answered_at.is_some() {
        Err(LinkRefusal::AlreadyUsed)
    } else if c.expires_at <= cx.now() {
        Err(LinkRefusal::Expired)
    } else {
        Ok(c)
    })
}

/// The day after the session on which the patient answers (not the day
/// the link was for: an answer on day 5 to the day-3 link is judged as
/// day 5).
pub async fn day_after_session(cx: &Context, c: &Checkin) -> Result<u32> {
    let chart = cx.store.chart(c.chart_id).await?;
    let appt = cx.store.appointment(chart.appointment_id).await?;
    let tz = jiff::tz::TimeZone::get(&appt.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let session_day = appt.starts_at.to_zoned(tz.clone()).date();
    let today = cx.now().to_zoned(tz).date();
    let days = (today - session_day).get_days();
    Ok(u32::try_from(days.max(0)).unwrap_or(0))
}

/// What an answered check-in told the patient and the clinic.
pub struct Answered {
    pub checkin: Checkin,
    pub triage: triage::Triage,
    /// What the patient is told, in the clinic's words: (headline, text).
    pub words: (String, String),
}

/// Keeps a patient's answers: triaged, with the photo (cleaned and kept
/// on disk first), and an alert to the clinician who signed the session
/// when the answer is flagged, all in one transaction.
pub async fn answer(
    cx: &Context,
    data_dir: &std::path::Path,
    c: &Checkin,
    answers: Answers,
    photo: Option<Vec<u8>>,
) -> Result<Result<Answered, LinkRefusal>> {
    answers.validate()?;
    let kb = cx.clinic_kb(c.clinic_id).await?;
    let day = day_after_session(cx, c).await?;
    let result = triage::triage(&kb, day, &answers);
    let photo = match photo {
        Some(bytes) => {
            let cleaned = crate::photos::clean_and_keep(data_dir, bytes).await?;
            Some(NewPhoto {
                clinic_id: c.clinic_id,
                patient_id: c.patient_id,
                chart_id: Some(c.chart_id),
                view: format!("Check-in, day {day}"),
                sha256: cleaned.sha256.clone(),
                width: i64::from(cleaned.width),
                height: i64::from(cleaned.height),
                bytes: cleaned.jpeg.len() as i64,
            })
        }
        None => None,
    };
    let findings: Vec<String> = result
        .findings
        .iter()
        .map(|f| {
            let q = triage::question(f.question).map_or(f.question, |q| q.text);
            format!("{}: {q} ({})", f.advice.label(), f.why)
        })
        .collect();
    let patient = cx.store.patient(c.patient_id).await?;
    let alerts = if result.advice.flags() {
        alert(cx, c, &patient, day, &result, &findings).await?
    } else {
        vec![]
    };
    let kept = cx
        .store
        .answer_checkin(
            c.id,
            &CheckinAnswer {
                answers,
                advice: result.advice,
                findings,
                photo,
            },
            &alerts,
            &needlepoint_store::Actor::system("patient via check-in link"),
            cx.now(),
        )
        .await?;
    let letters = crate::messages::letters(cx, &patient).await?;
    Ok(kept.map(|checkin| Answered {
        words: letters.triage_words(result.advice),
        checkin,
        triage: result,
    }))
}

/// The alert to the clinician who signed the session (by e-mail, now).
async fn alert(
    cx: &Context,
    c: &Checkin,
    patient: &needlepoint_store::Patient,
    day: u32,
    result: &triage::Triage,
    findings: &[String],
) -> Result<Vec<NewMessage>> {
    let chart = cx.store.chart(c.chart_id).await?;
    let Some(signer) = chart.signed_by else {
        return Ok(vec![]);
    };
    let staff = cx.store.staff(signer).await?;
    Ok(vec![NewMessage {
        clinic_id: c.clinic_id,
        patient_id: Some(c.patient_id),
        appointment_id: None,
        kind: "checkin_alert".into(),
        channel: MessageChannel::Email,
        to_address: staff.email.to_string(),
        subject: format!(
            "Check-in flagged: {} (day {day}): {}",
            patient.details.full_name(),
            result.advice.label()
        ),
        body: format!(
            "{} answered the day-{} check-in after the session you signed, on day {day}.\n\n{}\n\n\
             The check-in is flagged on Today and on the patient's page until a clinician reviews it.",
            patient.details.full_name(),
            c.day,
            findings.join("\n")
        ),
        attachment: None,
        due_at: cx.now(),
    }])
}

/// A clinician has looked at a flagged or unanswered check-in.
pub async fn review(cx: &Context, actor: &Actor, id: i64, note: &str) -> Result<Checkin> {
    let c = cx.store.checkin(id).await?;
    crate::access::clinic(actor, c.clinic_id)?;
    if !actor.is_clinical() {
        return Err(Error::refused("Only a clinician reviews a check-in."));
    }
    let note = note.trim();
    if note.chars().count() > 2000 {
        return Err(Error::invalid("note", "Keep it under 2,000 characters."));
    }
    Ok(cx
        .store
        .review_checkin(id, note, &actor.audit, cx.now())
        .await?)
}

/// The clinic's check-ins waiting for a clinician.
pub async fn open(cx: &Context, clinic_id: i64) -> Result<Vec<Checkin>> {
    let now = cx.now();
    Ok(cx
        .store
        .open_checkins(clinic_id, now - UNANSWERED_AFTER, now)
        .await?)
}
