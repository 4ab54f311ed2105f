//! The kinds a cluster serves, from API discovery.

use std::collections::HashMap;

use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};

/// How to reach one kind.
#[derive(Debug, Clone)]
pub struct KindInfo {
    /// Group, version, kind and plural as kube-rs needs them.
    pub resource: ApiResource,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// The server lists this kind.
    pub listable: bool,
    /// The server watches this kind.
    pub watchable: bool,
}

impl KindInfo {
    fn new(resource: ApiResource, caps: &ApiCapabilities) -> Self {
        Self {
            namespaced: caps.scope == Scope::Namespaced,
            listable: caps.supports_operation("list"),
            watchable: caps.supports_operation("watch"),
            resource,
        }
    }
}

/// Every kind a cluster serves: by (group, kind) at the group's preferred version, and
/// by (group, version, kind) for objects written against another served version.
#[derive(Debug, Clone, Default)]
pub struct KindIndex {
    preferred: HashMap<(String, String), KindInfo>,
    versioned: HashMap<(String, String, String), KindInfo>,
}

impl KindIndex {
    /// Builds the index from a finished kube-rs discovery.
    pub fn from_discovery(discovery: &Discovery) -> Self {
        let mut index = Self::default();
        for group in discovery.groups() {
            for version in group.versions() {
                for (resource, caps) in group.versioned_resources(version) {
                    let info = KindInfo::new(resource.clone(), &caps);
                    index.versioned.insert(
                        (
                            resource.group.clone(),
                            resource.version.clone(),
                            resource.kind.clone(),
                        ),
                        info,
                    );
                }
            }
            for (resource, caps) in group.recommended_resources() {
                let info = KindInfo::new(resource.clone(), &caps);
                index
                    .preferred
                    .insert((resource.group.clone(), resource.kind.clone()), info);
            }
        }
        index
    }

    /// The kind at the group's preferred version.
    pub fn get(&self, group: &str, kind: &str) -> Option<&KindInfo> {
        self.preferred.get(&(group.to_string(), kind.to_string()))
    }

    /// The kind at the version an object is written in (`apiVersion: apps/v1`), falling back
    /// to the preferred version when that version is not served.
    pub fn for_api_version(&self, api_version: &str, kind: &str) -> Option<&KindInfo> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        self.versioned
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .or_else(|| self.get(group, kind))
    }

    /// Every kind at its preferred version, in a stable order (group, kind).
    pub fn kinds(&self) -> Vec<&KindInfo> {
        let mut kinds: Vec<&KindInfo> = self.preferred.values().collect();
        kinds.sort_by(|a, b| {
            (a.resource.group.as_str(), a.resource.kind.as_str())
                .cmp(&(b.resource.group.as_str(), b.resource.kind.as_str()))
        });
        kinds
    }

    /// Number of kinds (preferred versions).
    pub fn len(&self) -> usize {
        self.preferred.len()
    }

    /// Whether the cluster serves no kind at all.
    pub fn is_empty(&self) -> bool {
        self.preferred.is_empty()
    }
}
