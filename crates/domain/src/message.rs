//! A message to a patient: how it travels and where it is on its way.
//! Stored as text, with a CHECK constraint on both databases.

use crate::validation::FieldError;
use serde::{Deserialize, Serialize};

/// How a message reaches the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    Email,
    Sms,
}

impl MessageChannel {
    pub const ALL: [MessageChannel; 2] = [MessageChannel::Email, MessageChannel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageChannel::Email => "email",
            MessageChannel::Sms => "sms",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MessageChannel::Email => "E-mail",
            MessageChannel::Sms => "SMS",
        }
    }

    pub fn parse(s: &str) -> Result<MessageChannel, FieldError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| FieldError::new("channel", "Use email or sms."))
    }
}

impl std::fmt::Display for MessageChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a message is: waiting to be sent (`Pending`), handed to the
/// provider (`Sent`), failed and waiting for its next try (`Failed`), or
/// stopped because what it was about changed (`Cancelled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Pending,
    Sent,
    Failed,
    Cancelled,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 4] = [
        MessageStatus::Pending,
        MessageStatus::Sent,
        MessageStatus::Failed,
        MessageStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
            MessageStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<MessageStatus, FieldError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| FieldError::new("status", "Use pending, sent, failed or cancelled."))
    }
}

impl MessageStatus {
    /// As the lists show it: a pending message is one scheduled to go.
    pub fn label(self) -> &'static str {
        match self {
            MessageStatus::Pending => "Scheduled",
            MessageStatus::Sent => "Sent",
            MessageStatus::Failed => "Failed",
            MessageStatus::Cancelled => "Cancelled",
        }
    }
}

/// The kinds of message the outbox sends, as staff call them.
pub const KIND_LABELS: [(&str, &str); 12] = [
    ("confirmation", "Confirmation"),
    ("reminder_48h", "Reminder (48 hours)"),
    ("reminder_24h", "Reminder (24 hours)"),
    ("rescheduled", "Moved"),
    ("cancellation", "Cancellation"),
    ("recall", "Recall"),
    ("intake_link", "Health questions link"),
    ("consent_link", "Consent link"),
    ("aftercare", "Aftercare"),
    ("checkin_link", "Check-in link"),
    ("checkin_alert", "Check-in flagged (to the clinician)"),
    ("portal_code", "Sign-in code"),
];

/// A kind of message in words (its code when it is not one of ours).
pub fn kind_label(kind: &str) -> &str {
    KIND_LABELS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(kind, |(_, l)| l)
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for c in MessageChannel::ALL {
            assert_eq!(MessageChannel::parse(c.as_str()), Ok(c));
        }
        for s in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(s.as_str()), Ok(s));
        }
        assert!(MessageChannel::parse("fax").is_err());
        assert!(MessageStatus::parse("lost").is_err());
    }
}
