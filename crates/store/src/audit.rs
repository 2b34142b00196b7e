//! Who did something, from where, and what the trail records of it.
//!
//! Every write method of the store takes an [`Actor`] and writes its audit row
//! in the same transaction as the change, so a change is never recorded
//! without its audit row, nor the other way round.

use serde_json::Value;

/// How a request reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    Api,
    Cli,
    System,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Cli => "cli",
            Channel::System => "system",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Actor {
    /// The staff member, when there is one (not for the CLI or the system).
    pub staff_id: Option<i64>,
    /// A readable name for the trail: an e-mail, `token:NAME by EMAIL`, `cli`.
    pub label: String,
    pub channel: Channel,
    pub ip: Option<String>,
}

impl Actor {
    pub fn system(label: &str) -> Actor {
        Actor {
            staff_id: None,
            label: label.to_string(),
            channel: Channel::System,
            ip: None,
        }
    }

    pub fn cli() -> Actor {
        Actor {
            staff_id: None,
            label: format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            ),
            channel: Channel::Cli,
            ip: None,
        }
    }
}

/// What happened, to which entity, and the detail worth keeping.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: Option<i64>,
    pub patient_id: Option<i64>,
    pub detail: Value,
}

impl AuditEvent {
    pub fn new(action: &'static str, entity: &'static str, entity_id: Option<i64>) -> Self {
        AuditEvent {
            action,
            entity,
            entity_id,
            patient_id: None,
            detail: Value::Object(Default::default()),
        }
    }

    pub fn patient(mut self, patient_id: i64) -> Self {
        self.patient_id = Some(patient_id);
        self
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}
