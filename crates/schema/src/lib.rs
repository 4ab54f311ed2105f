//! ferrocd-schema: Kubernetes type knowledge: merge keys, strategies, scope, kind order.
//!
//! Everything here is pure data about the built-in Kubernetes kinds, written from the
//! Kubernetes API reference (`patchStrategy`, `patchMergeKey`, `x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, resource scope) and from the documented install orders of
//! Argo CD, Helm and Kustomize.
//!
//! * [`list_strategy`] says how a list field is merged by a strategic merge patch;
//! * [`list_map_keys`] gives the keys server-side apply uses for `map` lists;
//! * [`is_namespaced`] tells the scope of a built-in kind;
//! * [`kind_order`] / [`kustomize_legacy_kind_order`] give install orders;
//! * [`strategic_merge`] implements the strategic merge patch itself.
#![deny(missing_docs)]

mod lists;
mod order;
mod scope;
pub mod strategic_merge;

pub use lists::{ListStrategy, list_map_keys, list_strategy};
pub use order::{kind_order, kustomize_legacy_kind_order};
pub use scope::is_namespaced;

/// A reference to a Kubernetes type by API group and kind (the version does not change
/// merge semantics, scope or ordering, so it is not part of the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeRef<'a> {
    /// API group, `""` for the core group (`v1`).
    pub group: &'a str,
    /// Kind, e.g. `Deployment`.
    pub kind: &'a str,
}

impl<'a> TypeRef<'a> {
    /// Builds a reference from a group and a kind.
    pub fn new(group: &'a str, kind: &'a str) -> Self {
        Self { group, kind }
    }

    /// Builds a reference from an `apiVersion` (`apps/v1`, `v1`) and a kind.
    pub fn from_api_version(api_version: &'a str, kind: &'a str) -> Self {
        let group = match api_version.rsplit_once('/') {
            Some((group, _version)) => group,
            None => "",
        };
        Self { group, kind }
    }

    /// The list strategy of the list at `path` in objects of this type.
    pub fn list_strategy(&self, path: &[&str]) -> ListStrategy {
        list_strategy(self.group, self.kind, path)
    }

    /// Whether this built-in type is namespaced (`None` for unknown types).
    pub fn is_namespaced(&self) -> Option<bool> {
        is_namespaced(self.group, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_ref_from_api_version_splits_group() {
        assert_eq!(
            TypeRef::from_api_version("apps/v1", "Deployment"),
            TypeRef::new("apps", "Deployment")
        );
        assert_eq!(
            TypeRef::from_api_version("v1", "Pod"),
            TypeRef::new("", "Pod")
        );
        assert_eq!(
            TypeRef::from_api_version("rbac.authorization.k8s.io/v1", "Role").group,
            "rbac.authorization.k8s.io"
        );
    }

    #[test]
    fn type_ref_methods_delegate() {
        let t = TypeRef::new("apps", "Deployment");
        assert_eq!(
            t.list_strategy(&["spec", "template", "spec", "containers"]),
            ListStrategy::MergeByKey("name")
        );
        assert_eq!(t.is_namespaced(), Some(true));
    }
}
