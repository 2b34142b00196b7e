//! A staff member's own account: where they are signed in, their calendar
//! feed and their API tokens.

use super::forms::{field, FieldKind, FormValues, SimpleForm};
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
use needlepoint_domain::Role;
use needlepoint_practice::signin::{self, TOKEN_PREFIX};
use needlepoint_practice::{accounts, Error};

pub struct TokenRow {
    id: i64,
    name: String,
    role: &'static str,
    created: String,
    last_used: String,
    revoked: bool,
}

/// One place the account is signed in.
pub struct SessionRow {
    started: String,
    last_seen: String,
    until: String,
    from: String,
    browser: String,
}

/// How this account signs in: with an authenticator or not.
pub struct TwoFactorView {
    /// When it was turned on, in the viewer's zone.
    on_since: Option<String>,
    /// Owners, and staff of a clinic that asks for it, cannot turn it off.
    required: bool,
    codes_left: i64,
    /// Why the last change was refused (a wrong password).
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    shell: Shell,
    email: String,
    idle_minutes: u32,
    two_factor: TwoFactorView,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    f: SimpleForm,
    /// A new calendar feed's address, shown once.
    feed: Option<String>,
}

fn token_form(caller: &Caller) -> SimpleForm {
    let roles = Role::ALL
        .iter()
        .filter(|r| caller.role.may_grant(**r))
        .map(|r| (r.as_str().to_string(), r.label().to_string()))
        .collect();
    SimpleForm::new("new-token", "New token", "/account/tokens", "Create token")
        .fields(vec![
            field(
                "name",
                "What it is for",
                FieldKind::Text,
                "e.g. reporting export",
            ),
            field(
                "role",
                "Acts as",
                FieldKind::Select(roles),
                "no more than your own role",
            ),
        ])
        .values(FormValues::default().with("role", Role::FrontDesk.as_str()))
}

async fn render_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    new_token: Option<String>,
    f: SimpleForm,
) -> Result<AccountPage, PageError> {
    let zone = super::home_zone(st.store.as_ref(), caller).await?;
    let tokens = st
        .store
        .list_api_tokens(caller.staff.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            role: t.role.label(),
            created: local_time(t.created_at, &zone),
            last_used: t
                .last_used_at
                .map(|u| local_time(u, &zone))
                .unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    let sessions = accounts::sessions(st, caller)
        .await?
        .into_iter()
        .map(|w| SessionRow {
            started: local_time(w.created_at, &zone),
            last_seen: local_time(w.last_seen_at, &zone),
            until: local_time(w.expires_at, &zone),
            from: w.ip.unwrap_or_else(|| "unknown address".into()),
            browser: w
                .user_agent
                .as_deref()
                .map(browser_name)
                .unwrap_or_default(),
        })
        .collect();
    let state = signin::sign_in_state(st, caller).await?;
    Ok(AccountPage {
        shell: Shell::new(caller, csrf, "account"),
        email: caller.staff.email.clone(),
        idle_minutes: state.idle_minutes,
        two_factor: TwoFactorView {
            on_since: caller.staff.two_factor_since.map(|t| local_time(t, &zone)),
            required: state.two_factor_required,
            codes_left: state.recovery_codes_left,
            error: None,
        },
        sessions,
        tokens,
        new_token,
        f,
        feed: None,
    })
}

pub async fn page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let f = token_form(&caller);
    Ok(render(&render_page(&st, &caller, &csrf, None, f).await?))
}

pub async fn create_token(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let token = format!("{TOKEN_PREFIX}{}", signin::random_token());
    let hash = signin::token_hash(&token);
    match accounts::create_token(&st, &caller, v.get("name"), v.get("role"), &hash).await {
        Ok(_) => {}
        Err(Error::Invalid(inv)) => {
            let f = token_form(&caller).failed(v, inv, None);
            let page = render_page(&st, &caller, &csrf, None, f).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    // Shown once, in this response only; only its hash is kept.
    let page = render_page(&st, &caller, &csrf, Some(token), token_form(&caller)).await?;
    Ok((StatusCode::CREATED, render(&page)).into_response())
}

pub async fn revoke_token(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    accounts::revoke_token(&st, &caller, id).await?;
    Ok(Redirect::to("/account").into_response())
}

/// Makes a new private calendar feed (revoking the old one) and shows its
/// address once.
pub async fn new_feed(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    headers: axum::http::HeaderMap,
) -> Result<Response, PageError> {
    let token = signin::random_token();
    accounts::replace_calendar_feed(&st, &caller, &signin::token_hash(&token)).await?;
    let mut page = render_page(&st, &caller, &csrf, None, token_form(&caller)).await?;
    page.feed = Some(format!(
        "{}/calendar/feed/{token}.ics",
        crate::view::site_url(&st, &headers)
    ));
    Ok((StatusCode::CREATED, render(&page)).into_response())
}

pub async fn revoke_feed(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    accounts::revoke_calendar_feeds(&st, &caller).await?;
    Ok(Redirect::to("/account").into_response())
}

/// The account page again, saying why a change to two-factor sign-in was
/// refused (a wrong password, or turning off what is required).
pub async fn two_factor_refused(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    e: Error,
) -> Result<Response, PageError> {
    let (status, message) = match e {
        Error::Invalid(inv) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            inv.errors
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_default(),
        ),
        Error::Refused(why) => (StatusCode::CONFLICT, why.join(" ")),
        e => return Err(e.into()),
    };
    let mut page = render_page(st, caller, csrf, None, token_form(caller)).await?;
    page.two_factor.error = Some(message);
    Ok((status, render(&page)).into_response())
}

/// Ends every session of this account, this one included, and returns to
/// the sign-in page.
pub async fn sign_out_everywhere(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    accounts::sign_out_everywhere(&st, &caller).await?;
    let clear = crate::auth::clear_session_cookie(&st.config);
    Ok((
        [(axum::http::header::SET_COOKIE, clear)],
        Redirect::to("/login"),
    )
        .into_response())
}

/// "Chrome on Windows" from a browser's user-agent string: enough for a
/// person to recognise their own devices.
fn browser_name(ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(mark, _)| ua.contains(mark))
    .map_or("A browser", |(_, name)| name);
    let system = [
        ("iPhone", "an iPhone"),
        ("iPad", "an iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "a Mac"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| ua.contains(mark))
    .map(|(_, name)| format!(" on {name}"))
    .unwrap_or_default();
    format!("{browser}{system}")
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn browsers_are_named_as_people_know_them() {
        for (ua, name) in [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36", "Chrome on Linux"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1", "Safari on an iPhone"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox on Windows"),
            ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0", "Edge on Windows"),
            ("curl/8.0", "A browser"),
        ] {
            assert_eq!(browser_name(ua), name, "{ua}");
        }
    }
}
