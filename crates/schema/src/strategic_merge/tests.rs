use super::*;
use proptest::prelude::*;
use serde_json::json;

fn deploy(containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "mlflow"},
        "spec": {"template": {"spec": {"containers": containers}}}
    })
}

fn containers(v: &Value) -> &Value {
    &v["spec"]["template"]["spec"]["containers"]
}

#[test]
fn maps_merge_recursively_and_null_deletes() {
    let original =
        json!({"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}}, "data": {"k": "v"}});
    let patch = json!({"metadata": {"labels": {"y": null, "z": "3"}}, "data": null});
    let got = merge(&original, &patch, "", "ConfigMap").unwrap();
    assert_eq!(
        got,
        json!({"metadata": {"name": "a", "labels": {"x": "1", "z": "3"}}})
    );
    let keys: Vec<_> = got["metadata"]["labels"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["x", "z"]);
}

#[test]
fn containers_merge_by_name_and_keep_original_order() {
    let original = deploy(json!([
        {"name": "server", "image": "mlflow:2.9", "env": [{"name": "A", "value": "1"}]},
        {"name": "proxy", "image": "envoy:1.28"}
    ]));
    let patch = deploy(json!([
        {"name": "proxy", "image": "envoy:1.29"},
        {"name": "server", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "9"}]},
        {"name": "exporter", "image": "statsd-exporter:0.26"}
    ]));
    let got = merge(&original, &patch, "apps", "Deployment").unwrap();
    assert_eq!(
        containers(&got),
        &json!([
            {"name": "server", "image": "mlflow:2.9", "env": [{"name": "A", "value": "9"}, {"name": "B", "value": "2"}]},
            {"name": "proxy", "image": "envoy:1.29"},
            {"name": "exporter", "image": "statsd-exporter:0.26"}
        ])
    );
}

#[test]
fn atomic_lists_are_replaced() {
    let original = deploy(
        json!([{"name": "s", "args": ["--a", "--b"], "envFrom": [{"configMapRef": {"name": "x"}}]}]),
    );
    let patch =
        deploy(json!([{"name": "s", "args": ["--c"], "envFrom": [{"secretRef": {"name": "y"}}]}]));
    let got = merge(&original, &patch, "apps", "Deployment").unwrap();
    assert_eq!(
        containers(&got),
        &json!([{"name": "s", "args": ["--c"], "envFrom": [{"secretRef": {"name": "y"}}]}])
    );
}

#[test]
fn patch_delete_removes_list_element() {
    let original = deploy(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
    let patch = deploy(json!([{"name": "b", "$patch": "delete"}]));
    let got = merge(&original, &patch, "apps", "Deployment").unwrap();
    assert_eq!(containers(&got), &json!([{"name": "a"}, {"name": "c"}]));
}

#[test]
fn patch_delete_removes_map_and_whole_object() {
    let original = json!({"spec": {"affinity": {"nodeAffinity": {}}, "replicas": 1}});
    let patch = json!({"spec": {"affinity": {"$patch": "delete"}}});
    assert_eq!(
        merge(&original, &patch, "apps", "Deployment").unwrap(),
        json!({"spec": {"replicas": 1}})
    );
    let whole = json!({"$patch": "delete", "metadata": {"name": "x"}});
    assert_eq!(
        merge(&original, &whole, "apps", "Deployment").unwrap(),
        Value::Null
    );
}

#[test]
fn patch_replace_on_map_and_list() {
    let original = json!({"spec": {"selector": {"matchLabels": {"a": "1", "b": "2"}}}});
    let patch = json!({"spec": {"selector": {"$patch": "replace", "matchLabels": {"c": "3"}}}});
    assert_eq!(
        merge(&original, &patch, "apps", "Deployment").unwrap(),
        json!({"spec": {"selector": {"matchLabels": {"c": "3"}}}})
    );
    let original = deploy(json!([{"name": "a", "image": "x"}, {"name": "b"}]));
    let patch = deploy(json!([{"$patch": "replace"}, {"name": "c", "image": "gpu-server:1"}]));
    let got = merge(&original, &patch, "apps", "Deployment").unwrap();
    assert_eq!(
        containers(&got),
        &json!([{"name": "c", "image": "gpu-server:1"}])
    );
}

#[test]
fn explicit_merge_directive_is_removed() {
    let original = json!({"data": {"a": "1"}});
    let patch = json!({"data": {"$patch": "merge", "b": "2"}});
    assert_eq!(
        merge(&original, &patch, "", "ConfigMap").unwrap(),
        json!({"data": {"a": "1", "b": "2"}})
    );
}

#[test]
fn unknown_directive_is_an_error() {
    let err = merge(
        &json!({}),
        &json!({"spec": {"$patch": "explode"}}),
        "",
        "Pod",
    )
    .unwrap_err();
    assert_eq!(
        err,
        MergeError::UnknownDirective {
            path: "spec".into(),
            value: "explode".into()
        }
    );
    assert!(err.to_string().contains("explode"));
}

#[test]
fn set_element_order_reorders_merged_list() {
    let original = deploy(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "d"}],
        "containers": [{"name": "d", "image": "new"}]
    }}}});
    let got = merge(&original, &patch, "apps", "Deployment").unwrap();
    assert_eq!(
        containers(&got),
        &json!([{"name": "c"}, {"name": "a"}, {"name": "d", "image": "new"}, {"name": "b"}])
    );
}

#[test]
fn retain_keys_clears_unlisted_fields() {
    let original =
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    assert_eq!(
        merge(&original, &patch, "apps", "Deployment").unwrap(),
        json!({"spec": {"strategy": {"type": "Recreate"}}})
    );
}

#[test]
fn delete_from_primitive_list_and_set_merge() {
    let original = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"], "finalizers": ["d", "a"]}});
    assert_eq!(
        merge(&original, &patch, "", "ConfigMap").unwrap(),
        json!({"metadata": {"finalizers": ["a", "c", "d"]}})
    );
}

#[test]
fn missing_merge_key_is_an_error_naming_the_path() {
    let original = deploy(json!([{"name": "a"}]));
    let patch = deploy(json!([{"image": "x"}]));
    let err = merge(&original, &patch, "apps", "Deployment").unwrap_err();
    assert_eq!(
        err,
        MergeError::MissingMergeKey {
            path: "spec.template.spec.containers".into(),
            key: "name"
        }
    );
}

#[test]
fn unknown_kinds_replace_lists_by_default() {
    let original = json!({"spec": {"items": [{"name": "a", "v": 1}]}});
    let patch = json!({"spec": {"items": [{"name": "b"}]}});
    assert_eq!(
        merge(&original, &patch, "ml.example.com", "InferenceService").unwrap(),
        json!({"spec": {"items": [{"name": "b"}]}})
    );
    let infer = MergeOptions {
        unknown_lists: UnknownLists::InferKeys,
        ..MergeOptions::default()
    };
    assert_eq!(
        merge_with(
            &original,
            &patch,
            "ml.example.com",
            "InferenceService",
            &infer
        )
        .unwrap(),
        json!({"spec": {"items": [{"name": "a", "v": 1}, {"name": "b"}]}})
    );
    // Lists without a common well-known key are still replaced.
    let original = json!({"spec": {"items": [{"id": "a"}]}});
    let patch = json!({"spec": {"items": [{"id": "b"}]}});
    assert_eq!(
        merge_with(
            &original,
            &patch,
            "ml.example.com",
            "InferenceService",
            &infer
        )
        .unwrap(),
        patch
    );
}

#[test]
fn service_ports_merge_by_port() {
    let original = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 9090, "name": "metrics"}]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
    assert_eq!(
        merge(&original, &patch, "", "Service").unwrap()["spec"]["ports"],
        json!([{"port": 80, "name": "http", "targetPort": 8080}, {"port": 9090, "name": "metrics"}])
    );
}

#[test]
fn directives_are_stripped_from_new_content() {
    let original = json!({"spec": {}});
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "$patch": "merge"}, {"name": "b", "$patch": "delete"}
    ]}}}});
    let got = merge(&original, &patch, "apps", "Deployment").unwrap();
    assert_eq!(containers(&got), &json!([{"name": "a"}]));
    assert_eq!(
        strip_directives(&json!({"a": {"$patch": "delete"}, "b": 1}), "", "ConfigMap").unwrap(),
        Some(json!({"b": 1}))
    );
}

#[test]
fn patch_must_be_a_map() {
    assert_eq!(
        merge(&json!({}), &json!([1]), "", "Pod").unwrap_err(),
        MergeError::PatchNotObject { found: "a list" }
    );
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "name", "a", "$patch", "delete", "replace", "merge", "x"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop::sample::select(vec![
            "name",
            "containers",
            "spec",
            "template",
            "env",
            "$patch",
            "$retainKeys",
            "$setElementOrder/containers",
            "$deleteFromPrimitiveList/finalizers",
            "finalizers",
            "metadata",
            "ports",
            "containerPort",
            "value",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..5).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn merge_never_panics(original in arb_json(), patch in arb_json(), infer in any::<bool>()) {
        let options = MergeOptions {
            unknown_lists: if infer { UnknownLists::InferKeys } else { UnknownLists::Replace },
            ..MergeOptions::default()
        };
        let _ = merge_with(&original, &patch, "apps", "Deployment", &MergeOptions::kustomize());
        for (group, kind) in [("apps", "Deployment"), ("", "Pod"), ("x.io", "Thing")] {
            let _ = merge_with(&original, &patch, group, kind, &options);
        }
    }

    #[test]
    fn merging_an_empty_patch_is_identity_for_maps(
        labels in prop::collection::btree_map("[a-z]{1,5}", "[a-z0-9]{0,5}", 0..5)
    ) {
        let original = json!({"metadata": {"labels": labels}});
        prop_assert_eq!(merge(&original, &json!({}), "", "ConfigMap").unwrap(), original);
    }

    #[test]
    fn patch_values_win(
        base in prop::collection::btree_map("[a-z]{1,5}", "[a-z0-9]{0,5}", 0..5),
        over in prop::collection::btree_map("[a-z]{1,5}", "[a-z0-9]{0,5}", 0..5),
    ) {
        let got = merge(&json!({"data": base}), &json!({"data": over.clone()}), "", "ConfigMap").unwrap();
        for (k, v) in &over {
            prop_assert_eq!(&got["data"][k], &json!(v));
        }
        for (k, v) in &base {
            if !over.contains_key(k) {
                prop_assert_eq!(&got["data"][k], &json!(v));
            }
        }
    }
}

#[test]
fn kustomize_flavour_puts_patch_elements_first() {
    let original = deploy(
        json!([{"name": "server", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]),
    );
    let patch = deploy(json!([
        {"name": "proxy", "image": "oauth2-proxy:7"},
        {"name": "server", "env": [{"name": "B", "value": "9"}, {"name": "C", "value": "3"}]}
    ]));
    let got = merge_with(
        &original,
        &patch,
        "apps",
        "Deployment",
        &MergeOptions::kustomize(),
    )
    .unwrap();
    assert_eq!(
        containers(&got),
        &json!([
            {"name": "proxy", "image": "oauth2-proxy:7"},
            {"name": "server", "env": [{"name": "B", "value": "9"}, {"name": "C", "value": "3"}, {"name": "A", "value": "1"}]}
        ])
    );
}

#[test]
fn kustomize_flavour_keeps_other_directives_literally() {
    let original =
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let got = merge_with(
        &original,
        &patch,
        "apps",
        "Deployment",
        &MergeOptions::kustomize(),
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}, "$retainKeys": ["type"]}}})
    );
    let original = json!({"metadata": {"finalizers": ["a", "b"]}});
    let patch = json!({"metadata": {"finalizers": ["c", "b"]}});
    let got = merge_with(
        &original,
        &patch,
        "",
        "ConfigMap",
        &MergeOptions::kustomize(),
    )
    .unwrap();
    assert_eq!(got, json!({"metadata": {"finalizers": ["c", "b", "a"]}}));
}
