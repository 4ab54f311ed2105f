//! Sprig functions against outputs recorded from the real `helm template`
//! (`testdata/sprig/cases.yaml`: template, data, Helm's output).

mod support;

use ferrocd_gotmpl::{ExecOptions, MissingKey, Template};
use support::{load_cases, to_value};

#[test]
fn sprig_matches_recorded_helm_output() {
    let cases = load_cases();
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
