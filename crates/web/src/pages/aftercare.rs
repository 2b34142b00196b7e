//! A session's aftercare sheet, to print and hand over (A4 or Letter): the
//! same sheet the patient is sent when the chart is signed, with each
//! window's end as a date and time in the clinic's zone.

use crate::auth::Caller;
use crate::error::PageError;
use crate::view::{local_time, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use jiff::SignedDuration;
use needlepoint_domain::aftercare::Step;
use needlepoint_practice::charting;

#[derive(Template)]
#[template(path = "aftercare_print.html")]
struct AftercarePage {
    clinic: String,
    phone: String,
    name: String,
    /// The session, in the clinic's time.
    when: String,
    /// (window, until, text)
    duties: Vec<(String, String, String)>,
    expect: Vec<(String, String, String)>,
    products: Vec<String>,
    warnings: Vec<(&'static str, Vec<String>)>,
}

pub async fn print(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let sx = charting::load(&st, &caller, id).await?;
    let sheet = charting::aftercare_sheet(&st, &sx).await?;
    let clinic = st.store.clinic(sx.chart.clinic_id).await?;
    // The windows count from the end of the session: its signature, or
    // the appointment's end while it is not signed yet.
    let end = sx.chart.signed_at.unwrap_or(sx.appointment.ends_at);
    let lines = |steps: &[Step]| {
        steps
            .iter()
            .map(|s| {
                let until = end + SignedDuration::from_hours(i64::from(s.to_hours));
                let until = if s.to_hours > s.from_hours {
                    format!("until {}", local_time(until, &sx.zone))
                } else {
                    format!("from {}", local_time(until, &sx.zone))
                };
                (s.window.clone(), until, s.text.clone())
            })
            .collect()
    };
    Ok(render(&AftercarePage {
        clinic: clinic.details.name.clone(),
        phone: clinic.details.phone.clone().unwrap_or_default(),
        name: sx.patient.details.full_name(),
        when: local_time(sx.appointment.starts_at, &sx.zone),
        duties: lines(&sheet.duties),
        expect: lines(&sheet.expect),
        products: sheet.products.clone(),
        warnings: sheet
            .warnings
            .iter()
            .map(|(u, signs)| (u.instruction(), signs.clone()))
            .collect(),
    }))
}
