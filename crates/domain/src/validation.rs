//! Errors that name the field they belong to, so a form can show each one
//! beside its input and the API can say which field was wrong.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// All the problems found in one input, in the order the fields were checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.summary())]
pub struct Invalid {
    pub errors: Vec<FieldError>,
}

impl Invalid {
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Records the error of a parse, keeping the value when it succeeded.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn message_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn summary(&self) -> String {
        self.errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `Ok(())` when nothing was wrong, so callers can use `?`.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Trims a required text field and bounds its length.
pub fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "This field is required."));
    }
    bounded(field, v, max_chars)
}

/// Trims an optional text field; empty becomes `None`.
pub fn optional_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        Ok(None)
    } else {
        bounded(field, v, max_chars).map(Some)
    }
}

/// A required one-line field (a name, a title): no control character at
/// all, line breaks included. Names end up in e-mail headers, file names
/// and calendar feeds, where a line break starts a new header.
pub fn required_line(field: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    one_line(field, value)?;
    required_text(field, value, max_chars)
}

/// An optional one-line field; empty becomes `None`.
pub fn optional_line(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    one_line(field, value)?;
    optional_text(field, value, max_chars)
}

fn one_line(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "Keep this to one line, without line breaks or tabs.",
        ));
    }
    Ok(())
}

fn bounded(field: &str, v: &str, max_chars: usize) -> Result<String, FieldError> {
    if v.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("Too long: at most {max_chars} characters."),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(field, "Contains control characters."));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_trims_and_refuses_empty() {
        assert_eq!(required_text("name", "  Ann ", 10).unwrap(), "Ann");
        assert_eq!(
            required_text("name", "   ", 10).unwrap_err().message,
            "This field is required."
        );
        assert!(required_text("name", "abcdefghijk", 10).is_err());
        assert!(required_text("name", "a\u{7}b", 10).is_err());
    }

    #[test]
    fn lines_refuse_line_breaks() {
        for bad in [
            "Ann\r\nBcc: x@example.com",
            "Ann\nSmith",
            "Ann\tSmith",
            "Ann\rB",
        ] {
            assert_eq!(
                required_line("name", bad, 100).unwrap_err().message,
                "Keep this to one line, without line breaks or tabs."
            );
            assert!(optional_line("name", bad, 100).is_err());
        }
        assert_eq!(
            required_line("name", " Ann Smith ", 100).unwrap(),
            "Ann Smith"
        );
        assert_eq!(optional_line("name", " ", 100).unwrap(), None);
        assert!(required_text("notes", "line one\nline two", 100).is_ok());
    }

    #[test]
    fn optional_text_maps_empty_to_none() {
        assert_eq!(optional_text("x", " ", 5).unwrap(), None);
        assert_eq!(optional_text("x", "hi", 5).unwrap(), Some("hi".into()));
    }

    #[test]
    fn invalid_collects_and_finds_by_field() {
        let mut inv = Invalid::default();
        assert_eq!(inv.check(Ok::<_, FieldError>(3)), Some(3));
        assert_eq!(inv.check::<u8>(Err(FieldError::new("a", "bad"))), None);
        assert_eq!(inv.message_for("a"), Some("bad"));
        assert_eq!(inv.message_for("b"), None);
        assert!(inv.into_result().is_err());
    }
}
