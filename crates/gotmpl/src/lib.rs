//! ferrocd-gotmpl: Go's `text/template` language in Rust, the base of
//! ferrocd's native Helm renderer.
//!
//! ```
//! use ferrocd_gotmpl::{ExecOptions, FuncMap, Template, Value};
//!
//! let mut t = Template::new("chart");
//! t.parse("deploy.yaml", "replicas: {{ .replicas }}\n{{- range $k, $v := .labels }}\n{{ $k }}: {{ $v }}{{ end }}")
//!     .unwrap();
//! let data = Value::map([
//!     ("replicas", Value::Float64(3.0)),
//!     ("labels", Value::map([("app", Value::from("mlflow"))])),
//! ]);
//! let out = t.execute("deploy.yaml", &data, &FuncMap::new(), &ExecOptions::default()).unwrap();
//! assert_eq!(out, "replicas: 3\napp: mlflow");
//! ```
//!
//! The pieces: [`Template`] (a set of named templates: parse, then execute),
//! [`Value`] (Go values as templates see them), [`FuncMap`] (functions from the
//! embedder, optionally with an [`ExecContext`] for `include`/`tpl`),
//! [`ExecOptions`] (`missingkey`, depth limit) and the Go `fmt` functions
//! [`sprintf`], [`sprint`], [`sprintln`].
#![deny(missing_docs)]

mod ast;
mod builtin;
mod error;
mod exec;
mod func;
mod gofmt;
mod lex;
mod literal;
mod parse;
mod template;
#[cfg(feature = "test-util")]
pub mod testing;
mod value;

pub use builtin::{html_escape, js_escape, query_escape};
pub use error::{ExecError, ParseError};
pub use exec::{ExecContext, ExecOptions, MissingKey};
pub use func::{ContextFn, Func, FuncError, FuncMap, PlainFn};
pub use gofmt::{quote, sprint, sprintf, sprintln};
pub use template::Template;
pub use value::{Map, NativeFn, Object, Value};
