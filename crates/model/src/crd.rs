//! CustomResourceDefinitions for `applications.argoproj.io` and `appprojects.argoproj.io`.
//!
//! The OpenAPI schema is generated from the Rust types (so it lists every modelled field
//! with its type and description) and then rewritten into a *structural* schema as the
//! API server requires: no `$ref`, no `anyOf`/`oneOf`, a `type` on every node, and
//! objects that keep unknown fields marked `x-kubernetes-preserve-unknown-fields`
//! instead of carrying `additionalProperties` next to `properties`.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::application::{API_VERSION, APPLICATION_KIND, Application};
use crate::project::{APP_PROJECT_KIND, AppProject};

/// API group of the resources.
pub const GROUP: &str = "argoproj.io";

/// The CRDs of Application and AppProject, as `apiextensions.k8s.io/v1` objects.
pub fn crds() -> Vec<Value> {
    vec![application_crd(), app_project_crd()]
}

/// The CRDs as a multi-document YAML stream, ready for `kubectl apply -f -`.
pub fn crds_yaml() -> String {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        // Serializing a JSON value to YAML cannot fail: every key is a string.
        out.push_str(&serde_saphyr::to_string(&crd).unwrap_or_default());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn application_crd() -> Value {
    let columns = json!([
        {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
        {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
        {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10},
        {"name": "Project", "type": "string", "jsonPath": ".spec.project", "priority": 10},
    ]);
    crd(
        "applications",
        APPLICATION_KIND,
        "application",
        &["app", "apps"],
        structural_schema::<Application>(
            "Application is a group of Kubernetes resources defined by manifests in a source.",
        ),
        columns,
    )
}

fn app_project_crd() -> Value {
    crd(
        "appprojects",
        APP_PROJECT_KIND,
        "appproject",
        &["appproj", "appprojs"],
        structural_schema::<AppProject>(
            "AppProject restricts where and what the applications of a project may deploy.",
        ),
        json!([]),
    )
}

fn crd(
    plural: &str,
    kind: &str,
    singular: &str,
    short_names: &[&str],
    schema: Value,
    columns: Value,
) -> Value {
    let version = API_VERSION.rsplit('/').next().unwrap_or("v1alpha1");
    let mut version_entry = json!({
        "name": version,
        "served": true,
        "storage": true,
        "schema": {"openAPIV3Schema": schema},
    });
    if columns.as_array().is_some_and(|c| !c.is_empty()) {
        version_entry["additionalPrinterColumns"] = columns;
    }
    // No `subresources.status`: Argo CD writes status together with the main resource,
    // and so does ferrocd.
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{plural}.{GROUP}"),
            "labels": {
                "app.kubernetes.io/name": format!("{plural}.{GROUP}"),
                "app.kubernetes.io/part-of": "ferrocd",
            },
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": format!("{kind}List"),
                "plural": plural,
                "singular": singular,
                "shortNames": short_names,
            },
            "scope": "Namespaced",
            "versions": [version_entry],
        },
    })
}

/// The structural OpenAPI v3 schema of a resource type.
fn structural_schema<T: JsonSchema>(description: &str) -> Value {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut root = schema.to_value();
    make_structural(&mut root);
    if let Some(obj) = root.as_object_mut() {
        // The API server only allows a bare object schema for metadata.
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("metadata".into(), json!({"type": "object"}));
        }
        obj.insert("required".into(), json!(["metadata", "spec"]));
        obj.insert("description".into(), Value::String(description.to_string()));
    }
    root
}

/// Formats the API server understands; others are dropped.
const KNOWN_FORMATS: &[&str] = &["int32", "int64", "float", "double", "byte", "date-time"];

/// Rewrites a generated JSON schema into a structural schema, in place.
fn make_structural(node: &mut Value) {
    // `true` (anything) becomes "keep whatever is there".
    if node.as_bool().is_some() {
        *node = json!({"x-kubernetes-preserve-unknown-fields": true});
        return;
    }
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    for key in [
        "$schema",
        "$defs",
        "definitions",
        "title",
        "default",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
        "$id",
        "const",
    ] {
        obj.remove(key);
    }
    if let Some(format) = obj.get("format").and_then(Value::as_str)
        && !KNOWN_FORMATS.contains(&format)
    {
        obj.remove("format");
    }

    // Option<T>: `anyOf: [T, {type: null}]` → T.
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = obj.remove(combinator) {
            let mut kept: Vec<Value> = variants
                .into_iter()
                .filter(|v| !is_null_schema(v))
                .collect();
            if kept.len() == 1 {
                if let Some(Value::Object(inner)) = kept.pop() {
                    for (k, v) in inner {
                        obj.entry(k).or_insert(v);
                    }
                }
            } else if let Some(values) = string_enum(&kept) {
                // A documented enum: one `const` per variant.
                obj.insert("type".into(), Value::String("string".into()));
                obj.insert("enum".into(), Value::Array(values));
            } else if !kept.is_empty() {
                // A real union: the API server cannot express it structurally.
                obj.insert(
                    "x-kubernetes-preserve-unknown-fields".into(),
                    Value::Bool(true),
                );
            }
        }
    }
    if let Some(Value::Array(parts)) = obj.remove("allOf") {
        for part in parts {
            if let Value::Object(inner) = part {
                for (k, v) in inner {
                    obj.entry(k).or_insert(v);
                }
            }
        }
    }

    // `type: ["string", "null"]` → `type: string`.
    if let Some(Value::Array(types)) = obj.get("type") {
        let non_null: Vec<&Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .collect();
        let single = match non_null.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        };
        match single {
            Some(t) => {
                obj.insert("type".into(), t);
            }
            None => {
                obj.remove("type");
                obj.insert(
                    "x-kubernetes-preserve-unknown-fields".into(),
                    Value::Bool(true),
                );
            }
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
        if obj.get("type").is_none()
            && let Some(Value::Array(values)) = obj.get("enum")
            && values.iter().all(Value::is_string)
        {
            obj.insert("type".into(), Value::String("string".into()));
        }
    }

    // Objects with known properties keep unknown ones instead of `additionalProperties`.
    if obj.contains_key("properties") {
        let keeps_unknown = match obj.remove("additionalProperties") {
            Some(Value::Bool(false)) | None => false,
            Some(_) => true,
        };
        if keeps_unknown {
            obj.insert(
                "x-kubernetes-preserve-unknown-fields".into(),
                Value::Bool(true),
            );
        }
        obj.entry("type").or_insert(Value::String("object".into()));
    }
    if let Some(Value::Bool(true)) = obj.get("additionalProperties") {
        obj.remove("additionalProperties");
        obj.insert(
            "x-kubernetes-preserve-unknown-fields".into(),
            Value::Bool(true),
        );
        obj.entry("type").or_insert(Value::String("object".into()));
    }
    if obj.get("type").and_then(Value::as_str) == Some("object")
        && obj
            .get("required")
            .is_some_and(|r| r.as_array().is_some_and(Vec::is_empty))
    {
        obj.remove("required");
    }
    if obj.is_empty() {
        obj.insert(
            "x-kubernetes-preserve-unknown-fields".into(),
            Value::Bool(true),
        );
    }

    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for child in props.values_mut() {
            make_structural(child);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = obj.get_mut(key) {
            make_structural(child);
        }
    }
    // A description-only node is a bare `true` schema with docs.
    let only_docs = obj.keys().all(|k| k == "description");
    if only_docs {
        obj.insert(
            "x-kubernetes-preserve-unknown-fields".into(),
            Value::Bool(true),
        );
    }
}

/// The values of a union whose variants are all string constants or string enums.
fn string_enum(variants: &[Value]) -> Option<Vec<Value>> {
    let mut values = Vec::new();
    for v in variants {
        if let Some(c) = v.get("const").filter(|c| c.is_string()) {
            values.push(c.clone());
        } else if let Some(Value::Array(e)) = v.get("enum") {
            if !e.iter().all(Value::is_string) {
                return None;
            }
            values.extend(e.iter().cloned());
        } else {
            return None;
        }
    }
    (!values.is_empty()).then_some(values)
}

fn is_null_schema(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.get("type").and_then(Value::as_str) == Some("null"),
        _ => false,
    }
}

/// Checks the structural-schema rules the API server enforces; returns every breach as
/// `path: problem`. Used by tests and by `ferrocd` self-checks.
pub fn structural_problems(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check_node(schema, "openAPIV3Schema", &mut problems);
    problems
}

fn check_node(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        problems.push(format!("{path}: schema must be an object"));
        return;
    };
    let flag = |k: &str| obj.get(k).and_then(Value::as_bool) == Some(true);
    let preserve = flag("x-kubernetes-preserve-unknown-fields");
    let int_or_string = flag("x-kubernetes-int-or-string");
    for forbidden in [
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "definitions",
        "$defs",
        "nullable",
    ] {
        if obj.contains_key(forbidden) {
            problems.push(format!("{path}: {forbidden} is not allowed"));
        }
    }
    match obj.get("type").and_then(Value::as_str) {
        Some("object" | "array" | "string" | "integer" | "number" | "boolean") => {}
        Some(other) => problems.push(format!("{path}: unknown type {other:?}")),
        None if preserve || int_or_string => {}
        None => problems.push(format!("{path}: type is required")),
    }
    if int_or_string && obj.contains_key("type") {
        problems.push(format!(
            "{path}: x-kubernetes-int-or-string must not have a type"
        ));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        problems.push(format!(
            "{path}: properties and additionalProperties are mutually exclusive"
        ));
    }
    if obj.get("type").and_then(Value::as_str) == Some("array") && !obj.contains_key("items") {
        problems.push(format!("{path}: arrays need items"));
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            check_node(child, &format!("{path}.properties.{name}"), problems);
        }
    }
    if let Some(items) = obj.get("items") {
        check_node(items, &format!("{path}.items"), problems);
    }
    if let Some(extra) = obj.get("additionalProperties").filter(|v| !v.is_boolean()) {
        check_node(extra, &format!("{path}.additionalProperties"), problems);
    }
}

/// Checks an object against a CRD's OpenAPI schema the way the API server would:
/// returns every value of the wrong type or outside its enum, every missing required
/// field, and every field the server would silently prune because the schema neither
/// lists it nor keeps unknown fields. `metadata` is left to the server's own rules.
pub fn schema_problems(schema: &Value, object: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check_value(schema, object, "", &mut problems);
    problems
}

fn check_value(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    let flag = |k: &str| schema.get(k).and_then(Value::as_bool) == Some(true);
    let at = |p: &str| {
        if p.is_empty() {
            "<root>".to_string()
        } else {
            p.to_string()
        }
    };
    if value.is_null() {
        // Nulls are dropped for non-nullable fields before validation.
        return;
    }
    if flag("x-kubernetes-int-or-string") {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            problems.push(format!("{}: expected an integer or a string", at(path)));
        }
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let type_ok = match ty {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(_) => false,
    };
    if !type_ok {
        problems.push(format!("{}: expected {}", at(path), ty.unwrap_or("?")));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        problems.push(format!(
            "{}: {value} is not one of {}",
            at(path),
            Value::Array(allowed.clone())
        ));
    }
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(fields) => {
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !fields.contains_key(required) {
                    problems.push(format!("{}: required", child(required)));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, v) in fields {
                if path.is_empty() && key == "metadata" {
                    continue;
                }
                if let Some(sub) = props.and_then(|p| p.get(key)) {
                    check_value(sub, v, &child(key), problems);
                } else if let Some(sub) = additional.filter(|a| a.is_object()) {
                    check_value(sub, v, &child(key), problems);
                } else if !(flag("x-kubernetes-preserve-unknown-fields")
                    || additional == Some(&Value::Bool(true)))
                {
                    problems.push(format!("{}: unknown field (would be pruned)", child(key)));
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_value(sub, item, &format!("{}[{i}]", at(path)), problems);
                }
            }
        }
        _ => {}
    }
}

/// Map of property name to schema at a dotted path of properties (for tests and docs).
pub fn schema_properties<'a>(schema: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    let mut node = schema;
    for part in path {
        node = node.get("properties")?.get(*part)?;
        if let Some(items) = node.get("items")
            && node.get("type").and_then(Value::as_str) == Some("array")
        {
            node = items;
        }
    }
    node.get("properties")?.as_object()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(crd: &Value) -> &Value {
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    }

    #[test]
    fn schemas_are_structural() {
        for crd in crds() {
            let problems = structural_problems(schema_of(&crd));
            assert!(
                problems.is_empty(),
                "{}: {problems:#?}",
                crd["metadata"]["name"]
            );
        }
    }

    #[test]
    fn no_ref_anywhere() {
        let text = serde_json::to_string(&crds()).expect("json");
        assert!(!text.contains("$ref"));
        assert!(!text.contains("anyOf"));
    }

    #[test]
    fn checker_catches_breaches() {
        let bad = json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/x"},
                "b": {"type": "object", "properties": {"c": {"type": "string"}}, "additionalProperties": true},
                "d": {"type": "array"},
                "e": {"description": "no type"},
            },
        });
        let problems = structural_problems(&bad);
        assert_eq!(problems.len(), 5, "{problems:#?}");
    }

    #[test]
    fn application_crd_shape() {
        let crd = &crds()[0];
        assert_eq!(crd["metadata"]["name"], "applications.argoproj.io");
        assert_eq!(crd["spec"]["names"]["kind"], "Application");
        assert_eq!(crd["spec"]["names"]["shortNames"], json!(["app", "apps"]));
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["served"], true);
        assert_eq!(version["storage"], true);
        assert!(version.get("subresources").is_none());
        let columns: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            columns,
            ["Sync Status", "Health Status", "Revision", "Project"]
        );

        let schema = schema_of(crd);
        assert_eq!(schema["properties"]["metadata"], json!({"type": "object"}));
        let source = schema_properties(schema, &["spec", "source"]).expect("source");
        assert_eq!(source["repoURL"]["type"], "string");
        assert_eq!(source["helm"]["type"], "object");
        let helm = schema_properties(schema, &["spec", "source", "helm"]).expect("helm");
        assert_eq!(helm["valueFiles"]["type"], "array");
        assert_eq!(helm["valueFiles"]["items"]["type"], "string");
        assert_eq!(helm["skipCrds"]["type"], "boolean");
        assert_eq!(
            helm["valuesObject"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        let sources = schema_properties(schema, &["spec", "sources"]).expect("sources");
        assert!(sources.contains_key("ref"));
        let replicas = schema_properties(schema, &["spec", "source", "kustomize", "replicas"])
            .expect("replicas");
        assert_eq!(replicas["count"]["x-kubernetes-int-or-string"], true);
        assert!(replicas["count"].get("type").is_none());
        let health = schema_properties(schema, &["status", "health"]).expect("health");
        assert_eq!(health["status"]["type"], "string");
        assert!(
            health["status"]["enum"]
                .as_array()
                .expect("enum")
                .contains(&json!("Degraded"))
        );
        let retry = schema_properties(schema, &["spec", "syncPolicy", "retry"]).expect("retry");
        assert_eq!(retry["limit"]["type"], "integer");
        assert_eq!(retry["limit"]["format"], "int64");
        let spec = &schema["properties"]["spec"];
        assert_eq!(spec["x-kubernetes-preserve-unknown-fields"], true);
        assert!(spec["properties"]["project"]["description"].is_string());
    }

    #[test]
    fn project_crd_shape() {
        let crd = &crds()[1];
        assert_eq!(crd["metadata"]["name"], "appprojects.argoproj.io");
        assert_eq!(
            crd["spec"]["names"]["shortNames"],
            json!(["appproj", "appprojs"])
        );
        let schema = schema_of(crd);
        let roles = schema_properties(schema, &["spec", "roles"]).expect("roles");
        assert_eq!(
            roles["jwtTokens"]["items"]["properties"]["iat"]["type"],
            "integer"
        );
        let status = schema_properties(schema, &["status"]).expect("status");
        assert_eq!(status["jwtTokensByRole"]["type"], "object");
        assert_eq!(
            status["jwtTokensByRole"]["additionalProperties"]["type"],
            "object"
        );
    }

    #[test]
    fn schema_check_finds_type_enum_and_pruning_problems() {
        let schema = schema_of(&crds()[0]).clone();
        let app = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "x", "anything": {"goes": true}},
            "spec": {
                "project": "default",
                "revisionHistoryLimit": "ten",
                "source": {"repoURL": "https://git.example.org/a.git", "kustomize": {"replicas": [{"name": "w", "count": true}]}},
                "destination": {"server": "https://kubernetes.default.svc"},
                "futureField": 1,
            },
            "status": {"health": {"status": "Fine"}},
        });
        let problems = schema_problems(&schema, &app);
        assert_eq!(
            problems,
            [
                "spec.revisionHistoryLimit: expected integer",
                "spec.source.kustomize.replicas[0].count: expected an integer or a string",
                "status.health.status: \"Fine\" is not one of [\"Unknown\",\"Healthy\",\"Suspended\",\"Progressing\",\"Missing\",\"Degraded\"]",
            ]
        );
        let missing_spec =
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {}});
        assert_eq!(schema_problems(&schema, &missing_spec), ["spec: required"]);
        let strict = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert_eq!(
            schema_problems(&strict, &json!({"a": "x", "b": 1})),
            ["b: unknown field (would be pruned)"]
        );
    }

    #[test]
    fn yaml_stream_parses_back() {
        let text = crds_yaml();
        assert_eq!(
            text.matches("\n---\n").count() + usize::from(text.starts_with("---\n")),
            2
        );
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("yaml");
        assert_eq!(docs, crds());
    }
}
