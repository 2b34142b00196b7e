//! The wording of messages to patients. Each clinic may rewrite them; the
//! placeholders in braces are filled in when a message is queued, and a
//! template naming a placeholder that does not exist is refused when saved.

use crate::Invalid;

/// The messages a clinic can word, with what each is for.
pub const KINDS: [(&str, &str); 15] = [
    (
        "confirmation",
        "Booking confirmation (the .ics is attached)",
    ),
    ("reminder_48h", "Reminder 48 hours before"),
    ("reminder_24h", "Reminder 24 hours before"),
    ("rescheduled", "Appointment moved"),
    ("cancellation", "Cancellation"),
    ("recall", "Recall of a needle or product used"),
    ("intake_link", "Link to the health questions"),
    ("consent_link", "Link to read the plan and sign the consent"),
    ("aftercare", "Aftercare, sent when a session is signed"),
    (
        "checkin_link",
        "Link to a check-in, sent on the days after a session",
    ),
    (
        "checkin_reassure",
        "After a check-in: what was reported is expected (shown on screen)",
    ),
    (
        "checkin_days",
        "After a check-in: a clinician will review it within days (shown on screen)",
    ),
    (
        "checkin_today",
        "After a check-in: call the clinic today (shown on screen)",
    ),
    (
        "checkin_emergency",
        "After a check-in: get emergency help now (shown on screen)",
    ),
    ("portal_code", "Sign-in code for the patient's own page"),
];

/// Every placeholder, and what it becomes.
pub const PLACEHOLDERS: [(&str, &str); 11] = [
    ("patient", "the patient's given name"),
    ("clinic", "the clinic's name"),
    (
        "what",
        "what is booked, e.g. \"microneedling session 2\" (a course booked at once: \"course of 4 microneedling sessions\")",
    ),
    (
        "when",
        "the date and time, in the clinic's zone (a course booked at once: \"these times:\" and every session, a line each)",
    ),
    (
        "before",
        "the plan's instructions for before a session (empty if none)",
    ),
    ("fee", "the late-cancellation fee charged (empty if none)"),
    ("link", "the link the patient opens (links only)"),
    ("expires", "when the link stops working (links only)"),
    (
        "aftercare",
        "the session's aftercare: what to do and expect, each with its time window, and the warning signs (aftercare only)",
    ),
    ("phone", "the clinic's phone number (\"the clinic\" if it has none)"),
    ("code", "the one-time sign-in code (sign-in codes only)"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    pub subject: String,
    pub body: String,
}

impl MessageTemplate {
    /// The shipped wording of a kind of message.
    pub fn shipped(kind: &str) -> Option<MessageTemplate> {
        let (subject, body) = match kind {
            "confirmation" => (
                "Booked: your {what} at {clinic}",
                "Dear {patient},\n\nYour {what} at {clinic} is booked for {when}.{before}",
            ),
            "reminder_48h" | "reminder_24h" => (
                "Reminder: your {what} on {when}",
                "Dear {patient},\n\nA reminder of your {what} at {clinic} on {when}.{before}",
            ),
            "rescheduled" => (
                "Moved: your {what} at {clinic}",
                "Dear {patient},\n\nYour {what} at {clinic} has moved to {when}.{before}",
            ),
            "cancellation" => (
                "Cancelled: your appointment at {clinic}",
                "Dear {patient},\n\nYour {what} at {clinic} on {when} is cancelled.{fee} Contact the clinic to book another time.",
            ),
            "recall" => (
                "Important: a product used at your treatment at {clinic}",
                "Dear {patient},\n\nThe maker has recalled {what}, used at your microneedling session on {when}. \
                 Please contact {clinic} so that we can check on you. If you notice redness that spreads, swelling, \
                 lumps, pus or fever, call us or seek medical care straight away.",
            ),
            "intake_link" => (
                "Your health questions for {clinic}",
                "Dear {patient},\n\nBefore your treatment at {clinic}, please answer a few questions about your health \
                 and the skin you would like treated. It takes about ten minutes:\n\n{link}\n\n\
                 The link works once, until {expires}. If you did not expect this message, please contact {clinic}.",
            ),
            "consent_link" => (
                "Your treatment plan at {clinic}",
                "Dear {patient},\n\nYour treatment plan at {clinic} is ready. Please read it, with its risks and \
                 aftercare, and sign the consent if you agree:\n\n{link}\n\n\
                 The link works once, until {expires}. Ask us anything before you sign.",
            ),
            "aftercare" => (
                "Your aftercare after today's session at {clinic}",
                "Dear {patient},\n\nThank you for coming in today. How to look after your skin, and what to expect:\n\n\
                 {aftercare}\nIf anything worries you, call {clinic}.",
            ),
            "checkin_link" => (
                "How is your skin? A check-in from {clinic}",
                "Dear {patient},\n\nHow is your skin after your {what} on {when}? Please tell us, from your phone; \
                 it takes a minute:\n\n{link}\n\nThe link works once, until {expires}. If something worries you \
                 now, call {clinic} on {phone} rather than wait.",
            ),
            "checkin_reassure" => (
                "What you describe is expected",
                "Thank you, {patient}. What you told us is normal at this stage of healing. \
                 Keep following your aftercare, and call {clinic} on {phone} if anything changes or worries you.",
            ),
            "checkin_days" => (
                "A clinician will look at your answers",
                "Thank you, {patient}. Something you told us should be seen by a clinician: {clinic} will contact \
                 you within a few days. If it gets worse, or you feel unwell, call us on {phone}.",
            ),
            "checkin_today" => (
                "Please call the clinic today",
                "{patient}, something you told us needs a clinician today. Please call {clinic} today on {phone}. \
                 If you cannot reach us, go to an urgent care centre or call your doctor, and say you had \
                 microneedling.",
            ),
            "checkin_emergency" => (
                "Get emergency help now",
                "{patient}, what you describe can be serious. Call the emergency number (999, 911 or 112) or go \
                 to the nearest emergency department now, and say you had microneedling. Then tell {clinic}.",
            ),
            "portal_code" => (
                "Your sign-in code for {clinic}",
                "Dear {patient},\n\nYour code to sign in to your page at {clinic} is {code}\n\nOr open this link:\n\n{link}\n\n\
                 The code and the link work once, until {expires}. If you did not ask for this, you can ignore it: \
                 nobody can sign in without the code.",
            ),
            _ => return None,
        };
        Some(MessageTemplate {
            subject: subject.into(),
            body: body.into(),
        })
    }

    /// A clinic's wording, checked: both parts present, braces closed and
    /// every placeholder known.
    pub fn parse(subject: &str, body: &str) -> Result<MessageTemplate, Invalid> {
        let mut inv = Invalid::default();
        for (field, text, max) in [("subject", subject, 200), ("body", body, 5000)] {
            if text.trim().is_empty() {
                inv.push(field, "This field is required.");
            } else if text.chars().count() > max {
                inv.push(field, format!("Keep it under {max} characters."));
            } else if let Err(m) = placeholders(text) {
                inv.push(field, m);
            }
        }
        if subject.trim().chars().any(char::is_control) {
            inv.push("subject", "A subject is one line.");
        }
        inv.into_result()?;
        Ok(MessageTemplate {
            subject: subject.trim().into(),
            body: body.trim_end().replace("\r\n", "\n"),
        })
    }

    /// Subject and body with every placeholder filled in.
    pub fn render(&self, values: &[(&str, &str)]) -> (String, String) {
        let fill = |text: &str| {
            let mut out = text.to_string();
            for (name, value) in values {
                out = out.replace(&format!("{{{name}}}"), value);
            }
            out
        };
        (fill(&self.subject), fill(&self.body))
    }
}

/// The placeholder names in `text`, or what is wrong with them.
fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut out = vec![];
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("A \"}\" has no \"{\" before it.".into());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or("A \"{\" is not closed with \"}\".".to_string())?;
        let name = &after[..close];
        if !PLACEHOLDERS.iter().any(|(p, _)| *p == name) {
            return Err(format!(
                "{{{name}}} is not a placeholder; use {}.",
                PLACEHOLDERS
                    .iter()
                    .map(|(p, _)| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push(name);
        rest = &after[close + 1..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_shipped_wording_that_parses() {
        for (kind, _) in KINDS {
            let t = MessageTemplate::shipped(kind).unwrap();
            assert_eq!(MessageTemplate::parse(&t.subject, &t.body).unwrap(), t);
        }
        assert!(MessageTemplate::shipped("birthday").is_none());
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_refused() {
        let t = MessageTemplate::parse("See you {when}", "Hi {patient},\r\n{before}\n").unwrap();
        let (s, b) = t.render(&[("when", "Monday"), ("patient", "Ada"), ("before", "")]);
        assert_eq!((s.as_str(), b.as_str()), ("See you Monday", "Hi Ada,\n"));
        let e = MessageTemplate::parse("Hi {name}", "").unwrap_err();
        assert!(e
            .message_for("subject")
            .unwrap()
            .contains("{name} is not a placeholder"));
        assert_eq!(e.message_for("body"), Some("This field is required."));
        for bad in ["Hi {patient", "Hi patient}", "Two\nlines"] {
            assert!(MessageTemplate::parse(bad, "ok").is_err(), "{bad}");
        }
    }
}
