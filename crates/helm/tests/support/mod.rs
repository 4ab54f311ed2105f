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

/// `(source, object)` per document of `helm template` output. A document
/// without its own `# Source:` line (the second object of a multi-document
/// file under crds/, which helm prints as is) belongs to the previous source.
pub fn parse_helm_output(text: &str) -> Vec<(String, serde_json::Value)> {
    let mut out: Vec<(String, serde_json::Value)> = Vec::new();
    for chunk in text
        .split("\n---\n")
        .flat_map(|c| c.strip_prefix("---\n").or(Some(c)))
    {
        let chunk = chunk.trim();
        let (source, body) = match chunk.strip_prefix("# Source: ") {
            Some(rest) => {
                let (source, body) = rest.split_once('\n').unwrap_or((rest, ""));
                (source.to_string(), body)
            }
            None => match out.last() {
                Some((previous, _)) if !chunk.is_empty() => (previous.clone(), chunk),
                _ => continue,
            },
        };
        let object = if body
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            serde_json::Value::Null
        } else {
            ferrocd_manifest::parse_yaml_value(body, &source).expect("helm output parses")
        };
        out.push((source, object));
    }
    out
}

/// Compares helm's documents with ferrocd's: same sources and kinds/names in
/// the same order, each object deep-equal. Returns the number of documents.
pub fn compare_docs(
    what: &str,
    expected: &[(String, serde_json::Value)],
    got: &[ferrocd_helm::RenderedDoc],
) -> Result<usize, String> {
    let id =
        |s: &str, o: &serde_json::Value| format!("{s} {}/{}", o["kind"], o["metadata"]["name"]);
    let exp_ids: Vec<String> = expected.iter().map(|(s, o)| id(s, o)).collect();
    let got_ids: Vec<String> = got.iter().map(|d| id(&d.source, &d.object)).collect();
    if exp_ids != got_ids {
        return Err(format!(
            "{what}: documents differ\nhelm:    {exp_ids:#?}\nferrocd: {got_ids:#?}"
        ));
    }
    for ((s, e), g) in expected.iter().zip(got) {
        if *e != g.object {
            return Err(format!(
                "{what}: {s} differs\nhelm:\n{}\nferrocd:\n{}",
                serde_json::to_string_pretty(e).unwrap_or_default(),
                serde_json::to_string_pretty(&g.object).unwrap_or_default()
            ));
        }
    }
    Ok(expected.len())
}

/// Copies a folder recursively (test charts into a temp folder).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
