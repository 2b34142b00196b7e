//! Server-rendered pages for people.

pub mod account;
pub mod appointments;
pub mod audit;
pub mod booking;
pub mod charting;
pub mod forms;
pub mod history;
pub mod intake;
pub mod inventory;
pub mod messages;
pub mod overview;
pub mod patients;
pub mod plans;
pub mod rules;
pub mod screenings;
pub mod session;
pub mod settings;
pub mod timeline;
pub mod two_factor;

use crate::auth::Caller;
use crate::error::PageError;
use needlepoint_store::Store;

/// With more clinics than this, pages that show each clinic's day or stock
/// show one clinic at a time (with a way to the others): the owner of a
/// chain does not read fifty lists at once, and a page reads only what it
/// shows.
pub const LISTED_CLINICS: usize = 3;

/// Which of the caller's clinics a page of per-clinic sections shows: all
/// of them, or with more than [`LISTED_CLINICS`] only the one asked for
/// (else the first) and a picker's list (id, name, shown). A clinic not
/// theirs is not found.
pub struct ClinicChoice {
    pub shown: i64,
    pub choices: Vec<(i64, String, bool)>,
}

impl ClinicChoice {
    pub fn of(all: &[needlepoint_store::Clinic], asked: Option<i64>) -> Result<Self, PageError> {
        let shown = asked.or(all.first().map(|c| c.id)).unwrap_or(0);
        if !all.is_empty() && !all.iter().any(|c| c.id == shown) {
            return Err(PageError::NotFound);
        }
        let choices = if all.len() > LISTED_CLINICS {
            all.iter()
                .map(|c| (c.id, c.details.name.clone(), c.id == shown))
                .collect()
        } else {
            vec![]
        };
        Ok(ClinicChoice { shown, choices })
    }

    /// Whether this clinic's section is on the page.
    pub fn shows(&self, clinic_id: i64) -> bool {
        self.choices.is_empty() || clinic_id == self.shown
    }
}

/// The zone to show a caller's own times in (tokens, the audit trail): that
/// of the first of their clinics, by name; UTC when they have none.
pub async fn home_zone(store: &dyn Store, caller: &Caller) -> Result<String, PageError> {
    Ok(store
        .clinics_for_staff(caller.staff.id)
        .await?
        .first()
        .map(|c| c.details.time_zone.clone())
        .unwrap_or_else(|| "UTC".into()))
}
