//! Errors of reading and validating Argo CD resources.

use std::fmt;

/// One problem with one field, named by its path (`spec.sources[1].path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, in the resource's own camelCase names; empty for the document.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A problem with the field at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All the field problems of one resource, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// True when there is no problem.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Reading an Application or AppProject failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The text is not valid YAML (or not a single document).
    #[error("{file}:{line}:{column}: {message}")]
    Yaml {
        /// File the text came from.
        file: String,
        /// 1-based line, 0 when unknown.
        line: u64,
        /// 1-based column, 0 when unknown.
        column: u64,
        /// The parser's message.
        message: String,
    },
    /// The document is YAML but not a valid resource.
    #[error("{file}: {errors}")]
    Invalid {
        /// File the text came from.
        file: String,
        /// Every problem found.
        errors: FieldErrors,
    },
    /// Writing a resource as YAML failed.
    #[error("writing {name} as YAML: {message}")]
    Emit {
        /// Name of the resource.
        name: String,
        /// The emitter's message.
        message: String,
    },
}

impl ModelError {
    /// The field problems, empty for YAML syntax errors.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ModelError::Invalid { errors, .. } => &errors.0,
            ModelError::Yaml { .. } | ModelError::Emit { .. } => &[],
        }
    }
}
