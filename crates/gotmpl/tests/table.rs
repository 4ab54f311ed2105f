//! The table-driven conformance suite: every case under `testdata/cases/*.yaml`
//! is a template, optional data and the output or error Go prints for it.

mod support;

use ferrocd_gotmpl::{ExecOptions, MissingKey, Template};
use support::{Case, func_data, load_cases, test_funcs};

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

#[test]
fn conformance_table() {
    let cases = load_cases();
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
