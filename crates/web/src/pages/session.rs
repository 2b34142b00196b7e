//! First-run setup, signing in and out.

use super::forms::FormValues;
use crate::auth::{self, cookie, Caller, SESSION_COOKIE};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::render;
use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jiff::Timestamp;
use needlepoint_domain::{ClinicDetails, Email, Invalid, Password, Role};
use needlepoint_store::{Actor, Channel, NewStaff, Staff, WebSession};
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
    let now = st.now();
    let ip = addr.ip().to_string();
    let organisation = st
        .store
        .organisation()
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let refuse = |status: StatusCode, message: &str| {
        let page = LoginPage {
            csrf: csrf.0.clone(),
            organisation: organisation.clone(),
            email: email.clone(),
            next: next.clone(),
            error: Some(message.to_string()),
        };
        (status, render(&page)).into_response()
    };

    let failures = st
        .store
        .failed_logins_since(&email, auth::login_window_start(now))
        .await?;
    if failures >= auth::MAX_FAILED_LOGINS {
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many wrong passwords for this account. Wait {} minutes and try again, or ask the clinic's owner.",
                auth::LOGIN_WINDOW_MINUTES
            ),
        ));
    }
    let creds = st.store.staff_credentials(&email).await?;
    let stored = creds
        .as_ref()
        .filter(|c| c.staff.active)
        .map(|c| c.password_hash.clone());
    let ok = auth::verify_password(form.get("password").to_string(), stored).await;
    st.store
        .record_login_attempt(&email, Some(&ip), ok, now)
        .await?;
    let Some(creds) = creds.filter(|_| ok) else {
        return Ok(refuse(
            StatusCode::UNAUTHORIZED,
            "That e-mail and password do not match an active account.",
        ));
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect());
    let token = start_session(&st, &creds.staff, ip, user_agent, now).await?;
    Ok(signed_in(&st, &token, &next))
}

/// Records a new session for `staff` (audited as a sign-in) and returns the
/// token for the cookie; only its hash is stored.
async fn start_session(
    st: &AppState,
    staff: &Staff,
    ip: String,
    user_agent: Option<String>,
    now: Timestamp,
) -> Result<String, PageError> {
    let token = auth::random_token();
    let session = WebSession {
        token_hash: auth::token_hash(&token),
        staff_id: staff.id,
        created_at: now,
        expires_at: auth::session_expiry(now),
        ip: Some(ip.clone()),
        user_agent,
    };
    let actor = Actor {
        staff_id: Some(staff.id),
        label: staff.email.clone(),
        channel: Channel::Web,
        ip: Some(ip),
    };
    st.store.create_session(&session, &actor).await?;
    Ok(token)
}

fn signed_in(st: &AppState, token: &str, next: &str) -> Response {
    let c = auth::set_cookie(
        SESSION_COOKIE,
        token,
        auth::SESSION_HOURS * 3600,
        "Lax",
        st.config.secure_cookies,
    );
    ([(header::SET_COOKIE, c)], Redirect::to(next)).into_response()
}

pub async fn logout(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(sid) = cookie(&headers, SESSION_COOKIE) {
        st.store
            .delete_session(&auth::token_hash(sid), &caller.actor(), st.now())
            .await?;
    }
    let clear = auth::set_cookie(SESSION_COOKIE, "", 0, "Lax", st.config.secure_cookies);
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
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if st.store.owner_exists().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let form = FormValues(form);
    let mut inv = Invalid::default();
    let org = inv.check(needlepoint_domain::validation::required_text(
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
    let name = inv.check(needlepoint_domain::validation::required_text(
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
    let hash = auth::hash_password(password.expose().to_string()).await?;
    let owner = NewStaff {
        organisation_id: 0,
        email: email.to_string(),
        name,
        role: Role::Owner,
        password_hash: hash,
        practitioner: None,
        clinic_ids: vec![],
    };
    let ip = addr.ip().to_string();
    let actor = Actor {
        staff_id: None,
        label: format!("first-run setup ({email})"),
        channel: Channel::Web,
        ip: Some(ip.clone()),
    };
    let now = st.now();
    let (_, _, staff) = match st.store.setup(&org, &clinic, &owner, &actor, now).await {
        Ok(v) => v,
        // Someone else finished setup a moment earlier.
        Err(needlepoint_store::StoreError::Conflict(_)) => {
            return Ok(Redirect::to("/login").into_response())
        }
        Err(e) => return Err(e.into()),
    };
    let token = start_session(&st, &staff, ip, None, now).await?;
    Ok(signed_in(&st, &token, "/settings"))
}
