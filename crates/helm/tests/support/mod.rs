//! Shared by the Sprig tests: recorded cases and YAML data → values.

#![allow(dead_code)]

use ferrocd_gotmpl::Value;
use serde::Deserialize;

pub use ferrocd_gotmpl::testing::Data;

/// Helm decodes values through JSON: every number is a float64.
pub fn to_value(d: &Data) -> Value {
    d.to_value(false)
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
