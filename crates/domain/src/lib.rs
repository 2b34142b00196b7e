//! Needlepoint's domain: pure types and rules. No I/O, no clock, no database.
//!
//! Every rule that depends on "today" takes the date as an argument, so the
//! same inputs always give the same answer and tests need no clock tricks.

pub mod account;
pub mod adverse;
pub mod aftercare;
pub mod appointment;
pub mod billing;
pub mod booking_rules;
pub mod charting;
pub mod clinic;
pub mod dates;
pub mod depth;
pub mod history;
pub mod homecare;
pub mod knowledge;
pub mod message;
pub mod message_template;
pub mod patient;
pub mod patient_search;
pub mod plan;
pub mod planning;
pub mod pricing;
pub mod scheduling;
pub mod screening;
pub mod triage;
pub mod validation;

pub use account::{Email, Password, Role, SignInPolicy};
pub use clinic::{
    ClinicDetails, ClinicPricing, DeviceDetails, PractitionerDetails, PriceItemDetails, PriceKind,
    RoomDetails,
};
pub use depth::Depth;
pub use patient::{PatientDetails, PatientInput, Sex};
pub use validation::{FieldError, Invalid};
