//! Messages to patients: what a booking or cancellation queues, and the
//! worker inside `serve` that sends what is due. A failed send is retried
//! with back-off and never dropped. Without a configured provider, e-mails
//! are written to a mailbox folder (and shown on the Messages page), so the
//! demo works offline.

use crate::Context;
use jiff::{SignedDuration, Timestamp};
use needlepoint_domain::message::MessageChannel;
use needlepoint_domain::message_template::{MessageTemplate, KINDS};
use needlepoint_store::{Appointment, Message, NewMessage, Patient, StoreError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Hands a message to whatever delivers it (SMTP, an SMS provider, a
/// folder). Async: a slow provider holds up nothing but its own send.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, m: &Message) -> Result<(), String>;
}

/// Writes each e-mail as an `.eml` file: a mailbox to read offline.
pub struct MailboxFolder(pub PathBuf);

impl MailboxFolder {
    /// The message as an RFC 5322 e-mail, built as SMTP would send it.
    pub fn message_text(m: &Message, from: &str) -> Result<Vec<u8>, String> {
        Ok(crate::delivery::email(m, from)?.formatted())
    }
}

#[async_trait::async_trait]
impl Sender for MailboxFolder {
    async fn send(&self, m: &Message) -> Result<(), String> {
        let file = self
            .0
            .join(format!("{:06}-{}-{}.eml", m.id, m.kind, m.channel));
        let eml = Self::message_text(m, "needlepoint@localhost")?;
        let dir = self.0.clone();
        // Patients' messages: a folder and files for the owner alone.
        tokio::task::spawn_blocking(move || {
            needlepoint_store::files::private_dir(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            needlepoint_store::files::write_private(&file, &eml)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// Minutes to wait before the next try after `attempts` failures: 1, 2, 4…
/// up to six hours.
pub fn backoff(attempts: i64) -> SignedDuration {
    SignedDuration::from_mins(2_i64.saturating_pow(attempts.clamp(0, 20) as u32).min(360))
}

/// Sends what is due once; returns how many were sent and failed.
pub async fn deliver_due(
    cx: &Context,
    sender: &dyn Sender,
    now: Timestamp,
) -> Result<(usize, usize), StoreError> {
    let (mut sent, mut failed) = (0, 0);
    for m in cx.store.due_messages(now, 50).await? {
        match sender.send(&m).await {
            Ok(()) => {
                cx.store.mark_sent(m.id, now).await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(message = m.id, error = %e, "message not sent; will retry");
                cx.store
                    .mark_failed(m.id, &e, now + backoff(m.attempts))
                    .await?;
                failed += 1;
            }
        }
    }
    Ok((sent, failed))
}

/// Runs [`deliver_due`] every `every` until the process ends.
pub fn spawn_worker(cx: Context, sender: Arc<dyn Sender>, every: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&cx, sender.as_ref(), cx.now()).await {
                tracing::error!(error = %e, "outbox");
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// How a link set out to reach the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSent {
    /// Queued to go now, to this address.
    Sent { channel: MessageChannel, to: String },
    /// The patient gave no address for the channel asked (or none at all).
    NoAddress,
}

/// The channel a patient's messages go by unless staff choose: e-mail
/// when they gave one, else SMS; `None` with neither.
pub fn preferred_channel(p: &Patient) -> Option<MessageChannel> {
    address(p).map(|(c, _)| c)
}

/// Sends the patient a link (`intake_link` or `consent_link`) on `channel`
/// (their preferred one when `None`), in the clinic's wording.
pub async fn send_link(
    cx: &Context,
    actor: &crate::Actor,
    p: &Patient,
    kind: &str,
    channel: Option<MessageChannel>,
    url: &str,
    expires: Timestamp,
) -> crate::Result<LinkSent> {
    crate::access::clinic(actor, p.clinic_id)?;
    let Some(channel) = channel.or_else(|| preferred_channel(p)) else {
        return Ok(LinkSent::NoAddress);
    };
    let zone = cx.store.clinic(p.clinic_id).await?.details.time_zone;
    let letters = letters(cx, p).await?;
    match letters.link(p.clinic_id, kind, channel, url, expires, &zone) {
        Some(m) => {
            let to = m.to_address.clone();
            cx.store.enqueue_messages(&[m]).await?;
            Ok(LinkSent::Sent { channel, to })
        }
        None => Ok(LinkSent::NoAddress),
    }
}

/// Where the patient's messages go: e-mail when they gave one, else SMS.
fn address(p: &Patient) -> Option<(MessageChannel, String)> {
    match (&p.details.email, &p.details.phone) {
        (Some(e), _) => Some((MessageChannel::Email, e.to_string())),
        (None, Some(ph)) => Some((MessageChannel::Sms, ph.clone())),
        _ => None,
    }
}

/// The clinic's wording of each message, or the shipped wording.
async fn templates(
    cx: &Context,
    clinic_id: i64,
) -> Result<HashMap<String, MessageTemplate>, StoreError> {
    let mut out: HashMap<String, MessageTemplate> = KINDS
        .iter()
        .filter_map(|(k, _)| MessageTemplate::shipped(k).map(|t| (k.to_string(), t)))
        .collect();
    out.extend(cx.store.message_templates(clinic_id).await?);
    Ok(out)
}

/// "microneedling session 2", "consultation".
fn what(kb: &needlepoint_domain::knowledge::KnowledgeBase, a: &Appointment) -> String {
    match (a.kind.as_str(), a.session_number) {
        ("session", Some(n)) => format!("microneedling session {n}"),
        ("session", None) => "microneedling session".into(),
        (kind, _) => kb
            .appointment_type(kind)
            .map(|t| t.name.to_lowercase())
            .unwrap_or_else(|| kind.replace('_', " ")),
    }
}

fn when(a: &Appointment) -> String {
    in_zone(a.starts_at, &a.time_zone)
}

/// "Tuesday 2 March 2027 at 10:00" in the clinic's zone.
fn in_zone(t: Timestamp, zone: &str) -> String {
    t.to_zoned(jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC))
        .strftime("%A %-d %B %Y at %H:%M")
        .to_string()
}

/// What a patient's appointment messages are written from: their address,
/// the clinic's name, rules and wording, read before a change so that the
/// messages can be made inside the change's own transaction.
pub struct Letters {
    patient_id: i64,
    given_name: String,
    address: Option<(MessageChannel, String)>,
    email: Option<String>,
    phone: Option<String>,
    clinic: String,
    /// The clinic's phone, or "the clinic" when it gave none.
    clinic_phone: String,
    currency: String,
    kb: needlepoint_domain::knowledge::KnowledgeBase,
    wording: HashMap<String, MessageTemplate>,
    now: Timestamp,
}

/// Reads what the patient's messages need.
pub async fn letters(cx: &Context, p: &Patient) -> Result<Letters, StoreError> {
    let clinic = cx.store.clinic(p.clinic_id).await?.details;
    Ok(Letters {
        patient_id: p.id,
        given_name: p.details.given_name.clone(),
        address: address(p),
        email: p.details.email.as_ref().map(|e| e.to_string()),
        phone: p.details.phone.clone(),
        clinic: clinic.name,
        clinic_phone: clinic.phone.unwrap_or_else(|| "the clinic".into()),
        currency: cx.store.clinic_pricing(p.clinic_id).await?.currency,
        kb: cx.clinic_kb(p.clinic_id).await?,
        wording: templates(cx, p.clinic_id).await?,
        now: cx.now(),
    })
}

impl Letters {
    /// For each appointment, the first message (`confirmation` or
    /// `rescheduled`, due now with the .ics) and the 48 h and 24 h
    /// reminders, in the clinic's wording with the plan's instructions.
    pub fn appointments(
        &self,
        list: &[Appointment],
        first: &str,
        instructions: &[String],
    ) -> Vec<NewMessage> {
        let Some((channel, to)) = &self.address else {
            return vec![];
        };
        let (clinic, now) = (&self.clinic, self.now);
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
        let mut out = vec![];
        // A course booked at once is confirmed once: every session listed,
        // one .ics holding them all (four messages for four sessions read
        // as four bookings, or as a fault). Reminders stay per session.
        let course = first == "confirmation" && list.len() > 1;
        if course {
            let events: Vec<crate::ical::Event> = list
                .iter()
                .map(|a| self.event(a, &format!("{} at {clinic}", what(&self.kb, a))))
                .collect();
            let sessions: Vec<String> = list
                .iter()
                .map(|a| format!("- {} ({})", when(a), what(&self.kb, a)))
                .collect();
            let (what, when) = (
                format!("course of {} microneedling sessions", list.len()),
                format!("these times:\n{}", sessions.join("\n")),
            );
            let (subject, body) = self.wording[first].render(&self.values(&what, &when, &before));
            out.push(NewMessage {
                clinic_id: list[0].clinic_id,
                patient_id: Some(self.patient_id),
                appointment_id: Some(list[0].id),
                attachment: Some(crate::ical::calendar(clinic, &events, now)),
                kind: first.to_string(),
                channel: *channel,
                to_address: to.clone(),
                subject,
                body,
                due_at: now,
            });
        }
        for a in list {
            let (what, when) = (what(&self.kb, a), when(a));
            let values = self.values(&what, &when, &before);
            let ics = crate::ical::calendar(
                clinic,
                &[self.event(a, &format!("{what} at {clinic}"))],
                now,
            );
            let reminders = [48, 24].map(|h| {
                (
                    format!("reminder_{h}h"),
                    a.starts_at - SignedDuration::from_hours(h),
                )
            });
            let confirm = (!course).then(|| (first.to_string(), now));
            for (kind, due) in confirm.into_iter().chain(reminders) {
                // A reminder whose time has passed is not sent late.
                if due < now - SignedDuration::from_mins(1) {
                    continue;
                }
                let (subject, body) = self.wording[&kind].render(&values);
                out.push(NewMessage {
                    clinic_id: a.clinic_id,
                    patient_id: Some(self.patient_id),
                    appointment_id: Some(a.id),
                    attachment: (kind == first).then(|| ics.clone()),
                    kind,
                    channel: *channel,
                    to_address: to.clone(),
                    subject,
                    body,
                    due_at: due,
                });
            }
        }
        out
    }

    /// The placeholders of an appointment's message.
    fn values<'a>(
        &'a self,
        what: &'a str,
        when: &'a str,
        before: &'a str,
    ) -> [(&'static str, &'a str); 11] {
        [
            ("patient", self.given_name.as_str()),
            ("clinic", self.clinic.as_str()),
            ("what", what),
            ("when", when),
            ("before", before),
            ("fee", ""),
            ("link", ""),
            ("expires", ""),
            ("aftercare", ""),
            ("phone", self.clinic_phone.as_str()),
            ("code", ""),
        ]
    }

    /// The session's aftercare, sent when its chart is signed; none when
    /// the patient gave no address.
    pub fn aftercare(&self, a: &Appointment, sheet: &str) -> Option<NewMessage> {
        let (channel, to) = self.address.as_ref()?;
        let (what, when) = (what(&self.kb, a), when(a));
        let mut values = self.values(&what, &when, "");
        values[8] = ("aftercare", sheet);
        let (subject, body) = self.wording["aftercare"].render(&values);
        Some(NewMessage {
            clinic_id: a.clinic_id,
            patient_id: Some(self.patient_id),
            appointment_id: Some(a.id),
            kind: "aftercare".into(),
            channel: *channel,
            to_address: to.clone(),
            subject,
            body,
            attachment: None,
            due_at: self.now,
        })
    }

    /// A link for the patient to open (`intake_link`, `consent_link`),
    /// sent now on `channel`; `None` when the patient gave no address for
    /// it. `zone` is the clinic's, in which the expiry is written.
    pub fn link(
        &self,
        clinic_id: i64,
        kind: &str,
        channel: MessageChannel,
        url: &str,
        expires: Timestamp,
        zone: &str,
    ) -> Option<NewMessage> {
        let to = match channel {
            MessageChannel::Email => self.email.clone()?,
            MessageChannel::Sms => self.phone.clone()?,
        };
        let expires_words = in_zone(expires, zone);
        let mut values = self.values("", "", "");
        values[6] = ("link", url);
        values[7] = ("expires", expires_words.as_str());
        let (subject, body) = self.wording[kind].render(&values);
        Some(NewMessage {
            clinic_id,
            patient_id: Some(self.patient_id),
            appointment_id: None,
            kind: kind.to_string(),
            channel,
            to_address: to,
            subject,
            body,
            attachment: None,
            due_at: self.now,
        })
    }

    /// A check-in's link, sent on its day after the session; none when the
    /// patient gave no address.
    pub fn checkin_link(
        &self,
        a: &Appointment,
        url: &str,
        due: Timestamp,
        expires: Timestamp,
    ) -> Option<NewMessage> {
        let (channel, to) = self.address.as_ref()?;
        let (what, when) = (what(&self.kb, a), when(a));
        let expires_words = in_zone(expires, &a.time_zone);
        let mut values = self.values(&what, &when, "");
        values[6] = ("link", url);
        values[7] = ("expires", expires_words.as_str());
        let (subject, body) = self.wording["checkin_link"].render(&values);
        Some(NewMessage {
            clinic_id: a.clinic_id,
            patient_id: Some(self.patient_id),
            // Not the appointment's: a session has one message of a kind,
            // and a check-in link goes on several days.
            appointment_id: None,
            kind: "checkin_link".into(),
            channel: *channel,
            to_address: to.clone(),
            subject,
            body,
            attachment: None,
            due_at: due,
        })
    }

    /// What the patient is told after a check-in, in the clinic's words:
    /// (headline, text).
    pub fn triage_words(&self, advice: needlepoint_domain::triage::Advice) -> (String, String) {
        use needlepoint_domain::triage::Advice;
        let kind = match advice {
            Advice::Reassure => "checkin_reassure",
            Advice::TellUsWithinDays => "checkin_days",
            Advice::CallToday => "checkin_today",
            Advice::Emergency => "checkin_emergency",
        };
        self.wording[kind].render(&self.values("", "", ""))
    }

    /// A sign-in code and link for the patient's own page, to `channel`'s
    /// address.
    #[allow(clippy::too_many_arguments)]
    pub fn portal_code(
        &self,
        clinic_id: i64,
        channel: MessageChannel,
        to: &str,
        code: &str,
        url: &str,
        expires: Timestamp,
        zone: &str,
    ) -> NewMessage {
        let expires_words = in_zone(expires, zone);
        let mut values = self.values("", "", "");
        values[6] = ("link", url);
        values[7] = ("expires", expires_words.as_str());
        values[10] = ("code", code);
        let (subject, body) = self.wording["portal_code"].render(&values);
        NewMessage {
            clinic_id,
            patient_id: Some(self.patient_id),
            appointment_id: None,
            kind: "portal_code".into(),
            channel,
            to_address: to.to_string(),
            subject,
            body,
            attachment: None,
            due_at: self.now,
        }
    }

    /// An appointment as a calendar event for the patient.
    fn event(&self, a: &Appointment, summary: &str) -> crate::ical::Event {
        crate::ical::Event {
            uid: format!("appointment-{}@needlepoint", a.id),
            start: a.starts_at,
            end: a.ends_at,
            summary: summary.to_string(),
            location: self.clinic.clone(),
            description: String::new(),
            cancelled: false,
        }
    }

    /// Tells the patient an appointment is cancelled, with the fee if one
    /// is charged; nothing for another change (a no-show, a check-in).
    pub fn cancellation(&self, list: &[Appointment]) -> Vec<NewMessage> {
        let Some((channel, to)) = &self.address else {
            return vec![];
        };
        let cancelled = list
            .iter()
            .filter(|a| a.status == needlepoint_domain::appointment::AppointmentStatus::Cancelled);
        cancelled
            .map(|a| {
                let fee = match a.fee_minor {
                    Some(f) if f > 0 => format!(
                        " As it was cancelled at short notice, the clinic's late-cancellation fee of {} applies.",
                        needlepoint_domain::clinic::format_money(f, &self.currency)
                    ),
                    _ => String::new(),
                };
                let (what, when) = (what(&self.kb, a), when(a));
                let values = [
                    ("patient", self.given_name.as_str()),
                    ("clinic", self.clinic.as_str()),
                    ("what", what.as_str()),
                    ("when", when.as_str()),
                    ("before", ""),
                    ("fee", fee.as_str()),
                    ("link", ""),
                    ("expires", ""),
                    ("aftercare", ""),
                    ("phone", self.clinic_phone.as_str()),
                    ("code", ""),
                ];
                let (subject, body) = self.wording["cancellation"].render(&values);
                NewMessage {
                    clinic_id: a.clinic_id,
                    patient_id: Some(self.patient_id),
                    appointment_id: Some(a.id),
                    kind: "cancellation".into(),
                    channel: *channel,
                    to_address: to.clone(),
                    subject,
                    body,
                    attachment: None,
                    due_at: self.now,
                }
            })
            .collect()
    }
}

/// Messages every patient who had a recalled lot, at every clinic of the
/// organisation that stocks the same lot (each in its clinic's wording),
/// and marks those lots notified, in one transaction. Returns how many
/// messages were queued; `Conflict` when nothing is left to notify.
pub async fn notify_recall(
    cx: &Context,
    actor: &crate::Actor,
    lot_id: i64,
) -> crate::Result<usize> {
    crate::access::lot(cx, actor, lot_id).await?;
    let mut ids = vec![];
    let mut messages = vec![];
    for lot in cx.store.lot_siblings(lot_id).await? {
        if lot.recalled_at.is_none() || lot.recall_notified_at.is_some() {
            continue;
        }
        let uses = cx.store.lot_uses(lot.id).await?;
        messages.extend(recall_messages(cx, &lot, &uses).await?);
        ids.push(lot.id);
    }
    cx.store
        .notify_recall(&ids, &messages, &actor.audit, cx.now())
        .await?;
    Ok(messages.len())
}

/// One recall message per patient who had the lot (at their first session
/// with it), in the clinic's wording. Patients with neither e-mail nor
/// phone are left out; the recall page lists them to call.
pub async fn recall_messages(
    cx: &Context,
    lot: &needlepoint_store::Lot,
    uses: &[needlepoint_store::LotUse],
) -> Result<Vec<NewMessage>, StoreError> {
    let clinic = cx.store.clinic(lot.clinic_id).await?;
    let wording = templates(cx, lot.clinic_id).await?;
    let what = format!(
        "a {} ({}, lot {})",
        lot.kind.label().to_lowercase(),
        lot.item_name,
        lot.lot_number
    );
    let tz = jiff::tz::TimeZone::get(&clinic.details.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let now = cx.now();
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    for u in uses {
        if !seen.insert(u.patient_id) {
            continue;
        }
        let p = cx.store.patient(u.patient_id).await?;
        let Some((channel, to)) = address(&p) else {
            continue;
        };
        let when = u
            .used_at
            .to_zoned(tz.clone())
            .strftime("%-d %B %Y")
            .to_string();
        let values = [
            ("patient", p.details.given_name.as_str()),
            ("clinic", clinic.details.name.as_str()),
            ("what", what.as_str()),
            ("when", when.as_str()),
            ("before", ""),
            ("fee", ""),
            (
                "phone",
                clinic.details.phone.as_deref().unwrap_or("the clinic"),
            ),
        ];
        let (subject, body) = wording["recall"].render(&values);
        out.push(NewMessage {
            clinic_id: lot.clinic_id,
            patient_id: Some(p.id),
            appointment_id: Some(u.appointment_id),
            kind: "recall".into(),
            channel,
            to_address: to,
            subject,
            body,
            attachment: None,
            due_at: now,
        });
    }
    Ok(out)
}

/// The caller's clinics' messages that pass `filter` (a clinic or patient
/// the caller cannot see gives an empty list, not someone else's).
pub async fn find(
    cx: &Context,
    actor: &crate::Actor,
    filter: &needlepoint_store::MessageFilter,
    limit: i64,
) -> crate::Result<Vec<Message>> {
    if filter.clinic_id.is_some_and(|c| !actor.sees_clinic(c)) {
        return Ok(vec![]);
    }
    Ok(cx
        .store
        .find_messages(actor.staff.id, filter, limit)
        .await?)
}

/// One message, if it is to a patient of the caller's clinics.
pub async fn open(cx: &Context, actor: &crate::Actor, id: i64) -> crate::Result<Message> {
    let m = match cx.store.message(id).await {
        Ok(m) => m,
        Err(StoreError::NotFound) => return Err(crate::Error::NotFound),
        Err(e) => return Err(e.into()),
    };
    if !actor.sees_clinic(m.clinic_id) {
        return Err(crate::Error::NotFound);
    }
    Ok(m)
}

/// Sends a failed message again now (the outbox picks it up on its next
/// round); any other message is refused with why.
pub async fn retry(cx: &Context, actor: &crate::Actor, id: i64) -> crate::Result<Message> {
    let m = open(cx, actor, id).await?;
    if m.status != needlepoint_domain::message::MessageStatus::Failed {
        return Err(crate::Error::refused(format!(
            "This message is {}: only a message that failed is sent again.",
            m.status.label().to_lowercase()
        )));
    }
    Ok(cx.store.retry_message(id, &actor.audit, cx.now()).await?)
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
