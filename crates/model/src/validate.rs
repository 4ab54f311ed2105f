//! Reading Applications and AppProjects from YAML, and checking them the way Argo CD
//! does before it accepts them: required fields, exclusive fields, relative paths,
//! durations, references between sources, project policies. Every problem names the
//! field by its path (`spec.sources[1].path: must be relative`).

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;

use crate::application::{API_VERSION, APPLICATION_KIND, Application, ApplicationSpec};
use crate::application_source::{ApplicationSource, IntOrString};
use crate::duration::{parse_backoff_duration, parse_go_duration};
use crate::error::{FieldError, FieldErrors, ModelError};
use crate::meta::ObjectMeta;
use crate::project::{APP_PROJECT_KIND, AppProject, GroupKind};

impl Application {
    /// Parses one YAML document into an Application and validates it. `file` names the
    /// source in errors (`FILE:LINE:COL: ...` for YAML errors, `FILE: field: ...` for the
    /// rest).
    pub fn from_yaml(text: &str, file: &str) -> Result<Application, ModelError> {
        let value = parse_document(text, file)?;
        Self::from_value(value, file)
    }

    /// Converts a JSON value (e.g. read from the API server) into an Application and
    /// validates it.
    pub fn from_value(value: serde_json::Value, file: &str) -> Result<Application, ModelError> {
        check_type_meta(&value, APPLICATION_KIND, file)?;
        let app: Application = typed(value, file)?;
        let errors = app.validate();
        if errors.is_empty() {
            Ok(app)
        } else {
            Err(ModelError::Invalid {
                file: file.to_string(),
                errors,
            })
        }
    }

    /// The Application as a YAML document.
    pub fn to_yaml(&self) -> Result<String, ModelError> {
        to_yaml(self, self.name())
    }

    /// Every validation problem of this Application; empty when it is valid.
    pub fn validate(&self) -> FieldErrors {
        let mut v = Checks::default();
        v.type_meta(&self.api_version, &self.kind, APPLICATION_KIND);
        v.metadata(&self.metadata);
        v.app_spec(&self.spec);
        FieldErrors(v.errors)
    }
}

impl AppProject {
    /// Parses one YAML document into an AppProject and validates it.
    pub fn from_yaml(text: &str, file: &str) -> Result<AppProject, ModelError> {
        let value = parse_document(text, file)?;
        Self::from_value(value, file)
    }

    /// Converts a JSON value into an AppProject and validates it.
    pub fn from_value(value: serde_json::Value, file: &str) -> Result<AppProject, ModelError> {
        check_type_meta(&value, APP_PROJECT_KIND, file)?;
        let project: AppProject = typed(value, file)?;
        let errors = project.validate();
        if errors.is_empty() {
            Ok(project)
        } else {
            Err(ModelError::Invalid {
                file: file.to_string(),
                errors,
            })
        }
    }

    /// The AppProject as a YAML document.
    pub fn to_yaml(&self) -> Result<String, ModelError> {
        to_yaml(self, self.name())
    }

    /// Every validation problem of this AppProject; empty when it is valid.
    pub fn validate(&self) -> FieldErrors {
        let mut v = Checks::default();
        v.type_meta(&self.api_version, &self.kind, APP_PROJECT_KIND);
        v.metadata(&self.metadata);
        v.project_spec(self);
        FieldErrors(v.errors)
    }
}

/// Emits YAML; `name` identifies the resource in the (unexpected) error.
fn to_yaml<T: serde::Serialize>(value: &T, name: &str) -> Result<String, ModelError> {
    serde_saphyr::to_string(value).map_err(|e| ModelError::Emit {
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// Parses a single YAML document into JSON, reporting syntax errors with file:line:col.
pub(crate) fn parse_document(text: &str, file: &str) -> Result<serde_json::Value, ModelError> {
    match serde_saphyr::from_str::<serde_json::Value>(text) {
        Ok(value) => Ok(value),
        Err(err) => {
            let (line, column) = err
                .location()
                .map_or((0, 0), |loc| (loc.line(), loc.column()));
            Err(ModelError::Yaml {
                file: file.to_string(),
                line,
                column,
                message: yaml_message(&err),
            })
        }
    }
}

/// The parser's message without location or source snippet (those are reported apart).
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let mut options = serde_saphyr::RenderOptions::default();
    options.snippets = serde_saphyr::SnippetMode::Off;
    if matches!(
        err.without_snippet(),
        serde_saphyr::Error::MultipleDocuments { .. }
    ) {
        return "expected a single YAML document, found several".to_string();
    }
    let text = err.render_with_options(options);
    let mut message = text.lines().next().unwrap_or("").trim();
    if let Some(i) = message.rfind(" at line ") {
        message = &message[..i];
    }
    // Hints addressed to programmers using the parser are not for our users.
    if let Some(i) = message.find(", set DuplicateKeyPolicy") {
        message = &message[..i];
    }
    message.to_string()
}

/// Checks that the document is a mapping with the expected apiVersion and kind before
/// its fields are typed, so a wrong kind gets a message about the kind.
fn check_type_meta(value: &serde_json::Value, kind: &str, file: &str) -> Result<(), ModelError> {
    let invalid = |e: FieldError| ModelError::Invalid {
        file: file.to_string(),
        errors: FieldErrors(vec![e]),
    };
    let Some(obj) = value.as_object() else {
        let what = match value {
            serde_json::Value::Null => "document is empty".to_string(),
            _ => format!(
                "expected a mapping with an {kind}, got {}",
                json_type(value)
            ),
        };
        return Err(invalid(FieldError::new("", what)));
    };
    let mut checks = Checks::default();
    let text_of = |key: &str| obj.get(key).and_then(|v| v.as_str()).unwrap_or("");
    checks.type_meta(text_of("apiVersion"), text_of("kind"), kind);
    if checks.errors.is_empty() {
        Ok(())
    } else {
        Err(ModelError::Invalid {
            file: file.to_string(),
            errors: FieldErrors(checks.errors),
        })
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a sequence",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// Types a JSON value, naming the field whose type is wrong.
fn typed<T: DeserializeOwned>(value: serde_json::Value, file: &str) -> Result<T, ModelError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ModelError::Invalid {
            file: file.to_string(),
            errors: FieldErrors(vec![FieldError::new(path, err.inner().to_string())]),
        }
    })
}

/// Collects problems as the checks walk the resource.
#[derive(Default)]
struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    fn required(&mut self, path: impl Into<String>, value: &str) {
        if value.trim().is_empty() {
            self.err(path, "required");
        }
    }

    fn type_meta(&mut self, api_version: &str, kind: &str, expected_kind: &str) {
        if api_version.is_empty() {
            self.err("apiVersion", "required");
        } else if api_version != API_VERSION {
            self.err(
                "apiVersion",
                format!("must be {API_VERSION}, got {api_version:?}"),
            );
        }
        if kind.is_empty() {
            self.err("kind", "required");
        } else if kind != expected_kind {
            self.err("kind", format!("must be {expected_kind}, got {kind:?}"));
        }
    }

    fn metadata(&mut self, meta: &ObjectMeta) {
        if meta.name.is_empty() {
            self.err("metadata.name", "required");
        } else if !is_dns_subdomain(&meta.name) {
            self.err(
                "metadata.name",
                format!(
                    "invalid name {:?}: must be lowercase letters, digits, '-' or '.'",
                    meta.name
                ),
            );
        }
        if let Some(ns) = &meta.namespace
            && !ns.is_empty()
            && !is_dns_label(ns)
        {
            self.err(
                "metadata.namespace",
                format!("invalid namespace {ns:?}: must be a DNS label"),
            );
        }
    }

    fn app_spec(&mut self, spec: &ApplicationSpec) {
        self.required("spec.project", &spec.project);
        match (&spec.source, spec.sources.is_empty()) {
            (Some(_), false) => self.err(
                "spec.source",
                "spec.source and spec.sources are mutually exclusive",
            ),
            (None, true) if !spec.extra.contains_key("sourceHydrator") => {
                self.err("spec", "one of source or sources is required")
            }
            _ => {}
        }
        let refs: BTreeSet<&str> = spec
            .sources
            .iter()
            .filter_map(|s| s.ref_name.as_deref())
            .collect();
        if let Some(source) = &spec.source {
            self.source("spec.source", source, &refs);
        }
        let mut seen_refs = BTreeSet::new();
        for (i, source) in spec.sources.iter().enumerate() {
            let path = format!("spec.sources[{i}]");
            if let Some(r) = source.ref_name.as_deref()
                && !seen_refs.insert(r)
            {
                self.err(format!("{path}.ref"), format!("duplicate ref {r:?}"));
            }
            self.source(&path, source, &refs);
        }

        let dest = &spec.destination;
        let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        match (has(&dest.server), has(&dest.name)) {
            (false, false) => self.err("spec.destination", "one of server or name is required"),
            (true, true) => self.err("spec.destination", "server and name are mutually exclusive"),
            _ => {}
        }
        if let Some(server) = dest.server.as_deref()
            && !server.is_empty()
            && !(server.starts_with("https://") || server.starts_with("http://"))
        {
            self.err(
                "spec.destination.server",
                format!("invalid server {server:?}: must be an https:// or http:// URL"),
            );
        }
        if let Some(ns) = dest.namespace.as_deref()
            && !ns.is_empty()
            && !is_dns_label(ns)
        {
            self.err(
                "spec.destination.namespace",
                format!("invalid namespace {ns:?}: must be a DNS label"),
            );
        }

        if let Some(policy) = &spec.sync_policy {
            for (i, opt) in policy.sync_options.iter().enumerate() {
                match opt.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {}
                    _ => self.err(
                        format!("spec.syncPolicy.syncOptions[{i}]"),
                        format!("invalid sync option {opt:?} (expected Key=Value)"),
                    ),
                }
            }
            if let Some(backoff) = policy.retry.as_ref().and_then(|r| r.backoff.as_ref()) {
                let base = "spec.syncPolicy.retry.backoff";
                for (field, value) in [
                    ("duration", &backoff.duration),
                    ("maxDuration", &backoff.max_duration),
                ] {
                    if let Some(text) = value
                        && let Err(e) = parse_backoff_duration(text)
                    {
                        self.err(format!("{base}.{field}"), e.to_string());
                    }
                }
                if let Some(factor) = backoff.factor
                    && factor < 1
                {
                    self.err(format!("{base}.factor"), "must be at least 1");
                }
            }
        }

        for (i, rule) in spec.ignore_differences.iter().enumerate() {
            let path = format!("spec.ignoreDifferences[{i}]");
            self.required(format!("{path}.kind"), &rule.kind);
            for (j, ptr) in rule.json_pointers.iter().enumerate() {
                if !ptr.starts_with('/') {
                    self.err(
                        format!("{path}.jsonPointers[{j}]"),
                        format!("invalid JSON pointer {ptr:?}: must start with '/'"),
                    );
                }
            }
            for (j, expr) in rule.jq_path_expressions.iter().enumerate() {
                self.required(format!("{path}.jqPathExpressions[{j}]"), expr);
            }
        }
        for (i, info) in spec.info.iter().enumerate() {
            self.required(format!("spec.info[{i}].name"), &info.name);
        }
        if let Some(limit) = spec.revision_history_limit
            && limit < 0
        {
            self.err("spec.revisionHistoryLimit", "must not be negative");
        }
    }

    fn source(&mut self, path: &str, source: &ApplicationSource, refs: &BTreeSet<&str>) {
        self.required(format!("{path}.repoURL"), &source.repo_url);
        if let Some(p) = source.path.as_deref() {
            if p.starts_with('/') || p.starts_with('\\') {
                self.err(format!("{path}.path"), "must be relative");
            } else if escapes_root(p) {
                self.err(
                    format!("{path}.path"),
                    "must not point outside the repository",
                );
            }
        }
        if let Some(r) = source.ref_name.as_deref()
            && !is_ref_name(r)
        {
            self.err(
                format!("{path}.ref"),
                format!("invalid ref {r:?}: use letters, digits, '-' or '_'"),
            );
        }
        let types = source.explicit_types();
        if types.len() > 1 {
            let names: Vec<String> = types.iter().map(|t| t.to_string().to_lowercase()).collect();
            self.err(
                path,
                format!(
                    "multiple source types ({}) are set; use one",
                    names.join(", ")
                ),
            );
        }
        if let Some(helm) = &source.helm {
            for (i, file) in helm.value_files.iter().enumerate() {
                let field = format!("{path}.helm.valueFiles[{i}]");
                if let Some(rest) = file.strip_prefix('$') {
                    let (name, inside) = rest.split_once('/').unwrap_or((rest, ""));
                    if !refs.contains(name) {
                        self.err(field, format!("unknown source ref \"${name}\""));
                    } else if escapes_root(inside) {
                        self.err(field, "must not point outside the repository");
                    }
                } else if !file.contains("://") && !file.starts_with('/') {
                    let base = source.path.as_deref().unwrap_or("");
                    if escapes_root(&format!("{base}/{file}")) {
                        self.err(field, "must not point outside the repository");
                    }
                }
            }
            if let Some(obj) = &helm.values_object
                && !obj.is_object()
            {
                self.err(format!("{path}.helm.valuesObject"), "must be a mapping");
            }
            for (i, p) in helm.parameters.iter().enumerate() {
                self.required(format!("{path}.helm.parameters[{i}].name"), &p.name);
            }
            for (i, p) in helm.file_parameters.iter().enumerate() {
                self.required(format!("{path}.helm.fileParameters[{i}].name"), &p.name);
                self.required(format!("{path}.helm.fileParameters[{i}].path"), &p.path);
            }
        }
        if let Some(k) = &source.kustomize {
            for (i, r) in k.replicas.iter().enumerate() {
                let rp = format!("{path}.kustomize.replicas[{i}]");
                self.required(format!("{rp}.name"), &r.name);
                match &r.count {
                    None => self.err(format!("{rp}.count"), "required"),
                    Some(c @ IntOrString::String(s)) if c.as_int().is_none() => self.err(
                        format!("{rp}.count"),
                        format!("must be an integer, got {s:?}"),
                    ),
                    Some(c) if c.as_int().is_some_and(|n| n < 0) => {
                        self.err(format!("{rp}.count"), "must not be negative")
                    }
                    Some(_) => {}
                }
            }
            for (i, p) in k.patches.iter().enumerate() {
                if p.path.is_none() && p.patch.is_none() {
                    self.err(
                        format!("{path}.kustomize.patches[{i}]"),
                        "one of path or patch is required",
                    );
                }
            }
        }
        if let Some(jsonnet) = source.directory.as_ref().and_then(|d| d.jsonnet.as_ref()) {
            for (field, vars) in [("extVars", &jsonnet.ext_vars), ("tlas", &jsonnet.tlas)] {
                for (i, var) in vars.iter().enumerate() {
                    self.required(
                        format!("{path}.directory.jsonnet.{field}[{i}].name"),
                        &var.name,
                    );
                }
            }
        }
        if let Some(plugin) = &source.plugin {
            for (i, e) in plugin.env.iter().enumerate() {
                self.required(format!("{path}.plugin.env[{i}].name"), &e.name);
            }
            for (i, p) in plugin.parameters.iter().enumerate() {
                self.required(format!("{path}.plugin.parameters[{i}].name"), &p.name);
            }
        }
    }

    fn project_spec(&mut self, project: &AppProject) {
        let spec = &project.spec;
        for (i, repo) in spec.source_repos.iter().enumerate() {
            self.required(format!("spec.sourceRepos[{i}]"), repo);
        }
        for (i, dest) in spec.destinations.iter().enumerate() {
            let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
            if !has(&dest.server) && !has(&dest.name) {
                self.err(
                    format!("spec.destinations[{i}]"),
                    "one of server or name is required",
                );
            }
        }
        for (field, list) in [
            ("clusterResourceWhitelist", &spec.cluster_resource_whitelist),
            ("clusterResourceBlacklist", &spec.cluster_resource_blacklist),
            (
                "namespaceResourceWhitelist",
                &spec.namespace_resource_whitelist,
            ),
            (
                "namespaceResourceBlacklist",
                &spec.namespace_resource_blacklist,
            ),
        ] {
            self.group_kinds(field, list);
        }
        let mut role_names = BTreeSet::new();
        for (i, role) in spec.roles.iter().enumerate() {
            let path = format!("spec.roles[{i}]");
            if role.name.is_empty() {
                self.err(format!("{path}.name"), "required");
            } else if !is_role_name(&role.name) {
                self.err(
                    format!("{path}.name"),
                    format!("invalid role name {:?}", role.name),
                );
            } else if !role_names.insert(role.name.as_str()) {
                self.err(
                    format!("{path}.name"),
                    format!("duplicate role {:?}", role.name),
                );
            }
            for (j, policy) in role.policies.iter().enumerate() {
                if let Err(msg) = check_policy(policy, project.name(), &role.name) {
                    self.err(format!("{path}.policies[{j}]"), msg);
                }
            }
            for (j, group) in role.groups.iter().enumerate() {
                self.required(format!("{path}.groups[{j}]"), group);
            }
        }
        for (i, window) in spec.sync_windows.iter().enumerate() {
            let path = format!("spec.syncWindows[{i}]");
            if window.kind != "allow" && window.kind != "deny" {
                self.err(
                    format!("{path}.kind"),
                    format!("must be allow or deny, got {:?}", window.kind),
                );
            }
            if window.schedule.split_whitespace().count() != 5 {
                self.err(
                    format!("{path}.schedule"),
                    format!(
                        "invalid schedule {:?}: expected 5 cron fields",
                        window.schedule
                    ),
                );
            }
            if let Err(e) = parse_go_duration(&window.duration) {
                self.err(format!("{path}.duration"), e.to_string());
            }
        }
        for (i, key) in spec.signature_keys.iter().enumerate() {
            let id = &key.key_id;
            if id.len() < 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                self.err(
                    format!("spec.signatureKeys[{i}].keyID"),
                    format!("invalid key ID {id:?}: expected hexadecimal digits"),
                );
            }
        }
        for (i, ns) in spec.source_namespaces.iter().enumerate() {
            self.required(format!("spec.sourceNamespaces[{i}]"), ns);
        }
    }

    fn group_kinds(&mut self, field: &str, list: &[GroupKind]) {
        for (i, gk) in list.iter().enumerate() {
            self.required(format!("spec.{field}[{i}].kind"), &gk.kind);
        }
    }
}

/// Checks one project policy line:
/// `p, proj:<project>:<role>, <resource>, <action>, <project>/<object>, allow|deny`.
fn check_policy(policy: &str, project: &str, role: &str) -> Result<(), String> {
    let fields: Vec<&str> = policy.split(',').map(str::trim).collect();
    if fields.len() != 6 || fields[0] != "p" {
        return Err(format!(
            "invalid policy {policy:?}: expected \"p, proj:{project}:{role}, <resource>, <action>, <object>, <allow|deny>\""
        ));
    }
    let subject = format!("proj:{project}:{role}");
    if fields[1] != subject {
        return Err(format!(
            "policy subject must be {subject:?}, got {:?}",
            fields[1]
        ));
    }
    if fields[2].is_empty() || fields[3].is_empty() {
        return Err(format!(
            "invalid policy {policy:?}: resource and action are required"
        ));
    }
    let object = fields[4];
    let object_project = object.split('/').next().unwrap_or("");
    if !object.contains('/') || object_project != project {
        return Err(format!(
            "policy object must start with \"{project}/\", got {object:?}"
        ));
    }
    if fields[5] != "allow" && fields[5] != "deny" {
        return Err(format!(
            "policy effect must be allow or deny, got {:?}",
            fields[5]
        ));
    }
    Ok(())
}

/// True when a relative path climbs above its starting directory (`a/../../b`).
fn escapes_root(path: &str) -> bool {
    let mut depth: i64 = 0;
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_ref_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_role_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_escape() {
        assert!(escapes_root("../x"));
        assert!(escapes_root("a/../../x"));
        assert!(!escapes_root("a/../b"));
        assert!(!escapes_root("./apps/airflow"));
        assert!(!escapes_root("."));
    }

    #[test]
    fn policy_lines() {
        let ok = "p, proj:ml:ci, applications, sync, ml/*, allow";
        assert_eq!(check_policy(ok, "ml", "ci"), Ok(()));
        assert!(
            check_policy(
                "p, proj:other:ci, applications, sync, ml/*, allow",
                "ml",
                "ci"
            )
            .unwrap_err()
            .contains("policy subject must be \"proj:ml:ci\"")
        );
        assert!(
            check_policy(
                "p, proj:ml:ci, applications, sync, other/*, allow",
                "ml",
                "ci"
            )
            .unwrap_err()
            .contains("policy object must start with \"ml/\"")
        );
        assert!(
            check_policy("p, proj:ml:ci, applications, sync, ml/*, maybe", "ml", "ci").is_err()
        );
        assert!(check_policy("g, x", "ml", "ci").is_err());
    }

    #[test]
    fn names() {
        assert!(is_dns_subdomain("mlflow.tracking-1"));
        assert!(!is_dns_subdomain("MLflow"));
        assert!(!is_dns_subdomain("a..b"));
        assert!(is_ref_name("values_repo-1"));
        assert!(!is_ref_name("$values"));
        assert!(is_role_name("ci-deployer"));
        assert!(!is_role_name("-ci"));
    }
}
