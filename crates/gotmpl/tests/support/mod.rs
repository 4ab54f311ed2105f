//! Shared helpers for the integration tests: YAML test data → [`Value`],
//! and the functions and objects the case tables use.

#![allow(dead_code)]

use ferrocd_gotmpl::{FuncError, FuncMap, Object, Value};
use serde::Deserialize;
use std::path::PathBuf;

pub use ferrocd_gotmpl::testing::Data;

/// A Helm-like `.Release` object.
pub struct Release {
    pub name: String,
    pub namespace: String,
}

impl Object for Release {
    fn type_name(&self) -> String {
        "*release.Release".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Name" => Some(Value::from(self.name.as_str())),
            "Namespace" => Some(Value::from(self.namespace.as_str())),
            _ => None,
        }
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Greet"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, FuncError> {
        FuncError::check_arity(args, 1)?;
        match (name, args[0].as_str()) {
            ("Greet", Some(s)) => Ok(Value::from(format!("hello {s}"))),
            _ => Err(FuncError::msg("bad call")),
        }
    }
    fn display(&self) -> String {
        format!("{{{} {}}}", self.name, self.namespace)
    }
}

/// Data with function values and an object, for `func_data` cases.
pub fn func_data() -> Value {
    Value::map([
        (
            "f",
            Value::func(|args| Ok(Value::list(args.iter().cloned()))),
        ),
        ("g", Value::func(|_| Err(FuncError::msg("g failed")))),
        (
            "obj",
            Value::Object(std::sync::Arc::new(Release {
                name: "release-1".into(),
                namespace: "ml".into(),
            })),
        ),
    ])
}

/// The functions the case tables may call.
pub fn test_funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.insert("quote", |args| {
        let parts: Vec<String> = args
            .iter()
            .filter(|a| !a.is_nil())
            .map(|a| ferrocd_gotmpl::sprintf("%q", &[Value::from(a.to_string())]))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.insert("upper", |args| {
        FuncError::check_arity(args, 1)?;
        Ok(Value::from(args[0].to_string().to_uppercase()))
    });
    f.insert("fail", |args| {
        Err(FuncError::msg(
            args.first().map(ToString::to_string).unwrap_or_default(),
        ))
    });
    f.insert("ctx", |_| Ok(Value::map([("a", Value::Int(1))])));
    f.insert_with_context("include", |ctx, args| {
        FuncError::check_arity(args, 2)?;
        let name = args[0]
            .as_str()
            .ok_or_else(|| FuncError::msg("template name must be a string"))?;
        ctx.execute(name, &args[1])
            .map(Value::from)
            .map_err(|e| FuncError::msg(e.to_string()))
    });
    f
}

/// One conformance case from `testdata/cases/*.yaml`.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub tmpl: String,
    #[serde(default)]
    pub data: Option<Data>,
    #[serde(default)]
    pub ints: bool,
    #[serde(default)]
    pub func_data: bool,
    #[serde(default)]
    pub missingkey: Option<String>,
    #[serde(default)]
    pub out: Option<String>,
    #[serde(default)]
    pub err: Option<String>,
    #[serde(default)]
    pub err_contains: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub funcs: bool,
}

/// Loads every case, with the file it came from.
pub fn load_cases() -> Vec<(String, Case)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable case file");
        let list: Vec<Case> =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.extend(list.into_iter().map(|c| (file.clone(), c)));
    }
    cases
}
