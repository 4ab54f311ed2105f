//! Reading Applications and AppProjects from YAML, and checking them the way Argo CD
//! does before it accepts them: required fields, exclusive fields, relative paths,
//! durations, references between sources, project policies. Every problem names the
//! field by its path (`spec.sources[1].path: must be relative`).

use serde::de::DeserializeOwned;

use crate::application::{API_VERSION, APPLICATION_KIND, Application};
use crate::error::{FieldError, FieldErrors, ModelError};
use crate::meta::ObjectMeta;
use crate::project::{APP_PROJECT_KIND, AppProject};

mod application;
mod project;

/// Checks kind/apiVersion, converts to the typed resource and validates it: the one path
/// every resource kind of this crate takes from JSON to a trusted value.
fn typed_and_valid<T: DeserializeOwned>(
    value: serde_json::Value,
    kind: &str,
    file: &str,
    validate: fn(&T) -> FieldErrors,
) -> Result<T, ModelError> {
    check_type_meta(&value, kind, file)?;
    let resource: T = typed(value, file)?;
    let errors = validate(&resource);
    if errors.is_empty() {
        Ok(resource)
    } else {
        Err(ModelError::Invalid {
            file: file.to_string(),
            errors,
        })
    }
}

impl Application {
    /// Parses one YAML document into an Application and validates it. `file` names the
    /// source in errors (`FILE:LINE:COL: ...` for YAML errors, `FILE: field: ...` for the
    /// rest).
    pub fn from_yaml(text: &str, file: &str) -> Result<Application, ModelError> {
        let value = parse_document(text, file)?;
        Self::from_value(value, file)
    }

    /// Converts a JSON value (e.g. read from the API server) into an Application and
    /// validates it.
    pub fn from_value(value: serde_json::Value, file: &str) -> Result<Application, ModelError> {
        typed_and_valid(value, APPLICATION_KIND, file, Application::validate)
    }

    /// The Application as a YAML document.
    pub fn to_yaml(&self) -> Result<String, ModelError> {
        to_yaml(self, self.name())
    }

    /// Every validation problem of this Application; empty when it is valid.
    pub fn validate(&self) -> FieldErrors {
        let mut v = Checks::default();
        v.type_meta(&self.api_version, &self.kind, APPLICATION_KIND);
        v.metadata(&self.metadata);
        v.app_spec(&self.spec);
        FieldErrors(v.errors)
    }
}

impl AppProject {
    /// Parses one YAML document into an AppProject and validates it.
    pub fn from_yaml(text: &str, file: &str) -> Result<AppProject, ModelError> {
        let value = parse_document(text, file)?;
        Self::from_value(value, file)
    }

    /// Converts a JSON value into an AppProject and validates it.
    pub fn from_value(value: serde_json::Value, file: &str) -> Result<AppProject, ModelError> {
        typed_and_valid(value, APP_PROJECT_KIND, file, AppProject::validate)
    }

    /// The AppProject as a YAML document.
    pub fn to_yaml(&self) -> Result<String, ModelError> {
        to_yaml(self, self.name())
    }

    /// Every validation problem of this AppProject; empty when it is valid.
    pub fn validate(&self) -> FieldErrors {
        let mut v = Checks::default();
        v.type_meta(&self.api_version, &self.kind, APP_PROJECT_KIND);
        v.metadata(&self.metadata);
        v.project_spec(self);
        FieldErrors(v.errors)
    }
}

/// Emits YAML; `name` identifies the resource in the (unexpected) error.
fn to_yaml<T: serde::Serialize>(value: &T, name: &str) -> Result<String, ModelError> {
    serde_saphyr::to_string(value).map_err(|e| ModelError::Emit {
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// Parses a single YAML document into JSON, reporting syntax errors with file:line:col.
pub(crate) fn parse_document(text: &str, file: &str) -> Result<serde_json::Value, ModelError> {
    match serde_saphyr::from_str::<serde_json::Value>(text) {
        Ok(value) => Ok(value),
        Err(err) => {
            let (line, column) = err
                .location()
                .map_or((0, 0), |loc| (loc.line(), loc.column()));
            Err(ModelError::Yaml {
                file: file.to_string(),
                line,
                column,
                message: yaml_message(&err),
            })
        }
    }
}

/// The parser's message without location or source snippet (those are reported apart).
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let mut options = serde_saphyr::RenderOptions::default();
    options.snippets = serde_saphyr::SnippetMode::Off;
    if matches!(
        err.without_snippet(),
        serde_saphyr::Error::MultipleDocuments { .. }
    ) {
        return "expected a single YAML document, found several".to_string();
    }
    let text = err.render_with_options(options);
    let mut message = text.lines().next().unwrap_or("").trim();
    if let Some(i) = message.rfind(" at line ") {
        message = &message[..i];
    }
    // Hints addressed to programmers using the parser are not for our users.
    if let Some(i) = message.find(", set DuplicateKeyPolicy") {
        message = &message[..i];
    }
    message.to_string()
}

/// Checks that the document is a mapping with the expected apiVersion and kind before
/// its fields are typed, so a wrong kind gets a message about the kind.
fn check_type_meta(value: &serde_json::Value, kind: &str, file: &str) -> Result<(), ModelError> {
    let invalid = |e: FieldError| ModelError::Invalid {
        file: file.to_string(),
        errors: FieldErrors(vec![e]),
    };
    let Some(obj) = value.as_object() else {
        let what = match value {
            serde_json::Value::Null => "document is empty".to_string(),
            _ => format!(
                "expected a mapping with an {kind}, got {}",
                json_type(value)
            ),
        };
        return Err(invalid(FieldError::new("", what)));
    };
    let mut checks = Checks::default();
    let text_of = |key: &str| obj.get(key).and_then(|v| v.as_str()).unwrap_or("");
    checks.type_meta(text_of("apiVersion"), text_of("kind"), kind);
    if checks.errors.is_empty() {
        Ok(())
    } else {
        Err(ModelError::Invalid {
            file: file.to_string(),
            errors: FieldErrors(checks.errors),
        })
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a sequence",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// Types a JSON value, naming the field whose type is wrong.
fn typed<T: DeserializeOwned>(value: serde_json::Value, file: &str) -> Result<T, ModelError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ModelError::Invalid {
            file: file.to_string(),
            errors: FieldErrors(vec![FieldError::new(path, err.inner().to_string())]),
        }
    })
}

/// Collects problems as the checks walk the resource.
#[derive(Default)]
struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    fn required(&mut self, path: impl Into<String>, value: &str) {
        if value.trim().is_empty() {
            self.err(path, "required");
        }
    }

    fn type_meta(&mut self, api_version: &str, kind: &str, expected_kind: &str) {
        if api_version.is_empty() {
            self.err("apiVersion", "required");
        } else if api_version != API_VERSION {
            self.err(
                "apiVersion",
                format!("must be {API_VERSION}, got {api_version:?}"),
            );
        }
        if kind.is_empty() {
            self.err("kind", "required");
        } else if kind != expected_kind {
            self.err("kind", format!("must be {expected_kind}, got {kind:?}"));
        }
    }

    fn metadata(&mut self, meta: &ObjectMeta) {
        if meta.name.is_empty() {
            self.err("metadata.name", "required");
        } else if !is_dns_subdomain(&meta.name) {
            self.err(
                "metadata.name",
                format!(
                    "invalid name {:?}: must be lowercase letters, digits, '-' or '.'",
                    meta.name
                ),
            );
        }
        if let Some(ns) = &meta.namespace
            && !ns.is_empty()
            && !is_dns_label(ns)
        {
            self.err(
                "metadata.namespace",
                format!("invalid namespace {ns:?}: must be a DNS label"),
            );
        }
    }
}

/// True when a relative path climbs above its starting directory (`a/../../b`).
fn escapes_root(path: &str) -> bool {
    let mut depth: i64 = 0;
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_ref_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_escape() {
        assert!(escapes_root("../x"));
        assert!(escapes_root("a/../../x"));
        assert!(!escapes_root("a/../b"));
        assert!(!escapes_root("./apps/airflow"));
        assert!(!escapes_root("."));
    }

    #[test]
    fn names() {
        assert!(is_dns_subdomain("mlflow.tracking-1"));
        assert!(!is_dns_subdomain("MLflow"));
        assert!(!is_dns_subdomain("a..b"));
        assert!(is_ref_name("values_repo-1"));
        assert!(!is_ref_name("$values"));
    }
}
