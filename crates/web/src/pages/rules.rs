//! A clinic's clinical rules: every value it may change, with its source,
//! evidence level and the history of changes (who, when, why); and the
//! contraindications, each with its source. Clinicians read; owners change.

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
use needlepoint_domain::knowledge::{Rule, Setting};
use needlepoint_domain::Role;
use needlepoint_practice::settings;

pub struct Change {
    key: String,
    value: String,
    reason: String,
    by: String,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    shell: Shell,
    clinic_id: i64,
    clinic: String,
    version: String,
    settings: Vec<Setting>,
    changes: Vec<Change>,
    rules: Vec<Rule>,
    can_change: bool,
    error: Option<String>,
    /// The error belongs to a choice's own form, not the general one.
    chosen: bool,
    form: FormValues,
}

async fn build(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    id: i64,
    error: Option<String>,
    form: FormValues,
) -> Result<RulesPage, PageError> {
    if !caller.sees_clinic(id) {
        return Err(PageError::NotFound);
    }
    let clinic = st.store.clinic(id).await?;
    let kb = st.clinic_kb(id).await?;
    let settings = kb.settings();
    let changes = st
        .store
        .knowledge_overrides(id)
        .await?
        .into_iter()
        .rev()
        .map(|o| Change {
            // Named as the page names the setting; a key the knowledge
            // base no longer has keeps its key.
            key: settings
                .iter()
                .find(|s| s.key == o.key)
                .map_or(o.key, |s| s.label.clone()),
            value: o.value,
            reason: o.reason,
            by: format!(
                "{} · {}",
                o.created_by_name,
                local_time(o.created_at, &clinic.details.time_zone)
            ),
        })
        .collect();
    let chosen = settings
        .iter()
        .any(|s| s.key == form.get("key") && !s.choices.is_empty());
    Ok(RulesPage {
        shell: Shell::new(caller, csrf, "settings"),
        clinic_id: id,
        clinic: clinic.details.name,
        version: kb.version.clone(),
        settings,
        changes,
        rules: kb.rules.clone(),
        can_change: caller.role == Role::Owner,
        error,
        chosen,
        form,
    })
}

pub async fn page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    Ok(render(
        &build(&st, &caller, &csrf, id, None, FormValues::default()).await?,
    ))
}

pub async fn change(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !caller.sees_clinic(id) {
        return Err(PageError::NotFound);
    }
    let v = FormValues(f);
    let mut kb = st.clinic_kb(id).await?;
    let (key, value) = (v.get("key").to_string(), v.get("value").trim().to_string());
    let problem = if let Err(e) = kb.apply_override(&key, &value) {
        Some(e)
    } else if v.get("reason").trim().is_empty() {
        Some("Say why the clinic changes this value; it is shown beside it.".into())
    } else {
        None
    };
    if let Some(p) = problem {
        let page = build(&st, &caller, &csrf, id, Some(p), v).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    settings::change(&st, &caller, Some(id), |s, a, now| async move {
        s.add_knowledge_override(id, &key, &value, v.get("reason").trim(), &a, now)
            .await
    })
    .await?;
    Ok(Redirect::to(&format!("/settings/clinics/{id}/rules")).into_response())
}
