//! Test support behind the `test-util` feature: YAML test data decoded without choosing
//! Go number types yet, so that table tests (here and in crate `helm`) can feed templates
//! Go `int`s or Helm's `float64`s from the same case files.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

use crate::Value;

/// YAML data as decoded, before choosing Go number types.
#[derive(Debug, Clone, Default)]
pub enum Data {
    /// `null`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// A larger unsigned integer.
    Uint(u64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    Seq(Vec<Data>),
    /// A map, in document order.
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

/// Renders template cases with the real `helm` binary, for tests that hold ferrocd's
/// output against Helm's: each case becomes a named template of a throwaway chart, and
/// `templates/out.yaml` prints one line per case, `c<i>: <output | filter>`, where
/// `filter` is a pipeline stage such as `printf "%q"` or `toJson`. Case data, when not
/// null, is passed as `.Values.c<i>`. Returns whether helm succeeded and its stdout+stderr.
pub fn render_with_helm(
    helm: &std::path::Path,
    cases: &[(&str, Option<&Data>)],
    filter: &str,
) -> std::io::Result<(bool, String)> {
    let dir = tempfile_dir()?;
    let root = dir.join("c");
    std::fs::create_dir_all(root.join("templates"))?;
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )?;
    let mut values = Vec::new();
    let mut main = String::new();
    for (i, (tmpl, data)) in cases.iter().enumerate() {
        std::fs::write(root.join(format!("templates/_c{i}.tpl")), tmpl)?;
        let arg = match data {
            Some(d) if !matches!(d, Data::Null) => {
                values.push(format!("\"c{i}\":{}", d.to_json()));
                format!(".Values.c{i}")
            }
            _ => "nil".to_string(),
        };
        main.push_str(&format!(
            "c{i}: {{{{ include \"c/templates/_c{i}.tpl\" {arg} | {filter} }}}}\n"
        ));
    }
    std::fs::write(
        root.join("values.yaml"),
        format!("{{{}}}", values.join(",")),
    )?;
    std::fs::write(root.join("templates/out.yaml"), main)?;
    let out = std::process::Command::new(helm)
        .arg("template")
        .arg("c")
        .arg(&root)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// A fresh private directory under the system temp dir (no extra dependency for tests).
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferrocd-gotmpl-oracle-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
