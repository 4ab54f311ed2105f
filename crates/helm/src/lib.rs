//! ferrocd-helm: Helm charts rendered natively on [`ferrocd_gotmpl`], with
//! the output of `helm template` (Helm v4.1).
//!
//! - [`chart`]: loading a chart folder (Chart.yaml v1/v2, values, templates,
//!   crds, subcharts, `.helmignore`), never reading outside it;
//! - [`archive`]: chart archives (`.tgz`), as charts and as subcharts;
//! - [`values`]: the `--set` grammar, coalescing with chart defaults, subchart
//!   scoping and globals, dependency conditions/tags/aliases/import-values;
//! - [`values_schema`]: values.schema.json validation with Helm's messages;
//! - [`render`]: [`render_chart`], the whole pipeline;
//! - [`sprig`] and Helm's own functions (`include`, `tpl`, `required`, `toYaml`, ...).
//!
//! ```
//! use ferrocd_gotmpl::{ExecOptions, Template, Value};
//!
//! let funcs = ferrocd_helm::sprig::funcs();
//! let mut t = Template::with_funcs("chart", &funcs);
//! t.parse("t", r#"{{ .name | default "mlflow" | upper | quote }}"#).unwrap();
//! let out = t.execute("t", &Value::map([("name", Value::from(""))]), &funcs, &ExecOptions::default());
//! assert_eq!(out.unwrap(), "\"MLFLOW\"");
//! ```
#![deny(missing_docs)]

pub mod archive;
pub mod capabilities;
pub mod chart;
pub mod convert;
mod error;
pub mod files;
pub mod funcs;
mod go_yaml;
pub mod render;
pub mod sprig;
pub mod values;
pub mod values_schema;
pub mod yaml;

pub use error::HelmError;
pub use render::{RenderOptions, RenderedDoc, render_chart, to_helm_output};
