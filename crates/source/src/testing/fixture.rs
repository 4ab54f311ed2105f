//! Fixture repositories: shell scripts (`testdata/make_<scenario>.sh`) run by real `git`
//! in a fresh temporary directory, with a fixed identity and dates so that commit ids are
//! reproducible, and without the user's or system's Git configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The path of a fixture script of this crate (`testdata/<name>`), or `name` itself if it
/// is a path to an existing file (so other crates can bring their own scripts).
pub fn fixture_script(name: &str) -> PathBuf {
    let given = Path::new(name);
    if given.is_file() {
        return given.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Runs the fixture script `script` (see [`fixture_script`]) in a new temporary directory
/// and returns it. Panics with the script's output if it fails.
pub fn make_fixture(script: &str) -> TempDir {
    match try_make_fixture(script) {
        Ok(dir) => dir,
        Err(e) => panic!("fixture {script}: {e}"),
    }
}

/// Like [`make_fixture`], returning an error instead of panicking.
pub fn try_make_fixture(script: &str) -> std::io::Result<TempDir> {
    let path = fixture_script(script);
    let dir = tempfile::Builder::new()
        .prefix("ferrocd-fixture-")
        .tempdir()?;
    let output = git_env(Command::new("bash"))
        .arg(&path)
        .current_dir(dir.path())
        .output()?;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "{} failed ({}):\n{}{}",
            path.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(dir)
}

/// Runs `git args...` in `dir` with the fixture environment and returns its trimmed stdout.
/// Panics if git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_env(Command::new("git"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running git {args:?}: {e}"));
    assert!(
        output.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The full commit id of `rev` in the repository at `repo` (`rev^{commit}`).
pub fn rev_parse(repo: &Path, rev: &str) -> String {
    git(repo, &["rev-parse", &format!("{rev}^{{commit}}")])
}

fn git_env(mut cmd: Command) -> Command {
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Fixture Author")
        .env("GIT_AUTHOR_EMAIL", "author@ml-platform.example")
        .env("GIT_COMMITTER_NAME", "Fixture Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@ml-platform.example")
        .env("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    cmd
}
