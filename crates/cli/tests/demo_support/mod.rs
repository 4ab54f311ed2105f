//! Starting `ferrocd demo` from a test and reading what it prints (shared by the demo and
//! browser tests).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped (the demo, an OpenID Connect provider).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ferrocd demo` in `dir` (any free port, `--ready-timeout ready_timeout`) and
/// returns it with its output up to the `ready:` (or `not ready:`) line. The CLI login the
/// demo writes goes to `dir`, never to the real home.
pub fn start_demo(dir: &Path, ready_timeout: Duration) -> (Killed, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrocd"))
        .args(["demo", "--port", "0", "--ready-timeout"])
        .arg(ready_timeout.as_secs().to_string())
        .arg("--dir")
        .arg(dir)
        .env("FERROCD_CONFIG", dir.join("ferrocd-config.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferrocd demo");
    let stdout = child.stdout.take().expect("stdout");
    let demo = Killed(child);
    // Keep reading for the demo's whole life: it keeps printing after it is ready, and
    // keeps being drained after the test stopped listening.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !lines
        .iter()
        .any(|l: &String| l.starts_with("ready:") || l.starts_with("not ready:"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("demo output so far: {lines:#?}"),
        }
    }
    (demo, lines)
}
