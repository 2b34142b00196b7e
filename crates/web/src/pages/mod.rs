//! Server-rendered pages for people.

pub mod account;
pub mod forms;
pub mod overview;
pub mod patients;
pub mod session;
pub mod settings;

use crate::auth::Caller;
use crate::error::PageError;
use needlepoint_store::{Patient, Store};

/// A patient this caller may see, or 404 (we do not reveal that a record
/// exists in a clinic the caller does not belong to).
pub async fn visible_patient(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
) -> Result<Patient, PageError> {
    let p = store.patient(id).await?;
    if caller.sees_clinic(p.clinic_id) {
        Ok(p)
    } else {
        Err(PageError::NotFound)
    }
}
