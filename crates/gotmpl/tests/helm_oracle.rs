//! Holds the conformance table against the real Go implementation: each case
//! that needs no test-only function is rendered by the real `helm template`
//! (found through `FERROCD_TOOLS_BIN`, or installed by
//! `scripts/install-reference-tools`) and compared with the table's expectation.
//!
//! It runs `helm` about a hundred times, so it is ignored by default:
//! `cargo test -p ferrocd-gotmpl --test helm_oracle -- --ignored`.

mod support;

use std::path::{Path, PathBuf};

use support::{Case, load_cases};

/// Cases where Helm's environment, not Go's template language, decides the result.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "printf missing format",
        "with missingkey=zero the format is a nil interface, not an invalid value",
    ),
    (
        "missing chain",
        "helm executes with missingkey=zero: a missing parent is a nil interface",
    ),
    (
        "default missing chain is fine",
        "helm executes with missingkey=zero",
    ),
    (
        "recursion limit",
        "Go allows 100000 nested template calls, ferrocd defaults to 1000",
    ),
    (
        "large float exponent",
        "helm's YAML reads 1.5e300 without a dot as a string",
    ),
];

/// Words that mark cases Helm cannot run as written.
const TEST_ONLY_FUNCS: &[&str] = &["fail", "upper", "ctx", "include", "quote", "slice"];

fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

fn eligible(case: &Case) -> bool {
    let words: Vec<&str> = case
        .tmpl
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    !case.func_data
        && !case.ints
        && case.missingkey.as_deref() != Some("error")
        && !TEST_ONLY_FUNCS.iter().any(|f| words.contains(f))
        && !KNOWN_DIFFERENCES.iter().any(|(n, _)| *n == case.name)
}

/// Decodes a Go `%q` string literal.
fn go_unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Vec::<u8>::new();
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        let e = it.next()?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let n = match e {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => return None,
        };
        let hex: String = (0..n).filter_map(|_| it.next()).collect();
        let v = u32::from_str_radix(&hex, 16).ok()?;
        if e == 'x' {
            out.push(v as u8);
        } else {
            let mut b = [0u8; 4];
            out.extend_from_slice(char::from_u32(v)?.encode_utf8(&mut b).as_bytes());
        }
    }
    String::from_utf8(out).ok()
}

/// Renders the cases in one throwaway chart with the real helm; each line is
/// `cN: <Go-quoted output>`.
fn render(helm: &Path, cases: &[&Case]) -> (bool, String) {
    let inputs: Vec<(&str, Option<&support::Data>)> = cases
        .iter()
        .map(|c| (c.tmpl.as_str(), c.data.as_ref()))
        .collect();
    ferrocd_gotmpl::testing::render_with_helm(helm, &inputs, "printf \"%q\"").expect("run helm")
}

/// Checks an expected Go error against Helm's (reformatted) report of it.
fn error_matches(want: &str, helm_out: &str) -> bool {
    let want = &want.replace("started at t:", "started at c/templates/_c0.tpl:");
    let flat = helm_out.replace("\n    ", " ").replace("\n  ", " ");
    if let Some(rest) = want.strip_prefix("template: t:") {
        // Exec error: "L:C: executing "t" at <ctx>: msg"
        let mut parts = rest.splitn(3, ':');
        let (l, second, tail) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if let Some(after) = tail.strip_prefix(" executing ") {
            let (ctx_msg, msg) = match after.split_once(">: ") {
                Some((a, m)) => (a, m),
                None => return false,
            };
            let ctx = ctx_msg.split_once(" at <").map(|(_, c)| c).unwrap_or("");
            return flat.contains(&format!(".tpl:{l}:{second}"))
                && flat.contains(&format!("at <{ctx}>"))
                && flat.contains(msg);
        }
        // Parse error: "L: msg". Helm prints only the text after the message's last ": ".
        let msg = want.splitn(3, ": ").nth(2).unwrap_or("");
        let shown = msg.rsplit(": ").next().unwrap_or(msg);
        return flat.contains(&format!(".tpl:{l}): ")) && flat.contains(shown);
    }
    flat.contains(want)
}

#[test]
#[ignore = "runs the real helm binary; use --ignored"]
fn table_agrees_with_real_helm() {
    let helm = tools_bin().join("helm");
    let all = load_cases();
    let cases: Vec<&Case> = all.iter().map(|(_, c)| c).filter(|c| eligible(c)).collect();
    assert!(cases.len() > 350, "only {} eligible cases", cases.len());
    let mut failures = Vec::new();

    // Cases with output: one chart for all, except those defining templates
    // (one namespace per chart), which run alone with the error cases.
    let defines = |c: &Case| c.tmpl.contains("define") || c.tmpl.contains("block");
    let outs: Vec<&Case> = cases
        .iter()
        .copied()
        .filter(|c| c.out.is_some() && !defines(c))
        .collect();
    let (ok, text) = render(&helm, &outs);
    assert!(ok, "helm failed on the output cases: {text}");
    for (i, case) in outs.iter().enumerate() {
        let prefix = format!("c{i}: ");
        let got = text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(go_unquote);
        let want = case
            .out
            .as_deref()
            .unwrap_or_default()
            .replace("<no value>", "");
        if got.as_deref() != Some(want.as_str()) {
            failures.push(format!("{}: want {want:?}, helm {got:?}", case.name));
        }
    }

    // Cases with errors or definitions: one chart each.
    for case in cases.iter().filter(|c| c.out.is_none() || defines(c)) {
        let (ok, text) = render(&helm, &[case]);
        if let Some(want) = &case.out {
            let got = text
                .lines()
                .find_map(|l| l.strip_prefix("c0: "))
                .and_then(go_unquote);
            if !ok || got.as_deref() != Some(want.replace("<no value>", "").as_str()) {
                failures.push(format!("{}: want {want:?}, helm {text:?}", case.name));
            }
            continue;
        }
        let want = case
            .err
            .as_deref()
            .or(case.err_contains.as_deref())
            .unwrap_or_default();
        let matched = if case.err_contains.is_some() {
            text.contains(want)
        } else {
            error_matches(want, &text)
        };
        if ok || !matched {
            failures.push(format!(
                "{}: want error {want:?}, helm said {text:?}",
                case.name
            ));
        }
    }
    println!("{} cases checked against helm", cases.len());
    assert!(
        failures.is_empty(),
        "{} disagreements with helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
