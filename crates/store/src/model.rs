//! What the store hands back: records with their ids and timestamps.

use jiff::Timestamp;
use needlepoint_domain::{
    ClinicDetails, DeviceDetails, PatientDetails, PractitionerDetails, PriceItemDetails, Role,
    RoomDetails, SignInPolicy,
};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct Clinic {
    pub id: i64,
    pub organisation_id: i64,
    #[serde(flatten)]
    pub details: ClinicDetails,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct Staff {
    pub id: i64,
    pub organisation_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// Present when this person treats patients.
    pub practitioner: Option<PractitionerDetails>,
    /// Gives the second sign-off of a session with an override.
    pub medical_director: bool,
    pub created_at: Timestamp,
    /// Since when they sign in with an authenticator app; `None` if not.
    pub two_factor_since: Option<Timestamp>,
}

/// A staff member with the hash to check a password against.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    pub staff: Staff,
    pub password_hash: String,
    /// Set up when the staff member signs in with a second factor.
    pub authenticator: Option<Authenticator>,
    /// The strictest sign-in rules of the staff member's clinics.
    pub policy: SignInPolicy,
}

/// Everything needed to create a staff account. The password is already hashed.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub organisation_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub practitioner: Option<PractitionerDetails>,
    pub clinic_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Room {
    pub id: i64,
    pub clinic_id: i64,
    #[serde(flatten)]
    pub details: RoomDetails,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub id: i64,
    pub clinic_id: i64,
    #[serde(flatten)]
    pub details: DeviceDetails,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceItem {
    pub id: i64,
    pub clinic_id: i64,
    #[serde(flatten)]
    pub details: PriceItemDetails,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Patient {
    pub id: i64,
    pub clinic_id: i64,
    #[serde(flatten)]
    pub details: PatientDetails,
    /// Increases with every change; an edit names the version it started from.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClinicalNote {
    pub id: i64,
    pub patient_id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub created_at: Timestamp,
}

/// A signed-in browser session. Only a hash of its token is stored.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub token_hash: String,
    pub staff_id: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When it was last used, to the minute: it ends when idle too long.
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A sign-in halfway: the password was right and the second factor (or
/// setting one up) comes next. Only the hash of its token is stored.
#[derive(Debug, Clone)]
pub struct SignInChallenge {
    pub token_hash: String,
    pub staff_id: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Wrong codes given so far.
    pub attempts: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A staff member's authenticator: the shared secret (base32, RFC 6238)
/// and the last time step a code was accepted for.
#[derive(Debug, Clone)]
pub struct Authenticator {
    pub secret: String,
    pub last_step: Option<i64>,
}

/// What proved the second factor, checked again inside the transaction
/// that starts the session, so a code or recovery code works only once.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    /// A code from the authenticator for this time step.
    Code { step: i64 },
    /// An unused recovery code, by its hash.
    RecoveryCode { code_hash: String },
    /// Setting up an authenticator: its secret, the step of the code that
    /// proved it, and the hashes of new recovery codes.
    Enrol(Enrolment),
}

/// A new authenticator for a staff member and their new recovery codes.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret: String,
    pub step: i64,
    pub recovery_code_hashes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub staff_id: i64,
    pub name: String,
    /// The token acts with this role, which is never above its creator's.
    pub role: Role,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A signed-in session: the session, its staff member and their clinics.
#[derive(Debug, Clone)]
pub struct SessionUse {
    pub session: WebSession,
    pub staff: Staff,
    pub clinic_ids: Vec<i64>,
    /// The strictest sign-in rules of the staff member's clinics.
    pub policy: SignInPolicy,
}

/// A token in use: the token, its owner and the clinics the owner works at.
#[derive(Debug, Clone)]
pub struct TokenUse {
    pub token: ApiToken,
    pub staff: Staff,
    pub clinic_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub channel: String,
    pub ip: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub patient_id: Option<i64>,
    pub detail: serde_json::Value,
}

/// One immutable version of a patient's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryVersion {
    pub id: i64,
    pub patient_id: i64,
    /// 1, 2, 3… per patient.
    pub version: i64,
    pub history: needlepoint_domain::history::PatientHistory,
    /// `clinician`, `intake` (confirmed by a clinician) or `api`.
    pub source: String,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
}

/// A saved screening: immutable, with the history version it read.
#[derive(Debug, Clone, Serialize)]
pub struct ScreeningRecord {
    pub id: i64,
    pub patient_id: i64,
    pub history_id: i64,
    pub history_version: i64,
    pub result: needlepoint_domain::screening::Screening,
    pub created_at: Timestamp,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    /// Clinicians' overrides, oldest first; the last one is in force.
    pub overrides: Vec<ScreeningOverride>,
}

impl ScreeningRecord {
    /// The outcome in force: the last override's, or the engine's.
    pub fn status(&self) -> needlepoint_domain::screening::Status {
        self.overrides
            .last()
            .map_or(self.result.status, |o| o.status)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScreeningOverride {
    pub id: i64,
    pub screening_id: i64,
    pub status: needlepoint_domain::screening::Status,
    pub justification: String,
    pub created_at: Timestamp,
    pub created_by: i64,
    pub created_by_name: String,
}

/// A clinic's change to a knowledge-base value, with who made it and why.
#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeOverride {
    pub id: i64,
    pub clinic_id: i64,
    pub key: String,
    pub value: String,
    pub reason: String,
    pub created_at: Timestamp,
    pub created_by: i64,
    pub created_by_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntakeLink {
    pub id: i64,
    pub patient_id: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A patient's answers from an intake link, waiting for a clinician.
#[derive(Debug, Clone, Serialize)]
pub struct IntakeSubmission {
    pub id: i64,
    pub link_id: i64,
    pub patient_id: i64,
    pub history: needlepoint_domain::history::PatientHistory,
    pub submitted_at: Timestamp,
    pub reviewed_at: Option<Timestamp>,
    pub reviewed_by: Option<i64>,
    pub history_id: Option<i64>,
}

/// A treatment plan with its proposal, flags and quote.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRecord {
    pub id: i64,
    pub patient_id: i64,
    pub clinic_id: i64,
    pub screening_id: i64,
    pub status: needlepoint_domain::plan::PlanStatus,
    /// Increases with every edit; a consent covers one version.
    pub version: i64,
    pub proposal: needlepoint_domain::planning::Proposal,
    pub plan: needlepoint_domain::plan::Plan,
    pub flags: Vec<needlepoint_domain::plan::Flag>,
    /// Frozen once the plan is accepted.
    pub quote: Option<needlepoint_domain::pricing::Quote>,
    pub cancel_reason: Option<String>,
    pub created_at: Timestamp,
    pub created_by: i64,
    pub updated_at: Timestamp,
}

/// A signed consent, exactly as signed.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentRecord {
    pub id: i64,
    pub plan_id: i64,
    pub plan_version: i64,
    pub text: String,
    pub sha256: String,
    pub photo_use: String,
    pub typed_name: String,
    /// The drawn signature as a PNG data URL.
    pub signature: String,
    pub signed_at: Timestamp,
    /// `clinic` (on the clinic's device) or `link` (remotely).
    pub signed_via: String,
    pub witness_id: Option<i64>,
    /// For a patient under age: the parent's or guardian's typed name with
    /// how they are related, and their drawn signature.
    pub guardian_name: Option<String>,
    pub guardian_signature: Option<String>,
}

/// What is signed: the frozen text and the patient's choices.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub plan_id: i64,
    pub plan_version: i64,
    pub text: String,
    pub sha256: String,
    pub photo_use: String,
    pub typed_name: String,
    pub signature: String,
    /// A parent's or guardian's name and drawn signature, for a patient
    /// under age.
    pub guardian: Option<(String, String)>,
    pub ip: Option<String>,
}

/// An appointment to book.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub clinic_id: i64,
    pub patient_id: i64,
    pub plan_id: Option<i64>,
    pub session_number: Option<i64>,
    /// consultation, session, follow_up, home_care_review.
    pub kind: needlepoint_domain::appointment::AppointmentKind,
    pub practitioner_id: Option<i64>,
    pub room_id: Option<i64>,
    pub device_id: Option<i64>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub local_start: String,
    pub time_zone: String,
    /// A clinician's reason for booking a session outside its healing window.
    pub window_override: Option<String>,
    /// The plan's areas this session treats (the tracks due then); `None`
    /// for every area of the plan, or for an appointment without a plan.
    pub areas: Option<Vec<String>>,
}

/// An appointment moved to a new time (and perhaps other resources).
#[derive(Debug, Clone)]
pub struct Move {
    pub id: i64,
    pub practitioner_id: Option<i64>,
    pub room_id: Option<i64>,
    pub device_id: Option<i64>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub local_start: String,
    pub window_override: Option<String>,
    /// A late-change fee the patient pays for moving at short notice
    /// (minor units), kept on the appointment.
    pub fee_minor: Option<i64>,
}

/// An appointment moving on: checked in, completed, cancelled, no-show.
#[derive(Debug, Clone, Copy)]
pub struct StatusChange<'a> {
    pub status: needlepoint_domain::appointment::AppointmentStatus,
    pub reason: Option<&'a str>,
    /// `patient` or `clinic`, for a cancellation.
    pub cancelled_by: Option<&'a str>,
    /// The cancellation policy's fee, in minor units.
    pub fee_minor: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Appointment {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub plan_id: Option<i64>,
    pub session_number: Option<i64>,
    pub kind: needlepoint_domain::appointment::AppointmentKind,
    pub practitioner_id: Option<i64>,
    pub room_id: Option<i64>,
    pub device_id: Option<i64>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub local_start: String,
    pub time_zone: String,
    pub status: needlepoint_domain::appointment::AppointmentStatus,
    pub cancel_reason: Option<String>,
    pub created_at: Timestamp,
    pub window_override: Option<String>,
    /// The wall-clock start before the latest move.
    pub moved_from: Option<String>,
    pub cancelled_by: Option<String>,
    pub fee_minor: Option<i64>,
    /// The plan's areas this session treats; `None` for all of them.
    pub areas: Option<Vec<String>>,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub clinic_id: i64,
    pub patient_id: Option<i64>,
    pub appointment_id: Option<i64>,
    /// confirmation, reminder_48h, reminder_24h, cancellation.
    pub kind: String,
    pub channel: needlepoint_domain::message::MessageChannel,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    /// An iCalendar attachment.
    pub attachment: Option<String>,
    pub due_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: Option<i64>,
    pub appointment_id: Option<i64>,
    pub kind: String,
    pub channel: needlepoint_domain::message::MessageChannel,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub attachment: Option<String>,
    pub due_at: Timestamp,
    pub status: needlepoint_domain::message::MessageStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
}

/// Something a clinic stocks, with how many usable units it has.
#[derive(Debug, Clone, Serialize)]
pub struct SupplyItem {
    pub id: i64,
    pub clinic_id: i64,
    pub kind: needlepoint_domain::charting::SupplyKind,
    pub name: String,
    pub supplier: String,
    /// A product made for intradermal contact.
    pub intradermal: bool,
    pub reorder_at: i64,
    pub active: bool,
    /// Units in lots that are neither expired (on `today` as asked) nor recalled.
    pub usable: i64,
}

#[derive(Debug, Clone)]
pub struct NewSupplyItem {
    pub kind: needlepoint_domain::charting::SupplyKind,
    pub name: String,
    pub supplier: String,
    pub intradermal: bool,
    pub reorder_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lot {
    pub id: i64,
    pub item_id: i64,
    pub clinic_id: i64,
    pub item_name: String,
    pub kind: needlepoint_domain::charting::SupplyKind,
    pub intradermal: bool,
    pub supplier: String,
    pub lot_number: String,
    pub expires_on: jiff::civil::Date,
    pub quantity: i64,
    pub received_at: Timestamp,
    pub recalled_at: Option<Timestamp>,
    pub recall_reason: Option<String>,
    pub recall_notified_at: Option<Timestamp>,
}

impl Lot {
    pub fn facts(&self) -> needlepoint_domain::charting::LotFacts<'_> {
        needlepoint_domain::charting::LotFacts {
            item: &self.item_name,
            lot_number: &self.lot_number,
            expires_on: self.expires_on,
            recalled: self.recall_reason.as_deref(),
            quantity: self.quantity,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewLot {
    pub item_id: i64,
    pub lot_number: String,
    pub expires_on: jiff::civil::Date,
    pub quantity: i64,
}

/// A change of a lot's quantity.
#[derive(Debug, Clone, Serialize)]
pub struct StockMovement {
    pub id: i64,
    pub lot_id: i64,
    pub delta: i64,
    /// received, used, count (a correction after counting).
    pub reason: String,
    pub chart_id: Option<i64>,
    pub at: Timestamp,
    pub by_id: Option<i64>,
}

/// One session that used a lot: what a recall lists.
#[derive(Debug, Clone, Serialize)]
pub struct LotUse {
    pub chart_id: i64,
    pub appointment_id: i64,
    pub patient_id: i64,
    pub patient_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub clinic_id: i64,
    pub used_at: Timestamp,
    pub quantity: i64,
}

/// A lot recorded on a chart.
#[derive(Debug, Clone, Serialize)]
pub struct ChartLot {
    pub lot_id: i64,
    pub item_name: String,
    pub kind: needlepoint_domain::charting::SupplyKind,
    pub lot_number: String,
    pub expires_on: jiff::civil::Date,
    pub quantity: i64,
    pub warning: Option<String>,
}

/// What the clinician recorded for the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChecklistRecord {
    pub anaesthetic: needlepoint_domain::charting::Anaesthetic,
    pub antiviral_taken: bool,
}

impl Default for ChecklistRecord {
    fn default() -> Self {
        ChecklistRecord {
            anaesthetic: needlepoint_domain::charting::Anaesthetic::NotRecorded,
            antiviral_taken: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Amendment {
    pub id: i64,
    pub zone: Option<String>,
    pub text: String,
    pub reason: String,
    pub created_at: Timestamp,
    pub created_by: i64,
    pub created_by_name: String,
}

/// A session's chart.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub plan_id: Option<i64>,
    pub appointment_id: i64,
    pub session_number: Option<i64>,
    pub status: needlepoint_domain::charting::ChartStatus,
    pub checklist: ChecklistRecord,
    /// The checklist as it stood when needling started.
    pub started_checks: Option<Vec<serde_json::Value>>,
    pub started_at: Option<Timestamp>,
    pub started_by: Option<i64>,
    pub zones: Vec<needlepoint_domain::charting::ZoneRecord>,
    pub lots: Vec<ChartLot>,
    pub signed_at: Option<Timestamp>,
    pub signed_by: Option<i64>,
    pub signed_by_name: Option<String>,
    pub needs_cosign: bool,
    pub cosigned_at: Option<Timestamp>,
    pub cosigned_by: Option<i64>,
    pub cosigned_by_name: Option<String>,
    /// Why it was opened on another day than the appointment's.
    pub off_day_reason: Option<String>,
    pub amendments: Vec<Amendment>,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Chart {
    pub fn is_signed(&self) -> bool {
        self.status == needlepoint_domain::charting::ChartStatus::Signed
    }
    pub fn needle_lots(&self) -> usize {
        self.lots.iter().filter(|l| l.kind.is_needle()).count()
    }
}

#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub clinic_id: i64,
    pub patient_id: i64,
    pub chart_id: Option<i64>,
    pub view: String,
    pub sha256: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Photo {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub chart_id: Option<i64>,
    pub view: String,
    pub sha256: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub created_at: Timestamp,
    pub created_by: Option<i64>,
}

/// A check-in to schedule when a session is signed: its link's token hash
/// and when it is sent and stops working.
#[derive(Debug, Clone)]
pub struct NewCheckin {
    pub day: u32,
    pub token_hash: String,
    pub due_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A check-in after a session: due on a day, answered (or not) by the
/// patient, with the triage's advice, and reviewed by a clinician.
#[derive(Debug, Clone, Serialize)]
pub struct Checkin {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub chart_id: i64,
    pub day: u32,
    pub due_at: Timestamp,
    pub expires_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub answers: Option<needlepoint_domain::triage::Answers>,
    pub advice: Option<needlepoint_domain::triage::Advice>,
    /// The findings in words, worst first.
    pub findings: Vec<String>,
    pub photo_id: Option<i64>,
    pub reviewed_at: Option<Timestamp>,
    pub reviewed_by: Option<i64>,
    pub review_note: Option<String>,
}

impl Checkin {
    /// Flagged: answered with anything but reassurance, and not reviewed.
    pub fn flagged(&self) -> bool {
        self.advice.is_some_and(|a| a.flags()) && self.reviewed_at.is_none()
    }
}

/// A check-in's answers as the patient sent them, with the triage's result.
#[derive(Debug, Clone)]
pub struct CheckinAnswer {
    pub answers: needlepoint_domain::triage::Answers,
    pub advice: needlepoint_domain::triage::Advice,
    pub findings: Vec<String>,
    /// The photo, already cleaned and kept on disk.
    pub photo: Option<NewPhoto>,
}

/// An adverse event as first recorded.
#[derive(Debug, Clone)]
pub struct NewAdverseEvent {
    pub chart_id: i64,
    pub checkin_id: Option<i64>,
    pub event: needlepoint_domain::adverse::AdverseEvent,
    pub zones: Vec<String>,
    pub lot_ids: Vec<i64>,
}

/// One signed version of an adverse event.
#[derive(Debug, Clone, Serialize)]
pub struct AdverseVersion {
    pub version: i64,
    pub event: needlepoint_domain::adverse::AdverseEvent,
    pub zones: Vec<String>,
    /// Why it was amended; none for the first version.
    pub reason: Option<String>,
    pub signed_at: Timestamp,
    pub signed_by: i64,
    pub signed_by_name: String,
}

/// An adverse event in the register, with every version, newest last.
#[derive(Debug, Clone, Serialize)]
pub struct AdverseRecord {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub chart_id: i64,
    pub checkin_id: Option<i64>,
    pub lot_ids: Vec<i64>,
    pub versions: Vec<AdverseVersion>,
}

impl AdverseRecord {
    pub fn current(&self) -> &AdverseVersion {
        self.versions
            .last()
            .expect("an event has its first version")
    }
}

/// A one-time sign-in code for a patient's own page.
#[derive(Debug, Clone)]
pub struct NewPatientCode {
    pub patient_id: i64,
    /// The address it was sent to, as the patient will type it (trimmed,
    /// lower case): codes are checked against it.
    pub address: String,
    pub code_hash: String,
    pub link_hash: String,
    pub expires_at: Timestamp,
}

/// Why a patient's code did not sign them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Wrong, expired or used: the same answer for each.
    Wrong,
    /// Too many wrong codes for this address: locked until then.
    Locked(Timestamp),
}

/// A home rolling as logged, with the warnings it was given.
#[derive(Debug, Clone, Serialize)]
pub struct HomeCareEntry {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub used_on: jiff::civil::Date,
    pub area: String,
    pub needle_um: u32,
    pub inflamed: bool,
    pub warnings: Vec<String>,
    pub logged_at: Timestamp,
    /// Staff who logged it for the patient; none when she did.
    pub logged_by: Option<i64>,
}

impl HomeCareEntry {
    /// The entry as the domain's home-care rules read it.
    pub fn home_use(&self) -> Option<needlepoint_domain::homecare::HomeUse> {
        Some(needlepoint_domain::homecare::HomeUse {
            on: self.used_on,
            area: self.area.clone(),
            needle: needlepoint_domain::Depth::from_micrometres(self.needle_um).ok()?,
            inflamed: self.inflamed,
        })
    }
}

/// A clinic's billing details and rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct BillingSettings {
    /// Printed on invoices (a VAT number, a sales-tax ID).
    pub tax_number: Option<String>,
    /// Asked when a course is booked; 0 asks none.
    pub deposit_minor: i64,
    /// A late-cancellation or no-show fee is taken from the deposit.
    pub fee_from_deposit: bool,
    /// Of a cancelled package's unused sessions, the share the clinic keeps
    /// (basis points).
    pub package_keep_bp: u32,
}

/// An invoice or credit note as issued, with what has been credited and
/// paid against it since (summed from the entries, never stored).
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub number: i64,
    pub credit_note: bool,
    /// For a credit note: the invoice it credits.
    pub credits_invoice_id: Option<i64>,
    pub reason: Option<String>,
    pub issued_on: jiff::civil::Date,
    pub issued_at: Timestamp,
    pub issued_by: Option<i64>,
    pub currency: String,
    pub tax_rate_bp: u32,
    pub tax_included: bool,
    pub lines: Vec<needlepoint_domain::billing::Line>,
    pub totals: needlepoint_domain::billing::Totals,
    /// For an invoice: its credit notes' totals together.
    pub credited_minor: i64,
    /// For an invoice: payments set against it.
    pub paid_minor: i64,
}

impl Invoice {
    /// "INV-000042" or "CN-000007".
    pub fn label(&self) -> String {
        needlepoint_domain::billing::document_number(self.credit_note, self.number)
    }

    /// What is still to pay on an invoice (0 for a credit note).
    pub fn due_minor(&self) -> i64 {
        if self.credit_note {
            0
        } else {
            self.totals.total - self.credited_minor - self.paid_minor
        }
    }
}

/// A new invoice or credit note, priced.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub clinic_id: i64,
    pub patient_id: i64,
    pub issued_on: jiff::civil::Date,
    pub currency: String,
    pub tax_rate_bp: u32,
    pub tax_included: bool,
    pub lines: Vec<needlepoint_domain::billing::Line>,
    pub totals: needlepoint_domain::billing::Totals,
    /// A credit note: the invoice it credits and why.
    pub credits: Option<(i64, String)>,
    /// The plan's course sold as a package of so many sessions.
    pub package: Option<(i64, u32)>,
    /// Payments on account (a deposit) to settle it from, as far as they go.
    pub settle_from: Vec<i64>,
}

/// A payment or a refund, with what of it is set against invoices and
/// refunded since (summed, never stored).
#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    /// For a refund: the payment it gives back.
    pub refund_of: Option<i64>,
    pub method: needlepoint_domain::billing::Method,
    pub amount_minor: i64,
    /// A card terminal's or bank's reference; the provider's for online.
    pub reference: Option<String>,
    pub deposit: bool,
    /// For package credit: the package the session was drawn from.
    pub package_id: Option<i64>,
    pub received_on: jiff::civil::Date,
    pub received_at: Timestamp,
    pub received_by: Option<i64>,
    /// For a payment: set against invoices.
    pub allocated_minor: i64,
    /// For a payment: refunded since.
    pub refunded_minor: i64,
}

impl Payment {
    /// What of a payment is neither set against an invoice nor refunded:
    /// money on account.
    pub fn free_minor(&self) -> i64 {
        if self.refund_of.is_some() {
            0
        } else {
            self.amount_minor - self.allocated_minor - self.refunded_minor
        }
    }
}

/// Money coming in.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub clinic_id: i64,
    pub patient_id: i64,
    pub method: needlepoint_domain::billing::Method,
    pub amount_minor: i64,
    pub reference: Option<String>,
    pub deposit: bool,
    /// Set against this invoice, as far as it is due; the rest is on account.
    pub invoice_id: Option<i64>,
    pub received_on: jiff::civil::Date,
    /// The provider's event id, for a payment made online.
    pub provider_event: Option<String>,
}

/// A plan's course sold as a package; `used` counts the sessions drawn.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub plan_id: i64,
    pub sessions: u32,
    pub used: u32,
    pub invoice_id: i64,
    pub sold_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub closed_reason: Option<String>,
}

impl Package {
    pub fn left(&self) -> u32 {
        self.sessions.saturating_sub(self.used)
    }
}

/// A patient's money: everything issued, paid and sold, with the balance
/// (payments less refunds less invoiced, plus credited; negative is owed).
#[derive(Debug, Clone, Serialize)]
pub struct PatientAccount {
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub packages: Vec<Package>,
    pub balance_minor: i64,
}

/// Something done and not yet invoiced or drawn from a package.
#[derive(Debug, Clone, Serialize)]
pub enum Unbilled {
    /// A signed session: its chart, appointment and plan.
    Session {
        chart_id: i64,
        appointment_id: i64,
        plan_id: Option<i64>,
        areas: Option<Vec<String>>,
        starts_at: Timestamp,
    },
    /// A late-cancellation, no-show or late-move fee.
    Fee {
        appointment_id: i64,
        status: String,
        fee_minor: i64,
        starts_at: Timestamp,
    },
}

/// A counted till.
#[derive(Debug, Clone, Serialize)]
pub struct CashUp {
    pub id: i64,
    pub clinic_id: i64,
    pub day: jiff::civil::Date,
    pub expected_minor: i64,
    pub counted_minor: i64,
    pub note: Option<String>,
    pub recorded_at: Timestamp,
    pub recorded_by: i64,
}
