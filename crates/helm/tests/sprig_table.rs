//! Sprig functions against outputs recorded from the real `helm template`
//! (`testdata/sprig/cases.yaml`: template, data, Helm's output).

use std::fmt;

use ferrocd_gotmpl::{ExecOptions, MissingKey, Template, Value};
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
fn to_value(d: &Data) -> Value {
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

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    tmpl: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    out: Option<String>,
    #[serde(default)]
    err_contains: Option<String>,
}

#[test]
fn sprig_matches_recorded_helm_output() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sprig/cases.yaml");
    let text = std::fs::read_to_string(path).expect("cases file");
    let cases: Vec<Case> = serde_saphyr::from_str(&text).expect("cases parse");
    assert!(cases.len() >= 70, "only {} cases", cases.len());
    let funcs = ferrocd_helm::sprig::funcs();
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    let mut failures = Vec::new();
    for case in &cases {
        let mut t = Template::with_funcs("chart", &funcs);
        let got = t
            .parse("t", &case.tmpl)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let data = case.data.as_ref().map(to_value).unwrap_or_default();
                t.execute("t", &data, &funcs, &opts)
                    .map_err(|e| e.to_string())
            })
            // Helm removes "<no value>" from rendered output.
            .map(|s| s.replace("<no value>", ""));
        let ok = match (&got, &case.out, &case.err_contains) {
            (Ok(o), Some(want), None) => o == want,
            (Err(e), None, Some(want)) => e.contains(want.as_str()),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: tmpl {:?}\n  want {:?}\n  got  {:?}",
                case.name,
                case.tmpl,
                case.out.as_ref().or(case.err_contains.as_ref()),
                got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
