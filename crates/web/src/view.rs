//! What every page shares: the shell around it (navigation, who is signed
//! in, the CSRF token), formatting of times and money, and response headers.

use crate::auth::Caller;
use crate::csrf::CsrfToken;
use askama::Template;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use needlepoint_domain::Role;

/// The frame around a signed-in page.
pub struct Shell {
    pub user_name: String,
    pub role_label: &'static str,
    pub csrf: String,
    /// Which navigation entry is current.
    pub active: &'static str,
    pub is_owner: bool,
    pub is_clinical: bool,
}

impl Shell {
    pub fn new(caller: &Caller, csrf: &CsrfToken, active: &'static str) -> Shell {
        Shell {
            user_name: caller.staff.name.clone(),
            role_label: caller.role.label(),
            csrf: csrf.0.clone(),
            active,
            is_owner: caller.role == Role::Owner,
            is_clinical: matches!(caller.role, Role::Owner | Role::Clinician),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
}

/// Renders a template, turning a template failure into a logged 500.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => crate::error::PageError::from(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

pub use needlepoint_domain::dates::{local_time, long_date};

/// Headers that make the pages harder to misuse: nothing loads from another
/// origin (every asset is ours), no framing, no MIME sniffing; behind HTTPS,
/// browsers are told to use nothing else for a year.
pub async fn security_headers(
    axum::extract::State(st): axum::extract::State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if st.config.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    if !h.contains_key(header::CACHE_CONTROL) {
        // Patient data must not linger in shared caches or the back button.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A part of a plain-text document laid out for reading: a heading, a
/// paragraph of lines, or a list. Each line may carry a note shown on
/// demand (where a figure comes from).
#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    /// "heading", "lines" or "list".
    pub kind: &'static str,
    pub lines: Vec<(String, Option<String>)>,
}

/// Lays out a plain-text document (a consent, which is signed as text) for
/// reading on a screen: a short line that opens a section and does not end
/// like a sentence is a heading, "- " lines are a list, the rest are lines.
/// `note` gives a list item its note on demand. The text itself is
/// unchanged; only its layout is.
pub fn blocks(text: &str, note: &dyn Fn(&str) -> Option<String>) -> Vec<Block> {
    let mut out: Vec<Block> = vec![];
    let mut opens = true;
    for line in text.lines() {
        if line.trim().is_empty() {
            opens = true;
            continue;
        }
        if let Some(item) = line.strip_prefix("- ") {
            push(&mut out, "list", (item.to_string(), note(item)));
            opens = false;
            continue;
        }
        let heading = opens
            && line.chars().count() <= 80
            && !line.trim_end().ends_with('.')
            && !line.contains(": ");
        if heading {
            out.push(Block {
                kind: "heading",
                lines: vec![(line.trim_end_matches(':').to_string(), None)],
            });
        } else {
            push(&mut out, "lines", (line.to_string(), None));
        }
        opens = heading;
    }
    out
}

/// Adds a line to the last block when it is of the same kind.
fn push(out: &mut Vec<Block>, kind: &'static str, line: (String, Option<String>)) {
    match out.last_mut() {
        Some(b) if b.kind == kind => b.lines.push(line),
        _ => out.push(Block {
            kind,
            lines: vec![line],
        }),
    }
}

/// This server as the request reached it (`https://clinic.example`): the
/// start of every link sent to a patient, so that a link opens the server
/// that made it.
pub fn site_url(st: &crate::AppState, headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if st.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_document_gets_headings_and_lists() {
        let b = blocks(
            "CONSENT\n\nPatient: A\nClinic: B\n\nRisks\nIt has risks.\n- One: rare.\n- Two.\n\nCall the clinic the same day:\n- Pus\n",
            &|line| line.starts_with("One:").then(|| "Dogra 2014".to_string()),
        );
        let kinds: Vec<&str> = b.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            ["heading", "lines", "heading", "lines", "list", "heading", "list"]
        );
        fn text(b: &Block) -> Vec<&str> {
            b.lines.iter().map(|(l, _)| l.as_str()).collect()
        }
        assert_eq!(text(&b[1]), ["Patient: A", "Clinic: B"]);
        assert_eq!(text(&b[4]), ["One: rare.", "Two."]);
        assert_eq!(
            b[4].lines[0].1.as_deref(),
            Some("Dogra 2014"),
            "a note on demand"
        );
        assert_eq!(b[4].lines[1].1, None);
        assert_eq!(text(&b[5]), ["Call the clinic the same day"]);
    }
}
