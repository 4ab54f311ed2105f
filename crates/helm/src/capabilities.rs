//! `.Capabilities`: the Kubernetes version and API versions rendered for,
//! and the Helm version, with the defaults `helm template` (v4.1) reports.

use std::sync::Arc;

use ferrocd_gotmpl::{FuncError, Object, Value};

use crate::error::HelmError;

/// The Kubernetes version `helm template` assumes without `--kube-version`.
pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// The API group versions every cluster is assumed to serve.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "apiregistration.k8s.io/v1",
    "apps/v1",
    "authentication.k8s.io/v1",
    "authorization.k8s.io/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "certificates.k8s.io/v1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "events.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1",
    "networking.k8s.io/v1",
    "node.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "resource.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1",
];

/// A parsed Kubernetes version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeVersion {
    /// `v1.35.0`.
    pub version: String,
    /// `1`.
    pub major: String,
    /// `35`.
    pub minor: String,
}

impl KubeVersion {
    /// Parses `1.30`, `v1.30.2` or `1.30.2-gke.1`.
    pub fn parse(s: &str) -> Result<Self, HelmError> {
        let bad = || HelmError::Invalid(format!("invalid kube version {s:?}"));
        let body = s.trim().trim_start_matches('v');
        let (core, pre) = match body.split_once(['-', '+']) {
            Some((c, _)) => (c, &body[c.len()..]),
            None => (body, ""),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty()
            || parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(bad());
        }
        let major = parts[0].to_string();
        let minor = parts.get(1).copied().unwrap_or("0").to_string();
        let patch = parts.get(2).copied().unwrap_or("0");
        Ok(Self {
            version: format!("v{major}.{minor}.{patch}{pre}"),
            major,
            minor,
        })
    }
}

struct KubeVersionObj(KubeVersion);

impl Object for KubeVersionObj {
    fn type_name(&self) -> String {
        "*common.KubeVersion".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Version" | "GitVersion" => Value::from(self.0.version.as_str()),
            "Major" => Value::from(self.0.major.as_str()),
            "Minor" => Value::from(self.0.minor.as_str()),
            _ => return None,
        })
    }
    fn has_method(&self, name: &str) -> bool {
        name == "String"
    }
    fn call_method(&self, _name: &str, _args: &[Value]) -> Result<Value, FuncError> {
        Ok(Value::from(self.0.version.as_str()))
    }
    fn display(&self) -> String {
        self.0.version.clone()
    }
}

struct ApiVersions(Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call_method(&self, _name: &str, args: &[Value]) -> Result<Value, FuncError> {
        FuncError::check_arity(args, 1)?;
        let want = args[0].as_str().unwrap_or_default();
        Ok(Value::Bool(self.0.iter().any(|v| v == want)))
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
}

struct HelmVersion;

const HELM_VERSION: &str = "v4.1.4";

impl Object for HelmVersion {
    fn type_name(&self) -> String {
        "version.BuildInfo".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::from(match name {
            "Version" => HELM_VERSION,
            "GitCommit" => "",
            "GitTreeState" => "clean",
            "GoVersion" => "go1.25",
            "KubeClientVersion" => "v1.35",
            _ => return None,
        }))
    }
    fn display(&self) -> String {
        format!("{{{HELM_VERSION}  clean go1.25 v1.35}}")
    }
}

/// `.Capabilities` for a Kubernetes version and extra API versions.
pub fn capabilities(kube: &KubeVersion, extra_api_versions: &[String]) -> Value {
    let mut apis: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
    apis.extend(extra_api_versions.iter().cloned());
    Value::map([
        (
            "KubeVersion",
            Value::Object(Arc::new(KubeVersionObj(kube.clone()))),
        ),
        ("APIVersions", Value::Object(Arc::new(ApiVersions(apis)))),
        ("HelmVersion", Value::Object(Arc::new(HelmVersion))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_versions() {
        let k = KubeVersion::parse("1.30").unwrap();
        assert_eq!(
            (k.version.as_str(), k.major.as_str(), k.minor.as_str()),
            ("v1.30.0", "1", "30")
        );
        assert_eq!(
            KubeVersion::parse("v1.29.4-gke.1").unwrap().version,
            "v1.29.4-gke.1"
        );
        assert!(KubeVersion::parse("one.two").is_err());
        assert!(KubeVersion::parse("").is_err());
    }
}
