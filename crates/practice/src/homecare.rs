//! The home-care log: each home rolling the patient (or staff for her)
//! records, checked against the clinic's home-care rules, which warn as
//! she logs; booking a session near logged rolling warns staff.

use crate::{Context, Result};
use jiff::civil::Date;
use needlepoint_domain::homecare::{self, HomeUse, HomeUseInput};
use needlepoint_store::{HomeCareEntry, Patient};

/// How far back a rolling may be logged.
const LOG_BACK_DAYS: i64 = 90;

/// The days of the patient's sessions (booked, attended or done), in the
/// clinic's zone.
async fn session_days(cx: &Context, p: &Patient) -> Result<Vec<Date>> {
    Ok(cx
        .store
        .patient_appointments(p.id)
        .await?
        .iter()
        .filter(|a| a.kind.is_session() && a.status.holds_time())
        .map(|a| {
            let tz = jiff::tz::TimeZone::get(&a.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            a.starts_at.to_zoned(tz).date()
        })
        .collect())
}

/// Logs a home rolling: checked where typed (whether the skin was
/// inflamed must be answered: `None` is refused), then kept with the
/// warnings the clinic's rules give it (which the caller shows). Access to
/// the patient is the caller's to check.
pub async fn log(
    cx: &Context,
    p: &Patient,
    input: &HomeUseInput<'_>,
    inflamed: Option<bool>,
    actor: &needlepoint_store::Actor,
) -> Result<HomeCareEntry> {
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let today = cx.clinic_today(p.clinic_id).await?;
    let earliest = today - jiff::Span::new().days(LOG_BACK_DAYS);
    let input = HomeUseInput {
        inflamed: inflamed.unwrap_or(false),
        ..input.clone()
    };
    let mut inv = needlepoint_domain::Invalid::default();
    if inflamed.is_none() {
        inv.push(
            "inflamed",
            "Please answer: was the skin red, sore, broken or spotty?",
        );
    }
    let used = match input.parse(&kb, today, earliest) {
        Ok(u) if inv.errors.is_empty() => u,
        Ok(_) => return Err(inv.into()),
        Err(mut e) => {
            e.errors.extend(inv.errors);
            return Err(e.into());
        }
    };
    let earlier: Vec<HomeUse> = cx
        .store
        .home_care(p.id)
        .await?
        .iter()
        .filter_map(HomeCareEntry::home_use)
        .collect();
    let warnings = homecare::warnings(&kb, &used, &earlier, &session_days(cx, p).await?);
    Ok(cx
        .store
        .add_home_care(p.id, &used, &warnings, actor, cx.now())
        .await?)
}

/// The staff's warning for a session on `day`, when the patient logged
/// home rolling too near it.
pub async fn booking_warning(cx: &Context, p: &Patient, day: Date) -> Result<Option<String>> {
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let uses: Vec<HomeUse> = cx
        .store
        .home_care(p.id)
        .await?
        .iter()
        .filter_map(HomeCareEntry::home_use)
        .collect();
    Ok(homecare::booking_warning(&kb, day, &uses))
}
