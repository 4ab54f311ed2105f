//! Emitting objects as YAML (multi-document) or as a JSON list.

use serde_json::Value;

/// One object as a YAML document (no leading `---`), ending in a newline.
pub fn to_yaml_string(value: &Value) -> String {
    let mut out = serde_saphyr::to_string(value)
        .unwrap_or_else(|_| serde_json::to_string_pretty(value).unwrap_or_default());
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Objects as a multi-document YAML stream, each document introduced by `---`.
pub fn to_yaml_documents<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for value in values {
        out.push_str("---\n");
        out.push_str(&to_yaml_string(value));
    }
    out
}

/// Objects as a pretty-printed JSON list.
pub fn to_json_list<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let list: Vec<&Value> = values.into_iter().collect();
    let mut out = serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_documents;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_survive_a_round_trip() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "yes", "b": "0755", "c": "1.0", "d": "null", "e": "", "f": "on",
                     "g": "multi\nline\n", "h": "2024-01-01", "n": "y", "i": "12:30"}});
        let text = to_yaml_documents([&obj]);
        let back = parse_documents(&text, "rt.yaml").expect("parses back");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].object, obj);
    }
}
