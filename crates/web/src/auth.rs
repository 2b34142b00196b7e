//! Signing in and knowing who is asking: password hashes, session cookies,
//! API tokens, login throttling, and the per-route role check.

use crate::access::Access;
use crate::error::{ApiError, PageError};
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use needlepoint_domain::Role;
use needlepoint_practice::signin::{self, Credential};
use needlepoint_store::{Actor, Channel, Staff};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "np_session";

/// Who is making this request, as established by [`authorize`]: the
/// services' actor (staff member, role in force, clinics, audit name).
#[derive(Debug, Clone)]
pub struct Caller(pub needlepoint_practice::Actor);

impl Caller {
    fn new(
        staff: Staff,
        role: Role,
        clinic_ids: Vec<i64>,
        channel: Channel,
        ip: Option<String>,
        token_name: Option<String>,
    ) -> Self {
        let label = match &token_name {
            Some(t) => format!("{} (token {t})", staff.email),
            None => staff.email.clone(),
        };
        let audit = Actor {
            staff_id: Some(staff.id),
            label,
            channel,
            ip,
        };
        Caller(needlepoint_practice::Actor {
            staff,
            role,
            clinic_ids,
            audit,
        })
    }

    /// How the audit trail names this caller.
    pub fn actor(&self) -> Actor {
        self.0.audit.clone()
    }
}

/// A caller is the services' actor: `caller.role`, `caller.sees_clinic(…)`,
/// and `&caller` wherever a service asks for `&Actor`.
impl std::ops::Deref for Caller {
    type Target = needlepoint_practice::Actor;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            // Only a route declared Public can get here without a caller:
            // a programming error, reported as such rather than as a 401.
            tracing::error!(path = %parts.uri.path(), "route asks for a caller but is public");
            PageError::Internal("route misconfigured".into()).into_response()
        })
    }
}

/// The client's address, for the audit trail.
pub fn client_ip(parts_ext: &axum::http::Extensions) -> Option<String> {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value that ends the session cookie in the browser.
pub fn clear_session_cookie(config: &crate::WebConfig) -> String {
    set_cookie(config.session_cookie(), "", 0, "Lax", config.secure_cookies)
}

/// A `Set-Cookie` value: HttpOnly always; Secure when configured.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: i64,
    same_site: &str,
    secure: bool,
) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The per-route check: finds the caller (session cookie, or bearer token on
/// the API), refuses a role the route does not admit, and hands the caller on.
pub async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    let Access::Staff(_) = access else {
        return next.run(req).await;
    };
    let api = is_api(req.uri().path());
    // Only what identification needs, so no borrow of the request (whose body
    // is not Sync) lives across an await.
    let headers = req.headers().clone();
    let ip = client_ip(req.extensions());
    let caller = match identify(&state, &headers, api, ip).await {
        Ok(Some(c)) => c,
        Ok(None) if api => return ApiError::Unauthorized.into_response(),
        Ok(None) => {
            let next_url = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let target = format!("/login?next={}", urlencode(next_url));
            return Redirect::to(&target).into_response();
        }
        Err(e) if api => return ApiError::from(e).into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    if !access.admits(caller.role) {
        return if api {
            ApiError::Forbidden.into_response()
        } else {
            PageError::Forbidden.into_response()
        };
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    api: bool,
    ip: Option<String>,
) -> Result<Option<Caller>, needlepoint_store::StoreError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let credential = match (bearer, cookie(headers, state.config.session_cookie())) {
        // Tokens are for the API only; pages use the session cookie.
        (Some(_), _) if !api => return Ok(None),
        (Some(token), _) => Credential::Token(token),
        (None, Some(sid)) => Credential::Session(sid),
        (None, None) => return Ok(None),
    };
    let channel = if api { Channel::Api } else { Channel::Web };
    Ok(signin::identify(state, credential)
        .await?
        .map(|h| Caller::new(h.staff, h.role, h.clinic_ids, channel, ip, h.token_name)))
}

/// Percent-encodes a value for a query string.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where to go after signing in: only a path on this site, never elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    // A path on this site only. Browsers drop tabs and line breaks from a
    // URL and read a backslash as a slash, so "/\t/evil.example" would
    // leave the site; such characters are never part of our paths.
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.chars()
                    .all(|c| !c.is_control() && !c.is_whitespace() && c != '\\') =>
        {
            n.to_string()
        }
        _ => "/today".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; np_session=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, "np_session"), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn next_never_leaves_the_site_even_with_tabs_or_line_breaks() {
        for evil in [
            "/\t/evil.example/",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=y",
            "/ /evil",
            "/\\evil.example",
        ] {
            assert_eq!(safe_next(Some(evil)), "/today", "{evil:?}");
        }
        assert_eq!(
            safe_next(Some("/patients/3?tab=plans")),
            "/patients/3?tab=plans"
        );
    }

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/patients?q=a")), "/patients?q=a");
        assert_eq!(safe_next(Some("//evil.example")), "/today");
        assert_eq!(safe_next(Some("https://evil.example")), "/today");
        assert_eq!(safe_next(Some("/\\evil")), "/today");
        assert_eq!(safe_next(None), "/today");
    }
}
