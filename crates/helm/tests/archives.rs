//! Chart archives against the real `helm`: subcharts packaged with
//! `helm package` into `charts/*.tgz`, and whole charts given as `.tgz` files,
//! render exactly as `helm template` renders them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ferrocd_helm::{RenderOptions, render_chart};

fn charts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/charts")
}

fn helm() -> PathBuf {
    ferrocd_reference_tools::helm()
}

/// `helm package DIR -d DEST`, returning the archive written.
fn package(dir: &Path, dest: &Path) -> PathBuf {
    let out = Command::new(helm())
        .arg("package")
        .arg(dir)
        .arg("-d")
        .arg(dest)
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm package {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let path = text
        .trim()
        .rsplit(": ")
        .next()
        .expect("helm package prints the archive path");
    PathBuf::from(path)
}

fn helm_template(chart: &Path, release: &str, args: &[&str]) -> String {
    let out = Command::new(helm())
        .arg("template")
        .arg(release)
        .arg(chart)
        .args(args)
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template {}: {}",
        chart.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn same_as_helm(chart: &Path, release: &str, set: &[&str]) -> usize {
    let mut args = Vec::new();
    for s in set {
        args.extend(["--set", s]);
    }
    let expected = support::parse_helm_output(&helm_template(chart, release, &args));
    let opts = RenderOptions {
        release_name: release.into(),
        set: set.iter().map(|s| s.to_string()).collect(),
        ..RenderOptions::default()
    };
    let got = render_chart(chart, &opts)
        .unwrap_or_else(|e| panic!("ferrocd renders {}: {e}", chart.display()));
    support::compare_docs(&chart.display().to_string(), &expected, &got)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// ml-stack with its `tracking` subchart (used twice, by alias) packaged.
fn ml_stack_with_packaged_subchart(tmp: &Path) -> PathBuf {
    let chart = tmp.join("ml-stack");
    support::copy_dir(&charts().join("ml-stack"), &chart);
    let archive = package(&chart.join("charts/tracking"), &chart.join("charts"));
    assert!(
        archive.ends_with("charts/tracking-0.1.0.tgz"),
        "{archive:?}"
    );
    std::fs::remove_dir_all(chart.join("charts/tracking")).expect("remove folder");
    chart
}

#[test]
fn packaged_subcharts_render_like_folders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = ml_stack_with_packaged_subchart(tmp.path());
    let docs = same_as_helm(&chart, "ml", &[]);
    assert!(docs >= 3, "{docs}");
    same_as_helm(
        &chart,
        "lab",
        &["mlflow.enabled=false,tags.monitoring=true,global.env=lab"],
    );
    // The library subchart of airflow as an archive: named templates still resolve.
    let airflow = tmp.path().join("airflow");
    support::copy_dir(&charts().join("airflow"), &airflow);
    package(
        &airflow.join("charts/platform-lib"),
        &airflow.join("charts"),
    );
    std::fs::remove_dir_all(airflow.join("charts/platform-lib")).expect("remove folder");
    assert!(same_as_helm(&airflow, "airflow", &[]) > 0);
}

#[test]
fn whole_chart_archives_render_like_helm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A packaged chart whose own subchart is a packaged archive inside it.
    let chart = ml_stack_with_packaged_subchart(tmp.path());
    let archive = package(&chart, tmp.path());
    assert!(archive.ends_with("ml-stack-0.4.0.tgz"), "{archive:?}");
    same_as_helm(&archive, "ml-prod", &["global.env=prod"]);
    // Packaged charts with folder subcharts inside.
    for name in ["airflow", "model-server", "feature-store"] {
        let archive = package(&charts().join(name), tmp.path());
        assert!(same_as_helm(&archive, name, &[]) > 0, "{name}");
    }
}

#[test]
fn archive_errors_name_the_archive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("model-server");
    support::copy_dir(&charts().join("model-server"), &chart);
    // An archive under charts/ that climbs out of the chart.
    let evil = chart.join("charts/evil-0.1.0.tgz");
    let enc = gzip_tar(&[
        (
            "evil/Chart.yaml",
            b"apiVersion: v2\nname: evil\nversion: 0.1.0\n" as &[u8],
        ),
        ("evil/../../../outside.yaml", b"kind: Secret\n"),
    ]);
    std::fs::write(&evil, enc).expect("write archive");
    let err = render_chart(&chart, &RenderOptions::default()).expect_err("refused");
    let msg = err.to_string();
    assert!(msg.contains("charts/evil-0.1.0.tgz"), "{msg}");
    assert!(
        msg.contains("refusing to unpack outside the chart"),
        "{msg}"
    );
    // A corrupt archive.
    std::fs::write(&evil, b"not gzip").expect("write archive");
    let msg = render_chart(&chart, &RenderOptions::default())
        .expect_err("refused")
        .to_string();
    assert!(
        msg.ends_with("evil-0.1.0.tgz: not a gzipped archive"),
        "{msg}"
    );
}

/// A gzip'd tar with raw entry names (the tar crate refuses to write `..`
/// through its path setters, so names go straight into the header).
fn gzip_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(enc);
    for (name, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    b.into_inner().expect("tar").finish().expect("gzip")
}
