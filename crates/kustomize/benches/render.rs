//! Renders every differential case in-process and with the real `kubectl kustomize`, and
//! prints the ratio of median times per case and overall.
//!
//! `cargo bench -p ferrocd-kustomize --bench render` (env `BENCH_RUNS` for the kubectl run
//! count, default 5; `CASE` filters case names).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ferrocd_kustomize::{KustomizeOptions, LoadRestrictor, Reorder, build};

fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CaseSpec {
    build: Option<String>,
    reorder: Option<String>,
    load_restrictor: Option<String>,
    expect_error: bool,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let kubectl = tools_bin().join("kubectl");
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cases");
    let filter = std::env::var("CASE").ok();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            filter
                .as_deref()
                .is_none_or(|f| p.to_string_lossy().contains(f))
        })
        .collect();
    cases.sort();
    if quick {
        cases.truncate(3);
    }
    let mut ratios = Vec::new();
    let (mut total_ours, mut total_theirs) = (Duration::ZERO, Duration::ZERO);
    println!(
        "{:<48} {:>12} {:>12} {:>9}",
        "case", "ferrocd", "kubectl", "ratio"
    );
    for case in &cases {
        let spec: CaseSpec = std::fs::read_to_string(case.join("case.yaml"))
            .ok()
            .and_then(|t| serde_saphyr::from_str(&t).ok())
            .unwrap_or_default();
        if spec.expect_error {
            continue;
        }
        let target = case.join(spec.build.as_deref().unwrap_or("."));
        let mut opts = KustomizeOptions::default();
        let mut args = vec!["kustomize".to_string(), target.display().to_string()];
        if let Some(r) = &spec.reorder {
            opts.reorder = r.parse::<Reorder>().expect("reorder");
            args.extend(["--reorder".into(), r.clone()]);
        }
        if let Some(l) = &spec.load_restrictor {
            opts.load_restrictor = l.parse::<LoadRestrictor>().expect("restrictor");
            args.extend(["--load-restrictor".into(), l.clone()]);
        }
        let mut ours = Vec::new();
        let inner = if quick { 2 } else { 30 };
        for _ in 0..inner {
            let t = Instant::now();
            let out = build(&target, &opts).expect("build");
            std::hint::black_box(out);
            ours.push(t.elapsed());
        }
        let mut theirs = Vec::new();
        for _ in 0..(if quick { 1 } else { runs }) {
            let t = Instant::now();
            let out = Command::new(&kubectl)
                .args(&args)
                .output()
                .expect("kubectl");
            assert!(out.status.success(), "kubectl failed on {}", case.display());
            theirs.push(t.elapsed());
        }
        let (o, t) = (median(ours), median(theirs));
        total_ours += o;
        total_theirs += t;
        let ratio = t.as_secs_f64() / o.as_secs_f64();
        ratios.push(ratio);
        let name = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        println!(
            "{name:<48} {:>10.3}ms {:>10.3}ms {ratio:>8.1}x",
            o.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e3
        );
    }
    if ratios.is_empty() {
        return;
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "cases: {}  median ratio: {:.1}x  min ratio: {:.1}x  max ratio: {:.1}x  total medians: ferrocd {:.1}ms vs kubectl {:.1}ms ({:.1}x)",
        ratios.len(),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
        total_ours.as_secs_f64() * 1e3,
        total_theirs.as_secs_f64() * 1e3,
        total_theirs.as_secs_f64() / total_ours.as_secs_f64()
    );
}
