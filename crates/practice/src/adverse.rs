//! The adverse-event register: an event after a session, raised by a
//! clinician (from a flagged check-in or on their own), checked by the
//! domain's rules, signed when recorded and amended only by new signed
//! versions with a reason.

use crate::{Actor, Context, Error, Result};
use needlepoint_domain::adverse::AdverseInput;
use needlepoint_store::{AdverseRecord, NewAdverseEvent};

/// What a clinician chose besides the event itself: the zones and lots
/// suspected (from the session's chart) and the check-in it came from.
#[derive(Debug, Clone, Default)]
pub struct Suspects {
    pub zones: Vec<String>,
    pub lot_ids: Vec<i64>,
    pub checkin_id: Option<i64>,
}

/// The session's day in the clinic's zone and the clinic's today.
async fn days(
    cx: &Context,
    chart: &needlepoint_store::Chart,
) -> Result<(jiff::civil::Date, jiff::civil::Date)> {
    let a = cx.store.appointment(chart.appointment_id).await?;
    let tz = jiff::tz::TimeZone::get(&a.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    Ok((a.starts_at.to_zoned(tz).date(), cx.today_in(&a.time_zone)))
}

fn check_suspects(chart: &needlepoint_store::Chart, s: &Suspects) -> Result<()> {
    let mut inv = needlepoint_domain::Invalid::default();
    if s.zones
        .iter()
        .any(|z| !chart.zones.iter().any(|c| &c.zone == z))
    {
        inv.push("zones", "Choose zones treated at the session.");
    }
    if s.lot_ids
        .iter()
        .any(|l| !chart.lots.iter().any(|c| c.lot_id == *l))
    {
        inv.push("lots", "Choose lots used at the session.");
    }
    Ok(inv.into_result()?)
}

fn clinician(actor: &Actor) -> Result<()> {
    if actor.is_clinical() {
        Ok(())
    } else {
        Err(Error::refused("Only a clinician records an adverse event."))
    }
}

/// Records and signs an event after the session charted in `chart_id`.
pub async fn record(
    cx: &Context,
    actor: &Actor,
    chart_id: i64,
    input: &AdverseInput<'_>,
    suspects: &Suspects,
) -> Result<AdverseRecord> {
    let chart = crate::access::chart(cx, actor, chart_id).await?;
    clinician(actor)?;
    if !chart.is_signed() {
        return Err(Error::refused(
            "Sign the session first: an adverse event follows a session.",
        ));
    }
    let kb = cx
        .clinic_kb(crate::access::clinic(actor, chart.clinic_id)?)
        .await?;
    let (session_day, today) = days(cx, &chart).await?;
    let event = input.parse(&kb, session_day, today);
    let suspects_ok = check_suspects(&chart, suspects);
    let event = match (event, suspects_ok) {
        (Ok(e), Ok(())) => e,
        (Err(mut a), Err(Error::Invalid(b))) => {
            a.errors.extend(b.errors);
            return Err(Error::Invalid(a));
        }
        (Err(a), _) => return Err(Error::Invalid(a)),
        (_, Err(b)) => return Err(b),
    };
    Ok(cx
        .store
        .record_adverse_event(
            &NewAdverseEvent {
                chart_id,
                checkin_id: suspects.checkin_id,
                event,
                zones: suspects.zones.clone(),
                lot_ids: suspects.lot_ids.clone(),
            },
            &actor.audit,
            cx.now(),
        )
        .await?)
}

/// The event, when the actor may see its clinic.
pub async fn load(cx: &Context, actor: &Actor, id: i64) -> Result<AdverseRecord> {
    let e = cx.store.adverse_event(id).await?;
    if !actor.sees_clinic(e.clinic_id) || !actor.is_clinical() {
        return Err(Error::NotFound);
    }
    Ok(e)
}

/// A new signed version of the event, with why it changed.
pub async fn amend(
    cx: &Context,
    actor: &Actor,
    id: i64,
    expected_version: i64,
    input: &AdverseInput<'_>,
    zones: Vec<String>,
    reason: &str,
) -> Result<AdverseRecord> {
    let e = load(cx, actor, id).await?;
    let chart = cx.store.chart(e.chart_id).await?;
    let kb = cx.clinic_kb(e.clinic_id).await?;
    let (session_day, today) = days(cx, &chart).await?;
    let mut inv = needlepoint_domain::Invalid::default();
    let reason = reason.trim();
    if reason.is_empty() {
        inv.push("reason", "Say why the event is amended.");
    } else if reason.chars().count() > 2000 {
        inv.push("reason", "Keep it under 2,000 characters.");
    }
    if let Err(Error::Invalid(b)) = check_suspects(
        &chart,
        &Suspects {
            zones: zones.clone(),
            ..Default::default()
        },
    ) {
        inv.errors.extend(b.errors);
    }
    let event = match input.parse(&kb, session_day, today) {
        Ok(ev) if inv.errors.is_empty() => ev,
        Ok(_) => return Err(Error::Invalid(inv)),
        Err(mut a) => {
            a.errors.extend(inv.errors);
            return Err(Error::Invalid(a));
        }
    };
    if event == e.current().event && zones == e.current().zones {
        return Err(Error::refused(
            "Nothing changed: an amendment changes something.",
        ));
    }
    Ok(cx
        .store
        .amend_adverse_event(
            id,
            expected_version,
            &event,
            &zones,
            reason,
            &actor.audit,
            cx.now(),
        )
        .await?)
}
