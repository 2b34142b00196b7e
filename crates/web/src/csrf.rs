//! Cross-site request forgery protection for every state-changing request.
//!
//! Two checks, both needed:
//! - **Where the request comes from.** A POST, PUT, PATCH or DELETE that a
//!   browser marks as coming from another site (`Sec-Fetch-Site`), or whose
//!   `Origin` is not this host, is refused. Another port of the same host
//!   counts as another site here: browsers share cookies across ports.
//! - **A token bound to the session.** Every page renders a token into its
//!   forms (`csrf_token`) and htmx requests (`X-CSRF-Token`). Signed in, it
//!   is derived from the session's secret cookie, which no other page can
//!   read, so it cannot be forged even by a page that can set cookies for
//!   this host. Before sign-in (the sign-in and set-up forms, patient links)
//!   it is the browser's own random `np_csrf` cookie, double-submitted.
//!
//! Requests that carry an API bearer token skip both: they hold no ambient
//! credential a browser would attach on its own.

use crate::auth::{cookie, set_cookie};
use crate::error::{ApiError, PageError};
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use needlepoint_practice::signin::random_token;

pub const CSRF_COOKIE: &str = "np_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Forms are small; a larger urlencoded body is refused rather than buffered.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The token to render into this response's forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .unwrap_or_else(|| CsrfToken(String::new())))
    }
}

fn well_formed(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The token a signed-in session's forms carry: a hash of the session's
/// secret cookie under a purpose of its own.
pub fn session_token(session: &str) -> String {
    use sha2::{Digest, Sha256};
    needlepoint_practice::signin::hex(&Sha256::digest(
        format!("needlepoint csrf token\0{session}").as_bytes(),
    ))
}

/// Whether the browser says the request comes from another site or origin.
/// `Sec-Fetch-Site` is set by the browser itself (a proxy cannot blur it);
/// without it, `Origin` must name this host.
fn cross_origin(headers: &axum::http::HeaderMap) -> bool {
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match get(header::ORIGIN) {
        None => false,
        Some(origin) => {
            let host = origin.split_once("://").map_or("", |(_, h)| h);
            Some(host) != get(header::HOST)
        }
    }
}

pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let csrf_cookie = state.config.csrf_cookie();
    let existing = cookie(req.headers(), csrf_cookie)
        .filter(|t| well_formed(t))
        .map(str::to_string);
    let session = cookie(req.headers(), state.config.session_cookie()).map(session_token);
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let api = req.uri().path().starts_with("/api/");
    // A payment provider's webhook carries no cookie; its own signature
    // is checked by the handler.
    let webhook = req.uri().path().starts_with("/webhooks/");
    // An API call without a session cookie carries no ambient credential to
    // forge; it is refused (401) by the route's guard if it needs one. Pages
    // keep the check even then, so nobody can sign a browser in as someone
    // else (login CSRF).
    let ambient = !(api || webhook) || session.is_some();
    // Signed in, the token is the session's; before, the browser's cookie.
    let expected = session.clone().or_else(|| existing.clone());

    let mut req = req;
    if unsafe_method && !bearer && ambient {
        if cross_origin(req.headers()) {
            return if api {
                ApiError::Csrf.into_response()
            } else {
                PageError::Csrf.into_response()
            };
        }
        req = match check(req, expected.as_deref()).await {
            Ok(r) => r,
            Err(Refusal::TooLarge) => {
                return PageError::BadRequest("The form is too large.".into()).into_response()
            }
            Err(Refusal::BadToken) if api => return ApiError::Csrf.into_response(),
            Err(Refusal::BadToken) => return PageError::Csrf.into_response(),
        };
    }
    let browser = existing.clone().unwrap_or_else(random_token);
    let token = session.unwrap_or_else(|| browser.clone());
    req.extensions_mut().insert(CsrfToken(token));
    let mut resp = next.run(req).await;
    if existing.is_none() {
        let c = set_cookie(
            csrf_cookie,
            &browser,
            60 * 60 * 24 * 30,
            "Strict",
            state.config.secure_cookies,
        );
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

enum Refusal {
    TooLarge,
    BadToken,
}

/// Finds the presented token in the header or, for an urlencoded form, in the
/// body (which is buffered and put back for the handler); hands the request
/// back when the token matches.
async fn check(req: Request, expected: Option<&str>) -> Result<Request, Refusal> {
    let expected = expected.ok_or(Refusal::BadToken)?;
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same(h, expected) {
            Ok(req)
        } else {
            Err(Refusal::BadToken)
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // A file upload's body is not buffered here (it may be large): its form
    // carries the token in the query string instead.
    if content_type.starts_with("multipart/form-data") {
        let presented =
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.uri().query().unwrap_or(""))
                .ok()
                .and_then(|q| q.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v));
        return match presented {
            Some(p) if same(&p, expected) => Ok(req),
            _ => Err(Refusal::BadToken),
        };
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Refusal::BadToken);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| Refusal::TooLarge)?;
    let presented = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v)
        });
    match presented {
        Some(p) if same(&p, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(Refusal::BadToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(well_formed(&random_token()));
        assert!(!well_formed("short"));
    }
}
