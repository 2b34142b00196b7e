//! Two-factor sign-in: the second step of signing in, setting up an
//! authenticator app (at sign-in, or later from the account page) and the
//! recovery codes shown once.

use super::forms::FormValues;
use crate::auth::{self, cookie, Caller};
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::Role;
use needlepoint_practice::signin::{self, Refusal};
use needlepoint_practice::{two_factor, Error};
use std::net::SocketAddr;

/// Setting up an authenticator: the secret travels in the form (it is the
/// person's own, on their own screen) until a code proves the app has it.
pub struct TwoFactorSetup {
    secret: String,
    key: String,
    qr_svg: String,
    action: &'static str,
    next: String,
    error: Option<String>,
}

impl TwoFactorSetup {
    fn new(secret: &str, email: &str, action: &'static str, next: &str) -> Self {
        let uri = two_factor::otpauth_uri("Needlepoint", email, secret);
        // The SVG goes inside the page: without its XML declaration.
        let qr_svg = qrcode::QrCode::new(uri.as_bytes())
            .map(|q| {
                let svg = q
                    .render::<qrcode::render::svg::Color>()
                    .min_dimensions(200, 200)
                    .build();
                svg[svg.find("<svg").unwrap_or(0)..].to_string()
            })
            .unwrap_or_default();
        TwoFactorSetup {
            secret: secret.to_string(),
            key: two_factor::grouped(secret),
            qr_svg,
            action,
            next: next.to_string(),
            error: None,
        }
    }

    /// The secret from a submitted form, if it is one we could have made.
    fn resubmitted(v: &FormValues) -> Option<String> {
        let s = v.get("secret").trim().to_string();
        let ok = two_factor::base32_decode(&s).is_some_and(|b| b.len() == 20);
        ok.then_some(s)
    }
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct SignInPage {
    csrf: String,
    name: String,
    why: &'static str,
    next: String,
    error: Option<String>,
    setup: Option<TwoFactorSetup>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    done: &'static str,
    codes: Vec<String>,
    next: String,
}

#[derive(Template)]
#[template(path = "account_two_factor.html")]
struct AccountSetupPage {
    shell: Shell,
    csrf: String,
    replacing: bool,
    setup: TwoFactorSetup,
}

#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The `Set-Cookie` value for a sign-in halfway (empty to end it).
pub fn challenge_cookie(st: &AppState, token: &str) -> String {
    let age = if token.is_empty() {
        0
    } else {
        signin::CHALLENGE_MINUTES * 60
    };
    auth::set_cookie(
        st.config.challenge_cookie(),
        token,
        age,
        "Lax",
        st.config.secure_cookies,
    )
}

fn why(role: Role) -> &'static str {
    if role == Role::Owner {
        "owners sign in with a second factor: you hold every clinic's records and settings."
    } else {
        "your clinic asks all its staff to sign in with a second factor."
    }
}

/// `GET /login/two-factor`: the code, or setting up the app first.
pub async fn page(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = auth::safe_next(q.next.as_deref());
    let Some(token) = cookie(&headers, st.config.challenge_cookie()) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let Some(p) = signin::pending(&st, token).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let setup = (!p.has_authenticator).then(|| {
        TwoFactorSetup::new(
            &two_factor::new_secret(),
            &p.staff.email,
            "/login/two-factor",
            &next,
        )
    });
    Ok(render(&SignInPage {
        csrf: csrf.0,
        name: p.staff.name,
        why: why(p.staff.role),
        next,
        error: None,
        setup,
    }))
}

/// `POST /login/two-factor`: finishes the sign-in.
pub async fn confirm(
    State(st): State<AppState>,
    csrf: CsrfToken,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(form);
    let next = auth::safe_next(Some(v.get("next")));
    let Some(token) = cookie(&headers, st.config.challenge_cookie()).map(str::to_string) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let from = super::session::origin(addr, &headers);
    let secret = TwoFactorSetup::resubmitted(&v);
    match signin::second_factor(&st, &token, v.get("code"), secret.as_deref(), &from).await? {
        Ok(done) => {
            // Appended: two `Set-Cookie` headers, neither replacing the other.
            let cookies = AppendHeaders([
                (
                    header::SET_COOKIE,
                    super::session::session_cookie(&st, &done.session),
                ),
                (header::SET_COOKIE, challenge_cookie(&st, "")),
            ]);
            if done.recovery_codes.is_empty() {
                return Ok((cookies, Redirect::to(&next)).into_response());
            }
            let page = RecoveryCodesPage {
                done: "Two-factor sign-in is on, and you are signed in.",
                codes: done.recovery_codes,
                next,
            };
            Ok((cookies, render(&page)).into_response())
        }
        Err(Refusal::ChallengeEnded) => {
            let page =
                super::session::refused_login(&st, csrf, "", next, Refusal::ChallengeEnded).await?;
            Ok(([(header::SET_COOKIE, challenge_cookie(&st, ""))], page).into_response())
        }
        Err(refusal) => {
            let Some(p) = signin::pending(&st, &token).await? else {
                return Ok(Redirect::to("/login").into_response());
            };
            let status = if refusal == Refusal::Throttled {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            // Setting up: the same key again, as the app has it already.
            let setup = (!p.has_authenticator).then(|| {
                let secret = secret.unwrap_or_else(two_factor::new_secret);
                let mut s =
                    TwoFactorSetup::new(&secret, &p.staff.email, "/login/two-factor", &next);
                s.error = Some(refusal.message());
                s
            });
            let page = SignInPage {
                csrf: csrf.0,
                name: p.staff.name,
                why: why(p.staff.role),
                next,
                error: Some(refusal.message()),
                setup,
            };
            Ok((status, render(&page)).into_response())
        }
    }
}

/// `GET /account/two-factor`: set up an authenticator, or a new one.
pub async fn account_page(caller: Caller, csrf: CsrfToken) -> Result<Response, PageError> {
    let setup = TwoFactorSetup::new(
        &two_factor::new_secret(),
        &caller.staff.email,
        "/account/two-factor",
        "/account",
    );
    Ok(render(&AccountSetupPage {
        csrf: csrf.0.clone(),
        shell: Shell::new(&caller, &csrf, "account"),
        replacing: caller.staff.two_factor_since.is_some(),
        setup,
    }))
}

/// `POST /account/two-factor`: turns it on with the new app's code.
pub async fn enable(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(form);
    let Some(secret) = TwoFactorSetup::resubmitted(&v) else {
        return Ok(Redirect::to("/account/two-factor").into_response());
    };
    match signin::enable_two_factor(&st, &caller, &secret, v.get("code")).await {
        Ok(codes) => Ok(render(&RecoveryCodesPage {
            done: "Two-factor sign-in is on: your next sign-in asks for a code.",
            codes,
            next: "/account".into(),
        })),
        Err(Error::Invalid(inv)) => {
            let mut setup = TwoFactorSetup::new(
                &secret,
                &caller.staff.email,
                "/account/two-factor",
                "/account",
            );
            setup.error = inv.message_for("code").map(str::to_string);
            let page = AccountSetupPage {
                csrf: csrf.0.clone(),
                shell: Shell::new(&caller, &csrf, "account"),
                replacing: caller.staff.two_factor_since.is_some(),
                setup,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /account/two-factor/recovery-codes`: new codes, shown once.
pub async fn new_recovery_codes(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(form);
    match signin::new_recovery_codes(&st, &caller, v.get("password")).await {
        Ok(codes) => Ok(render(&RecoveryCodesPage {
            done: "New recovery codes: the old ones no longer work.",
            codes,
            next: "/account".into(),
        })),
        Err(e) => super::account::two_factor_refused(&st, &caller, &csrf, e).await,
    }
}

/// `POST /account/two-factor/off`: for those not required to use it.
pub async fn disable(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(form);
    match signin::disable_two_factor(&st, &caller, v.get("password")).await {
        // Every session has ended, this one too.
        Ok(()) => Ok((
            [(header::SET_COOKIE, auth::clear_session_cookie(&st.config))],
            Redirect::to("/login"),
        )
            .into_response()),
        Err(e) => super::account::two_factor_refused(&st, &caller, &csrf, e).await,
    }
}

/// `POST /settings/staff/{id}/reset-two-factor`: an owner, for a colleague
/// who lost their phone and their recovery codes.
pub async fn reset(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    signin::reset_two_factor(&st, &caller, id).await?;
    Ok(Redirect::to("/settings?saved=1#staff").into_response())
}
