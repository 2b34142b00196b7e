//! The patient's own sign-in: no password, a one-time code (with a
//! single-use link beside it) sent to the e-mail or phone the patient
//! gave. Every answer is the same whether or not anyone has that address;
//! wrong codes lock the address for a while, known or not.

use crate::{Context, Error, Result};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use jiff::SignedDuration;
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::booking_rules::CancellationPolicy;
use needlepoint_domain::message::MessageChannel;
use needlepoint_store::{Appointment, CodeRefusal, Move, NewPatientCode, Patient, StatusChange};

/// How long a code and its link work.
pub const CODE_MINUTES: i64 = 15;
/// Wrong codes in a row before the address is locked…
pub const MAX_WRONG_CODES: i64 = 5;
/// …for this long.
pub const LOCK_MINUTES: i64 = 15;
/// A patient's session ends after this long unused…
pub const IDLE_MINUTES: i64 = 30;
/// …and in any case after this long.
pub const SESSION_HOURS: i64 = 12;
/// At most this many patients share an address (a family's e-mail).
const SHARED_ADDRESS_MAX: usize = 20;
/// At most this many codes go to one address in an hour: asking again
/// and again does not flood a patient's inbox (the page says the same).
pub const CODES_PER_HOUR: i64 = 5;

/// An address as typed: an e-mail, or a phone number by its digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Email(String),
    Phone(String),
}

impl Address {
    pub fn parse(typed: &str) -> Result<Address> {
        let t = typed.trim();
        if t.contains('@') {
            return match needlepoint_domain::Email::parse("address", t) {
                Ok(e) => Ok(Address::Email(e.to_string().to_lowercase())),
                Err(_) => Err(Error::invalid(
                    "address",
                    "Enter the e-mail address you gave the clinic, like name@example.com.",
                )),
            };
        }
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        let allowed = t
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-.".contains(c));
        if t.is_empty() || !allowed || digits.len() < 6 || digits.len() > 20 {
            return Err(Error::invalid(
                "address",
                "Enter the e-mail address or mobile number you gave the clinic.",
            ));
        }
        Ok(Address::Phone(digits))
    }

    /// The key codes and locks are kept under.
    fn key(&self) -> String {
        match self {
            Address::Email(e) => format!("email:{e}"),
            Address::Phone(d) => format!("phone:{d}"),
        }
    }
}

fn code_hash(address: &Address, code: &str) -> String {
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    crate::signin::token_hash(&format!("{}:{code}", address.key()))
}

/// Six random digits, written "482 913".
fn random_code() -> String {
    let n = OsRng.next_u32() % 1_000_000;
    format!("{:03} {:03}", n / 1000, n % 1000)
}

/// Sends a code and a sign-in link to each patient who gave this address;
/// sends nothing, and says the same, for an address nobody gave.
pub async fn send_code(cx: &Context, typed: &str, site: &str) -> Result<()> {
    let address = Address::parse(typed)?;
    let found = match &address {
        Address::Email(e) => cx.store.patients_by_address(Some(e), None).await?,
        Address::Phone(d) => cx.store.patients_by_address(None, Some(d)).await?,
    };
    let now = cx.now();
    let hour_ago = now - SignedDuration::from_hours(1);
    // Codes are counted per patient: a family's shared address gets one
    // per patient each time.
    let sent = cx
        .store
        .patient_codes_sent(&address.key(), hour_ago)
        .await?;
    if sent >= CODES_PER_HOUR * found.len().clamp(1, SHARED_ADDRESS_MAX) as i64 {
        return Ok(());
    }
    let expires_at = now + SignedDuration::from_mins(CODE_MINUTES);
    let (mut codes, mut messages) = (vec![], vec![]);
    for p in found.iter().take(SHARED_ADDRESS_MAX) {
        let (code, link) = (random_code(), crate::signin::random_token());
        let (channel, to) = match &address {
            Address::Email(_) => (
                MessageChannel::Email,
                p.details.email.as_ref().map(|e| e.to_string()),
            ),
            Address::Phone(_) => (MessageChannel::Sms, p.details.phone.clone()),
        };
        let Some(to) = to else { continue };
        let zone = cx.store.clinic(p.clinic_id).await?.details.time_zone;
        let letters = crate::messages::letters(cx, p).await?;
        messages.push(letters.portal_code(
            p.clinic_id,
            channel,
            &to,
            &code,
            &format!("{site}/me/link/{link}"),
            expires_at,
            &zone,
        ));
        codes.push(NewPatientCode {
            patient_id: p.id,
            address: address.key(),
            code_hash: code_hash(&address, &code),
            link_hash: crate::signin::token_hash(&link),
            expires_at,
        });
    }
    if !codes.is_empty() {
        cx.store.add_patient_codes(&codes, now).await?;
        cx.store.enqueue_messages(&messages).await?;
    }
    Ok(())
}

/// A new session for a patient: its token for the cookie.
async fn open_session(cx: &Context, patient_id: i64) -> Result<String> {
    let token = crate::signin::random_token();
    let now = cx.now();
    cx.store
        .create_patient_session(
            &crate::signin::token_hash(&token),
            patient_id,
            now + SignedDuration::from_hours(SESSION_HOURS),
            now,
        )
        .await?;
    Ok(token)
}

/// Signs in with a code: the session's token, or why not (the same
/// refusal for a wrong, expired or used code, and for an unknown address).
pub async fn sign_in_with_code(
    cx: &Context,
    typed: &str,
    code: &str,
) -> Result<Result<String, CodeRefusal>> {
    let address = Address::parse(typed)?;
    let digits = code.chars().filter(char::is_ascii_digit).count();
    if digits != 6 || code.chars().any(|c| !c.is_ascii_digit() && c != ' ') {
        return Err(Error::invalid(
            "code",
            "The code is six digits, like 482 913.",
        ));
    }
    match cx
        .store
        .use_patient_code(
            &address.key(),
            &code_hash(&address, code),
            MAX_WRONG_CODES,
            SignedDuration::from_mins(LOCK_MINUTES),
            cx.now(),
        )
        .await?
    {
        Ok(patient_id) => Ok(Ok(open_session(cx, patient_id).await?)),
        Err(r) => Ok(Err(r)),
    }
}

/// Signs in with the single-use link sent with a code.
pub async fn sign_in_with_link(cx: &Context, token: &str) -> Result<Option<String>> {
    match cx
        .store
        .use_patient_link(&crate::signin::token_hash(token), cx.now())
        .await?
    {
        Some(patient_id) => Ok(Some(open_session(cx, patient_id).await?)),
        None => Ok(None),
    }
}

/// The patient a session cookie belongs to, while it is live.
pub async fn patient_of(cx: &Context, token: &str) -> Result<Option<Patient>> {
    match cx
        .store
        .patient_session(
            &crate::signin::token_hash(token),
            SignedDuration::from_mins(IDLE_MINUTES),
            cx.now(),
        )
        .await?
    {
        Some(id) => Ok(Some(cx.store.patient(id).await?)),
        None => Ok(None),
    }
}

pub async fn sign_out(cx: &Context, token: &str) -> Result<()> {
    Ok(cx
        .store
        .end_patient_session(&crate::signin::token_hash(token))
        .await?)
}

/// A new intake link for the patient to update her health answers from
/// her page: the same form and the same wait for a clinician to confirm
/// as an intake link sent by the clinic. Returns the link's token.
pub async fn intake_link(cx: &Context, p: &Patient, ip: Option<String>) -> Result<String> {
    let token = crate::signin::random_token();
    let now = cx.now();
    // An hour is enough to answer now; she asks again for another.
    cx.store
        .create_intake_link(
            p.id,
            &crate::signin::token_hash(&token),
            now + SignedDuration::from_hours(1),
            &actor(p, ip),
            now,
        )
        .await?;
    Ok(token)
}

/// Who the trail records for what a patient does on their page.
pub fn actor(p: &Patient, ip: Option<String>) -> needlepoint_store::Actor {
    needlepoint_store::Actor {
        staff_id: None,
        label: format!("patient {} on their page", p.id),
        channel: needlepoint_store::Channel::Web,
        ip,
    }
}

/// One of the patient's own appointments: any other is not found.
pub async fn appointment(cx: &Context, p: &Patient, id: i64) -> Result<Appointment> {
    let a = cx.store.appointment(id).await.map_err(Error::from)?;
    if a.patient_id != p.id {
        return Err(Error::NotFound);
    }
    Ok(a)
}

/// What a patient may still change: a booked appointment not yet begun.
fn changeable(cx: &Context, a: &Appointment) -> Result<()> {
    if a.status != AppointmentStatus::Booked || a.starts_at <= cx.now() {
        return Err(Error::refused(
            "This appointment can no longer be changed here; call the clinic.",
        ));
    }
    Ok(())
}

/// The fee the patient pays for moving or cancelling now (minor units;
/// 0 outside the notice period), with the clinic's policy.
pub async fn fee_now(cx: &Context, a: &Appointment) -> Result<(CancellationPolicy, i64)> {
    crate::booking::fee_if_cancelled_now(cx, a).await
}

/// A move the patient asked for, checked by the same rules as staff
/// booking (opening hours, free practitioner and room, the healing windows
/// with the sessions before and after: a patient cannot override them).
/// `move_later`: the course's later sessions move along, each at its
/// weekday and time where free, as staff may move them.
pub async fn plan_move(
    cx: &Context,
    a: &Appointment,
    local: &str,
    move_later: bool,
) -> Result<Vec<Move>> {
    changeable(cx, a)?;
    let local = local
        .trim()
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| Error::invalid("to", "Choose the new day and time."))?;
    crate::booking::plan_move(
        cx,
        a,
        &crate::booking::MoveRequest {
            local: Some(local),
            practitioner: None,
            window_override: None,
            move_later,
        },
    )
    .await
}

/// Moves the appointment once the patient has seen the fee: refused if the
/// fee is no longer the one shown (the notice period began meanwhile).
pub async fn move_appointment(
    cx: &Context,
    p: &Patient,
    a: &Appointment,
    local: &str,
    move_later: bool,
    fee_shown: i64,
    ip: Option<String>,
) -> Result<Vec<Appointment>> {
    let mut moves = plan_move(cx, a, local, move_later).await?;
    let (_, fee) = fee_now(cx, a).await?;
    if fee != fee_shown {
        return Err(Error::refused(
            "The fee for changing this appointment has changed since you saw it; check it again.",
        ));
    }
    // The fee is for the appointment inside the notice period, the first.
    if let Some(m) = moves.first_mut() {
        m.fee_minor = Some(fee).filter(|f| *f > 0);
    }
    let before = match a.plan_id {
        Some(id) => cx.store.plan(id).await?.plan.pretreatment,
        None => vec![],
    };
    let letters = crate::messages::letters(cx, p).await?;
    let compose = |moved: &[Appointment]| letters.appointments(moved, "rescheduled", &before);
    Ok(cx
        .store
        .reschedule_and_message(&moves, &compose, &actor(p, ip), cx.now())
        .await?)
}

/// Cancels the appointment once the patient has seen the fee.
pub async fn cancel(
    cx: &Context,
    p: &Patient,
    a: &Appointment,
    fee_shown: i64,
    ip: Option<String>,
) -> Result<Appointment> {
    changeable(cx, a)?;
    let (_, fee) = fee_now(cx, a).await?;
    if fee != fee_shown {
        return Err(Error::refused(
            "The fee for cancelling this appointment has changed since you saw it; check it again.",
        ));
    }
    let change = StatusChange {
        status: AppointmentStatus::Cancelled,
        reason: Some("Cancelled by the patient on their page"),
        cancelled_by: Some("patient"),
        fee_minor: Some(fee).filter(|f| *f > 0),
    };
    let letters = crate::messages::letters(cx, p).await?;
    let compose = |done: &[Appointment]| letters.cancellation(done);
    let who = actor(p, ip);
    let done = cx
        .store
        .set_appointment_status_and_message(a.id, &change, &compose, &who, cx.now())
        .await?;
    crate::billing::after_fee(cx, &who, &done).await;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_as_typed_in_a_hurry() {
        assert_eq!(
            Address::parse(" Ada@Example.COM ").unwrap(),
            Address::Email("ada@example.com".into())
        );
        assert_eq!(
            Address::parse("+44 (0)7700-900.123").unwrap(),
            Address::Phone("4407700900123".into())
        );
        for bad in ["", "ada@", "12345", "call me", "0".repeat(21).as_str()] {
            assert!(Address::parse(bad).is_err(), "{bad:?}");
        }
        // A code typed with or without its space is the same code.
        let a = Address::parse("ada@example.com").unwrap();
        assert_eq!(code_hash(&a, "482 913"), code_hash(&a, "482913"));
        assert_ne!(code_hash(&a, "482 913"), code_hash(&a, "482 914"));
        let c = random_code();
        assert_eq!(c.len(), 7);
        assert_eq!(c.chars().filter(char::is_ascii_digit).count(), 6);
    }
}
