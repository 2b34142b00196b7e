//! First-run setup, signing in and out.

use super::forms::FormValues;
use crate::auth::{self, cookie, Caller};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::render;
use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::{ClinicDetails, Email, Invalid, Password};
use needlepoint_practice::signin::{self, SignedIn};
use std::net::SocketAddr;

/// `/`: setup on a new install, else Today (which asks to sign in if needed).
pub async fn root(State(st): State<AppState>) -> Result<Response, PageError> {
    if !st.store.owner_exists().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    Ok(Redirect::to("/today").into_response())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    organisation: String,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(st): State<AppState>,
    csrf: CsrfToken,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    if !st.store.owner_exists().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let organisation = st
        .store
        .organisation()
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(render(&LoginPage {
        csrf: csrf.0,
        organisation,
        email: String::new(),
        next: auth::safe_next(q.next.as_deref()),
        error: None,
    }))
}

pub async fn login(
    State(st): State<AppState>,
    csrf: CsrfToken,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = FormValues(form);
    let email = form.get("email").trim().to_lowercase();
    let next = auth::safe_next(Some(form.get("next")));
    let from = origin(addr, &headers);
    match signin::sign_in(&st, &email, form.get("password"), &from).await? {
        Ok(SignedIn::Session(token)) => Ok((
            [(header::SET_COOKIE, session_cookie(&st, &token))],
            Redirect::to(&next),
        )
            .into_response()),
        Ok(SignedIn::SecondFactor(token)) => Ok(to_second_factor(&st, &token, &next)),
        Err(refusal) => refused_login(&st, csrf, &email, next, refusal).await,
    }
}

/// On to the second step of signing in, holding the sign-in halfway in a
/// cookie of its own.
fn to_second_factor(st: &AppState, challenge: &str, next: &str) -> Response {
    (
        [(
            header::SET_COOKIE,
            super::two_factor::challenge_cookie(st, challenge),
        )],
        Redirect::to(&format!("/login/two-factor?next={}", auth::urlencode(next))),
    )
        .into_response()
}

/// The sign-in page again, saying why it was refused.
pub async fn refused_login(
    st: &AppState,
    csrf: CsrfToken,
    email: &str,
    next: String,
    refusal: signin::Refusal,
) -> Result<Response, PageError> {
    let organisation = st
        .store
        .organisation()
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let status = match refusal {
        signin::Refusal::Throttled => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNAUTHORIZED,
    };
    let page = LoginPage {
        csrf: csrf.0,
        organisation,
        email: email.to_string(),
        next,
        error: Some(refusal.message()),
    };
    Ok((status, render(&page)).into_response())
}

/// Where a sign-in comes from, for the session list and the audit trail.
pub fn origin(addr: SocketAddr, headers: &HeaderMap) -> signin::Origin {
    signin::Origin {
        ip: Some(addr.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(st: &AppState, token: &str) -> String {
    auth::set_cookie(
        st.config.session_cookie(),
        token,
        signin::SESSION_HOURS * 3600,
        "Lax",
        st.config.secure_cookies,
    )
}

pub async fn logout(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(sid) = cookie(&headers, st.config.session_cookie()) {
        signin::sign_out(&st, &caller, sid).await?;
    }
    let clear = auth::clear_session_cookie(&st.config);
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    csrf: String,
    form: FormValues,
    errors: Invalid,
    form_error: Option<String>,
}

pub async fn setup_page(
    State(st): State<AppState>,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    if st.store.owner_exists().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let form = FormValues::default().with("time_zone", "Europe/London");
    Ok(render(&SetupPage {
        csrf: csrf.0,
        form,
        errors: Invalid::default(),
        form_error: None,
    }))
}

pub async fn setup(
    State(st): State<AppState>,
    csrf: CsrfToken,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if st.store.owner_exists().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let form = FormValues(form);
    let mut inv = Invalid::default();
    let org = inv.check(needlepoint_domain::validation::required_line(
        "organisation",
        form.get("organisation"),
        120,
    ));
    let clinic = match ClinicDetails::parse(form.get("clinic_name"), form.get("time_zone"), "", "")
    {
        Ok(c) => Some(c),
        Err(e) => {
            for fe in e.errors {
                let field = if fe.field == "name" {
                    "clinic_name".to_string()
                } else {
                    fe.field
                };
                inv.push(field, fe.message);
            }
            None
        }
    };
    let name = inv.check(needlepoint_domain::validation::required_line(
        "name",
        form.get("name"),
        120,
    ));
    let email = inv.check(Email::parse("email", form.get("email")));
    let password = inv.check(Password::parse("password", form.get("password")));
    if password.is_some() && form.get("password") != form.get("password_confirm") {
        inv.push("password_confirm", "The two passwords differ.");
    }
    if !inv.is_empty() {
        let page = SetupPage {
            csrf: csrf.0,
            form,
            errors: inv,
            form_error: None,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    let (org, clinic, name, email, password) = (
        org.unwrap(),
        clinic.unwrap(),
        name.unwrap(),
        email.unwrap(),
        password.unwrap(),
    );
    let first = signin::FirstRun {
        organisation: org,
        clinic,
        owner_name: name,
        owner_email: email.to_string(),
        password: password.expose().to_string(),
    };
    let from = origin(addr, &headers);
    match signin::set_up(&st, &first, &from).await? {
        // The new owner sets up their authenticator, then on to Settings.
        Some(challenge) => Ok(to_second_factor(&st, &challenge, "/settings")),
        // Someone else finished setup a moment earlier.
        None => Ok(Redirect::to("/login").into_response()),
    }
}
