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
        Ok(Value::from(to_toml(&value_to_json(&a[0]))))
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
    ferrocd_manifest::parse_yaml_value(text, "fromYaml")
        .map(crate::values::floatify)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))
}

/// TOML as Helm's `toToml` writes it: scalars first, then tables, keys sorted.
fn to_toml(v: &Json) -> String {
    let mut out = String::new();
    if let Json::Object(m) = v {
        toml_table(&mut out, m, "");
    }
    out
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

fn toml_scalar(v: &Json) -> String {
    match v {
        Json::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_scalar).collect::<Vec<_>>().join(", ")
        ),
        Json::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", f as i64)
                } else {
                    format!("{f}")
                }
            } else {
                n.to_string()
            }
        }
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

fn toml_table(out: &mut String, m: &serde_json::Map<String, Json>, prefix: &str) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for k in &keys {
        let v = &m[*k];
        if !v.is_object() && !v.is_null() {
            out.push_str(&format!("{} = {}\n", toml_key(k), toml_scalar(v)));
        }
    }
    for k in &keys {
        if let Json::Object(sub) = &m[*k] {
            let name = if prefix.is_empty() {
                toml_key(k)
            } else {
                format!("{prefix}.{}", toml_key(k))
            };
            out.push_str(&format!("\n[{name}]\n"));
            toml_table(out, sub, &name);
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
            "a = 1\n\n[s]\nb = \"x\"\n"
        );
    }
}
