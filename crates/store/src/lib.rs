//! Needlepoint's record: one [`Store`] trait that the rest of the product
//! uses, with two implementations, SQLite (the embedded default) and
//! PostgreSQL (for a chain), each with its own migrations.
//!
//! Both implementations are built from the same code in `src/sql/`,
//! included once per backend by `sql.rs`: the SQL is written once where the
//! two dialects agree (which, with `$N` placeholders, `RETURNING` and the
//! [`types`] for instants and dates, is almost everywhere). The conformance
//! tests run every case against both.

pub mod audit;
pub mod audit_chain;
mod charting_sql;
pub mod files;
pub mod generate;
mod generate_sql;
mod migrate;
pub mod model;
pub mod open;
mod schedule_sql;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;
mod view_audit;

use async_trait::async_trait;
use jiff::Timestamp;
pub use needlepoint_domain::patient_search::Cursor;
use needlepoint_domain::{
    ClinicDetails, DeviceDetails, Invalid, PatientDetails, PriceItemDetails, Role, RoomDetails,
    SignInPolicy,
};
use std::path::Path;

pub use audit::{Actor, AuditEvent, Channel};
pub use charting_sql::SIGNED as SIGNED_MESSAGE;

/// Makes the messages a change queues from the appointments as the change
/// left them; called inside the change's transaction, so it reads nothing.
pub type Compose<'a> = dyn Fn(&[Appointment]) -> Vec<NewMessage> + Send + Sync + 'a;

/// A change that queues no message.
pub fn no_messages(_: &[Appointment]) -> Vec<NewMessage> {
    vec![]
}

/// How often an API token's time of last use is written: at most once per
/// this long, so authenticated reads do not each wait for a write.
pub const LAST_USED_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);
pub use model::*;
pub use open::{open, open_postgres, open_sqlite, SqliteDurability};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule or a concurrent change; the message says which.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Unsupported(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The current instant at the precision the record keeps (microseconds), so
/// that what a write returns equals what a later read gives back.
pub fn now() -> Timestamp {
    let t = Timestamp::now();
    Timestamp::new(t.as_second(), t.subsec_nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// A page of patients and how many match, counted up to
/// [`COUNT_UP_TO`]: a list says "more than 1,000" rather than count a
/// chain's every match.
#[derive(Debug, Clone, Default)]
pub struct PatientPage {
    pub patients: Vec<Patient>,
    pub total: i64,
    /// More than `total` match.
    pub more: bool,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

/// Which audit entries a list shows; `None` is any. `from` is inclusive,
/// `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub patient_id: Option<i64>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// Which messages a list shows; `None` is any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub clinic_id: Option<i64>,
    pub patient_id: Option<i64>,
    pub kind: Option<String>,
    pub state: Option<MessageState>,
}

/// A message's state as the outbox's lists group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Pending: waiting for its time (reminders) or the next send.
    Scheduled,
    Sent,
    /// Failed and waiting for its next try.
    Failed,
    Cancelled,
}

/// How far a list counts its matches.
pub const COUNT_UP_TO: i64 = 1_000;

/// Why a link (intake, consent) cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Unknown,
    Expired,
    AlreadyUsed,
}

/// Histories, screenings, intake and the clinic's rule overrides.
#[async_trait]
pub trait ScreeningRecords: Send + Sync {
    /// Saves a new version of a patient's history (the previous ones stay).
    async fn add_history_version(
        &self,
        patient_id: i64,
        history: &needlepoint_domain::history::PatientHistory,
        source: &str,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<HistoryVersion>;
    async fn current_history(&self, patient_id: i64) -> Result<Option<HistoryVersion>>;
    async fn history_versions(&self, patient_id: i64) -> Result<Vec<HistoryVersion>>;

    /// Saves a screening of a history version; screenings never change.
    async fn record_screening(
        &self,
        patient_id: i64,
        history_id: i64,
        result: &needlepoint_domain::screening::Screening,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ScreeningRecord>;
    async fn screening(&self, id: i64) -> Result<ScreeningRecord>;
    /// A patient's screenings, newest first.
    async fn screenings(&self, patient_id: i64) -> Result<Vec<ScreeningRecord>>;
    /// A clinician's override of a screening's outcome, with the reason.
    async fn override_screening(
        &self,
        screening_id: i64,
        status: needlepoint_domain::screening::Status,
        justification: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ScreeningOverride>;

    /// All overrides of this clinic, oldest first (a later one of the same
    /// key replaces an earlier one).
    async fn knowledge_overrides(&self, clinic_id: i64) -> Result<Vec<KnowledgeOverride>>;
    async fn add_knowledge_override(
        &self,
        clinic_id: i64,
        key: &str,
        value: &str,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<KnowledgeOverride>;

    async fn create_intake_link(
        &self,
        patient_id: i64,
        token_hash: &str,
        expires_at: Timestamp,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<IntakeLink>;
    /// The usable link with this token hash, or why it cannot be used.
    async fn intake_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Result<IntakeLink, LinkRefusal>>;
    /// Stores the answers and uses up the link, in one transaction.
    async fn submit_intake(
        &self,
        token_hash: &str,
        history: &needlepoint_domain::history::PatientHistory,
        now: Timestamp,
    ) -> Result<Result<IntakeSubmission, LinkRefusal>>;
    async fn pending_intakes(&self, patient_id: i64) -> Result<Vec<IntakeSubmission>>;
    /// Turns reviewed answers into a new history version (source `intake`).
    async fn confirm_intake(
        &self,
        submission_id: i64,
        history: &needlepoint_domain::history::PatientHistory,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<HistoryVersion>;
}

/// Plans, quotes, consents and the clinic's pricing.
#[async_trait]
pub trait PlanRecords: Send + Sync {
    async fn clinic_pricing(&self, clinic_id: i64) -> Result<needlepoint_domain::ClinicPricing>;
    async fn set_clinic_pricing(
        &self,
        clinic_id: i64,
        pricing: &needlepoint_domain::ClinicPricing,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;

    #[allow(clippy::too_many_arguments)]
    async fn create_plan(
        &self,
        patient_id: i64,
        clinic_id: i64,
        screening_id: i64,
        proposal: &needlepoint_domain::planning::Proposal,
        plan: &needlepoint_domain::plan::Plan,
        flags: &[needlepoint_domain::plan::Flag],
        quote: Option<&needlepoint_domain::pricing::Quote>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PlanRecord>;
    async fn plan(&self, id: i64) -> Result<PlanRecord>;
    /// A patient's plans, newest first.
    async fn plans(&self, patient_id: i64) -> Result<Vec<PlanRecord>>;
    /// Saves an edit of a proposed plan at `expected_version`; a plan that
    /// was accepted, or changed meanwhile, is refused with `Conflict`.
    #[allow(clippy::too_many_arguments)]
    async fn update_plan(
        &self,
        id: i64,
        expected_version: i64,
        plan: &needlepoint_domain::plan::Plan,
        flags: &[needlepoint_domain::plan::Flag],
        quote: Option<&needlepoint_domain::pricing::Quote>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PlanRecord>;
    /// Moves a plan on. Accepting or starting needs a consent signed for
    /// the plan's current version; cancelling needs a reason.
    async fn set_plan_status(
        &self,
        id: i64,
        to: needlepoint_domain::plan::PlanStatus,
        reason: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PlanRecord>;

    /// Stores a signed consent for the plan version it names; refused when
    /// the plan has changed since or is no longer open.
    async fn sign_consent(
        &self,
        consent: &NewConsent,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ConsentRecord>;
    async fn consents(&self, plan_id: i64) -> Result<Vec<ConsentRecord>>;
    async fn create_consent_link(
        &self,
        plan_id: i64,
        token_hash: &str,
        expires_at: Timestamp,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// The plan a usable consent link is for, or why it cannot be used.
    async fn consent_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Result<i64, LinkRefusal>>;
    /// Signs through a link: uses up the link and stores the consent together.
    async fn sign_consent_by_link(
        &self,
        token_hash: &str,
        consent: &NewConsent,
        now: Timestamp,
    ) -> Result<Result<ConsentRecord, LinkRefusal>>;
}

/// Appointments. A practitioner, room or device is never booked twice for
/// the same time: the database refuses the second booking.
#[async_trait]
pub trait ScheduleRecords: Send + Sync {
    /// Books all or none; `Conflict` names what was already taken.
    async fn book(
        &self,
        list: &[NewAppointment],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<Appointment>> {
        self.book_and_message(list, &no_messages, actor, now).await
    }
    /// As [`book`](Self::book), and queues the messages `messages` makes of
    /// the booked appointments in the same transaction: no booking without
    /// its confirmation, nor a confirmation of a booking that failed.
    async fn book_and_message(
        &self,
        list: &[NewAppointment],
        messages: &Compose<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<Appointment>>;
    async fn appointment(&self, id: i64) -> Result<Appointment>;
    /// A clinic's appointments starting in [from, to), cancelled ones included.
    async fn appointments(
        &self,
        clinic_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Appointment>>;
    /// How many appointments each of these clinics has starting in
    /// [from, to), per status: (clinic id, status, count).
    async fn appointment_counts(
        &self,
        clinic_ids: &[i64],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(i64, needlepoint_domain::appointment::AppointmentStatus, i64)>>;
    async fn patient_appointments(&self, patient_id: i64) -> Result<Vec<Appointment>>;
    /// The clinic's opening hours; `None` until set.
    async fn clinic_hours(
        &self,
        clinic_id: i64,
    ) -> Result<Option<needlepoint_domain::scheduling::WeeklyHours>>;
    async fn set_clinic_hours(
        &self,
        clinic_id: i64,
        hours: &needlepoint_domain::scheduling::WeeklyHours,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// A practitioner's working hours in a clinic; `None`: whenever it is open.
    async fn staff_hours(
        &self,
        staff_id: i64,
        clinic_id: i64,
    ) -> Result<Option<needlepoint_domain::scheduling::WeeklyHours>>;
    async fn set_staff_hours(
        &self,
        staff_id: i64,
        clinic_id: i64,
        hours: &needlepoint_domain::scheduling::WeeklyHours,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    async fn closures(&self, clinic_id: i64) -> Result<Vec<(jiff::civil::Date, String)>>;
    async fn add_closure(
        &self,
        clinic_id: i64,
        day: jiff::civil::Date,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;

    /// A new private calendar feed for a practitioner; earlier ones are revoked.
    async fn replace_calendar_feed(
        &self,
        staff_id: i64,
        token_hash: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    async fn revoke_calendar_feeds(
        &self,
        staff_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// The staff member a live feed token belongs to.
    async fn calendar_feed_owner(&self, token_hash: &str) -> Result<Option<i64>>;
    /// A practitioner's appointments starting in [from, to), any clinic.
    async fn practitioner_appointments(
        &self,
        staff_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Appointment>>;

    /// Queues messages; a second one of the same kind for the same
    /// appointment is ignored (reminders are queued once).
    async fn enqueue_messages(&self, list: &[NewMessage]) -> Result<()>;
    /// Messages due to be sent (pending, or failed and due for a retry).
    async fn due_messages(&self, now: Timestamp, limit: i64) -> Result<Vec<Message>>;
    async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<()>;
    /// Records a failure and when to try again.
    async fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()>;
    /// Stops the unsent messages of an appointment (it was cancelled).
    async fn cancel_messages(&self, appointment_id: i64) -> Result<()>;
    async fn messages(&self, clinic_id: i64, limit: i64) -> Result<Vec<Message>>;
    /// The latest messages of every clinic this staff member belongs to,
    /// newest first.
    async fn staff_messages(&self, staff_id: i64, limit: i64) -> Result<Vec<Message>>;
    /// The latest messages to one patient, newest first.
    async fn patient_messages(&self, patient_id: i64, limit: i64) -> Result<Vec<Message>>;
    /// Messages of this staff member's clinics that pass `filter`: those
    /// still to go soonest first, the others newest first.
    async fn find_messages(
        &self,
        staff_id: i64,
        filter: &MessageFilter,
        limit: i64,
    ) -> Result<Vec<Message>>;
    async fn message(&self, id: i64) -> Result<Message>;
    /// Sends a failed message again now: pending, due now, its attempts
    /// kept; `Conflict` unless it failed.
    async fn retry_message(&self, id: i64, actor: &Actor, now: Timestamp) -> Result<Message>;

    /// Moves an appointment on (checked_in, completed, cancelled, no_show);
    /// cancelling frees its time and stops its unsent messages.
    async fn set_appointment_status(
        &self,
        id: i64,
        change: &StatusChange<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Appointment> {
        self.set_appointment_status_and_message(id, change, &no_messages, actor, now)
            .await
    }
    /// As [`set_appointment_status`](Self::set_appointment_status), and
    /// queues the messages `messages` makes of the changed appointment (a
    /// cancellation notice) in the same transaction.
    async fn set_appointment_status_and_message(
        &self,
        id: i64,
        change: &StatusChange<'_>,
        messages: &Compose<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Appointment>;
    /// Moves booked appointments to new times, all or none; `Conflict`
    /// names what is already taken at a new time. Their unsent messages stop.
    async fn reschedule(
        &self,
        moves: &[Move],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<Appointment>> {
        self.reschedule_and_message(moves, &no_messages, actor, now)
            .await
    }
    /// As [`reschedule`](Self::reschedule), and queues the messages
    /// `messages` makes of the moved appointments in the same transaction.
    async fn reschedule_and_message(
        &self,
        moves: &[Move],
        messages: &Compose<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<Appointment>>;

    async fn cancellation_policy(
        &self,
        clinic_id: i64,
    ) -> Result<needlepoint_domain::booking_rules::CancellationPolicy>;
    async fn set_cancellation_policy(
        &self,
        clinic_id: i64,
        policy: &needlepoint_domain::booking_rules::CancellationPolicy,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// The clinic's own wording of messages, by kind.
    async fn message_templates(
        &self,
        clinic_id: i64,
    ) -> Result<
        Vec<(
            String,
            needlepoint_domain::message_template::MessageTemplate,
        )>,
    >;
    async fn set_message_template(
        &self,
        clinic_id: i64,
        kind: &str,
        template: &needlepoint_domain::message_template::MessageTemplate,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
}

/// The clinic's stock: items, lots received and counted, and a maker's
/// recall, which reaches the same lot at every clinic of the organisation.
#[async_trait]
pub trait StockRecords: Send + Sync {
    async fn create_supply_item(
        &self,
        clinic_id: i64,
        item: &NewSupplyItem,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<SupplyItem>;
    /// A clinic's items by name, with the units usable on `today`.
    async fn supply_items(
        &self,
        clinic_id: i64,
        today: jiff::civil::Date,
    ) -> Result<Vec<SupplyItem>>;
    /// Receives a lot into stock; the same lot number twice is `Conflict`.
    async fn receive_lot(&self, lot: &NewLot, actor: &Actor, now: Timestamp) -> Result<Lot>;
    async fn lot(&self, id: i64) -> Result<Lot>;
    /// A clinic's lots, soonest expiry first.
    async fn lots(&self, clinic_id: i64) -> Result<Vec<Lot>>;
    /// Corrects a lot's quantity after counting it.
    async fn count_lot(
        &self,
        lot_id: i64,
        quantity: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Lot>;
    async fn stock_movements(&self, lot_id: i64) -> Result<Vec<StockMovement>>;
    /// Marks a lot recalled, and with it every lot of the same item (name,
    /// supplier and kind) with the same lot number at the organisation's
    /// other clinics, in one transaction: a maker's recall is of the lot,
    /// wherever it is stocked.
    async fn recall_lot(
        &self,
        lot_id: i64,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Lot>;
    /// The lot and every lot of the same item and number across the
    /// organisation, this one first.
    async fn lot_siblings(&self, lot_id: i64) -> Result<Vec<Lot>>;
    /// Every session that used a lot, oldest first.
    async fn lot_uses(&self, lot_id: i64) -> Result<Vec<LotUse>>;
    /// Queues the recall messages and marks the lots notified, together;
    /// `Conflict` when any of them was not recalled or already notified.
    async fn notify_recall(
        &self,
        lot_ids: &[i64],
        messages: &[NewMessage],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
}

/// Session charts and their photos.
#[async_trait]
pub trait ChartRecords: Send + Sync {
    /// The chart of an appointment, created on first use.
    /// Opens an appointment's chart, or returns the one already open. A
    /// chart opened on another day than the appointment's keeps the
    /// clinician's reason (the caller has checked that one is needed).
    async fn open_chart(
        &self,
        appointment: &Appointment,
        off_day_reason: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    async fn chart(&self, id: i64) -> Result<Chart>;
    async fn chart_for_appointment(&self, appointment_id: i64) -> Result<Option<Chart>>;
    /// A patient's charts, oldest first.
    async fn patient_charts(&self, patient_id: i64) -> Result<Vec<Chart>>;
    /// Saves the checklist; refused once signed.
    async fn save_checklist(
        &self,
        id: i64,
        checklist: &ChecklistRecord,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    /// Starts needling, keeping the checklist as it stood.
    async fn start_chart(
        &self,
        id: i64,
        checks: &[needlepoint_domain::charting::Check],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    /// Adds or replaces a zone; only while needling (started, not signed).
    async fn save_zone(
        &self,
        id: i64,
        zone: &needlepoint_domain::charting::ZoneRecord,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    async fn remove_zone(
        &self,
        id: i64,
        zone: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    /// Records a lot used; the caller has checked it may be used.
    async fn add_chart_lot(
        &self,
        id: i64,
        lot_id: i64,
        quantity: i64,
        warning: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    async fn remove_chart_lot(
        &self,
        id: i64,
        lot_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    /// Signs at `expected_version`, takes the lots used out of stock,
    /// completes the appointment (when it is still booked or checked in)
    /// and queues `messages` (the aftercare, the check-ins' links) and
    /// schedules `checkins`, in one transaction; from then on the chart is
    /// read-only.
    #[allow(clippy::too_many_arguments)]
    async fn sign_chart(
        &self,
        id: i64,
        expected_version: i64,
        needs_cosign: bool,
        messages: &[NewMessage],
        checkins: &[NewCheckin],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;
    async fn cosign_chart(&self, id: i64, actor: &Actor, now: Timestamp) -> Result<Chart>;
    async fn amend_chart(
        &self,
        id: i64,
        amendment: &needlepoint_domain::charting::AmendmentInput,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart>;

    async fn add_photo(&self, photo: &NewPhoto, actor: &Actor, now: Timestamp) -> Result<Photo>;
    async fn photo(&self, id: i64) -> Result<Photo>;
    /// A patient's photos, oldest first.
    async fn patient_photos(&self, patient_id: i64) -> Result<Vec<Photo>>;
}

/// After the session: check-ins, the adverse-event register and the
/// patient's own sign-in.
#[async_trait]
pub trait AfterRecords: Send + Sync {
    /// The check-in a link opens, while it may still be answered.
    async fn checkin_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Result<Checkin, LinkRefusal>>;
    /// Keeps the answers (and the photo) and queues `alerts`, in one
    /// transaction; refused once answered or expired.
    async fn answer_checkin(
        &self,
        id: i64,
        answer: &CheckinAnswer,
        alerts: &[NewMessage],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Result<Checkin, LinkRefusal>>;
    async fn checkin(&self, id: i64) -> Result<Checkin>;
    /// A patient's check-ins by the day they are due.
    async fn patient_checkins(&self, patient_id: i64) -> Result<Vec<Checkin>>;
    /// A clinic's check-ins waiting for a clinician: flagged answers, and
    /// those due before `unanswered_due_before` and still unanswered.
    async fn open_checkins(
        &self,
        clinic_id: i64,
        unanswered_due_before: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<Checkin>>;
    async fn review_checkin(
        &self,
        id: i64,
        note: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Checkin>;

    /// Records and signs an adverse event; its lots must be the session's.
    async fn record_adverse_event(
        &self,
        event: &NewAdverseEvent,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<AdverseRecord>;
    /// A new signed version, with its reason, at `expected_version`.
    #[allow(clippy::too_many_arguments)]
    async fn amend_adverse_event(
        &self,
        id: i64,
        expected_version: i64,
        event: &needlepoint_domain::adverse::AdverseEvent,
        zones: &[String],
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<AdverseRecord>;
    async fn adverse_event(&self, id: i64) -> Result<AdverseRecord>;
    async fn patient_adverse_events(&self, patient_id: i64) -> Result<Vec<AdverseRecord>>;
    /// The events a lot is suspected in.
    async fn lot_adverse_events(&self, lot_id: i64) -> Result<Vec<AdverseRecord>>;

    /// The patients who gave this e-mail (any case) or this phone number
    /// (compared by its digits alone).
    async fn patients_by_address(
        &self,
        email: Option<&str>,
        phone_digits: Option<&str>,
    ) -> Result<Vec<Patient>>;
    async fn add_patient_codes(&self, codes: &[NewPatientCode], now: Timestamp) -> Result<()>;
    /// How many codes were sent to `address` since `since`.
    async fn patient_codes_sent(&self, address: &str, since: Timestamp) -> Result<i64>;
    /// Signs in with a code sent to `address`: the patient's id, or why
    /// not. `max_failures` wrong codes in a row lock the address for
    /// `lock_for`.
    async fn use_patient_code(
        &self,
        address: &str,
        code_hash: &str,
        max_failures: i64,
        lock_for: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Result<i64, CodeRefusal>>;
    /// Signs in with the single-use link sent with a code.
    async fn use_patient_link(&self, link_hash: &str, now: Timestamp) -> Result<Option<i64>>;
    async fn create_patient_session(
        &self,
        token_hash: &str,
        patient_id: i64,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()>;
    /// The patient of a live session (not idle for `idle`).
    async fn patient_session(
        &self,
        token_hash: &str,
        idle: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Option<i64>>;
    async fn end_patient_session(&self, token_hash: &str) -> Result<()>;

    /// Logs a home rolling with the warnings it was given.
    async fn add_home_care(
        &self,
        patient_id: i64,
        used: &needlepoint_domain::homecare::HomeUse,
        warnings: &[String],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<HomeCareEntry>;
    /// A patient's home-care log, by the day rolled.
    async fn home_care(&self, patient_id: i64) -> Result<Vec<HomeCareEntry>>;

    /// Whether the clinic shows patients their own photos on their page.
    async fn photo_sharing(&self, clinic_id: i64) -> Result<bool>;
    async fn set_photo_sharing(
        &self,
        clinic_id: i64,
        share: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
}

/// Money: invoices and credit notes with numbers without gaps, payments
/// and refunds, course packages and the till. Every write is one
/// transaction with its audit row; no sum is stored.
#[async_trait]
pub trait BillingRecords: Send + Sync {
    async fn billing_settings(&self, clinic_id: i64) -> Result<BillingSettings>;
    async fn set_billing_settings(
        &self,
        clinic_id: i64,
        settings: &BillingSettings,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// Issues an invoice or credit note with the clinic's next number.
    /// Refuses (`Conflict`) a line whose source is billed already, a credit
    /// larger than what is left to credit, and a package for a plan that
    /// has one open.
    async fn issue_invoice(
        &self,
        new: &NewInvoice,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Invoice>;
    async fn invoice(&self, id: i64) -> Result<Invoice>;
    /// Records money in. A payment made online names its provider event:
    /// the same event again gives back the payment it made, and nothing more.
    async fn record_payment(
        &self,
        new: &NewPayment,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Payment>;
    /// Pays what is due on an invoice with a session of a package. Two
    /// racing for the last session: one wins, the other is refused.
    async fn pay_with_package(
        &self,
        invoice_id: i64,
        package_id: i64,
        on: jiff::civil::Date,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Payment>;
    /// Gives back part or all of a payment's money on account, to its
    /// method. More than is free to give back is refused.
    async fn refund(
        &self,
        payment_id: i64,
        amount_minor: i64,
        reference: Option<&str>,
        on: jiff::civil::Date,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Payment>;
    /// Sets money on account against an invoice, as far as both go.
    async fn settle_from(
        &self,
        invoice_id: i64,
        payment_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<i64>;
    async fn payment(&self, id: i64) -> Result<Payment>;
    /// Closes a package (its plan was cancelled), with the credit note
    /// that gives back its unused sessions, in one transaction.
    async fn close_package(
        &self,
        package_id: i64,
        reason: &str,
        credit: Option<&NewInvoice>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Package>;
    async fn package(&self, id: i64) -> Result<Package>;
    async fn patient_account(&self, patient_id: i64) -> Result<PatientAccount>;
    /// Signed sessions not drawn from a package nor invoiced, and fees not
    /// invoiced.
    async fn unbilled(&self, patient_id: i64) -> Result<Vec<Unbilled>>;
    /// A clinic's payments and refunds received between two days (inclusive).
    async fn clinic_payments(
        &self,
        clinic_id: i64,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<Payment>>;
    /// Every patient of the clinic with money owed or on account: their
    /// invoices (day issued, total less credited) and their payments less
    /// refunds.
    async fn clinic_balances(
        &self,
        clinic_id: i64,
    ) -> Result<Vec<(i64, Vec<(jiff::civil::Date, i64)>, i64)>>;
    #[allow(clippy::too_many_arguments)]
    async fn record_cash_up(
        &self,
        clinic_id: i64,
        day: jiff::civil::Date,
        expected_minor: i64,
        counted_minor: i64,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<CashUp>;
    async fn cash_ups(&self, clinic_id: i64, day: jiff::civil::Date) -> Result<Vec<CashUp>>;
}

/// The record, whatever database keeps it.
#[async_trait]
pub trait Store:
    ScreeningRecords
    + PlanRecords
    + ScheduleRecords
    + StockRecords
    + ChartRecords
    + AfterRecords
    + BillingRecords
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Answers when the database does: for `/readyz`.
    async fn ping(&self) -> Result<()>;

    // ---- first run -------------------------------------------------------

    async fn organisation(&self) -> Result<Option<Organisation>>;

    async fn owner_exists(&self) -> Result<bool>;

    /// Creates the organisation, its first clinic and its owner in one
    /// transaction; refused with `Conflict` once an owner exists.
    async fn setup(
        &self,
        organisation_name: &str,
        clinic: &ClinicDetails,
        owner: &NewStaff,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(Organisation, Clinic, Staff)>;

    // ---- staff and sign-in -----------------------------------------------

    /// Marks a staff member as a medical director (or not).
    async fn set_medical_director(
        &self,
        staff_id: i64,
        on: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Staff>;

    async fn create_staff(&self, new: &NewStaff, actor: &Actor, now: Timestamp) -> Result<Staff>;
    async fn staff(&self, id: i64) -> Result<Staff>;
    async fn staff_credentials(&self, email: &str) -> Result<Option<StaffCredentials>>;
    async fn list_staff(&self, organisation_id: i64) -> Result<Vec<Staff>>;
    async fn staff_clinic_ids(&self, staff_id: i64) -> Result<Vec<i64>>;
    /// Which clinics each of an organisation's staff works at, in one
    /// read (staff id → clinic ids in order): lists of staff show their
    /// clinics without a read per person.
    async fn staff_clinic_map(
        &self,
        organisation_id: i64,
    ) -> Result<std::collections::HashMap<i64, Vec<i64>>>;
    /// Deactivates (or reactivates) an account. A deactivated member cannot
    /// sign in, and their sessions and tokens stop working at once; their
    /// name stays on everything they wrote. The last active owner stays.
    async fn set_staff_active(
        &self,
        staff_id: i64,
        active: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Staff>;

    async fn create_session(&self, session: &WebSession, actor: &Actor) -> Result<()>;
    /// The live session with this token hash, with its active staff member
    /// and their clinics.
    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<SessionUse>>;
    async fn delete_session(&self, token_hash: &str, actor: &Actor, now: Timestamp) -> Result<()>;
    /// A staff member's live sessions, newest first.
    async fn staff_sessions(&self, staff_id: i64, now: Timestamp) -> Result<Vec<WebSession>>;
    /// Ends every session of a staff member ("sign out everywhere"), audited;
    /// how many there were.
    async fn end_staff_sessions(&self, staff_id: i64, actor: &Actor, now: Timestamp)
        -> Result<u64>;
    /// Notes that a session was used now (callers do so at most once a
    /// minute: a read must not wait on a write).
    async fn touch_session(&self, token_hash: &str, now: Timestamp) -> Result<()>;

    /// A clinic's sign-in rules: idle timeout and two-factor for everyone.
    async fn sign_in_policy(&self, clinic_id: i64) -> Result<SignInPolicy>;
    async fn set_sign_in_policy(
        &self,
        clinic_id: i64,
        policy: &SignInPolicy,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;

    /// Records a sign-in halfway (the password was right).
    async fn create_sign_in_challenge(&self, challenge: &SignInChallenge) -> Result<()>;
    /// The unexpired challenge with this token hash, with its staff
    /// member's credentials (`None` once the account is deactivated).
    async fn sign_in_challenge(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(SignInChallenge, StaffCredentials)>>;
    /// Counts a wrong code against the challenge; ends it at `max_attempts`.
    /// The attempts so far.
    async fn fail_sign_in_challenge(&self, token_hash: &str, max_attempts: i64) -> Result<i64>;
    /// Finishes a sign-in in one transaction: the challenge is used up, the
    /// second factor is spent (a code's step is recorded so it cannot be
    /// used again; a recovery code is marked used; an enrolment replaces the
    /// authenticator and recovery codes) and the session is created,
    /// audited as a sign-in. `Conflict` when the challenge or the factor
    /// was already used (two tabs, a replayed code): nothing is changed.
    async fn complete_sign_in(
        &self,
        challenge_hash: &str,
        factor: &SecondFactor,
        session: &WebSession,
        actor: &Actor,
    ) -> Result<()>;
    /// Sets up (or replaces) a signed-in staff member's authenticator and
    /// recovery codes, audited. `Conflict` if the code's step was used.
    async fn enable_two_factor(
        &self,
        staff_id: i64,
        enrolment: &Enrolment,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// Removes a staff member's authenticator and recovery codes and ends
    /// their sessions (their own choice, or an owner's for a lost phone).
    async fn disable_two_factor(&self, staff_id: i64, actor: &Actor, now: Timestamp) -> Result<()>;
    /// Replaces a staff member's recovery codes, audited.
    async fn replace_recovery_codes(
        &self,
        staff_id: i64,
        code_hashes: &[String],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// How many of a staff member's recovery codes are still unused.
    async fn recovery_codes_left(&self, staff_id: i64) -> Result<i64>;

    async fn record_login_attempt(
        &self,
        email: &str,
        ip: Option<&str>,
        success: bool,
        at: Timestamp,
    ) -> Result<()>;
    /// Failed attempts for this e-mail since `since`, not counting any before
    /// the last success.
    async fn failed_logins_since(&self, email: &str, since: Timestamp) -> Result<i64>;

    async fn create_api_token(
        &self,
        staff_id: i64,
        name: &str,
        token_hash: &str,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ApiToken>;
    /// The unrevoked token with this hash, its active owner and the owner's
    /// clinics; marks it used (at most once a minute).
    async fn use_api_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<TokenUse>>;
    async fn list_api_tokens(&self, staff_id: i64) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(
        &self,
        id: i64,
        staff_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()>;

    // ---- clinics and what they hold -------------------------------------

    /// The clinics this staff member belongs to, by name.
    async fn clinics_for_staff(&self, staff_id: i64) -> Result<Vec<Clinic>>;
    async fn clinic(&self, id: i64) -> Result<Clinic>;
    /// Creates a clinic; every owner of the organisation joins it.
    async fn create_clinic(
        &self,
        organisation_id: i64,
        details: &ClinicDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Clinic>;
    async fn update_clinic(
        &self,
        id: i64,
        details: &ClinicDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Clinic>;

    async fn create_room(
        &self,
        clinic_id: i64,
        details: &RoomDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Room>;
    async fn rooms(&self, clinic_id: i64) -> Result<Vec<Room>>;
    async fn create_device(
        &self,
        clinic_id: i64,
        details: &DeviceDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Device>;
    async fn devices(&self, clinic_id: i64) -> Result<Vec<Device>>;
    async fn create_price_item(
        &self,
        clinic_id: i64,
        details: &PriceItemDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PriceItem>;
    async fn price_items(&self, clinic_id: i64) -> Result<Vec<PriceItem>>;

    // ---- patients --------------------------------------------------------

    async fn create_patient(
        &self,
        clinic_id: i64,
        details: &PatientDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Patient>;
    /// Saves new details if the record is still at `expected_version`;
    /// otherwise `Conflict`, so nobody overwrites a change they never saw.
    async fn update_patient(
        &self,
        id: i64,
        expected_version: i64,
        details: &PatientDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Patient>;
    /// Reads a patient without recording a view (for access checks).
    async fn patient(&self, id: i64) -> Result<Patient>;
    /// The patients with these ids that exist, in no particular order:
    /// one query for a list's names.
    async fn patients_by_id(&self, ids: &[i64]) -> Result<Vec<Patient>>;
    /// Patients in the clinics this staff member belongs to whose name,
    /// e-mail, phone or birth date contains every word of `query`, as
    /// folded by `needlepoint_domain::patient_search`; a page of `limit`
    /// after the cursor `after`.
    async fn search_patients(
        &self,
        staff_id: i64,
        clinic_id: Option<i64>,
        query: &str,
        limit: i64,
        after: Option<&Cursor>,
    ) -> Result<PatientPage>;

    /// The patients most recently added to this staff member's clinics.
    async fn recent_patients(&self, staff_id: i64, limit: i64) -> Result<Vec<Patient>>;

    /// How many patients each of this staff member's clinics has, as
    /// (clinic id, patients): a summary kept by triggers, not a count.
    async fn patient_counts(&self, staff_id: i64) -> Result<Vec<(i64, i64)>>;

    async fn add_clinical_note(
        &self,
        patient_id: i64,
        author_id: i64,
        body: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ClinicalNote>;
    async fn clinical_notes(&self, patient_id: i64) -> Result<Vec<ClinicalNote>>;

    // ---- audit -----------------------------------------------------------

    /// Appends an event that is not part of a change (a view): durable when
    /// this returns, committed together with other views waiting at the
    /// same moment (see `view_audit`).
    async fn record_audit(&self, actor: &Actor, event: &AuditEvent, now: Timestamp) -> Result<()>;
    async fn patient_audit(&self, patient_id: i64, limit: i64) -> Result<Vec<AuditEntry>>;
    async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>>;
    /// The latest entries that pass `filter`, newest first.
    async fn find_audit(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>>;
    /// Walks the whole audit trail and its hash chain: intact, or the first
    /// row inserted, changed or deleted behind Needlepoint's back.
    async fn verify_audit(&self) -> Result<audit_chain::Verdict>;

    // ---- operations ------------------------------------------------------

    /// A consistent copy of the whole database, taken while it runs.
    async fn backup_to(&self, path: &Path) -> Result<()>;

    /// Fills an empty database with a generated chain, for benchmarks
    /// (see [`generate`]); `progress` is told after each batch.
    async fn generate(
        &self,
        scale: &generate::Scale,
        progress: &(dyn Fn(generate::Progress) + Send + Sync),
    ) -> Result<generate::Generated>;
}
