//! Shared by the Sprig tests: recorded cases and YAML data → values.

#![allow(dead_code)]

use std::fmt;

use ferrocd_gotmpl::Value;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

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

/// Helm decodes values through JSON: every number is a float64.
pub fn to_value(d: &Data) -> Value {
    match d {
        Data::Null => Value::Nil,
        Data::Bool(b) => Value::Bool(*b),
        Data::Int(i) => Value::Float64(*i as f64),
        Data::Uint(u) => Value::Float64(*u as f64),
        Data::Float(f) => Value::Float64(*f),
        Data::Str(s) => Value::from(s.as_str()),
        Data::Seq(l) => Value::list(l.iter().map(to_value)),
        Data::Map(m) => Value::map(m.iter().map(|(k, v)| (k.clone(), to_value(v)))),
    }
}

/// One recorded case.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub tmpl: String,
    #[serde(default)]
    pub data: Option<Data>,
    #[serde(default)]
    pub out: Option<String>,
    #[serde(default)]
    pub err_contains: Option<String>,
}

/// Loads `testdata/sprig/cases.yaml`.
pub fn load_cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sprig/cases.yaml");
    let text = std::fs::read_to_string(path).expect("cases file");
    serde_saphyr::from_str(&text).expect("cases parse")
}

impl Data {
    /// JSON text (Helm reads a JSON values file as YAML).
    pub fn to_json(&self) -> String {
        fn string(s: &str) -> String {
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
        match self {
            Data::Null => "null".into(),
            Data::Bool(b) => b.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Uint(u) => u.to_string(),
            Data::Float(f) => format!("{f:?}"),
            Data::Str(s) => string(s),
            Data::Seq(l) => format!(
                "[{}]",
                l.iter().map(Data::to_json).collect::<Vec<_>>().join(",")
            ),
            Data::Map(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{}:{}", string(k), v.to_json()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}
