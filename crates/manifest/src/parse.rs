//! Parsing multi-document YAML (or JSON) into [`Manifest`]s.

use serde_json::{Map, Number, Value};

use crate::{Manifest, Origin};

/// Why a file could not be read as Kubernetes manifests. `Display` starts with
/// `FILE:LINE:COL:` (or `FILE:LINE:`) so editors and people can jump to the spot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text is not valid YAML/JSON.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// File name as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A document parsed but is not a Kubernetes object.
    #[error("{file}:{line}: {message}")]
    NotAnObject {
        /// File name as given.
        file: String,
        /// 1-based line of the document.
        line: usize,
        /// What is wrong (missing apiVersion, kind, not a mapping, ...).
        message: String,
    },
}

impl ParseError {
    /// The 1-based line the error points at.
    pub fn line(&self) -> usize {
        match self {
            ParseError::Syntax { line, .. } | ParseError::NotAnObject { line, .. } => *line,
        }
    }
}

/// One document of a YAML stream: its text and the 1-based line it starts on.
struct Chunk<'a> {
    text: &'a str,
    first_line: usize,
}

/// Splits a YAML stream at `---` document markers (and `...` end markers) that start a
/// line. Block scalars cannot hold such a line at column 0 (their content is indented),
/// so a line-based split is exact for the documents Kubernetes users write.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (line_index, line) in text.split_inclusive('\n').enumerate() {
        let line_no = line_index + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_start_marker = bare == "---"
            || bare.starts_with("--- ")
            || bare.starts_with("---\t")
            || bare.starts_with("--- #");
        let is_end_marker = bare == "..." || bare.starts_with("... ");
        if is_start_marker || is_end_marker {
            chunks.push(Chunk {
                text: &text[start..offset],
                first_line: start_line,
            });
            if is_start_marker {
                // Content may follow the marker on the same line (`--- {a: 1}`); keep it
                // by starting the next chunk right after the three dashes.
                start = offset + 3;
                start_line = line_no;
            } else {
                start = offset + line.len();
                start_line = line_no + 1;
            }
        }
        offset += line.len();
    }
    chunks.push(Chunk {
        text: &text[start..],
        first_line: start_line,
    });
    chunks
}

fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // Kubernetes YAML is YAML 1.1-flavoured: `0755` is octal, as go-yaml reads it.
    options.legacy_octal_numbers = true;
    options
}

/// Parses one YAML (or JSON) document into a JSON value, with the same number and
/// boolean semantics as [`parse_documents`]. `file` is only used in error messages.
pub fn parse_yaml_value(text: &str, file: &str) -> Result<Value, ParseError> {
    parse_chunk(text, file, 1)
}

fn parse_chunk(text: &str, file: &str, first_line: usize) -> Result<Value, ParseError> {
    let value: Value =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|err| {
            let (line, column) = err
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((1, 1));
            ParseError::Syntax {
                file: file.to_string(),
                line: first_line + line.saturating_sub(1),
                column: column.max(1),
                message: clean_message(&err.without_snippet().to_string()),
            }
        })?;
    Ok(normalize_numbers(value))
}

/// serde-saphyr prefixes or suffixes its messages with the position; we print our own.
fn clean_message(raw: &str) -> String {
    let mut msg = raw.lines().next().unwrap_or(raw).trim();
    msg = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some((_, after)) = rest.split_once(": ")
    {
        msg = after;
    }
    if let Some(idx) = msg.rfind(" at line ") {
        msg = &msg[..idx];
    }
    msg.to_string()
}

/// Go reads YAML numbers into float64 when they are not integers and prints float64
/// values without a fraction when they are integral; after the round trip Kubernetes
/// sees `1.0` as `1`. Mirror that so comparisons with the reference tools agree.
fn normalize_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) => {
            if n.is_f64()
                && let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                return Value::Number(Number::from(f as i64));
            }
            Value::Number(n)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, normalize_numbers(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

fn first_content_line(chunk: &Chunk<'_>) -> usize {
    let skipped = chunk
        .text
        .lines()
        .take_while(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        })
        .count();
    chunk.first_line + skipped
}

/// Parses a YAML stream or a JSON document into Kubernetes objects.
///
/// Empty documents are skipped; `kind: List` (and `*List` kinds with `items`) are
/// expanded into their items; every object must be a mapping with `apiVersion` and
/// `kind`. `file` is used in origins and error messages.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Manifest>, ParseError> {
    let mut manifests = Vec::new();
    for chunk in split_documents(text) {
        if chunk
            .text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let value = parse_chunk(chunk.text, file, chunk.first_line)?;
        let line = first_content_line(&chunk);
        push_objects(value, file, line, &mut manifests)?;
    }
    Ok(manifests)
}

fn push_objects(
    value: Value,
    file: &str,
    line: usize,
    out: &mut Vec<Manifest>,
) -> Result<(), ParseError> {
    let not_object = |message: String| ParseError::NotAnObject {
        file: file.to_string(),
        line,
        message,
    };
    let map = match value {
        Value::Null => return Ok(()),
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err(not_object(
                "document is a list, expected a Kubernetes object (a mapping with apiVersion and kind)"
                    .to_string(),
            ));
        }
        other => {
            return Err(not_object(format!(
                "document is a {}, expected a Kubernetes object (a mapping with apiVersion and kind)",
                json_type_name(&other)
            )));
        }
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind.is_empty() {
        return Err(not_object("object has no kind".to_string()));
    }
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version.is_empty() {
        return Err(not_object(format!(
            "object of kind {kind} has no apiVersion"
        )));
    }
    if kind.ends_with("List")
        && let Some(Value::Array(_)) = map.get("items")
    {
        let Some(Value::Array(items)) = map.get("items").cloned() else {
            return Ok(());
        };
        for item in items {
            push_objects(item, file, line, out)?;
        }
        return Ok(());
    }
    out.push(Manifest {
        object: Value::Object(map),
        origin: Origin {
            file: file.to_string(),
            line,
        },
    });
    Ok(())
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multi_document_with_origins() {
        let text = "# leading comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\n---\n# c\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n...\n";
        let docs = parse_documents(text, "x.yaml").expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].origin.line, 2);
        assert_eq!(docs[1].origin.line, 9);
        assert_eq!(docs[1].kind(), "Service");
    }

    #[test]
    fn yaml_11_scalars_as_kubernetes_reads_them() {
        let v = parse_yaml_value(
            "a: yes\nb: off\nc: 0755\nd: 0x1F\ne: 1.0\nf: 1.5\ng: '0755'\nh: 2024-01-01\ni: ~\nj: 1e3\n",
            "f",
        )
        .expect("parses");
        assert_eq!(
            v,
            json!({"a": true, "b": false, "c": 493, "d": 31, "e": 1, "f": 1.5, "g": "0755",
                   "h": "2024-01-01", "i": null, "j": 1000})
        );
    }

    #[test]
    fn syntax_error_points_at_file_line_column() {
        let text =
            "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n  bad: indent\n";
        let err = parse_documents(text, "apps/x.yaml").expect_err("must fail");
        let shown = err.to_string();
        assert!(shown.starts_with("apps/x.yaml:6:"), "{shown}");
        assert_eq!(err.line(), 6);
    }

    #[test]
    fn document_without_kind_is_refused() {
        let err = parse_documents("apiVersion: v1\nmetadata: {name: x}\n", "a.yaml")
            .expect_err("must fail");
        assert_eq!(err.to_string(), "a.yaml:1: object has no kind");
        let err = parse_documents("- a\n- b\n", "l.yaml").expect_err("must fail");
        assert!(err.to_string().contains("document is a list"));
        let err = parse_documents("just text\n", "t.yaml").expect_err("must fail");
        assert!(err.to_string().contains("document is a string"));
    }

    #[test]
    fn list_kinds_expand() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}]}"#;
        let docs = parse_documents(text, "l.json").expect("parses");
        assert_eq!(
            docs.iter().map(|m| m.name()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn content_on_marker_line() {
        let docs = parse_documents(
            "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: z}}\n",
            "m.yaml",
        )
        .expect("parses");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].name(), "z");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err =
            parse_documents("apiVersion: v1\nkind: A\nkind: B\n", "d.yaml").expect_err("must fail");
        assert!(err.to_string().starts_with("d.yaml:3:"), "{err}");
    }
}
