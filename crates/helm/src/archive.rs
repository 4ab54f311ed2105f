//! Chart archives: a gzip'd tar holding one folder (`mlflow/Chart.yaml`,
//! `mlflow/templates/...`), as `helm package` writes them and Helm
//! repositories serve them. The first path component is the chart's folder
//! and is dropped; the rest is loaded exactly like a chart folder, with
//! `charts/` holding further folders or archives.
//!
//! An archive can never reach outside itself: entries with an absolute path or
//! a `..` component, and link entries, are refused with an error naming the
//! archive. Sizes are bounded (see [`MAX_ARCHIVE_SIZE`], [`MAX_FILE_SIZE`]) so
//! that a small download cannot unpack into gigabytes.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::chart::{Chart, Entry, from_entries};
use crate::error::HelmError;

/// The largest total unpacked size of one archive (Helm's default, 100 MiB).
pub const MAX_ARCHIVE_SIZE: u64 = 100 * 1024 * 1024;

/// The largest unpacked size of one file in an archive (Helm's default, 5 MiB).
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// Loads a chart from the bytes of a `.tgz` archive; `origin` names the
/// archive in messages (its path, or `charts/x.tgz` inside its parent).
pub fn load_archive(data: &[u8], origin: &Path) -> Result<Chart, HelmError> {
    let files = unpack(data, origin)?;
    let chart_name = files
        .first()
        .map(|(top, _, _)| top.clone())
        .unwrap_or_default();
    let dir = origin.join(&chart_name);
    let entries = files
        .into_iter()
        .map(|(_, name, data)| (name, Entry::Bytes(data)))
        .collect();
    from_entries(&dir, entries)
}

/// Unpacks a chart archive into the folder `dest` (created; it should be empty) and
/// returns `dest`: the chart's files land directly in it, without the archive's top
/// folder. Names were checked by [`unpack`], so nothing is written outside `dest`.
pub fn extract(data: &[u8], origin: &Path, dest: &Path) -> Result<std::path::PathBuf, HelmError> {
    let files = unpack(data, origin)?;
    let write_err = |path: &Path, source: std::io::Error| HelmError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dest).map_err(|e| write_err(dest, e))?;
    for (_, name, contents) in files {
        let path = dest.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        std::fs::write(&path, contents).map_err(|e| write_err(&path, e))?;
    }
    Ok(dest.to_path_buf())
}

fn bad(origin: &Path, message: impl Into<String>) -> HelmError {
    HelmError::Archive {
        archive: origin.to_path_buf(),
        message: message.into(),
    }
}

/// The regular files of the archive as `(top folder, path below it, data)`,
/// sorted by path.
pub fn unpack(data: &[u8], origin: &Path) -> Result<Vec<(String, String, Vec<u8>)>, HelmError> {
    if data.len() < 2 || data[0] != 0x1f || data[1] != 0x8b {
        return Err(bad(origin, "not a gzipped archive"));
    }
    let mut archive = tar::Archive::new(GzDecoder::new(data));
    let entries = archive
        .entries()
        .map_err(|e| bad(origin, format!("reading archive: {e}")))?;
    let mut out: Vec<(String, String, Vec<u8>)> = Vec::new();
    let mut total: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(origin, format!("reading archive: {e}")))?;
        let raw = entry
            .path_bytes()
            .into_owned()
            .into_iter()
            .map(|b| if b == b'\\' { b'/' } else { b })
            .collect::<Vec<u8>>();
        let name =
            String::from_utf8(raw).map_err(|_| bad(origin, "an entry name is not valid UTF-8"))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        check_name(&name, origin)?;
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(bad(
                origin,
                format!("entry {name:?} is a link; links are not allowed in chart archives"),
            ));
        }
        if !kind.is_file() {
            continue;
        }
        let trimmed = name.trim_start_matches("./");
        let Some((top, rest)) = trimmed.split_once('/') else {
            // A file beside the chart folder is not part of the chart.
            continue;
        };
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            continue;
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > MAX_FILE_SIZE {
            return Err(bad(
                origin,
                format!("entry {name:?} is larger than {MAX_FILE_SIZE} bytes"),
            ));
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut entry)
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(origin, format!("reading entry {name:?}: {e}")))?;
        total = total.saturating_add(data.len() as u64);
        if data.len() as u64 > MAX_FILE_SIZE || total > MAX_ARCHIVE_SIZE {
            return Err(bad(
                origin,
                format!("unpacked content is larger than {MAX_ARCHIVE_SIZE} bytes"),
            ));
        }
        out.push((top.to_string(), rest.to_string(), data));
    }
    if out.is_empty() {
        return Err(bad(origin, "no files in archive"));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Refuses names that are absolute or climb with `..`.
fn check_name(name: &str, origin: &Path) -> Result<(), HelmError> {
    let absolute = name.starts_with('/')
        || name
            .split('/')
            .next()
            .is_some_and(|first| first.len() == 2 && first.ends_with(':'));
    if absolute {
        return Err(bad(
            origin,
            format!("entry {name:?} has an absolute path; refusing to unpack outside the chart"),
        ));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(bad(
            origin,
            format!("entry {name:?} contains '..'; refusing to unpack outside the chart"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(enc);
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // set_path refuses `..`; write the raw name to test the loader.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    const CHART: &[u8] = b"apiVersion: v2\nname: triton\nversion: 0.3.1\n";

    #[test]
    fn loads_a_chart_and_drops_the_top_folder() {
        let data = tgz(&[
            ("triton/Chart.yaml", CHART),
            ("triton/values.yaml", b"replicas: 2\n"),
            ("triton/templates/svc.yaml", b"kind: Service\n"),
            ("triton/models/resnet.pbtxt", b"name: resnet\n"),
        ]);
        let chart = load_archive(&data, Path::new("triton-0.3.1.tgz")).unwrap();
        assert_eq!(chart.metadata.name, "triton");
        assert_eq!(chart.values["replicas"], serde_json::json!(2.0));
        assert_eq!(chart.templates[0].name, "templates/svc.yaml");
        assert_eq!(chart.files[0].name, "models/resnet.pbtxt");
    }

    #[test]
    fn subcharts_inside_an_archive_load_as_folders_and_archives() {
        let inner = tgz(&[(
            "redis/Chart.yaml",
            b"apiVersion: v2\nname: redis\nversion: 1.0.0\n",
        )]);
        let data = tgz(&[
            ("triton/Chart.yaml", CHART),
            (
                "triton/charts/metrics/Chart.yaml",
                b"apiVersion: v2\nname: metrics\nversion: 0.1.0\n",
            ),
            ("triton/charts/metrics/templates/sm.yaml", b"kind: X\n"),
            ("triton/charts/redis-1.0.0.tgz", &inner),
        ]);
        let chart = load_archive(&data, Path::new("t.tgz")).unwrap();
        let names: Vec<&str> = chart
            .dependencies
            .iter()
            .map(|d| d.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["metrics", "redis"]);
        assert_eq!(chart.dependencies[0].templates[0].name, "templates/sm.yaml");
    }

    #[test]
    fn entries_leaving_the_archive_are_refused() {
        for name in [
            "triton/../../etc/passwd",
            "/etc/passwd",
            "../triton/Chart.yaml",
        ] {
            let data = tgz(&[("triton/Chart.yaml", CHART), (name, b"x")]);
            let err = load_archive(&data, Path::new("evil-1.0.0.tgz"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("evil-1.0.0.tgz"), "{err}");
            assert!(err.contains("refusing to unpack outside"), "{err}");
        }
    }

    #[test]
    fn links_and_non_gzip_data_are_refused() {
        let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(enc);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "triton/values.yaml", "/etc/shadow")
            .unwrap();
        let data = b.into_inner().unwrap().finish().unwrap();
        let err = load_archive(&data, Path::new("l.tgz")).unwrap_err();
        assert!(err.to_string().contains("is a link"), "{err}");
        let err = load_archive(b"apiVersion: v2", Path::new("plain.tgz")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "chart archive plain.tgz: not a gzipped archive"
        );
    }

    #[test]
    fn extracts_without_the_top_folder() {
        let data = tgz(&[
            ("triton/Chart.yaml", CHART),
            ("triton/templates/svc.yaml", b"kind: Service\n"),
        ]);
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("chart");
        extract(&data, Path::new("t.tgz"), &dest).unwrap();
        assert_eq!(std::fs::read(dest.join("Chart.yaml")).unwrap(), CHART);
        assert!(dest.join("templates/svc.yaml").is_file());
        let evil = tgz(&[("triton/Chart.yaml", CHART), ("triton/../../x", b"x")]);
        assert!(extract(&evil, Path::new("e.tgz"), &tmp.path().join("e")).is_err());
        assert!(!tmp.path().join("x").exists());
    }

    #[test]
    fn oversized_files_are_refused() {
        let big = vec![b'a'; (MAX_FILE_SIZE + 1) as usize];
        let data = tgz(&[("triton/Chart.yaml", CHART), ("triton/blob.bin", &big)]);
        let err = load_archive(&data, Path::new("big.tgz")).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
