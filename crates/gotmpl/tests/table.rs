//! The table-driven conformance suite: every case under `testdata/cases/*.yaml`
//! is a template, optional data and the output or error Go prints for it.

mod support;

use std::path::PathBuf;

use ferrocd_gotmpl::{ExecOptions, MissingKey, Template};
use serde::Deserialize;
use support::{Data, func_data, test_funcs};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    tmpl: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    ints: bool,
    #[serde(default)]
    func_data: bool,
    #[serde(default)]
    missingkey: Option<String>,
    #[serde(default)]
    out: Option<String>,
    #[serde(default)]
    err: Option<String>,
    #[serde(default)]
    err_contains: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    funcs: bool,
}

fn run(case: &Case) -> Result<String, String> {
    let funcs = test_funcs();
    let mut set = Template::with_funcs("set", &funcs);
    set.parse("t", &case.tmpl).map_err(|e| e.to_string())?;
    let data = if case.func_data {
        func_data()
    } else {
        case.data
            .as_ref()
            .map(|d| d.to_value(case.ints))
            .unwrap_or_default()
    };
    let opts = ExecOptions {
        missing_key: match case.missingkey.as_deref() {
            Some("zero") => MissingKey::Zero,
            Some("error") => MissingKey::Error,
            _ => MissingKey::Default,
        },
        ..ExecOptions::default()
    };
    set.execute("t", &data, &funcs, &opts)
        .map_err(|e| e.to_string())
}

fn load() -> Vec<(String, Case)> {
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

#[test]
fn conformance_table() {
    let cases = load();
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (file, case) in &cases {
        let got = run(case);
        let ok = match (&got, &case.out, &case.err, &case.err_contains) {
            (Ok(o), Some(want), None, None) => o == want,
            (Err(e), None, Some(want), None) => e == want,
            (Err(e), None, None, Some(want)) => e.contains(want.as_str()),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{file}: {}\n   tmpl: {:?}\n   want: {:?}\n    got: {:?}",
                case.name,
                case.tmpl,
                case.out
                    .as_ref()
                    .or(case.err.as_ref())
                    .or(case.err_contains.as_ref()),
                got
            ));
        }
    }
    println!("{} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
