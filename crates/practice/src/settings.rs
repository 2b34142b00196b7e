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

/// A member of the actor's own organisation, or "not found".
async fn colleague(cx: &Context, actor: &Actor, staff_id: i64) -> Result<needlepoint_store::Staff> {
    let staff = cx.store.staff(staff_id).await?;
    if staff.organisation_id != actor.staff.organisation_id {
        return Err(Error::NotFound);
    }
    Ok(staff)
}

/// Names a staff member medical director (or not). A medical director
/// signs off overrides of the guidelines, so treats patients: only a
/// practitioner can be one.
pub async fn set_medical_director(
    cx: &Context,
    actor: &Actor,
    staff_id: i64,
    on: bool,
) -> Result<needlepoint_store::Staff> {
    let staff = colleague(cx, actor, staff_id).await?;
    if on && staff.practitioner.is_none() {
        return Err(Error::refused(
            "A medical director treats patients: record them as a practitioner first.",
        ));
    }
    change(cx, actor, None, |s, a, now| async move {
        s.set_medical_director(staff_id, on, &a, now).await
    })
    .await
}

/// Deactivates or reactivates a staff member; the organisation keeps one
/// active owner (the record refuses to lose the last).
pub async fn set_staff_active(
    cx: &Context,
    actor: &Actor,
    staff_id: i64,
    active: bool,
) -> Result<needlepoint_store::Staff> {
    colleague(cx, actor, staff_id).await?;
    change(cx, actor, None, |s, a, now| async move {
        s.set_staff_active(staff_id, active, &a, now).await
    })
    .await
}
