//! Checks of an AppProject's spec: destinations, resource lists, roles and their
//! policies, sync windows, signature keys.

use std::collections::BTreeSet;

use super::Checks;
use crate::duration::parse_go_duration;
use crate::project::{AppProject, GroupKind};

impl Checks {
    pub(super) fn project_spec(&mut self, project: &AppProject) {
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
    fn role_names() {
        assert!(is_role_name("ci-deployer"));
        assert!(!is_role_name("-ci"));
    }
}
