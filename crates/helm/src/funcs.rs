//! Helm's own template functions on top of Sprig: `include`, `tpl`,
//! `required`, `fail`, `toYaml`, `fromYaml`, `fromYamlArray`, `toJson`,
//! `fromJson`, `fromJsonArray`, `toToml`, `lookup`.

use ferrocd_gotmpl::{FuncError, FuncMap, Map, Value};
use serde_json::Value as Json;

use crate::convert::{json_to_value, value_to_json};
use crate::yaml::to_yaml;

/// Marks messages from `required` and `fail`, which Helm prints without
/// the template error prefix.
pub(crate) const ERR_START: &str = "HELM_ERR_START";
/// End marker of a `required`/`fail` message.
pub(crate) const ERR_END: &str = "HELM_ERR_END";

/// Sprig plus Helm's functions.
pub fn helm_funcs() -> FuncMap {
    let mut f = crate::sprig::funcs();
    f.insert("required", |a| {
        FuncError::check_arity(a, 2)?;
        let msg = match &a[0] {
            Value::String(s) => s.to_string(),
            other => other.type_name(),
        };
        match &a[1] {
            Value::Nil => Err(FuncError::msg(format!("{ERR_START}{msg}{ERR_END}"))),
            Value::String(s) if s.is_empty() => {
                Err(FuncError::msg(format!("{ERR_START}{msg}{ERR_END}")))
            }
            v => Ok(v.clone()),
        }
    });
    f.insert("fail", |a| {
        FuncError::check_arity(a, 1)?;
        let msg = match &a[0] {
            Value::String(s) => s.to_string(),
            other => ferrocd_gotmpl::sprint(std::slice::from_ref(other)),
        };
        Err(FuncError::msg(format!("{ERR_START}{msg}{ERR_END}")))
    });
    f.insert("toYaml", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(to_yaml(&a[0])))
    });
    f.insert("mustToYaml", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(to_yaml(&a[0])))
    });
    f.insert("toYamlPretty", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(to_yaml(&a[0])))
    });
    f.insert("fromYaml", |a| {
        FuncError::check_arity(a, 1)?;
        let text = text_arg(&a[0]);
        Ok(match parse_yaml(&text) {
            Ok(Json::Object(m)) => json_to_value(&Json::Object(m)),
            Ok(Json::Null) => Value::Map(Map::new()),
            Ok(_) => error_map("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal into Go value of type map[string]interface {}"),
            Err(e) => error_map(&e),
        })
    });
    f.insert("fromYamlArray", |a| {
        FuncError::check_arity(a, 1)?;
        let text = text_arg(&a[0]);
        Ok(match parse_yaml(&text) {
            Ok(Json::Array(items)) => json_to_value(&Json::Array(items)),
            Ok(Json::Null) => Value::list([]),
            Ok(_) => Value::list([Value::from("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}")]),
            Err(e) => Value::list([Value::from(e)]),
        })
    });
    f.insert("fromJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(match serde_json::from_str::<Json>(&text_arg(&a[0])) {
            Ok(Json::Object(m)) => json_to_value(&Json::Object(m)),
            Ok(_) => {
                error_map("json: cannot unmarshal into Go value of type map[string]interface {}")
            }
            Err(e) => error_map(&e.to_string()),
        })
    });
    f.insert("fromJsonArray", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(match serde_json::from_str::<Json>(&text_arg(&a[0])) {
            Ok(Json::Array(items)) => json_to_value(&Json::Array(items)),
            Ok(_) => Value::list([Value::from(
                "json: cannot unmarshal object into Go value of type []interface {}",
            )]),
            Err(e) => Value::list([Value::from(e.to_string())]),
        })
    });
    f.insert("toToml", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(to_toml(&toml_json(&a[0], 0))))
    });
    f.insert("lookup", |a| {
        FuncError::check_arity(a, 4)?;
        Ok(Value::Map(Map::new()))
    });
    f.insert_with_context("include", |ctx, a| {
        FuncError::check_arity(a, 2)?;
        let name = match &a[0] {
            Value::String(s) => s.to_string(),
            other => {
                return Err(FuncError::WrongType {
                    expected: "string".into(),
                    got: other.type_name(),
                });
            }
        };
        ctx.execute(&name, &a[1])
            .map(Value::from)
            .map_err(|e| FuncError::msg(e.to_string()))
    });
    f.insert_with_context("tpl", |ctx, a| {
        FuncError::check_arity(a, 2)?;
        let text = match &a[0] {
            Value::String(s) => s.to_string(),
            other => {
                return Err(FuncError::WrongType {
                    expected: "string".into(),
                    got: other.type_name(),
                });
            }
        };
        let mut set = ctx.template_set().clone();
        let name = ctx.current_template().to_string();
        set.parse(&name, &text)
            .map_err(|e| FuncError::msg(e.to_string()))?;
        ctx.execute_in(&set, &name, &a[1], None)
            .map(|s| Value::from(s.replace("<no value>", "")))
            .map_err(|e| FuncError::msg(e.to_string()))
    });
    f
}

fn text_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => ferrocd_gotmpl::sprint(std::slice::from_ref(other)),
    }
}

fn error_map(msg: &str) -> Value {
    Value::map([("Error", Value::from(msg))])
}

fn parse_yaml(text: &str) -> Result<Json, String> {
    if text.trim().is_empty() {
        return Ok(Json::Null);
    }
    crate::go_yaml::parse(text, "fromYaml")
        .map(crate::values::floatify)
        .map_err(|e| match e {
            crate::go_yaml::GoYamlError::Syntax(m)
            | crate::go_yaml::GoYamlError::Unsupported(m) => {
                format!("error converting YAML to JSON: {m}")
            }
        })
}

/// TOML as Helm's `toToml` writes it: in every table, plain keys first and
/// then sub-tables and arrays of tables, each group sorted by key; nested
/// content indented two spaces per level; a blank line before every top-level
/// table header (but not at the very start); floats as Go's shortest `%g` with
/// `.0` added when it has neither a point nor an exponent; nulls left out.
fn to_toml(v: &Json) -> String {
    let mut out = String::new();
    if let Json::Object(m) = v {
        toml_table(&mut out, m, "", 0);
    }
    out
}

/// Values as JSON for [`to_toml`], keeping float64 values floats (TOML tells
/// `3.0` from `3`, unlike JSON output).
fn toml_json(v: &Value, depth: usize) -> Json {
    match v {
        Value::Float64(f) if depth < 200 => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::List(l) if depth < 200 => {
            Json::Array(l.iter().map(|x| toml_json(x, depth + 1)).collect())
        }
        Value::Map(m) if depth < 200 => Json::Object(
            m.entries()
                .into_iter()
                .map(|(k, x)| (k, toml_json(&x, depth + 1)))
                .collect(),
        ),
        other => value_to_json(other),
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_string(k)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_float(f: f64) -> String {
    let text = ferrocd_gotmpl::sprintf("%v", &[Value::Float64(f)]);
    if text.contains(['.', 'e', 'n', 'N', 'I']) {
        text
    } else {
        format!("{text}.0")
    }
}

fn toml_scalar(v: &Json) -> String {
    match v {
        Json::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_scalar).collect::<Vec<_>>().join(", ")
        ),
        Json::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(f) => toml_float(f),
            None => n.to_string(),
        },
        Json::String(s) => toml_string(s),
        Json::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{} = {}", toml_key(k), toml_scalar(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Json::Null => "\"\"".into(),
        other => other.to_string(),
    }
}

/// An array whose every element is a table: written as `[[name]]` blocks.
fn is_table_array(v: &Json) -> bool {
    matches!(v, Json::Array(a) if !a.is_empty() && a.iter().all(Json::is_object))
}

fn toml_header(out: &mut String, depth: usize, header: &str) {
    if depth == 0 && !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&"  ".repeat(depth));
    out.push_str(header);
    out.push('\n');
}

fn toml_table(out: &mut String, m: &serde_json::Map<String, Json>, prefix: &str, depth: usize) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let indent = "  ".repeat(depth);
    for k in &keys {
        let v = &m[*k];
        if !v.is_object() && !v.is_null() && !is_table_array(v) {
            out.push_str(&format!("{indent}{} = {}\n", toml_key(k), toml_scalar(v)));
        }
    }
    for k in &keys {
        let name = if prefix.is_empty() {
            toml_key(k)
        } else {
            format!("{prefix}.{}", toml_key(k))
        };
        match &m[*k] {
            Json::Object(sub) => {
                toml_header(out, depth, &format!("[{name}]"));
                toml_table(out, sub, &name, depth + 1);
            }
            Json::Array(items) if is_table_array(&m[*k]) => {
                for item in items {
                    if let Json::Object(sub) = item {
                        toml_header(out, depth, &format!("[[{name}]]"));
                        toml_table(out, sub, &name, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocd_gotmpl::{ExecOptions, MissingKey, Template};

    fn run(src: &str, data: Value) -> Result<String, String> {
        let funcs = helm_funcs();
        let mut t = Template::with_funcs("c", &funcs);
        t.parse(
            "_h.tpl",
            r#"{{ define "name" }}{{ .name | default "mlflow" }}{{ end }}"#,
        )
        .map_err(|e| e.to_string())?;
        t.parse("t", src).map_err(|e| e.to_string())?;
        let opts = ExecOptions {
            missing_key: MissingKey::Zero,
            ..ExecOptions::default()
        };
        t.execute("t", &data, &funcs, &opts)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn include_tpl_required() {
        let data = Value::map([
            ("name", Value::from("airflow")),
            ("t", Value::from("{{ .name }}-web")),
        ]);
        assert_eq!(
            run(r#"{{ include "name" . | upper }}"#, data.clone()).unwrap(),
            "AIRFLOW"
        );
        assert_eq!(
            run(r#"{{ tpl .t . }}"#, data.clone()).unwrap(),
            "airflow-web"
        );
        let err = run(r#"{{ required "image.tag is required" .missing }}"#, data).unwrap_err();
        assert!(
            err.contains("HELM_ERR_STARTimage.tag is requiredHELM_ERR_END"),
            "{err}"
        );
    }

    #[test]
    fn yaml_json_roundtrips() {
        let d = Value::map([
            ("y", Value::from("a: 1\nb: [x, z]\n")),
            ("j", Value::from(r#"{"gpu": 2}"#)),
        ]);
        assert_eq!(
            run(
                r#"{{ (fromYaml .y).a }} {{ index (fromYaml .y).b 1 }} {{ (fromJson .j).gpu }}"#,
                d.clone()
            )
            .unwrap(),
            "1 z 2"
        );
        assert!(
            run(r#"{{ fromYaml "a: [" | toJson }}"#, d.clone())
                .unwrap()
                .contains("Error")
        );
        assert_eq!(
            run(r#"{{ fromYamlArray "- 1\n- b" | toJson }}"#, d.clone()).unwrap(),
            "[1,\"b\"]"
        );
        assert_eq!(
            run(r#"{{ dict "a" 1 "s" (dict "b" "x") | toToml }}"#, d).unwrap(),
            "a = 1\n\n[s]\n  b = \"x\"\n"
        );
    }

    #[test]
    fn to_toml_indents_tables_and_formats_floats_like_helm() {
        let v = serde_json::json!({
            "a": {"b": 1, "c": {"d": 2}},
            "z": {"y": 1},
        });
        assert_eq!(
            to_toml(&v),
            "[a]\n  b = 1\n  [a.c]\n    d = 2\n\n[z]\n  y = 1\n"
        );
        let v = serde_json::json!({
            "arr": [{"x": 1, "in": {"q": 1}}, {"x": 2}],
            "k": 1,
            "str": ["a", "b"],
        });
        assert_eq!(
            to_toml(&v),
            "k = 1\nstr = [\"a\", \"b\"]\n\n[[arr]]\n  x = 1\n  [arr.in]\n    q = 1\n\n[[arr]]\n  x = 2\n"
        );
        let v = serde_json::json!({
            "m": 1000000.0, "s": 0.00001, "h": 123456.0, "neg": -3.0, "b": 2.5,
            "t": "multi\nline\ttab \"q\"", "n": null, "e": {},
        });
        assert_eq!(
            to_toml(&v),
            "b = 2.5\nh = 123456.0\nm = 1e+06\nneg = -3.0\ns = 1e-05\nt = \"multi\\nline\\ttab \\\"q\\\"\"\n\n[e]\n"
        );
        assert_eq!(to_toml(&serde_json::json!({})), "");
    }
}
