//! The organisation's settings: clinics, rooms, devices, prices, opening
//! hours, staff, wording and rule overrides. The values are checked by the
//! domain's parsers where they are read; what this service adds is who may
//! change them (an owner, at one of their clinics) and when (the context's
//! clock), for every setting alike.

use crate::{access, Actor, Context, Error, Result};
use needlepoint_domain::Role;
use needlepoint_store::{Store, StoreError};
use std::future::Future;
use std::sync::Arc;

/// Makes one change to the settings as `actor`: only an owner, and only at
/// one of their clinics when `clinic_id` names one. `write` gets the record,
/// the audit name and the instant to record.
pub async fn change<T, F, Fut>(
    cx: &Context,
    actor: &Actor,
    clinic_id: Option<i64>,
    write: F,
) -> Result<T>
where
    F: FnOnce(Arc<dyn Store>, needlepoint_store::Actor, jiff::Timestamp) -> Fut,
    Fut: Future<Output = std::result::Result<T, StoreError>>,
{
    if let Some(id) = clinic_id {
        access::clinic(actor, id)?;
    }
    if actor.role != Role::Owner {
        return Err(Error::Forbidden(
            "Only an owner changes the organisation's settings.".into(),
        ));
    }
    Ok(write(cx.store.clone(), actor.audit.clone(), cx.now()).await?)
}
