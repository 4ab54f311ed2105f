//! The validation kube-apiserver does that users meet most often.

use serde_json::Value;

use crate::meta;
use crate::resources::ResourceType;
use crate::selector::LabelSelector;
use crate::status::ApiError;

const SUBDOMAIN_HELP: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_HELP: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/// Validates an object name for its type.
pub fn name(rt: &ResourceType, name: &str) -> Result<(), ApiError> {
    let invalid = |help: &str| {
        ApiError::invalid(
            rt,
            name,
            &[(
                "metadata.name".into(),
                "FieldValueInvalid",
                format!("Invalid value: \"{name}\": {help}"),
            )],
        )
    };
    if rt.group == "rbac.authorization.k8s.io" {
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains('/')
            || name.contains('%')
        {
            return Err(invalid("may not contain '/' or '%'"));
        }
        return Ok(());
    }
    if rt.kind == "Namespace" {
        if !meta::is_dns_label(name) {
            return Err(invalid(LABEL_HELP));
        }
        return Ok(());
    }
    if !meta::is_dns_subdomain(name) {
        return Err(invalid(SUBDOMAIN_HELP));
    }
    Ok(())
}

fn go_map(m: &Value) -> String {
    let parts: Vec<String> = m
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("\"{k}\":\"{}\"", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    format!("map[string]string{{{}}}", parts.join(", "))
}

/// Validates the parts of an object that commonly go wrong.
pub fn object(rt: &ResourceType, o: &Value) -> Result<(), ApiError> {
    let n = meta::name(o);
    let mut causes: Vec<(String, &str, String)> = Vec::new();
    match rt.kind.as_str() {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            let sel = &o["spec"]["selector"];
            let labels = &o["spec"]["template"]["metadata"]["labels"];
            if !sel.is_object() {
                causes.push((
                    "spec.selector".into(),
                    "FieldValueRequired",
                    "Required value".into(),
                ));
            } else if let Some(s) = LabelSelector::from_object(sel) {
                if s.is_empty() {
                    causes.push((
                        "spec.selector".into(),
                        "FieldValueInvalid",
                        "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment".into(),
                    ));
                } else if !s.matches_object(&o["spec"]["template"]) {
                    causes.push((
                        "spec.template.metadata.labels".into(),
                        "FieldValueInvalid",
                        format!(
                            "Invalid value: {}: `selector` does not match template `labels`",
                            go_map(labels)
                        ),
                    ));
                }
            }
            containers(
                &o["spec"]["template"]["spec"],
                "spec.template.spec",
                &mut causes,
            );
        }
        "Job" => containers(
            &o["spec"]["template"]["spec"],
            "spec.template.spec",
            &mut causes,
        ),
        "CronJob" => {
            if o["spec"]["schedule"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                causes.push((
                    "spec.schedule".into(),
                    "FieldValueRequired",
                    "Required value".into(),
                ));
            }
            containers(
                &o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                "spec.jobTemplate.spec.template.spec",
                &mut causes,
            );
        }
        "Pod" => containers(&o["spec"], "spec", &mut causes),
        "Service" => {
            let ty = o["spec"]["type"].as_str().unwrap_or_default();
            let headless = o["spec"]["clusterIP"].as_str() == Some("None");
            let no_ports = o["spec"]["ports"].as_array().is_none_or(Vec::is_empty);
            if no_ports && ty != "ExternalName" && !headless {
                causes.push((
                    "spec.ports".into(),
                    "FieldValueRequired",
                    "Required value".into(),
                ));
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, n, &causes))
    }
}

fn containers(spec: &Value, at: &str, causes: &mut Vec<(String, &str, String)>) {
    match spec["containers"].as_array() {
        None => causes.push((
            format!("{at}.containers"),
            "FieldValueRequired",
            "Required value".into(),
        )),
        Some(cs) if cs.is_empty() => causes.push((
            format!("{at}.containers"),
            "FieldValueRequired",
            "Required value".into(),
        )),
        Some(cs) => {
            for (i, c) in cs.iter().enumerate() {
                if c["name"].as_str().unwrap_or_default().is_empty() {
                    causes.push((
                        format!("{at}.containers[{i}].name"),
                        "FieldValueRequired",
                        "Required value".into(),
                    ));
                }
                if c["image"].as_str().unwrap_or_default().is_empty() {
                    causes.push((
                        format!("{at}.containers[{i}].image"),
                        "FieldValueRequired",
                        "Required value".into(),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    #[test]
    fn selector_must_match_template() {
        let reg = Registry::builtin();
        let rt = reg.by_kind("apps/v1", "Deployment").expect("type");
        let d = json!({"metadata": {"name": "x"}, "spec": {"selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let e = object(&rt, &d).expect_err("invalid");
        assert_eq!(e.code, 422);
        assert!(
            e.message
                .contains("`selector` does not match template `labels`"),
            "{}",
            e.message
        );
        assert!(name(&rt, "Bad_Name").is_err());
        assert!(name(&rt, "good-name").is_ok());
    }
}
