//! Checks of an Application's spec: sources, destination, sync policy, ignore rules.

use std::collections::BTreeSet;

use super::{Checks, escapes_root, is_dns_label, is_ref_name};
use crate::application::ApplicationSpec;
use crate::application_source::{ApplicationSource, IntOrString};
use crate::duration::parse_backoff_duration;

impl Checks {
    pub(super) fn app_spec(&mut self, spec: &ApplicationSpec) {
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
}
