//! `configMapGenerator` and `secretGenerator`: building ConfigMaps and Secrets from
//! literals, files and env files, and kustomize's content-hash name suffix.

use std::path::Path;

use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::KustomizeError;
use crate::kustomization::{Generator, GeneratorOptions};
use crate::loader::Loader;
use crate::resource::{Behavior, Resource};

/// Whether a generator makes a ConfigMap or a Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeneratedKind {
    ConfigMap,
    Secret,
}

fn invalid(file: &Path, message: String) -> KustomizeError {
    KustomizeError::Invalid {
        path: file.to_path_buf(),
        message,
    }
}

/// Strips one pair of matching surrounding quotes.
fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Key-value pairs of an env file.
pub(crate) fn parse_env(text: &str, file: &Path) -> Result<Vec<(String, String)>, KustomizeError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.split_once('=') {
            Some((k, v)) => {
                let key = k.trim();
                if key.is_empty() || key.contains(char::is_whitespace) {
                    return Err(invalid(
                        file,
                        format!("line {}: invalid env key `{key}`", i + 1),
                    ));
                }
                out.push((key.to_string(), v.to_string()));
            }
            None => {
                let key = trimmed.trim();
                if let Ok(v) = std::env::var(key) {
                    out.push((key.to_string(), v));
                }
            }
        }
    }
    Ok(out)
}

/// A data entry: text goes to `data`, other bytes to `binaryData`.
enum Entry {
    Text(String),
    Binary(Vec<u8>),
}

fn collect(
    gen_: &Generator,
    loader: &Loader,
    file: &Path,
) -> Result<Vec<(String, Entry)>, KustomizeError> {
    let mut pairs: Vec<(String, Entry)> = Vec::new();
    let mut envs = gen_.envs.clone();
    if let Some(e) = &gen_.env {
        envs.push(e.clone());
    }
    for env in &envs {
        let text = loader.read_string(env)?;
        for (k, v) in parse_env(&text, &loader.resolve(env)?)? {
            pairs.push((k, Entry::Text(v)));
        }
    }
    for lit in &gen_.literals {
        let Some((k, v)) = lit.split_once('=') else {
            return Err(invalid(
                file,
                format!("literal source `{lit}` must be key=value"),
            ));
        };
        pairs.push((k.to_string(), Entry::Text(unquote(v).to_string())));
    }
    for src in &gen_.files {
        let (key, path) = match src.split_once('=') {
            Some((k, p)) => (k.to_string(), p),
            None => {
                let base = Path::new(src)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (base, src.as_str())
            }
        };
        let bytes = loader.read_bytes(path)?;
        let entry = match String::from_utf8(bytes) {
            Ok(s) => Entry::Text(s),
            Err(e) => Entry::Binary(e.into_bytes()),
        };
        pairs.push((key, entry));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.clone()) {
            return Err(invalid(
                file,
                format!(
                    "configmap/secret {}: duplicate key `{k}`",
                    gen_.name.as_deref().unwrap_or("")
                ),
            ));
        }
    }
    Ok(pairs)
}

/// Builds one generated object.
pub(crate) fn generate(
    gen_: &Generator,
    kind: GeneratedKind,
    global: Option<&GeneratorOptions>,
    loader: &Loader,
    file: &Path,
) -> Result<Resource, KustomizeError> {
    let name = gen_
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(file, "a generator needs a name".into()))?;
    let pairs = collect(gen_, loader, file)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, e) in pairs {
        match (kind, e) {
            (GeneratedKind::ConfigMap, Entry::Text(s)) => {
                data.insert(k, Value::String(s));
            }
            (GeneratedKind::ConfigMap, Entry::Binary(b)) => {
                binary.insert(k, Value::String(b64.encode(b)));
            }
            (GeneratedKind::Secret, Entry::Text(s)) => {
                data.insert(k, Value::String(wrapped_base64(s.as_bytes())));
            }
            (GeneratedKind::Secret, Entry::Binary(b)) => {
                data.insert(k, Value::String(wrapped_base64(&b)));
            }
        }
    }
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(name));
    if let Some(ns) = gen_.namespace.as_deref().filter(|n| !n.is_empty()) {
        meta.insert("namespace".into(), Value::String(ns.to_string()));
    }
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut disable_hash = false;
    let mut immutable = false;
    for opts in [global, gen_.options.as_ref()].into_iter().flatten() {
        for (k, v) in &opts.labels {
            labels.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, v) in &opts.annotations {
            annotations.insert(k.clone(), Value::String(v.clone()));
        }
        if let Some(d) = opts.disable_name_suffix_hash {
            disable_hash = d;
        }
        if let Some(i) = opts.immutable {
            immutable = i;
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert(
        "kind".into(),
        Value::String(
            match kind {
                GeneratedKind::ConfigMap => "ConfigMap",
                GeneratedKind::Secret => "Secret",
            }
            .into(),
        ),
    );
    obj.insert("metadata".into(), Value::Object(meta));
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if kind == GeneratedKind::Secret {
        let t = gen_
            .type_
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Opaque".into());
        obj.insert("type".into(), Value::String(t));
    }
    if immutable {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut res = Resource::new(Value::Object(obj));
    res.needs_hash = !disable_hash;
    res.behavior = match gen_.behavior.as_deref() {
        None | Some("") | Some("create") => Behavior::Create,
        Some("merge") => Behavior::Merge,
        Some("replace") => Behavior::Replace,
        Some(other) => {
            return Err(invalid(
                file,
                format!("unknown generator behavior `{other}`"),
            ));
        }
    };
    Ok(res)
}

/// Base64 as kustomize writes Secret data: values longer than 70 characters are broken
/// into 70-character lines, each ending in a newline.
fn wrapped_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() <= LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Writes a JSON string the way Go's `encoding/json` does (HTML-safe escaping).
fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a value as Go's `json.Marshal` of a `map[string]interface{}` would: sorted keys.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                if let Some(v) = m.get(*k) {
                    go_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(v, out);
            }
            out.push(']');
        }
        Value::String(s) => go_json_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

/// Kustomize's content hash of a ConfigMap or Secret (10 characters).
pub(crate) fn content_hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let data = |field: &str| -> Value {
        match obj.get(field) {
            Some(Value::Object(m)) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Value::String(crate::kustomization::scalar_string(v)),
                        )
                    })
                    .collect(),
            ),
            _ => Value::Object(Map::new()),
        }
    };
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(kind.to_string()));
    m.insert("name".into(), Value::String(String::new()));
    m.insert("data".into(), data("data"));
    let encoded = match kind {
        "ConfigMap" => {
            if obj
                .get("binaryData")
                .and_then(Value::as_object)
                .is_some_and(|b| !b.is_empty())
            {
                m.insert("binaryData".into(), data("binaryData"));
            }
            Value::Object(m)
        }
        "Secret" => {
            let t = obj.get("type").and_then(Value::as_str).unwrap_or("");
            m.insert("type".into(), Value::String(t.to_string()));
            Value::Object(m)
        }
        _ => obj.clone(),
    };
    let mut text = String::new();
    go_json(&encoded, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    let hex = hex::encode(digest);
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_matches_kustomize_for_known_inputs() {
        // Values checked against `kubectl kustomize` (v5.7).
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
        assert_eq!(content_hash(&cm), "h29d89cmmt");
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": "p-cfg"}, "data": {"a": "1", "b": "<x&y>"}});
        assert_eq!(content_hash(&cm), "cchh4fmt2g");
        let s = json!({"kind": "Secret", "type": "Opaque", "metadata": {"name": "p-sec"}, "data": {"pw": "aHVudGVyMg=="}});
        assert_eq!(content_hash(&s), "9b766bfc5b");
    }

    #[test]
    fn long_secret_values_wrap_at_70() {
        assert_eq!(wrapped_base64(b"short"), "c2hvcnQ=");
        // As `kubectl kustomize` prints it for 52 bytes of `x`.
        let long = wrapped_base64(&[b'x'; 52]);
        assert_eq!(long, format!("{}eA\n==\n", "eHh4".repeat(17)));
    }

    #[test]
    fn env_files_parse() {
        let pairs = parse_env("# c\nA=1\n\n B=x=y\r\n", Path::new("e.env")).unwrap();
        assert_eq!(
            pairs,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "x=y".to_string())
            ]
        );
        assert!(parse_env("bad key=1\n", Path::new("e.env")).is_err());
    }

    #[test]
    fn literal_quotes_are_stripped() {
        assert_eq!(unquote("\"a b\""), "a b");
        assert_eq!(unquote("'x'"), "x");
        assert_eq!(unquote("\"x'"), "\"x'");
    }
}
