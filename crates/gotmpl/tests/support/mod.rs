//! Shared helpers for the integration tests: YAML test data → [`Value`],
//! and the functions and objects the case tables use.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;

use ferrocd_gotmpl::{FuncError, FuncMap, Object, Value};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use std::path::PathBuf;

/// YAML data as decoded, before choosing Go number types.
#[derive(Debug, Clone, Default)]
pub enum Data {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Data>),
    Map(Vec<(String, Data)>),
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Data;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Data, E> {
                Ok(Data::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Data, E> {
                Ok(Data::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Data, E> {
                Ok(i64::try_from(v).map_or(Data::Uint(v), Data::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Data, E> {
                Ok(Data::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Data, E> {
                Ok(Data::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Data, E> {
                Ok(Data::Str(v))
            }
            fn visit_unit<E>(self) -> Result<Data, E> {
                Ok(Data::Null)
            }
            fn visit_none<E>(self) -> Result<Data, E> {
                Ok(Data::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Data, D2::Error> {
                Data::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(Data::Seq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = map.next_entry::<Data, Data>()? {
                    let key = match k {
                        Data::Str(s) => s,
                        Data::Int(i) => i.to_string(),
                        Data::Bool(b) => b.to_string(),
                        other => format!("{other:?}"),
                    };
                    v.push((key, x));
                }
                Ok(Data::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Data {
    /// Converts to a template value; numbers become Go `int` when `ints`,
    /// otherwise `float64` as Helm decodes values.
    pub fn to_value(&self, ints: bool) -> Value {
        match self {
            Data::Null => Value::Nil,
            Data::Bool(b) => Value::Bool(*b),
            Data::Int(i) => {
                if ints {
                    Value::Int(*i)
                } else {
                    Value::Float64(*i as f64)
                }
            }
            Data::Uint(u) => {
                if ints {
                    Value::Uint64(*u)
                } else {
                    Value::Float64(*u as f64)
                }
            }
            Data::Float(f) => Value::Float64(*f),
            Data::Str(s) => Value::from(s.as_str()),
            Data::Seq(items) => Value::list(items.iter().map(|d| d.to_value(ints))),
            Data::Map(entries) => {
                let m: BTreeMap<String, Value> = entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value(ints)))
                    .collect();
                Value::from(m)
            }
        }
    }
}

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

impl Data {
    /// JSON text for this data (Helm reads JSON values files as YAML).
    pub fn to_json(&self) -> String {
        match self {
            Data::Null => "null".into(),
            Data::Bool(b) => b.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Uint(u) => u.to_string(),
            Data::Float(f) => {
                let s = format!("{f:?}");
                if s.contains(['.', 'e', 'E']) {
                    s
                } else {
                    format!("{s}.0")
                }
            }
            Data::Str(s) => json_string(s),
            Data::Seq(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Data::to_json)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Data::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json_string(k), v.to_json()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
