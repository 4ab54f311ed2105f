//! Properties: diff never panics on arbitrary JSON, and an object always equals itself.

use ferrocd_diff::{DiffOptions, DiffStatus, diff};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1.0e9f64..1.0e9).prop_map(|f| json!(f)),
        "[a-zA-Z0-9./:~ -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("1Gi"),
            Just("1024Mi"),
            Just("500m"),
            Just("0.5"),
            Just("8080")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        "[a-z]{1,8}".prop_map(|s| s),
                        Just("name".to_string()),
                        Just("containers".to_string()),
                        Just("env".to_string()),
                        Just("spec".to_string()),
                        Just("metadata".to_string()),
                        Just("data".to_string()),
                        Just("managedFields".to_string()),
                        Just("resources".to_string()),
                        Just("limits".to_string()),
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("v1"), Just("apps/v1"), Just("ml.example.com/v1")],
        prop_oneof![
            Just("Secret"),
            Just("Service"),
            Just("Deployment"),
            Just("Model")
        ],
        json_value(),
        json_value(),
    )
        .prop_map(|(api, kind, spec, meta)| {
            json!({"apiVersion": api, "kind": kind,
                   "metadata": {"name": "x", "namespace": "ml", "extra": meta},
                   "spec": spec, "data": spec.clone()})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_random_json(a in json_value(), b in json_value()) {
        let _ = diff(Some(&a), Some(&b), &DiffOptions::default());
        let _ = diff(Some(&a), None, &DiffOptions::default());
        let _ = diff(None, Some(&b), &DiffOptions::default());
    }

    #[test]
    fn never_panics_on_random_objects(a in object(), b in object(), mf in json_value()) {
        let mut live = b;
        live["metadata"]["managedFields"] = mf;
        if let Ok(d) = diff(Some(&a), Some(&live), &DiffOptions::default()) {
            let _ = d.unified();
        }
    }

    #[test]
    fn an_object_equals_itself(a in object()) {
        let d = diff(Some(&a), Some(&a), &DiffOptions::default()).expect("diff");
        prop_assert_eq!(d.status, DiffStatus::Synced, "{:#?}", d.changes);
    }
}
