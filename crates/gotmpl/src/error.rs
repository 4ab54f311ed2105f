//! Errors, worded and positioned as Go's `text/template` prints them.

use crate::gofmt::quote;

/// A template failed to parse: `template: NAME:LINE: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {name}:{line}: {message}")]
pub struct ParseError {
    /// The name the text was parsed under.
    pub name: String,
    /// The 1-based line of the offending token.
    pub line: usize,
    /// Go's message, e.g. `unexpected "}" in operand`.
    pub message: String,
}

/// A template failed while executing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The template asked for does not exist in the set.
    #[error("template: no template {} associated with template {}", quote(.name), quote(.set))]
    NoTemplate {
        /// The name asked for.
        name: String,
        /// The name of the template set.
        set: String,
    },
    /// An error at a node:
    /// `template: FILE:LINE:COL: executing "NAME" at <CONTEXT>: MESSAGE`.
    #[error("template: {parse_name}:{line}:{col}: executing {} at <{context}>: {message}", quote(.template))]
    At {
        /// The template being executed (a file or a `define` name).
        template: String,
        /// The source it was parsed from.
        parse_name: String,
        /// 1-based line.
        line: usize,
        /// 0-based byte column, as Go prints it.
        col: usize,
        /// The node's text, e.g. `.Values.image.tag`.
        context: String,
        /// What went wrong, e.g. `map has no entry for key "tag"`.
        message: String,
    },
    /// An error not tied to a node: `template: NAME: MESSAGE`.
    #[error("template: {template}: {message}")]
    Template {
        /// The template being executed.
        template: String,
        /// What went wrong.
        message: String,
    },
}

impl ExecError {
    /// The bare message without the location prefix.
    pub fn message(&self) -> String {
        match self {
            ExecError::NoTemplate { .. } => self.to_string(),
            ExecError::At { message, .. } | ExecError::Template { message, .. } => message.clone(),
        }
    }
}
