//! The annotations and labels ferrocd reads and writes, with Argo CD's names, and the
//! parsing of their values. Every layer (render, diff, sync, controller) uses these, so
//! they live here and nowhere else.

/// Tracking annotation: `<app>:<group>/<kind>:<namespace>/<name>`.
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Label-based tracking alternative (Argo CD's legacy method).
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Sync wave, an integer (default 0).
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Hook type(s), comma separated: PreSync, Sync, PostSync, SyncFail, Skip.
pub const HOOK: &str = "argocd.argoproj.io/hook";
/// Hook delete policies, comma separated: HookSucceeded, HookFailed, BeforeHookCreation.
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Per-resource sync options, comma separated `Key=Value`.
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Per-resource compare options, comma separated (`IgnoreExtraneous`, ...).
pub const COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";
/// Refresh request on an Application: `normal` or `hard`.
pub const REFRESH: &str = "argocd.argoproj.io/refresh";
/// Helm hook annotation, mapped to sync phases.
pub const HELM_HOOK: &str = "helm.sh/hook";
/// Helm hook weight, mapped to sync waves.
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
/// Helm hook delete policy.
pub const HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";

/// Reads the sync wave from an annotation value; anything unparsable counts as wave 0,
/// as in Argo CD.
pub fn parse_sync_wave(value: Option<&str>) -> i32 {
    value.and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Splits a comma-separated option list (`Prune=false,Replace=true`) into `(key, value)`
/// pairs; a bare word (`IgnoreExtraneous`) gets an empty value.
pub fn parse_options(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (item.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_default_to_zero() {
        assert_eq!(parse_sync_wave(Some("-2")), -2);
        assert_eq!(parse_sync_wave(Some(" 5 ")), 5);
        assert_eq!(parse_sync_wave(Some("x")), 0);
        assert_eq!(parse_sync_wave(None), 0);
    }

    #[test]
    fn options_split() {
        assert_eq!(
            parse_options("Prune=false, Replace=true,IgnoreExtraneous"),
            vec![
                ("Prune".into(), "false".into()),
                ("Replace".into(), "true".into()),
                ("IgnoreExtraneous".into(), String::new())
            ]
        );
    }
}

/// The application an object belongs to: the application named by its tracking-id
/// annotation, or, without that annotation, its `app.kubernetes.io/instance` label.
pub fn tracking_app(obj: &serde_json::Value) -> Option<String> {
    let metadata = obj.get("metadata")?;
    if let Some(id) = metadata
        .pointer("/annotations")
        .and_then(|a| a.get(TRACKING_ID))
        .and_then(serde_json::Value::as_str)
    {
        return crate::ResourceKey::parse_tracking_id(id).map(|(app, _)| app);
    }
    metadata
        .pointer("/labels")
        .and_then(|l| l.get(INSTANCE_LABEL))
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tracking_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tracking_app_prefers_the_annotation() {
        let obj = json!({"metadata": {"name": "x",
            "annotations": {TRACKING_ID: "mlflow-dev:apps/Deployment:ml-dev/mlflow"},
            "labels": {INSTANCE_LABEL: "other"}}});
        assert_eq!(tracking_app(&obj).as_deref(), Some("mlflow-dev"));
        let labelled = json!({"metadata": {"labels": {INSTANCE_LABEL: "airflow"}}});
        assert_eq!(tracking_app(&labelled).as_deref(), Some("airflow"));
        assert_eq!(tracking_app(&json!({"metadata": {"name": "x"}})), None);
    }
}
