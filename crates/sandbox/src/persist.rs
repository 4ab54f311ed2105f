//! Persistence with a data directory: a JSON snapshot of every object, written atomically
//! (temporary file + rename) shortly after changes, and loaded at start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::SandboxError;
use crate::store::Store;

/// Writes a file atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    let io = |source| SandboxError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The snapshot file in a data directory.
pub fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join("objects.json")
}

/// Writes the store's snapshot.
pub fn save(store: &Store, dir: &Path) -> Result<(), SandboxError> {
    let (rv, objects) = store.dump();
    let items: Vec<Value> = objects
        .into_iter()
        .map(|(r, o)| json!({"resource": r, "object": *o}))
        .collect();
    let doc = json!({"resourceVersion": rv, "objects": items});
    let bytes = serde_json::to_vec(&doc).map_err(|e| SandboxError::Snapshot {
        path: snapshot_path(dir),
        message: e.to_string(),
    })?;
    write_atomic(&snapshot_path(dir), &bytes)
}

/// Loads a snapshot into the store; returns whether one existed.
pub fn load(store: &Store, dir: &Path) -> Result<bool, SandboxError> {
    let path = snapshot_path(dir);
    if !path.exists() {
        return Ok(false);
    }
    let bytes = std::fs::read(&path).map_err(|source| SandboxError::Io {
        path: path.clone(),
        source,
    })?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| SandboxError::Snapshot {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let rv = doc["resourceVersion"].as_u64().unwrap_or(1);
    let objects = doc["objects"]
        .as_array()
        .ok_or_else(|| SandboxError::Snapshot {
            path: path.clone(),
            message: "field `objects` is not a list".into(),
        })?
        .iter()
        .filter_map(|e| Some((e["resource"].as_str()?.to_string(), e["object"].clone())))
        .collect();
    store.restore(rv, objects);
    Ok(true)
}

/// Saves the snapshot after changes, at most every `debounce`, until `shutdown`; then saves
/// once more.
pub async fn run(
    store: Arc<Store>,
    dir: PathBuf,
    debounce: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut changes = store.changes();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            r = changes.recv() => {
                if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    break;
                }
                tokio::time::sleep(debounce).await;
                changes = changes.resubscribe();
                if let Err(e) = save(&store, &dir) {
                    tracing::warn!(error = %e, "saving the sandbox snapshot failed");
                }
            }
        }
    }
    if let Err(e) = save(&store, &dir) {
        tracing::warn!(error = %e, "saving the sandbox snapshot failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_roundtrip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(8);
        s.put(
            "/configmaps",
            json!({"metadata": {"namespace": "ml", "name": "a"}, "data": {"k": "v"}}),
        );
        save(&s, dir.path()).expect("save");
        let t = Store::new(8);
        assert!(load(&t, dir.path()).expect("load"));
        let o = t.get("/configmaps", "ml", "a").expect("restored");
        assert_eq!(o["data"]["k"], "v");
        assert_eq!(t.current_rv(), s.current_rv());
        std::fs::write(snapshot_path(dir.path()), b"{not json").expect("write");
        assert!(load(&t, dir.path()).is_err());
    }
}
