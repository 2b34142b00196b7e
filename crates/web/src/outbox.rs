//! Messages to patients: what a booking or cancellation queues, and the
//! worker inside `serve` that sends what is due. A failed send is retried
//! with back-off and never dropped. Without a configured provider, e-mails
//! are written to a mailbox folder (and shown on the Messages page), so the
//! demo works offline.

use crate::AppState;
use jiff::{SignedDuration, Timestamp};
use needlepoint_store::{Appointment, Message, NewMessage, Patient, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// Hands a message to whatever delivers it (SMTP, an SMS provider, a folder).
pub trait Sender: Send + Sync {
    fn send(&self, m: &Message) -> Result<(), String>;
}

/// Writes each e-mail as an `.eml` file: a mailbox to read offline.
pub struct MailboxFolder(pub PathBuf);

impl Sender for MailboxFolder {
    fn send(&self, m: &Message) -> Result<(), String> {
        std::fs::create_dir_all(&self.0)
            .map_err(|e| format!("cannot create {}: {e}", self.0.display()))?;
        let boundary = format!("needlepoint-{}", m.id);
        let mut eml = format!(
            "To: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
             --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            m.to_address,
            m.subject,
            m.body.replace('\n', "\r\n")
        );
        if let Some(ics) = &m.attachment {
            eml.push_str(&format!(
                "--{boundary}\r\nContent-Type: text/calendar; charset=utf-8; method=PUBLISH\r\n\
                 Content-Disposition: attachment; filename=\"appointment.ics\"\r\n\r\n{ics}"
            ));
        }
        eml.push_str(&format!("--{boundary}--\r\n"));
        let file = self
            .0
            .join(format!("{:06}-{}-{}.eml", m.id, m.kind, m.channel));
        std::fs::write(&file, eml).map_err(|e| format!("cannot write {}: {e}", file.display()))
    }
}

/// Minutes to wait before the next try after `attempts` failures: 1, 2, 4…
/// up to six hours.
pub fn backoff(attempts: i64) -> SignedDuration {
    SignedDuration::from_mins(2_i64.saturating_pow(attempts.clamp(0, 20) as u32).min(360))
}

/// Sends what is due once; returns how many were sent and failed.
pub async fn deliver_due(
    st: &AppState,
    sender: &dyn Sender,
    now: Timestamp,
) -> Result<(usize, usize), StoreError> {
    let (mut sent, mut failed) = (0, 0);
    for m in st.store.due_messages(now, 50).await? {
        match sender.send(&m) {
            Ok(()) => {
                st.store.mark_sent(m.id, now).await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(message = m.id, error = %e, "message not sent; will retry");
                st.store
                    .mark_failed(m.id, &e, now + backoff(m.attempts))
                    .await?;
                failed += 1;
            }
        }
    }
    Ok((sent, failed))
}

/// Runs [`deliver_due`] every `every` until the process ends.
pub fn spawn_worker(st: AppState, sender: Arc<dyn Sender>, every: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&st, sender.as_ref(), needlepoint_store::now()).await {
                tracing::error!(error = %e, "outbox");
            }
            tokio::time::sleep(every).await;
        }
    });
}

fn address(p: &Patient) -> Option<(&'static str, String)> {
    match (&p.details.email, &p.details.phone) {
        (Some(e), _) => Some(("email", e.to_string())),
        (None, Some(ph)) => Some(("sms", ph.clone())),
        _ => None,
    }
}

/// Confirmation now and reminders 48 and 24 hours before, with the plan's
/// instructions for before a session.
pub async fn queue_for_booking(
    st: &AppState,
    p: &Patient,
    booked: &[Appointment],
    instructions: &[String],
) -> Result<(), StoreError> {
    let Some((channel, to)) = address(p) else {
        return Ok(());
    };
    let clinic = st.store.clinic(p.clinic_id).await?.details.name;
    let now = needlepoint_store::now();
    let before = if instructions.is_empty() {
        String::new()
    } else {
        format!(
            "\n\nBefore your session:\n{}",
            instructions
                .iter()
                .map(|i| format!("- {i}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    let mut list = vec![];
    for a in booked {
        let when = a
            .starts_at
            .to_zoned(jiff::tz::TimeZone::get(&a.time_zone).unwrap_or(jiff::tz::TimeZone::UTC))
            .strftime("%A %-d %B %Y at %H:%M")
            .to_string();
        let what = format!(
            "microneedling session{}",
            a.session_number
                .map(|n| format!(" {n}"))
                .unwrap_or_default()
        );
        let ics = crate::ical::calendar(
            &clinic,
            &[crate::ical::Event {
                uid: format!("appointment-{}@needlepoint", a.id),
                start: a.starts_at,
                end: a.ends_at,
                summary: format!("{what} at {clinic}"),
                location: clinic.clone(),
                description: String::new(),
                cancelled: false,
            }],
            now,
        );
        let mut msg = |kind: &str,
                       due: Timestamp,
                       subject: String,
                       body: String,
                       attachment: Option<String>| {
            if due >= now - SignedDuration::from_mins(1) {
                list.push(NewMessage {
                    clinic_id: a.clinic_id,
                    patient_id: Some(p.id),
                    appointment_id: Some(a.id),
                    kind: kind.into(),
                    channel: channel.into(),
                    to_address: to.clone(),
                    subject,
                    body,
                    attachment,
                    due_at: due,
                });
            }
        };
        let hello = format!("Dear {},", p.details.given_name);
        msg(
            "confirmation",
            now,
            format!("Booked: your {what} at {clinic}"),
            format!("{hello}\n\nYour {what} at {clinic} is booked for {when}.{before}"),
            Some(ics),
        );
        for hours in [48, 24] {
            msg(
                &format!("reminder_{hours}h"),
                a.starts_at - SignedDuration::from_hours(hours),
                format!("Reminder: your {what} on {when}"),
                format!("{hello}\n\nA reminder of your {what} at {clinic} on {when}.{before}"),
                None,
            );
        }
    }
    st.store.enqueue_messages(&list).await
}

/// Stops an appointment's reminders and tells the patient it is cancelled.
pub async fn queue_cancellation(st: &AppState, a: &Appointment) -> Result<(), StoreError> {
    st.store.cancel_messages(a.id).await?;
    let p = st.store.patient(a.patient_id).await?;
    let Some((channel, to)) = address(&p) else {
        return Ok(());
    };
    let clinic = st.store.clinic(a.clinic_id).await?.details.name;
    let when = a
        .starts_at
        .to_zoned(jiff::tz::TimeZone::get(&a.time_zone).unwrap_or(jiff::tz::TimeZone::UTC))
        .strftime("%A %-d %B %Y at %H:%M")
        .to_string();
    st.store
        .enqueue_messages(&[NewMessage {
            clinic_id: a.clinic_id,
            patient_id: Some(p.id),
            appointment_id: Some(a.id),
            kind: "cancellation".into(),
            channel: channel.into(),
            to_address: to,
            subject: format!("Cancelled: your appointment at {clinic}"),
            body: format!("Dear {},\n\nYour appointment at {clinic} on {when} is cancelled. Contact the clinic to book another time.", p.details.given_name),
            attachment: None,
            due_at: needlepoint_store::now(),
        }])
        .await
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_back_off_to_six_hours() {
        assert_eq!(backoff(0).as_secs(), 60);
        assert_eq!(backoff(3).as_secs(), 8 * 60);
        assert_eq!(backoff(40).as_secs(), 360 * 60);
    }
}
