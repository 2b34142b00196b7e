//! Server-rendered pages for people.

pub mod account;
pub mod adverse;
pub mod aftercare;
pub mod appointments;
pub mod audit;
pub mod billing;
pub mod booking;
pub mod charting;
pub mod checkins;
pub mod forms;
pub mod history;
pub mod home_care;
pub mod intake;
pub mod inventory;
pub mod messages;
pub mod overview;
pub mod patients;
pub mod plans;
pub mod portal;
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

/// Which of the caller's clinics a page of per-clinic sections shows. With
/// a few clinics, every one unless one is asked for; with more than
/// [`LISTED_CLINICS`], only the one asked for (else the first). A picker
/// lists them (id, name, shown) whenever there are two or more. A clinic
/// not theirs is not found.
pub struct ClinicChoice {
    /// The clinic shown alone; none when every clinic is shown.
    pub shown: Option<i64>,
    pub choices: Vec<(i64, String, bool)>,
    /// Whether "Every clinic" may be chosen: a few can be read at once.
    pub every: bool,
}

impl ClinicChoice {
    pub fn of(all: &[needlepoint_store::Clinic], asked: Option<i64>) -> Result<Self, PageError> {
        if asked.is_some_and(|id| !all.iter().any(|c| c.id == id)) {
            return Err(PageError::NotFound);
        }
        if all.len() < 2 {
            return Ok(ClinicChoice {
                shown: None,
                choices: vec![],
                every: false,
            });
        }
        let every = all.len() <= LISTED_CLINICS;
        let shown = asked.or(if every {
            None
        } else {
            all.first().map(|c| c.id)
        });
        Ok(ClinicChoice {
            shown,
            choices: all
                .iter()
                .map(|c| (c.id, c.details.name.clone(), Some(c.id) == shown))
                .collect(),
            every,
        })
    }

    /// Whether this clinic's section is on the page.
    pub fn shows(&self, clinic_id: i64) -> bool {
        self.shown.is_none_or(|id| id == clinic_id)
    }
}

/// A clinic asked for in a query: blank (or "every") for none; anything
/// else not a number is not found.
pub fn asked_clinic(q: Option<&str>) -> Result<Option<i64>, PageError> {
    match q.map(str::trim) {
        None | Some("") | Some("every") => Ok(None),
        Some(id) => id.parse().map(Some).map_err(|_| PageError::NotFound),
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
