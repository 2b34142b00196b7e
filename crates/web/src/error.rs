//! Errors as people and programs see them: a calm page, or a JSON body that
//! names what was wrong. Never a stack trace; the detail goes to the log.

use crate::view::ErrorPage;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use needlepoint_domain::{FieldError, Invalid};
use needlepoint_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub enum PageError {
    NotFound,
    Forbidden,
    Csrf,
    BadRequest(String),
    Conflict(String),
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => PageError::NotFound,
            StoreError::Conflict(m) => PageError::Conflict(m),
            StoreError::Invalid(i) => PageError::BadRequest(i.summary()),
            StoreError::Unsupported(m) => PageError::BadRequest(m),
            StoreError::Database(e) => {
                tracing::error!(error = %e, "database error");
                PageError::Internal("The database did not answer as expected.".into())
            }
        }
    }
}

/// The services' one error as a page, for the errors a form does not show
/// beside what was typed (see `Error::is_answer_to_input`).
impl From<needlepoint_practice::Error> for PageError {
    fn from(e: needlepoint_practice::Error) -> Self {
        use needlepoint_practice::Error as E;
        match e {
            E::NotFound => PageError::NotFound,
            E::Forbidden(_) => PageError::Forbidden,
            E::Store(e) => e.into(),
            E::Invalid(i) => PageError::BadRequest(i.summary()),
            e @ (E::Refused(_) | E::TimeRefused(_)) => PageError::BadRequest(e.message()),
            E::Conflict(m) => PageError::Conflict(m),
            E::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                PageError::Internal("Something went wrong on our side.".into())
            }
        }
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %e, "internal error");
        PageError::Internal("Something went wrong on our side.".into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address, or you do not have access to it.".to_string(),
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not available to your role",
                "Your account's role does not include this page. Ask the clinic's owner if you need it.".to_string(),
            ),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or came from another site. Go back, reload the page and try again; nothing was saved.".to_string(),
            ),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Cannot do that", m),
            PageError::Conflict(m) => (StatusCode::CONFLICT, "Not saved", m),
            PageError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", m),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

pub async fn not_found() -> Response {
    PageError::NotFound.into_response()
}

/// The API's error body: a stable code, a sentence, and the field(s) at fault.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable: `unauthorized`, `forbidden`, `not_found`, `csrf`,
    /// `invalid_json`, `validation`, `conflict`, `internal`.
    pub error: String,
    pub message: String,
    /// The field that could not be read, for `invalid_json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field that failed a check, for `validation`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub message: String,
}

impl From<&FieldError> for FieldErrorBody {
    fn from(e: &FieldError) -> Self {
        FieldErrorBody {
            field: e.field.clone(),
            message: e.message.clone(),
        }
    }
}

#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Forbidden,
    /// A role rule of the practice, in its words.
    ForbiddenBecause(String),
    NotFound,
    Csrf,
    BadJson {
        message: String,
        field: Option<String>,
    },
    Invalid(Invalid),
    Conflict(String),
    BadRequest(String),
    Internal,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(i) => ApiError::Invalid(i),
            StoreError::Unsupported(m) => ApiError::BadRequest(m),
            StoreError::Database(e) => {
                tracing::error!(error = %e, "database error");
                ApiError::Internal
            }
        }
    }
}

/// The services' one error as JSON: bad input is `validation` by field (a
/// refused time names `local_start`, or `window_override` when a
/// clinician's reason would let it through); a rule's refusal and a clash
/// with the record are `conflict`; a role rule is `forbidden`.
impl From<needlepoint_practice::Error> for ApiError {
    fn from(e: needlepoint_practice::Error) -> Self {
        use needlepoint_practice::Error as E;
        match e {
            E::Invalid(i) => ApiError::Invalid(i),
            E::NotFound => ApiError::NotFound,
            E::Forbidden(m) => ApiError::ForbiddenBecause(m),
            E::Refused(lines) => ApiError::Conflict(lines.join(" ")),
            E::TimeRefused(list) => {
                let mut inv = Invalid::default();
                for r in list {
                    let field = if r.kind.overridable() {
                        "window_override"
                    } else {
                        "local_start"
                    };
                    inv.push(field, r.message);
                }
                ApiError::Invalid(inv)
            }
            E::Conflict(m) => ApiError::Conflict(m),
            E::Store(e) => e.into(),
            E::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::Internal
            }
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        ApiError::Invalid(i)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %e, "internal error");
        ApiError::Internal
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = |error: &str, message: String| ErrorBody {
            error: error.into(),
            message,
            field: None,
            fields: vec![],
        };
        let (status, b) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                body(
                    "unauthorized",
                    "Sign in, or send a valid token as 'Authorization: Bearer …'.".into(),
                ),
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                body("forbidden", "Your role does not allow this.".into()),
            ),
            ApiError::ForbiddenBecause(m) => (StatusCode::FORBIDDEN, body("forbidden", m)),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                body("not_found", "No such resource.".into()),
            ),
            ApiError::Csrf => (
                StatusCode::FORBIDDEN,
                body(
                    "csrf",
                    "Missing or wrong X-CSRF-Token header for a cookie-authenticated request."
                        .into(),
                ),
            ),
            ApiError::BadJson { message, field } => (
                StatusCode::BAD_REQUEST,
                ErrorBody {
                    field,
                    ..body("invalid_json", message)
                },
            ),
            ApiError::Invalid(inv) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorBody {
                    fields: inv.errors.iter().map(FieldErrorBody::from).collect(),
                    ..body("validation", inv.summary())
                },
            ),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, body("conflict", m)),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, body("bad_request", m)),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                body(
                    "internal",
                    "Something went wrong on our side; it has been logged.".into(),
                ),
            ),
        };
        (status, axum::Json(b)).into_response()
    }
}

/// Every API answer is JSON: an error the framework gives as plain text (a
/// path or query that does not parse, a method not allowed, a body too
/// large) is re-told in the API's error format, with the same status.
pub async fn api_errors_as_json(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("text/plain"));
    if !api || !plain || !(resp.status().is_client_error() || resp.status().is_server_error()) {
        return resp;
    }
    let status = resp.status();
    let text = axum::body::to_bytes(resp.into_body(), 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let b = ErrorBody {
        error: code.into(),
        message,
        field: None,
        fields: vec![],
    };
    (status, axum::Json(b)).into_response()
}
