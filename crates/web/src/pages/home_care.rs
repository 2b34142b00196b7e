//! The patient's home-care log as staff see it: every home rolling with
//! the warnings the clinic's rules gave, and a form to log one for her.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::Invalid;
use needlepoint_practice::{access, homecare, Error};
use needlepoint_store::Patient;

/// An entry as the page lists it.
pub struct Row {
    day: String,
    area: String,
    needle: String,
    inflamed: bool,
    warnings: Vec<String>,
    /// "by the patient" or the staff member's name, with when.
    logged: String,
}

#[derive(Template)]
#[template(path = "home_care.html")]
struct Page {
    shell: Shell,
    id: i64,
    name: String,
    rows: Vec<Row>,
    areas: Vec<(String, String)>,
    /// The clinic's rules, in words.
    rules: String,
    form: FormValues,
    errors: Invalid,
}

impl Page {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }
    fn is(&self, field: &str, value: &str) -> bool {
        self.form.has(field, value)
    }
}

async fn page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    form: FormValues,
    errors: Invalid,
) -> Result<Page, PageError> {
    let kb = st.clinic_kb(p.clinic_id).await?;
    let zone = st.store.clinic(p.clinic_id).await?.details.time_zone;
    let mut rows = vec![];
    for e in st.store.home_care(p.id).await?.into_iter().rev() {
        let by = match e.logged_by {
            Some(s) => st.store.staff(s).await?.name,
            None => "the patient".into(),
        };
        rows.push(Row {
            day: needlepoint_domain::dates::long_date(e.used_on),
            area: kb.area(&e.area).map_or(e.area.clone(), |a| a.name.clone()),
            needle: e
                .home_use()
                .map(|u| u.needle.to_string())
                .unwrap_or_default(),
            inflamed: e.inflamed,
            warnings: e.warnings.clone(),
            logged: format!("by {by}, {}", local_time(e.logged_at, &zone)),
        });
    }
    let r = &kb.home_care;
    Ok(Page {
        shell: Shell::new(caller, csrf, "patients"),
        id: p.id,
        name: p.details.full_name(),
        rows,
        areas: kb
            .areas
            .iter()
            .map(|a| (a.code.clone(), a.name.clone()))
            .collect(),
        rules: format!(
            "The clinic advises needles of {} at most, {} days between rollings of an area, none within {} days of a clinic session, and never on inflamed skin (advice from consumer guidance, not evidence).",
            r.max_needle, r.min_days_between, r.days_clear_of_session
        ),
        form,
        errors,
    })
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    Ok(render(
        &page(
            &st,
            &caller,
            &csrf,
            &p,
            FormValues::default(),
            Invalid::default(),
        )
        .await?,
    ))
}

pub async fn log(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let v = FormValues(f);
    let (input, inflamed) = super::portal::home_use_input(&v);
    match homecare::log(&st, &p, &input, inflamed, &caller.audit).await {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}/home-care")).into_response()),
        Err(Error::Invalid(inv)) => {
            let page = page(&st, &caller, &csrf, &p, v, inv).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
