//! Forms as data: what was typed (kept when a form comes back with errors)
//! and simple forms described by their fields, rendered by one template.

use needlepoint_domain::Invalid;

/// The submitted fields, in order; a name may repeat (checkboxes).
#[derive(Debug, Clone, Default)]
pub struct FormValues(pub Vec<(String, String)>);

impl FormValues {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_string(), value.into()));
        self
    }
}

#[derive(Debug, Clone)]
pub enum FieldKind {
    Text,
    Email,
    Password,
    Select(Vec<(String, String)>),
    Checkboxes(Vec<(String, String)>),
    Checkbox,
    /// Several lines of text.
    TextArea,
}

impl FieldKind {
    pub fn input_type(&self) -> &'static str {
        match self {
            FieldKind::Email => "email",
            FieldKind::Password => "password",
            _ => "text",
        }
    }

    pub fn is_password(&self) -> bool {
        matches!(self, FieldKind::Password)
    }
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub hint: &'static str,
}

pub fn field(
    name: &'static str,
    label: &'static str,
    kind: FieldKind,
    hint: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        label,
        kind,
        hint,
    }
}

/// A form shown on a page, or alone with its errors when it failed.
#[derive(Debug, Clone)]
pub struct SimpleForm {
    pub id: String,
    pub title: String,
    pub action: String,
    pub submit: &'static str,
    pub fields: Vec<FieldSpec>,
    pub values: FormValues,
    pub errors: Invalid,
    /// A problem with the form as a whole (e.g. a duplicate name).
    pub problem: Option<String>,
    /// What the saved value produces, shown below the fields (a message's
    /// subject and text with sample details).
    pub preview: Option<(String, String)>,
}

impl SimpleForm {
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        action: impl Into<String>,
        submit: &'static str,
    ) -> Self {
        SimpleForm {
            id: id.into(),
            title: title.into(),
            action: action.into(),
            submit,
            fields: vec![],
            values: FormValues::default(),
            errors: Invalid::default(),
            problem: None,
            preview: None,
        }
    }

    pub fn preview(mut self, subject: String, body: String) -> Self {
        self.preview = Some((subject, body));
        self
    }

    pub fn fields(mut self, fields: Vec<FieldSpec>) -> Self {
        self.fields = fields;
        self
    }

    pub fn values(mut self, values: FormValues) -> Self {
        self.values = values;
        self
    }

    pub fn failed(mut self, values: FormValues, errors: Invalid, problem: Option<String>) -> Self {
        self.values = values;
        self.errors = errors;
        self.problem = problem;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_repeats_and_order() {
        let v = FormValues(vec![
            ("c".into(), "1".into()),
            ("c".into(), "2".into()),
            ("n".into(), "x".into()),
        ]);
        assert_eq!(v.get("c"), "1");
        assert_eq!(v.all("c"), ["1", "2"]);
        assert!(v.has("c", "2"));
        assert_eq!(v.get("missing"), "");
        assert_eq!(v.with("n", "y").get("n"), "y");
    }
}
