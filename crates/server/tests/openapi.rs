//! `/api/openapi.json`: a valid OpenAPI 3 document that describes every route the server
//! serves (the router's own list, [`ferrocd_server::api::routes`]), and nothing it does not.

mod common;

use std::collections::BTreeSet;

use common::ControlPlane;
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A concrete path for a route: each `{param}` becomes a plausible value.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{subresource}" => "ml-platform/mlflow",
            s if s.starts_with('{') => "mlflow",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks the structure OpenAPI 3.x requires and returns the problems found.
fn problems(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if !doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")) {
        out.push(format!("openapi version is {}", doc["openapi"]));
    }
    for field in ["title", "version"] {
        if doc["info"][field].as_str().is_none_or(|s| s.is_empty()) {
            out.push(format!("info.{field} is missing"));
        }
    }
    let schemes: BTreeSet<&str> = doc["components"]["securitySchemes"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for requirement in doc["security"].as_array().into_iter().flatten() {
        for name in requirement.as_object().into_iter().flat_map(|m| m.keys()) {
            if !schemes.contains(name.as_str()) {
                out.push(format!("security names unknown scheme {name}"));
            }
        }
    }
    let mut operation_ids = BTreeSet::new();
    let Some(paths) = doc["paths"].as_object() else {
        out.push("paths is not an object".into());
        return out;
    };
    for (path, item) in paths {
        if !path.starts_with('/') {
            out.push(format!("path {path} does not start with /"));
        }
        let placeholders: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        for (method, operation) in item.as_object().into_iter().flatten() {
            if !METHODS.contains(&method.as_str()) {
                if method != "parameters" && method != "summary" && method != "description" {
                    out.push(format!("{path}: unknown key {method}"));
                }
                continue;
            }
            let at = format!("{} {path}", method.to_uppercase());
            match operation["responses"].as_object() {
                Some(r) if !r.is_empty() => {
                    for (status, response) in r {
                        if status != "default" && status.parse::<u16>().is_err() {
                            out.push(format!("{at}: response key {status}"));
                        }
                        if !response["description"].is_string() {
                            out.push(format!("{at}: response {status} has no description"));
                        }
                    }
                }
                _ => out.push(format!("{at}: no responses")),
            }
            if let Some(id) = operation["operationId"].as_str()
                && !operation_ids.insert(id.to_string())
            {
                out.push(format!("{at}: duplicate operationId {id}"));
            }
            let mut declared = BTreeSet::new();
            for p in operation["parameters"].as_array().into_iter().flatten() {
                let (name, location) = (
                    p["name"].as_str().unwrap_or(""),
                    p["in"].as_str().unwrap_or(""),
                );
                if !["path", "query", "header", "cookie"].contains(&location) {
                    out.push(format!("{at}: parameter {name} is in {location:?}"));
                }
                if location == "path" {
                    if p["required"] != true {
                        out.push(format!("{at}: path parameter {name} is not required"));
                    }
                    declared.insert(name.to_string());
                }
                if p.get("schema").is_none() && p.get("content").is_none() {
                    out.push(format!("{at}: parameter {name} has no schema"));
                }
            }
            if declared != placeholders {
                out.push(format!(
                    "{at}: path parameters {declared:?}, placeholders {placeholders:?}"
                ));
            }
            if method == "get" && operation.get("requestBody").is_some() {
                out.push(format!("{at}: a GET with a request body"));
            }
        }
    }
    // every reference resolves
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    for r in refs {
        let resolved = r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |node, key| &node[key]))
            .is_some_and(|node| !node.is_null());
        if !resolved {
            out.push(format!("unresolved reference {r}"));
        }
    }
    out
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_valid_and_lists_exactly_the_routes() {
    let doc: Value = serde_json::to_value(ferrocd_server::api::openapi::document()).expect("json");
    let found = problems(&doc);
    assert!(found.is_empty(), "{}", found.join("\n"));
    let routes = ferrocd_server::api::routes();
    assert!(routes.len() >= 38, "{} routes", routes.len());
    let served: BTreeSet<(String, String)> = routes
        .iter()
        .map(|r| (r.method.to_lowercase(), r.path.clone()))
        .collect();
    assert_eq!(served.len(), routes.len(), "a route is mounted twice");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .filter(|k| METHODS.contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
    // what a client generator needs
    let sync = &doc["paths"]["/api/v1/applications/{name}/sync"]["post"];
    assert_eq!(
        sync["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SyncRequest"
    );
    assert_eq!(
        doc["paths"]["/api/v1/settings"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/Settings"
    );
    assert!(doc["components"]["schemas"]["Settings"]["properties"]["oidcConfig"].is_object());
    assert_eq!(
        doc["paths"]["/auth/login"]["get"]["security"],
        serde_json::json!([{}])
    );
    assert!(
        doc["paths"]["/api/v1/applications"]["get"]
            .get("security")
            .is_none(),
        "uses the global security"
    );
    // Checked routes document the refusals, with the error body.
    let app_get = &doc["paths"]["/api/v1/applications/{name}"]["get"]["responses"];
    for status in ["200", "401", "403", "404"] {
        assert!(app_get[status].is_object(), "{status} missing: {app_get}");
    }
    assert_eq!(
        app_get["403"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    // The list filters by RBAC instead of refusing: 401 only.
    let app_list = &doc["paths"]["/api/v1/applications"]["get"]["responses"];
    assert!(app_list["401"].is_object(), "{app_list}");
    assert!(app_list["403"].is_null(), "{app_list}");
}

#[tokio::test]
async fn the_router_serves_every_listed_route_and_the_document_without_auth() {
    let cp = ControlPlane::start().await;
    let (status, headers, text) = cp.raw("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let served: Value = serde_json::from_str(&text).expect("json");
    let built = serde_json::to_value(ferrocd_server::api::openapi::document()).expect("json");
    assert_eq!(served, built);

    // the detector: an unknown API path gets the API's own 404
    let (status, unknown) = cp.call("GET", "/api/v1/gpu-quotas", None, None).await;
    assert_eq!(status, 404);
    assert_eq!(unknown["message"], "no such API route");
    let mut missing = Vec::new();
    for route in ferrocd_server::api::routes() {
        let path = concrete(&route.path);
        let body =
            (route.method != "GET" && route.method != "DELETE").then(|| serde_json::json!({}));
        let (status, headers, text) = cp.raw(&route.method, &path, None, body.as_ref()).await;
        let json = headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("application/json"));
        let is_event_stream = route.path.starts_with("/api/v1/stream/");
        if status == 405
            || text.contains("no such API route")
            || (!json && !is_event_stream && status != 303)
        {
            missing.push(format!("{} {path}: {status} {text:.80}", route.method));
        }
    }
    assert!(missing.is_empty(), "not served:\n{}", missing.join("\n"));
    cp.stop().await;
}
