//! Minimal but valid OpenAPI v3 documents: one per group version, listing the paths, their
//! operations and query parameters (kubectl reads them to decide on server-side field
//! validation), without schemas.

use serde_json::{Map, Value, json};

use crate::resources::{Registry, ResourceType};

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of group-version documents.
pub fn index(reg: &Registry) -> Value {
    let mut paths = Map::new();
    let mut add = |g: &str, v: &str| {
        let key = gv_key(g, v);
        let hash = format!("{:016X}", fnv(&key));
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
    };
    add("", "v1");
    for (g, vs) in reg.groups() {
        for v in vs {
            add(&g, &v);
        }
    }
    json!({"paths": paths})
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn op(rt: &ResourceType, action: &str, params: &[&str]) -> Value {
    json!({
        "operationId": format!("{action}{}", rt.kind),
        "parameters": params.iter().map(|p| param(p)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    })
}

/// The document of one group version, or `None` when nothing is served there.
pub fn group_version(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = reg.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let write = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
    let patch = [
        "dryRun",
        "fieldManager",
        "fieldValidation",
        "force",
        "pretty",
    ];
    let list = [
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "watch",
        "allowWatchBookmarks",
        "timeoutSeconds",
    ];
    let mut paths = Map::new();
    for rt in &types {
        let base = rt.gv_path();
        let coll = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", rt.plural)
        } else {
            format!("{base}/{}", rt.plural)
        };
        paths.insert(
            coll.clone(),
            json!({"get": op(rt, "list", &list), "post": op(rt, "post", &write),
                "delete": op(rt, "deletecollection", &["dryRun", "labelSelector", "fieldSelector"])}),
        );
        paths.insert(
            format!("{coll}/{{name}}"),
            json!({"get": op(rt, "get", &["pretty"]), "put": op(rt, "put", &write),
                "patch": op(rt, "patch", &patch), "delete": op(rt, "delete", &["dryRun", "propagationPolicy", "gracePeriodSeconds"])}),
        );
        if rt.status_subresource {
            paths.insert(
                format!("{coll}/{{name}}/status"),
                json!({"get": op(rt, "get", &["pretty"]), "put": op(rt, "put", &write), "patch": op(rt, "patch", &patch)}),
            );
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.34.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_points_at_group_documents() {
        let reg = Registry::builtin();
        let i = index(&reg);
        assert!(
            i["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .is_some_and(|u| u.starts_with("/openapi/v3/apis/apps/v1?hash="))
        );
        let d = group_version(&reg, "apps", "v1").expect("doc");
        let p = &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(p["x-kubernetes-group-version-kind"]["kind"], "Deployment");
    }
}
