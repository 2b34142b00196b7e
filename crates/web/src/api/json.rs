//! A JSON body extractor whose refusals name the field at fault.

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// Largest JSON body accepted by the API.
const MAX_JSON_BYTES: usize = 1024 * 1024;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(ApiError::BadJson {
                message: "Send the body as JSON with 'Content-Type: application/json'.".into(),
                field: None,
            });
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|_| ApiError::BadJson {
                message: format!("The body is larger than {MAX_JSON_BYTES} bytes."),
                field: None,
            })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses JSON, reporting the path of the field that failed, or the name of
/// a missing or unknown field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        // serde reports a missing field at its parent's path, and an
        // unknown one at its own; either way, name the field itself.
        let missing = backticked(&inner).filter(|_| inner.starts_with("missing field"));
        let field = match (missing, path.as_str()) {
            (Some(f), "." | "") => Some(f),
            (Some(f), p) => Some(format!("{p}.{f}")),
            (None, "." | "" | "?") => None,
            (None, p) => Some(p.to_string()),
        };
        let message = match &field {
            Some(f) => format!("Field '{f}': {inner}"),
            None => format!("Malformed JSON: {inner}"),
        };
        ApiError::BadJson { message, field }
    })
}

/// The first `name` between backticks in a serde message.
fn backticked(s: &str) -> Option<String> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(s[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        name: String,
        age: u8,
    }

    fn field_of(json: &str) -> Option<String> {
        match parse::<T>(json.as_bytes()) {
            Err(ApiError::BadJson { field, .. }) => field,
            other => panic!("expected BadJson, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"name": "a"}"#).as_deref(), Some("age"));
        assert_eq!(
            field_of(r#"{"name": "a", "age": "x"}"#).as_deref(),
            Some("age")
        );
        assert_eq!(
            field_of(r#"{"name": "a", "age": 1, "extra": 2}"#).as_deref(),
            Some("extra")
        );
        // Cut off inside a value: the field being read is named.
        assert_eq!(field_of(r#"{"name": "#).as_deref(), Some("name"));
        assert_eq!(field_of(r#"{"#), None);
    }
}
