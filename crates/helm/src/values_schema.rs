//! values.schema.json validation: the JSON Schema (draft-07) keywords chart
//! authors use — `type`, `required`, `properties`, `additionalProperties`,
//! `patternProperties`, `items`, `enum`, `const`, numeric and length bounds,
//! `pattern`, `uniqueItems`, `allOf`/`anyOf`/`oneOf`/`not`, `if`/`then`/`else`
//! and local `$ref`s — with the error wording Helm prints.

use serde_json::{Map, Value as Json};

use crate::chart::Chart;
use crate::error::HelmError;

/// One failed check at a JSON pointer; groups hold several nested failures.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// JSON pointer of the value (`/image/tag`, `` for the root).
    pub at: String,
    /// What is wrong (`got string, want integer`).
    pub message: String,
    /// Nested failures of a `validation failed` group.
    pub causes: Vec<SchemaError>,
}

impl SchemaError {
    fn new(at: &str, message: impl Into<String>) -> Self {
        SchemaError {
            at: at.to_string(),
            message: message.into(),
            causes: Vec::new(),
        }
    }

    fn write(&self, out: &mut String, depth: usize) {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&format!("- at '{}': {}\n", self.at, self.message));
        for c in &self.causes {
            c.write(out, depth + 1);
        }
    }
}

/// The JSON type name of a value, as the validator reports it.
fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Json) -> bool {
    match want {
        "integer" => v
            .as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.is_finite()),
        "number" => v.is_number(),
        other => other == json_type(v),
    }
}

/// A number the way Helm's messages print it (`70,000`, `1.5`).
fn number_text(f: f64) -> String {
    let neg = f < 0.0;
    let a = f.abs();
    let int = a.trunc() as u64;
    let mut digits = int.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    let frac = if a.fract() != 0.0 {
        let s = format!("{a}");
        s.split_once('.')
            .map(|(_, f)| format!(".{f}"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    format!("{}{digits}{grouped}{frac}", if neg { "-" } else { "" })
}

fn quoted(v: &Json) -> String {
    match v {
        Json::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn names(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn child(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

struct Validator<'a> {
    root: &'a Json,
    depth: usize,
}

impl<'a> Validator<'a> {
    fn resolve<'s>(root: &'s Json, reference: &str) -> Option<&'s Json> {
        let ptr = reference.strip_prefix('#')?;
        if ptr.is_empty() {
            return Some(root);
        }
        root.pointer(ptr)
    }

    /// Validates a property/item value, grouping several failures under it.
    fn nested(&mut self, schema: &Json, v: &Json, at: &str, out: &mut Vec<SchemaError>) {
        let mut errs = Vec::new();
        self.check(schema, v, at, &mut errs);
        if errs.len() > 1 {
            out.push(SchemaError {
                at: at.to_string(),
                message: "validation failed".into(),
                causes: errs,
            });
        } else {
            out.extend(errs);
        }
    }

    fn check(&mut self, schema: &Json, v: &Json, at: &str, out: &mut Vec<SchemaError>) {
        let s = match schema {
            Json::Bool(true) => return,
            Json::Bool(false) => {
                out.push(SchemaError::new(at, "false schema"));
                return;
            }
            Json::Object(s) => s,
            _ => return,
        };
        if self.depth > 64 {
            return;
        }
        if let Some(target) = s
            .get("$ref")
            .and_then(Json::as_str)
            .and_then(|r| Self::resolve(self.root, r))
        {
            self.depth += 1;
            self.check(target, v, at, out);
            self.depth -= 1;
        }
        if let Some(t) = s.get("type") {
            let wanted: Vec<&str> = match t {
                Json::String(one) => vec![one.as_str()],
                Json::Array(many) => many.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            if !wanted.is_empty() && !wanted.iter().any(|w| type_matches(w, v)) {
                out.push(SchemaError::new(
                    at,
                    format!("got {}, want {}", json_type(v), wanted.join(" or ")),
                ));
                return;
            }
        }
        if let Some(Json::Array(options)) = s.get("enum")
            && !options.iter().any(|o| json_equal(o, v))
        {
            let list: Vec<String> = options.iter().map(quoted).collect();
            let message = if list.len() == 1 {
                format!("value must be {}", list[0])
            } else {
                format!("value must be one of {}", list.join(", "))
            };
            out.push(SchemaError::new(at, message));
        }
        if let Some(c) = s.get("const")
            && !json_equal(c, v)
        {
            out.push(SchemaError::new(at, format!("value must be {}", quoted(c))));
        }
        match v {
            Json::Object(m) => self.check_object(s, m, at, out),
            Json::Array(items) => self.check_array(s, items, at, out),
            Json::String(text) => check_string(s, text, at, out),
            Json::Number(n) => check_number(s, n.as_f64().unwrap_or(0.0), at, out),
            _ => {}
        }
        self.check_combinators(s, v, at, out);
    }

    fn check_object(
        &mut self,
        s: &Map<String, Json>,
        m: &Map<String, Json>,
        at: &str,
        out: &mut Vec<SchemaError>,
    ) {
        if let Some(Json::Array(req)) = s.get("required") {
            let missing: Vec<String> = req
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| !m.contains_key(*k))
                .map(str::to_string)
                .collect();
            match missing.len() {
                0 => {}
                1 => out.push(SchemaError::new(
                    at,
                    format!("missing property {}", names(&missing)),
                )),
                _ => out.push(SchemaError::new(
                    at,
                    format!("missing properties {}", names(&missing)),
                )),
            }
        }
        for (bound, cmp) in [("minProperties", true), ("maxProperties", false)] {
            if let Some(n) = s.get(bound).and_then(Json::as_u64) {
                let len = m.len() as u64;
                if (cmp && len < n) || (!cmp && len > n) {
                    out.push(SchemaError::new(
                        at,
                        format!("{bound}: got {len}, want {n}"),
                    ));
                }
            }
        }
        let props = s.get("properties").and_then(Json::as_object);
        let patterns: Vec<(regex::Regex, &Json)> = s
            .get("patternProperties")
            .and_then(Json::as_object)
            .map(|p| {
                p.iter()
                    .filter_map(|(k, v)| regex::Regex::new(k).ok().map(|r| (r, v)))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(props) = props {
            for (key, sub) in props {
                if let Some(value) = m.get(key) {
                    self.nested(sub, value, &child(at, key), out);
                }
            }
        }
        let mut extra = Vec::new();
        for (key, value) in m {
            let mut matched = props.is_some_and(|p| p.contains_key(key));
            for (re, sub) in &patterns {
                if re.is_match(key) {
                    matched = true;
                    self.nested(sub, value, &child(at, key), out);
                }
            }
            if !matched {
                match s.get("additionalProperties") {
                    Some(Json::Bool(false)) => extra.push(key.clone()),
                    Some(sub @ Json::Object(_)) => {
                        self.nested(sub, value, &child(at, key), out);
                    }
                    _ => {}
                }
            }
        }
        if !extra.is_empty() {
            out.push(SchemaError::new(
                at,
                format!("additional properties {} not allowed", names(&extra)),
            ));
        }
    }

    fn check_array(
        &mut self,
        s: &Map<String, Json>,
        items: &[Json],
        at: &str,
        out: &mut Vec<SchemaError>,
    ) {
        for (bound, min) in [("minItems", true), ("maxItems", false)] {
            if let Some(n) = s.get(bound).and_then(Json::as_u64) {
                let len = items.len() as u64;
                if (min && len < n) || (!min && len > n) {
                    out.push(SchemaError::new(
                        at,
                        format!("{bound}: got {len}, want {n}"),
                    ));
                }
            }
        }
        if s.get("uniqueItems").and_then(Json::as_bool) == Some(true) {
            'outer: for i in 0..items.len() {
                for j in i + 1..items.len() {
                    if json_equal(&items[i], &items[j]) {
                        out.push(SchemaError::new(
                            at,
                            format!("items at {i} and {j} are equal"),
                        ));
                        break 'outer;
                    }
                }
            }
        }
        match s.get("items") {
            Some(Json::Array(tuple)) => {
                for (i, item) in items.iter().enumerate() {
                    let sub = tuple.get(i).or_else(|| s.get("additionalItems"));
                    if let Some(sub) = sub {
                        self.nested(sub, item, &child(at, &i.to_string()), out);
                    }
                }
            }
            Some(sub) => {
                for (i, item) in items.iter().enumerate() {
                    self.nested(sub, item, &child(at, &i.to_string()), out);
                }
            }
            None => {}
        }
    }

    fn passes(&mut self, schema: &Json, v: &Json, at: &str) -> Vec<SchemaError> {
        let mut errs = Vec::new();
        self.check(schema, v, at, &mut errs);
        errs
    }

    fn check_combinators(
        &mut self,
        s: &Map<String, Json>,
        v: &Json,
        at: &str,
        out: &mut Vec<SchemaError>,
    ) {
        if let Some(Json::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(sub, v, at, out);
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            let mut causes = Vec::new();
            let mut ok = false;
            for sub in any {
                let errs = self.passes(sub, v, at);
                ok |= errs.is_empty();
                causes.extend(errs);
            }
            if !ok {
                out.push(SchemaError {
                    at: at.to_string(),
                    message: "anyOf failed".into(),
                    causes,
                });
            }
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let mut matched = Vec::new();
            let mut causes = Vec::new();
            for (i, sub) in one.iter().enumerate() {
                let errs = self.passes(sub, v, at);
                if errs.is_empty() {
                    matched.push(i.to_string());
                }
                causes.extend(errs);
            }
            if matched.is_empty() {
                out.push(SchemaError {
                    at: at.to_string(),
                    message: "oneOf failed, none matched".into(),
                    causes,
                });
            } else if matched.len() > 1 {
                out.push(SchemaError::new(
                    at,
                    format!("oneOf failed, subschemas {} matched", matched.join(", ")),
                ));
            }
        }
        if let Some(not) = s.get("not")
            && self.passes(not, v, at).is_empty()
        {
            out.push(SchemaError::new(at, "not failed"));
        }
        if let Some(cond) = s.get("if") {
            let branch = if self.passes(cond, v, at).is_empty() {
                s.get("then")
            } else {
                s.get("else")
            };
            if let Some(b) = branch {
                self.check(b, v, at, out);
            }
        }
    }
}

fn check_string(s: &Map<String, Json>, text: &str, at: &str, out: &mut Vec<SchemaError>) {
    let len = text.chars().count() as u64;
    for (bound, min) in [("minLength", true), ("maxLength", false)] {
        if let Some(n) = s.get(bound).and_then(Json::as_u64)
            && ((min && len < n) || (!min && len > n))
        {
            out.push(SchemaError::new(
                at,
                format!("{bound}: got {len}, want {n}"),
            ));
        }
    }
    if let Some(p) = s.get("pattern").and_then(Json::as_str)
        && let Ok(re) = regex::Regex::new(p)
        && !re.is_match(text)
    {
        out.push(SchemaError::new(
            at,
            format!("'{text}' does not match pattern '{p}'"),
        ));
    }
}

/// A numeric keyword and the test a value must pass against its bound.
type NumericBound = (&'static str, fn(f64, f64) -> bool);

fn check_number(s: &Map<String, Json>, n: f64, at: &str, out: &mut Vec<SchemaError>) {
    let bounds: [NumericBound; 4] = [
        ("minimum", |n, b| n >= b),
        ("maximum", |n, b| n <= b),
        ("exclusiveMinimum", |n, b| n > b),
        ("exclusiveMaximum", |n, b| n < b),
    ];
    for (name, ok) in bounds {
        if let Some(b) = s.get(name).and_then(Json::as_f64)
            && !ok(n, b)
        {
            out.push(SchemaError::new(
                at,
                format!("{name}: got {}, want {}", number_text(n), number_text(b)),
            ));
        }
    }
    if let Some(m) = s.get("multipleOf").and_then(Json::as_f64)
        && m > 0.0
        && (n / m).fract().abs() > 1e-9
    {
        out.push(SchemaError::new(
            at,
            format!(
                "multipleOf: got {}, want {}",
                number_text(n),
                number_text(m)
            ),
        ));
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn json_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Validates `values` against one schema; the failures at the top level.
pub fn validate(schema: &Json, values: &Json) -> Vec<SchemaError> {
    let mut v = Validator {
        root: schema,
        depth: 0,
    };
    let mut out = Vec::new();
    v.check(schema, values, "", &mut out);
    out
}

fn collect(chart: &Chart, values: &Map<String, Json>, report: &mut String) {
    if let Some(schema) = &chart.schema {
        let errs = validate(schema, &Json::Object(values.clone()));
        if !errs.is_empty() {
            report.push_str(&format!("{}:\n", chart.metadata.name));
            for e in &errs {
                e.write(report, 0);
            }
        }
    }
    let empty = Map::new();
    for dep in &chart.dependencies {
        let sub = values
            .get(&dep.metadata.name)
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        collect(dep, sub, report);
    }
}

/// Validates the final values of a chart and its subcharts against their
/// values.schema.json files, failing like Helm with every violation listed.
pub fn validate_chart(chart: &Chart, values: &Map<String, Json>) -> Result<(), HelmError> {
    let mut report = String::new();
    collect(chart, values, &mut report);
    if report.is_empty() {
        Ok(())
    } else {
        Err(HelmError::Schema(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(schema: Json, v: Json) -> Vec<String> {
        let mut out = String::new();
        for e in validate(&schema, &v) {
            e.write(&mut out, 0);
        }
        out.lines().map(str::to_string).collect()
    }

    #[test]
    fn helm_wording() {
        let schema = json!({
            "type": "object",
            "required": ["image"],
            "properties": {
                "replicas": {"type": "integer", "minimum": 1},
                "port": {"type": "number", "exclusiveMaximum": 65536},
                "mode": {"enum": ["server", "batch"]},
                "image": {"type": "object", "additionalProperties": false,
                          "properties": {"repository": {"type": "string", "pattern": "^[a-z]+$"}}}
            }
        });
        assert_eq!(
            messages(
                schema.clone(),
                json!({"replicas": 0, "port": 70000, "mode": "x"})
            ),
            [
                "- at '': missing property 'image'",
                "- at '/replicas': minimum: got 0, want 1",
                "- at '/port': exclusiveMaximum: got 70,000, want 65,536",
                "- at '/mode': value must be one of 'server', 'batch'",
            ]
        );
        assert_eq!(
            messages(schema, json!({"image": {"repository": "A", "x": 1}})),
            [
                "- at '/image': validation failed",
                "  - at '/image/repository': 'A' does not match pattern '^[a-z]+$'",
                "  - at '/image': additional properties 'x' not allowed",
            ]
        );
    }

    #[test]
    fn integers_include_whole_floats() {
        assert!(validate(&json!({"type": "integer"}), &json!(2.0)).is_empty());
        assert_eq!(
            messages(json!({"type": "integer"}), json!("2")),
            ["- at '': got string, want integer"]
        );
    }

    #[test]
    fn local_refs_resolve() {
        let schema = json!({
            "definitions": {"port": {"type": "integer", "maximum": 10}},
            "properties": {"a": {"$ref": "#/definitions/port"}}
        });
        assert_eq!(
            messages(schema, json!({"a": 11})),
            ["- at '/a': maximum: got 11, want 10"]
        );
    }
}
