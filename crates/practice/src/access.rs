//! What an actor may see: a record belongs to one clinic, and only staff
//! of that clinic see it. Anything else is "not found", never "forbidden",
//! so that ids at other clinics cannot be told apart from missing ones.

use crate::{Actor, Context, Error, Result};
use needlepoint_store::{Appointment, Chart, Lot, Patient};

/// Fails with "not found" unless the actor works at the clinic.
pub fn clinic(actor: &Actor, clinic_id: i64) -> Result<i64> {
    if actor.sees_clinic(clinic_id) {
        Ok(clinic_id)
    } else {
        Err(Error::NotFound)
    }
}

pub async fn patient(cx: &Context, actor: &Actor, id: i64) -> Result<Patient> {
    let p = cx.store.patient(id).await?;
    clinic(actor, p.clinic_id)?;
    Ok(p)
}

pub async fn appointment(cx: &Context, actor: &Actor, id: i64) -> Result<Appointment> {
    let a = cx.store.appointment(id).await?;
    clinic(actor, a.clinic_id)?;
    Ok(a)
}

pub async fn chart(cx: &Context, actor: &Actor, id: i64) -> Result<Chart> {
    let c = cx.store.chart(id).await?;
    clinic(actor, c.clinic_id)?;
    Ok(c)
}

pub async fn lot(cx: &Context, actor: &Actor, id: i64) -> Result<Lot> {
    let l = cx.store.lot(id).await?;
    clinic(actor, l.clinic_id)?;
    Ok(l)
}
