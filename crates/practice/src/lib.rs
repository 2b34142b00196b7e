//! The practice: every rule of running a microneedling clinic over its
//! record, one service per step of the clinical flow (patients, history,
//! screening, planning, booking, charting, stock, messages) and for the
//! people and settings around it (accounts, settings). Pages and the API
//! only parse, call a service and render what it returns.
//!
//! A service takes a [`Context`] (the record, the knowledge base and a
//! clock) and an [`Actor`] (who, in which role, at which clinics); it knows
//! nothing of HTTP. It checks visibility and role itself, and fails with the
//! one [`Error`] type, which the web layer maps to a page and to JSON in one
//! place each. The clock is injected so that tests run at a fixed instant.

pub mod access;
pub mod accounts;
pub mod adverse;
pub mod billing;
pub mod booking;
pub mod charting;
pub mod checkins;
pub mod delivery;
pub mod history;
pub mod homecare;
pub mod ical;
pub mod messages;
pub mod patients;
pub mod payments;
pub mod photos;
pub mod planning;
pub mod portal;
pub mod screening;
pub mod settings;
pub mod signin;
pub mod stock;
pub mod summary;
pub mod timeline;
pub mod two_factor;

use jiff::civil::Date;
use jiff::Timestamp;
use needlepoint_domain::booking_rules::Refusal;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::{Invalid, Role};
use needlepoint_store::{Staff, Store, StoreError};
use std::sync::{Arc, Mutex};

/// What every service works with: the record, the knowledge base as
/// shipped (each clinic's overrides are applied per call), and the clock.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<dyn Store>,
    pub kb: Arc<KnowledgeBase>,
    pub clock: Clock,
}

impl Context {
    pub fn new(store: Arc<dyn Store>, kb: KnowledgeBase, clock: Clock) -> Self {
        Context {
            store,
            kb: Arc::new(kb),
            clock,
        }
    }

    /// The instant this request acts at.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The knowledge base as this clinic uses it: the shipped one with the
    /// clinic's overrides applied, latest last.
    pub async fn clinic_kb(&self, clinic_id: i64) -> Result<KnowledgeBase, StoreError> {
        let mut kb = (*self.kb).clone();
        for o in self.store.knowledge_overrides(clinic_id).await? {
            // Values were checked when saved; a later knowledge base may have
            // dropped the key, which is logged and skipped rather than fatal.
            if let Err(e) = kb.apply_override(&o.key, &o.value) {
                tracing::warn!(key = %o.key, error = %e, "clinic override no longer applies");
            }
        }
        Ok(kb)
    }

    /// Patients' full names by id, read in one query: lists of
    /// appointments name their patients without a read per row.
    pub async fn patient_names(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        Ok(self
            .store
            .patients_by_id(ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p.details.full_name()))
            .collect())
    }

    /// Today's date where the clinic is.
    pub async fn clinic_today(&self, clinic_id: i64) -> Result<Date, StoreError> {
        let c = self.store.clinic(clinic_id).await?;
        Ok(self.today_in(&c.details.time_zone))
    }

    /// Today's date in an IANA zone (UTC when the zone is unknown).
    pub fn today_in(&self, zone: &str) -> Date {
        self.wall_clock(zone).date()
    }

    /// The wall clock in an IANA zone (UTC when the zone is unknown), for
    /// pages that show a clinic's date and time.
    pub fn wall_clock(&self, zone: &str) -> jiff::Zoned {
        let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
        self.now().to_zoned(tz)
    }
}

/// The time as services see it: the system's, or one a test sets and moves.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Mutex<Timestamp>>>);

impl Clock {
    /// The system clock, to the microsecond (what both databases keep).
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that stands still at `at` until [`Clock::set`] moves it.
    pub fn fixed(at: Timestamp) -> Self {
        Clock(Some(Arc::new(Mutex::new(at))))
    }

    /// Moves a fixed clock; does nothing to the system clock.
    pub fn set(&self, at: Timestamp) {
        if let Some(t) = &self.0 {
            *t.lock().expect("clock lock") = at;
        }
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            Some(t) => *t.lock().expect("clock lock"),
            None => needlepoint_store::now(),
        }
    }
}

/// Who acts: a staff member in the role in force (a token may narrow it),
/// at the clinics they work at, named for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub staff: Staff,
    pub role: Role,
    pub clinic_ids: Vec<i64>,
    /// How the audit trail records this actor (label, channel, address).
    pub audit: needlepoint_store::Actor,
}

impl Actor {
    pub fn sees_clinic(&self, clinic_id: i64) -> bool {
        self.clinic_ids.contains(&clinic_id)
    }

    /// Clinicians and owners (who are often clinicians) keep the clinical
    /// record; the front desk does not.
    pub fn is_clinical(&self) -> bool {
        matches!(self.role, Role::Clinician | Role::Owner)
    }
}

/// Why a service did not do what was asked. One type for every service;
/// the web layer turns it into a page and into JSON in one place each.
#[derive(Debug)]
pub enum Error {
    /// Bad input, by field: shown beside the field.
    Invalid(Invalid),
    /// Not there, or not the actor's to see: the two look the same.
    NotFound,
    /// The actor's role may not do this, in words.
    Forbidden(String),
    /// A rule of the practice refuses it: every reason, in words.
    Refused(Vec<String>),
    /// Booking's rules refuse the time chosen; when each one is a healing
    /// window, a clinician may override them with a reason.
    TimeRefused(Vec<Refusal>),
    /// Clashes with what is already recorded: a double booking, a change
    /// to a version someone else has changed since.
    Conflict(String),
    /// The record could not be read or written as expected.
    Store(StoreError),
    /// Something that should not fail did (a library, a background task).
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn refused(why: impl Into<String>) -> Self {
        Error::Refused(vec![why.into()])
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid(Invalid::one(field, message))
    }

    /// Whether a form shows this beside what was typed (true), or it is
    /// an error page (not found, a database failure).
    pub fn is_answer_to_input(&self) -> bool {
        !matches!(self, Error::NotFound | Error::Store(_) | Error::Internal(_))
    }

    /// Every reason, one per line, as people read them.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Error::Invalid(i) => i.errors.iter().map(|e| e.message.clone()).collect(),
            Error::NotFound => vec!["There is nothing here, or it is not yours to see.".into()],
            Error::Forbidden(m) | Error::Conflict(m) => vec![m.clone()],
            Error::Refused(r) => r.clone(),
            Error::TimeRefused(r) => r.iter().map(|r| r.message.clone()).collect(),
            Error::Store(e) => vec![e.to_string()],
            Error::Internal(m) => vec![m.clone()],
        }
    }

    pub fn message(&self) -> String {
        self.lines().join("\n")
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.lines().join(" "))
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound,
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::Invalid(i) => Error::Invalid(i),
            e => Error::Store(e),
        }
    }
}

impl From<Invalid> for Error {
    fn from(i: Invalid) -> Self {
        Error::Invalid(i)
    }
}
