//! Role-based access control with the grammar and meaning of Argo CD's `argocd-rbac-cm`.
//!
//! A [`Policy`] is built from the ConfigMap's data: `policy.csv` followed by every
//! `policy.<name>.csv` key (in name order), `policy.default` (a role every authenticated user
//! has), `scopes` (which token claims name groups, `[groups]` by default) and
//! `policy.matchMode` (`glob`, the default, or `regex`). The built-in roles `role:readonly` and
//! `role:admin` and the grant `g, admin, role:admin` are always present. Project roles
//! (`proj:<project>:<role>`, from AppProject `spec.roles`) are added with
//! [`Policy::add_project`].
//!
//! How a request `(subject, resource, action, object)` is decided, as Argo CD decides it:
//!
//! 1. when the default role allows it, it is allowed (a deny rule cannot take that away);
//! 2. otherwise the user and then each of its groups is tried alone: its roles are the closure
//!    of `g` lines, and the rules of it and its roles that match resource, action and object
//!    decide: any matching `deny` wins over any matching `allow`;
//! 3. the request is allowed when one of them allows it.
//!
//! A project-role subject (`proj:ml-platform:deployer`) only ever acts on objects of its own
//! project (`ml-platform/...`, or the project `ml-platform` itself).

mod builtin;
mod csv;
mod glob;

use std::collections::{BTreeMap, HashMap, HashSet};

use ferrocd_model::project::ProjectRole;
use serde_json::Value;

use crate::rbac::csv::Line;
use crate::rbac::glob::Matcher;

/// Resources whose objects are `<project>/<app>` (or `<project>/<namespace>/<app>`).
pub const PROJECT_SCOPED_RESOURCES: [&str; 4] = ["applications", "applicationsets", "logs", "exec"];

/// What a policy rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants the request.
    Allow,
    /// Refuses it, whatever else allows it (except the default role).
    Deny,
}

/// The outcome of [`Policy::enforce`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A rule allows the request.
    Allow,
    /// A deny rule matches and nothing that may override it allows it.
    Deny,
    /// No rule matches.
    NoMatch,
}

impl Decision {
    /// Whether the request may go ahead.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// Who is asking: the user (token subject) and the groups taken from its claims.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject {
    /// The user name, account name or project-role subject (`proj:<project>:<role>`).
    pub user: String,
    /// Group names (values of the claims listed in `scopes`).
    pub groups: Vec<String>,
}

impl Subject {
    /// A subject without groups.
    pub fn user(name: impl Into<String>) -> Subject {
        Subject {
            user: name.into(),
            groups: Vec::new(),
        }
    }
}

/// How patterns in policy rules are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Globs where `*` also matches `/`.
    #[default]
    Glob,
    /// Regular expressions.
    Regex,
}

/// Errors building a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RbacError {
    /// A line of a policy key does not parse.
    #[error("parsing {key} line {line}: {message}")]
    Line {
        /// The ConfigMap key (`policy.csv`, `policy.team.csv`, a project role).
        key: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A field of the ConfigMap has a value ferrocd does not understand.
    #[error("reading {key}: {message}")]
    Setting {
        /// The ConfigMap key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    resource: Matcher,
    action: Matcher,
    object: Matcher,
    effect: Effect,
}

/// A compiled RBAC policy.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: HashMap<String, Vec<Rule>>,
    grants: HashMap<String, Vec<String>>,
    default_role: Option<String>,
    scopes: Vec<String>,
    match_mode: MatchMode,
}

impl Default for Policy {
    fn default() -> Self {
        let mut policy = Policy {
            rules: HashMap::new(),
            grants: HashMap::new(),
            default_role: None,
            scopes: vec!["groups".to_string()],
            match_mode: MatchMode::Glob,
        };
        // The built-in lines are valid: adding them cannot fail.
        let _ = policy.add_csv("builtin-policy.csv", builtin::POLICY);
        policy
    }
}

impl Policy {
    /// Builds the policy from `argocd-rbac-cm`: either the whole ConfigMap object (with `data`)
    /// or its `data` map. A missing or empty ConfigMap gives the built-in policy alone.
    pub fn from_config_map(config_map: &Value) -> Result<Policy, RbacError> {
        let data = config_map.get("data").unwrap_or(config_map);
        let mut entries: BTreeMap<&str, &str> = BTreeMap::new();
        if let Some(map) = data.as_object() {
            for (k, v) in map {
                if let Some(s) = v.as_str() {
                    entries.insert(k, s);
                }
            }
        }
        let mut policy = Policy::default();
        match entries.get("policy.matchMode").map(|s| s.trim()) {
            None | Some("") | Some("glob") => {}
            Some("regex") => policy.match_mode = MatchMode::Regex,
            Some(other) => {
                return Err(RbacError::Setting {
                    key: "policy.matchMode".into(),
                    message: format!("expected 'glob' or 'regex', found {other:?}"),
                });
            }
        }
        if let Some(default) = entries.get("policy.default").map(|s| s.trim())
            && !default.is_empty()
        {
            policy.default_role = Some(default.to_string());
        }
        if let Some(scopes) = entries.get("scopes") {
            policy.scopes = parse_scopes(scopes).map_err(|message| RbacError::Setting {
                key: "scopes".into(),
                message,
            })?;
        }
        if let Some(csv) = entries.get("policy.csv") {
            policy.add_csv("policy.csv", csv)?;
        }
        for (key, csv) in &entries {
            if key.starts_with("policy.") && key.ends_with(".csv") && *key != "policy.csv" {
                policy.add_csv(key, csv)?;
            }
        }
        Ok(policy)
    }

    /// Adds the lines of one policy file; `key` names it in errors.
    pub fn add_csv(&mut self, key: &str, text: &str) -> Result<(), RbacError> {
        for (index, raw) in text.lines().enumerate() {
            let err = |message: String| RbacError::Line {
                key: key.to_string(),
                line: index + 1,
                message,
            };
            match csv::parse_line(raw).map_err(err)? {
                None => {}
                Some(Line::Grant { member, role }) => self.grant(member, role),
                Some(Line::Policy {
                    subject,
                    resource,
                    action,
                    object,
                    effect,
                }) => {
                    let rule = self
                        .compile(&resource, &action, &object, &effect)
                        .map_err(err)?;
                    self.rules.entry(subject).or_default().push(rule);
                }
            }
        }
        Ok(())
    }

    /// Adds the roles of an AppProject: each role's `policies` (lines whose subject must be
    /// `proj:<project>:<role>`, whose resource must be project-scoped and whose object must be
    /// in the project) and its `groups`. Lines that break those rules are skipped and returned.
    pub fn add_project(&mut self, project: &str, roles: &[ProjectRole]) -> Vec<RbacError> {
        let mut skipped = Vec::new();
        for role in roles {
            let subject = format!("proj:{project}:{}", role.name);
            let key = format!("project {project} role {}", role.name);
            for (index, raw) in role.policies.iter().enumerate() {
                let err = |message: String| RbacError::Line {
                    key: key.clone(),
                    line: index + 1,
                    message,
                };
                match csv::parse_line(raw) {
                    Err(message) => skipped.push(err(message)),
                    Ok(None) => {}
                    Ok(Some(Line::Grant { .. })) => {
                        skipped.push(err("project roles hold 'p' lines only".into()))
                    }
                    Ok(Some(Line::Policy {
                        subject: line_subject,
                        resource,
                        action,
                        object,
                        effect,
                    })) => {
                        if line_subject != subject {
                            skipped.push(err(format!(
                                "the subject must be {subject:?}, found {line_subject:?}"
                            )));
                            continue;
                        }
                        if !PROJECT_SCOPED_RESOURCES.contains(&resource.as_str()) {
                            skipped.push(err(format!(
                                "project roles cover {}, found {resource:?}",
                                PROJECT_SCOPED_RESOURCES.join(", ")
                            )));
                            continue;
                        }
                        if object.split('/').next() != Some(project) || !object.contains('/') {
                            skipped.push(err(format!(
                                "the object must be in project {project:?} ({project}/...), found {object:?}"
                            )));
                            continue;
                        }
                        match self.compile(&resource, &action, &object, &effect) {
                            Ok(rule) => self.rules.entry(subject.clone()).or_default().push(rule),
                            Err(message) => skipped.push(err(message)),
                        }
                    }
                }
            }
            for group in &role.groups {
                self.grant(group.clone(), subject.clone());
            }
        }
        skipped
    }

    /// The claims whose values are groups (`scopes`, `[groups]` by default).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The role every authenticated user has (`policy.default`).
    pub fn default_role(&self) -> Option<&str> {
        self.default_role.as_deref()
    }

    /// The match mode (`policy.matchMode`).
    pub fn match_mode(&self) -> MatchMode {
        self.match_mode
    }

    /// Decides whether `subject` may do `action` on `object` of `resource`.
    pub fn enforce(
        &self,
        subject: &Subject,
        resource: &str,
        action: &str,
        object: &str,
    ) -> Decision {
        if let Some(default) = &self.default_role
            && self.enforce_one(default, resource, action, object) == Decision::Allow
        {
            return Decision::Allow;
        }
        let mut outcome = Decision::NoMatch;
        let candidates = std::iter::once(&subject.user)
            .filter(|u| !u.is_empty())
            .chain(subject.groups.iter());
        for name in candidates {
            if let Some(project) = project_of_role_subject(name)
                && object.split('/').next() != Some(project)
            {
                continue;
            }
            match self.enforce_one(name, resource, action, object) {
                Decision::Allow => return Decision::Allow,
                Decision::Deny => outcome = Decision::Deny,
                Decision::NoMatch => {}
            }
        }
        outcome
    }

    /// The decision for one subject and the roles it holds, deny winning.
    fn enforce_one(&self, subject: &str, resource: &str, action: &str, object: &str) -> Decision {
        let mut allowed = false;
        for name in self.roles_of(subject) {
            for rule in self.rules.get(name).into_iter().flatten() {
                if rule.resource.matches(resource)
                    && rule.action.matches(action)
                    && rule.object.matches(object)
                {
                    match rule.effect {
                        Effect::Deny => return Decision::Deny,
                        Effect::Allow => allowed = true,
                    }
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NoMatch
        }
    }

    /// `subject` and every role it holds through `g` lines, transitively.
    fn roles_of<'a>(&'a self, subject: &'a str) -> Vec<&'a str> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut order = vec![subject];
        seen.insert(subject);
        let mut i = 0;
        while i < order.len() {
            for role in self.grants.get(order[i]).into_iter().flatten() {
                if seen.insert(role.as_str()) {
                    order.push(role.as_str());
                }
            }
            i += 1;
        }
        order
    }

    fn grant(&mut self, member: String, role: String) {
        let roles = self.grants.entry(member).or_default();
        if !roles.contains(&role) {
            roles.push(role);
        }
    }

    fn compile(
        &self,
        resource: &str,
        action: &str,
        object: &str,
        effect: &str,
    ) -> Result<Rule, String> {
        let compile = |field: &str, pattern: &str| {
            match self.match_mode {
                MatchMode::Glob => Matcher::glob(pattern),
                MatchMode::Regex => Matcher::regex(pattern),
            }
            .map_err(|problem| format!("{field} {pattern:?}: {problem}"))
        };
        Ok(Rule {
            resource: compile("resource", resource)?,
            action: compile("action", action)?,
            object: compile("object", object)?,
            effect: if effect == "deny" {
                Effect::Deny
            } else {
                Effect::Allow
            },
        })
    }
}

/// `proj:<project>:<role>` → `<project>`.
fn project_of_role_subject(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix("proj:")?;
    let (project, role) = rest.split_once(':')?;
    (!project.is_empty() && !role.is_empty()).then_some(project)
}

/// Parses `scopes`: `[groups, email]`, with or without brackets and quotes.
fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    let trimmed = text.trim();
    let inner = match (trimmed.strip_prefix('['), trimmed.strip_suffix(']')) {
        (Some(_), Some(_)) => &trimmed[1..trimmed.len() - 1],
        (None, None) => trimmed,
        _ => {
            return Err(format!(
                "expected a list like [groups, email], found {trimmed:?}"
            ));
        }
    };
    let scopes: Vec<String> = inner
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    Ok(scopes)
}

/// The RBAC object of an application: `<project>/<name>`, or `<project>/<namespace>/<name>`
/// when the application lives outside the server's namespace.
pub fn app_object(
    project: &str,
    app_namespace: &str,
    server_namespace: &str,
    name: &str,
) -> String {
    if app_namespace.is_empty() || app_namespace == server_namespace {
        format!("{project}/{name}")
    } else {
        format!("{project}/{app_namespace}/{name}")
    }
}

#[cfg(test)]
mod tests;
