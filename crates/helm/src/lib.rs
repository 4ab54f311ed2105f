//! ferrocd-helm: Helm charts rendered natively on [`ferrocd_gotmpl`].
//!
//! This first part is the Sprig function library ([`sprig::funcs`]): pure
//! functions with Sprig's argument conventions and results, checked against
//! the real `helm template`.
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

pub mod sprig;
