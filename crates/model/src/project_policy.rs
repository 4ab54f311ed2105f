//! What an [`AppProject`] permits: source repositories, destinations and resource kinds,
//! with Argo CD's semantics.
//!
//! - Patterns are globs: `*` (any run of characters, `/` included), `?`, `[a-z]`,
//!   `[!a-z]`, `{a,b}` and `\` escapes. Matching never panics, whatever the pattern.
//! - A pattern prefixed with `!` denies. A repository or destination is permitted when an
//!   allowing rule matches it **and** no denying rule rejects it, so a deny always wins.
//! - Cluster-scoped kinds need the cluster allow list (empty = none allowed); namespaced
//!   kinds are all allowed when the namespace allow list is empty. Deny lists win.
//! - Repository URLs are compared normalized (case, `.git`, trailing `/`, scp-style SSH),
//!   see [`normalize_repo_url`].
//!
//! [`AppProject::check_application`] gathers every violation of an Application with the
//! messages Argo CD prints, for the controller to turn into an `InvalidSpecError`
//! condition.

use std::fmt;

use crate::application::Application;
use crate::cluster::IN_CLUSTER_SERVER;
use crate::project::{AppProject, GroupKind, ProjectDestination};

/// Name of the cluster the controller runs in.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// Most alternatives a `{a,b}` pattern may expand to; beyond this the pattern matches
/// only itself literally (a pathological pattern must not cost unbounded memory).
const MAX_ALTERNATIVES: usize = 256;

/// One way an Application breaks the rules of its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectViolation {
    /// A source's repository is not in `sourceRepos` (or is denied there).
    SourceRepo {
        /// The repository URL as the Application names it.
        repo: String,
        /// The project's name.
        project: String,
    },
    /// Both `destination.name` and `destination.server` are set.
    DestinationNameAndServer {
        /// `destination.name`.
        name: String,
        /// `destination.server`.
        server: String,
    },
    /// `destination.name` names no known cluster.
    UnknownClusterName {
        /// `destination.name`.
        name: String,
    },
    /// The destination matches no allowed destination (or is denied).
    Destination {
        /// Resolved server URL.
        server: String,
        /// Destination namespace (may be empty).
        namespace: String,
        /// The project's name.
        project: String,
    },
    /// A resource kind is not permitted.
    Resource {
        /// API group (`""` for core).
        group: String,
        /// Kind.
        kind: String,
        /// The project's name.
        project: String,
    },
    /// A namespaced resource lives in a namespace the project does not permit.
    ResourceNamespace {
        /// The resource's namespace.
        namespace: String,
        /// The project's name.
        project: String,
    },
}

impl ProjectViolation {
    /// The Application condition type Argo CD uses for this violation.
    pub fn condition_type(&self) -> &'static str {
        match self {
            Self::Resource { .. } | Self::ResourceNamespace { .. } => "SyncError",
            _ => "InvalidSpecError",
        }
    }
}

impl fmt::Display for ProjectViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SourceRepo { repo, project } => {
                write!(
                    f,
                    "application repo {repo} is not permitted in project '{project}'"
                )
            }
            Self::DestinationNameAndServer { name, server } => write!(
                f,
                "application destination can't have both name and server defined: {name} {server}"
            ),
            Self::UnknownClusterName { name } => write!(
                f,
                "unable to find destination server: there are no clusters with this name: {name}"
            ),
            Self::Destination {
                server,
                namespace,
                project,
            } => write!(
                f,
                "application destination server '{server}' and namespace '{namespace}' do not \
                 match any of the allowed destinations in project '{project}'"
            ),
            Self::Resource {
                group,
                kind,
                project,
            } => write!(
                f,
                "resource {group}:{kind} is not permitted in project {project}"
            ),
            Self::ResourceNamespace { namespace, project } => write!(
                f,
                "namespace {namespace} is not permitted in project '{project}'"
            ),
        }
    }
}

impl AppProject {
    /// True when the project lets applications use repository `repo_url`: some
    /// `sourceRepos` pattern without `!` matches it and no `!` pattern does.
    pub fn permits_source_repo(&self, repo_url: &str) -> bool {
        let repo = normalize_repo_url(repo_url);
        let mut allowed = false;
        for pattern in &self.spec.source_repos {
            let (negated, raw) = split_negation(pattern);
            let hit = glob_match(&normalize_repo_url(raw), &repo);
            if negated && hit {
                return false;
            }
            allowed |= !negated && hit;
        }
        allowed
    }

    /// True when the project lets applications deploy to namespace `namespace` of the
    /// cluster at `server` (named `name`, when known).
    ///
    /// A destination rule allows when its server or its name matches, and its namespace
    /// matches; a `!` field matches what its pattern does not. A rule rejects when one of
    /// its `!` fields names the destination while its other dimension (cluster or
    /// namespace) matches. The in-cluster server and the name `in-cluster` stand for
    /// each other.
    pub fn permits_destination(&self, server: &str, name: Option<&str>, namespace: &str) -> bool {
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => n,
            None if server == IN_CLUSTER_SERVER => IN_CLUSTER_NAME,
            None => "",
        };
        let server = if server.is_empty() && name == IN_CLUSTER_NAME {
            IN_CLUSTER_SERVER
        } else {
            server
        };
        let mut allowed = false;
        for rule in &self.spec.destinations {
            match evaluate_destination(rule, server, name, namespace) {
                RuleOutcome::Rejects => return false,
                RuleOutcome::Allows => allowed = true,
                RuleOutcome::NoMatch => {}
            }
        }
        allowed
    }

    /// True when the project lets applications manage kind `group`/`kind`, cluster-scoped
    /// or namespaced.
    pub fn permits_resource(&self, group: &str, kind: &str, namespaced: bool) -> bool {
        let spec = &self.spec;
        let (allow, deny) = if namespaced {
            (
                &spec.namespace_resource_whitelist,
                &spec.namespace_resource_blacklist,
            )
        } else {
            (
                &spec.cluster_resource_whitelist,
                &spec.cluster_resource_blacklist,
            )
        };
        let listed = |list: &[GroupKind]| list.iter().any(|gk| group_kind_matches(gk, group, kind));
        let allowed = if namespaced && allow.is_empty() {
            true
        } else {
            listed(allow)
        };
        allowed && !listed(deny)
    }

    /// True when an Application living in namespace `app_namespace` may use this project:
    /// always in the control-plane namespace, elsewhere only when `sourceNamespaces`
    /// permits it (globs, `!` denies).
    pub fn permits_source_namespace(&self, app_namespace: &str, control_plane: &str) -> bool {
        if app_namespace.is_empty() || app_namespace == control_plane {
            return true;
        }
        let mut allowed = false;
        for pattern in &self.spec.source_namespaces {
            let (negated, raw) = split_negation(pattern);
            let hit = glob_match(raw, app_namespace);
            if negated && hit {
                return false;
            }
            allowed |= !negated && hit;
        }
        allowed
    }

    /// Every violation of `app`'s sources and destination. `dest_server` is the server
    /// the destination resolved to (empty when `destination.name` names no cluster).
    /// An empty result means the application may be rendered and synced.
    pub fn check_application(&self, app: &Application, dest_server: &str) -> Vec<ProjectViolation> {
        let project = self.name().to_string();
        let mut out = Vec::new();
        for source in app.spec.sources_list() {
            if !self.permits_source_repo(&source.repo_url) {
                out.push(ProjectViolation::SourceRepo {
                    repo: source.repo_url.clone(),
                    project: project.clone(),
                });
            }
        }
        let dest = &app.spec.destination;
        let name = dest.name.as_deref().filter(|n| !n.is_empty());
        let spec_server = dest.server.as_deref().filter(|s| !s.is_empty());
        let namespace = dest.namespace.as_deref().unwrap_or("");
        if let (Some(name), Some(server)) = (name, spec_server) {
            out.push(ProjectViolation::DestinationNameAndServer {
                name: name.to_string(),
                server: server.to_string(),
            });
            return out;
        }
        let server = if dest_server.is_empty() {
            spec_server.unwrap_or("")
        } else {
            dest_server
        };
        if server.is_empty() && name.is_some_and(|n| n != IN_CLUSTER_NAME) {
            out.push(ProjectViolation::UnknownClusterName {
                name: name.unwrap_or_default().to_string(),
            });
            return out;
        }
        if !self.permits_destination(server, name, namespace) {
            out.push(ProjectViolation::Destination {
                server: server.to_string(),
                namespace: namespace.to_string(),
                project,
            });
        }
        out
    }

    /// The violation, if any, of one resource the application would manage: its kind
    /// must be permitted and, when namespaced, its namespace must be an allowed
    /// destination on the application's cluster.
    pub fn check_resource(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        server: &str,
        cluster_name: Option<&str>,
    ) -> Option<ProjectViolation> {
        let namespaced = namespace.is_some_and(|ns| !ns.is_empty());
        if !self.permits_resource(group, kind, namespaced) {
            return Some(ProjectViolation::Resource {
                group: group.to_string(),
                kind: kind.to_string(),
                project: self.name().to_string(),
            });
        }
        match namespace {
            Some(ns) if !ns.is_empty() && !self.permits_destination(server, cluster_name, ns) => {
                Some(ProjectViolation::ResourceNamespace {
                    namespace: ns.to_string(),
                    project: self.name().to_string(),
                })
            }
            _ => None,
        }
    }
}

/// What one destination rule says about a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleOutcome {
    Allows,
    Rejects,
    NoMatch,
}

/// A pattern field of a destination rule evaluated against a value.
#[derive(Debug, Clone, Copy)]
struct FieldEval {
    /// The field is set (non-empty).
    present: bool,
    /// The field starts with `!`.
    negated: bool,
    /// The pattern (without `!`) matches the value.
    raw_hit: bool,
}

impl FieldEval {
    fn new(pattern: Option<&str>, value: &str) -> Self {
        match pattern.filter(|p| !p.is_empty()) {
            None => Self {
                present: false,
                negated: false,
                raw_hit: false,
            },
            Some(p) => {
                let (negated, raw) = split_negation(p);
                Self {
                    present: true,
                    negated,
                    raw_hit: glob_match(raw, value),
                }
            }
        }
    }

    /// The field, with its negation applied, accepts the value.
    fn passes(self) -> bool {
        self.present && (self.raw_hit != self.negated)
    }

    /// A `!` field whose pattern names the value.
    fn denies(self) -> bool {
        self.present && self.negated && self.raw_hit
    }
}

fn evaluate_destination(
    rule: &ProjectDestination,
    server: &str,
    name: &str,
    namespace: &str,
) -> RuleOutcome {
    let server_f = FieldEval::new(rule.server.as_deref(), server);
    let name_f = FieldEval::new(rule.name.as_deref(), name);
    // An unset namespace in a rule matches only an empty namespace, as `""` would.
    let ns_f = match rule.namespace.as_deref() {
        Some(p) => FieldEval::new(Some(p), namespace),
        None => FieldEval {
            present: true,
            negated: false,
            raw_hit: namespace.is_empty(),
        },
    };
    let cluster_passes = server_f.passes() || name_f.passes();
    let cluster_denies = server_f.denies() || name_f.denies();
    if (cluster_denies && ns_f.passes()) || (ns_f.denies() && cluster_passes) {
        return RuleOutcome::Rejects;
    }
    if cluster_passes && ns_f.passes() {
        RuleOutcome::Allows
    } else {
        RuleOutcome::NoMatch
    }
}

fn group_kind_matches(gk: &GroupKind, group: &str, kind: &str) -> bool {
    let pattern_group = gk.group();
    (pattern_group == group || glob_match(pattern_group, group))
        && (gk.kind == kind || glob_match(&gk.kind, kind))
}

fn split_negation(pattern: &str) -> (bool, &str) {
    match pattern.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    }
}

/// A repository URL in the form projects and webhooks compare: trimmed, lower-cased,
/// without a trailing `/` or `.git`, scp-style `user@host:path` rewritten as
/// `ssh://user@host/path`.
pub fn normalize_repo_url(url: &str) -> String {
    let mut s = url.trim().to_lowercase();
    if !s.contains("://")
        && let Some(at) = s.find('@')
        && let Some(colon_rel) = s[at..].find(':')
    {
        let colon = at + colon_rel;
        s = format!("ssh://{}/{}", &s[..colon], &s[colon + 1..]);
    }
    while s.ends_with('/') {
        s.pop();
    }
    if let Some(stripped) = s.strip_suffix(".git") {
        s = stripped.to_string();
    }
    s
}

/// True when glob `pattern` matches the whole of `text`.
///
/// `*` matches any run of characters (`/` included), `?` one character, `[...]` one
/// character of a class (`[!...]` or `[^...]` negates, `a-z` ranges), `{a,b,c}` one of
/// the alternatives, and `\` escapes the next character. A malformed class or brace is
/// taken literally. Runs in O(pattern × text) per expanded alternative.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    expand_braces(pattern)
        .iter()
        .any(|alt| match_tokens(&tokenize(alt), &text))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyRun,
    AnyOne,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Expands `{a,b}` groups (nested too) into plain patterns; `\` escapes are kept for
/// [`tokenize`]. Falls back to the pattern itself when it has no well-formed group or
/// would expand beyond [`MAX_ALTERNATIVES`].
fn expand_braces(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    if expand_into(&chars, &mut out).is_none() || out.is_empty() {
        return vec![pattern.to_string()];
    }
    out
}

fn expand_into(chars: &[char], out: &mut Vec<String>) -> Option<()> {
    // Find the first top-level `{` with a matching `}`.
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '{' => {
                if let Some((close, commas)) = find_group(chars, i) {
                    let prefix = &chars[..i];
                    let suffix = &chars[close + 1..];
                    let mut start = i + 1;
                    for end in commas.into_iter().chain(std::iter::once(close)) {
                        let mut combined: Vec<char> = prefix.to_vec();
                        combined.extend_from_slice(&chars[start..end]);
                        combined.extend_from_slice(suffix);
                        expand_into(&combined, out)?;
                        if out.len() > MAX_ALTERNATIVES {
                            return None;
                        }
                        start = end + 1;
                    }
                    return Some(());
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push(chars.iter().collect());
    Some(())
}

/// The index of the `}` closing the `{` at `open`, and the top-level commas inside.
fn find_group(chars: &[char], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 2;
                continue;
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((i, commas));
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                tokens.push(Token::Literal(chars[i + 1]));
                i += 2;
            }
            '*' => {
                if tokens.last() != Some(&Token::AnyRun) {
                    tokens.push(Token::AnyRun);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyOne);
                i += 1;
            }
            '[' => match parse_class(&chars, i) {
                Some((token, next)) => {
                    tokens.push(token);
                    i = next;
                }
                None => {
                    tokens.push(Token::Literal('['));
                    i += 1;
                }
            },
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    tokens
}

/// Parses `[...]` starting at `open`; returns the class and the index after `]`.
fn parse_class(chars: &[char], open: usize) -> Option<(Token, usize)> {
    let mut i = open + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        let (lo, next) = if c == '\\' {
            (*chars.get(i + 1)?, i + 2)
        } else {
            (c, i + 1)
        };
        i = next;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (hi, next) = if chars[i + 1] == '\\' {
                (*chars.get(i + 2)?, i + 3)
            } else {
                (chars[i + 1], i + 2)
            };
            i = next;
            ranges.push((lo.min(hi), lo.max(hi)));
        } else {
            ranges.push((lo, lo));
        }
    }
}

fn token_matches_char(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::AnyOne => true,
        Token::AnyRun => true,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

/// Classic wildcard matching with one backtrack point per `*` (linear backtracking).
fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        match tokens.get(t) {
            Some(Token::AnyRun) => {
                star = Some((t, s));
                t += 1;
            }
            Some(tok) if token_matches_char(tok, text[s]) => {
                t += 1;
                s += 1;
            }
            _ => match star {
                Some((st, ss)) => {
                    t = st + 1;
                    s = ss + 1;
                    star = Some((st, ss + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t.min(tokens.len())..]
        .iter()
        .all(|tok| *tok == Token::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ApplicationDestination, ApplicationSpec};
    use crate::application_source::ApplicationSource;
    use crate::meta::ObjectMeta;
    use crate::project::AppProjectSpec;
    use proptest::prelude::*;

    fn dest(server: Option<&str>, name: Option<&str>, ns: Option<&str>) -> ProjectDestination {
        ProjectDestination {
            server: server.map(String::from),
            name: name.map(String::from),
            namespace: ns.map(String::from),
            ..ProjectDestination::default()
        }
    }

    fn project(spec: AppProjectSpec) -> AppProject {
        AppProject::new(ObjectMeta::named("data-platform", "argocd"), spec)
    }

    fn repos(patterns: &[&str]) -> AppProject {
        project(AppProjectSpec {
            source_repos: patterns.iter().map(|s| s.to_string()).collect(),
            ..AppProjectSpec::default()
        })
    }

    #[test]
    fn glob_table() {
        let rows: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything/at/all", true),
            ("ml-*", "ml-serving", true),
            ("ml-*", "data-ml", false),
            ("*-prod", "mlflow-prod", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[!a-c]x", "dx", true),
            ("[^a-c]x", "ax", false),
            ("{airflow,mlflow}-*", "mlflow-dev", true),
            ("{airflow,mlflow}-*", "kubeflow-dev", false),
            ("team-{a,{b,c}}", "team-c", true),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("[unclosed", "[unclosed", true),
            ("{unclosed", "{unclosed", true),
            ("**a**b**", "xxaxxbxx", true),
            ("*a*b", "ba", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, want) in rows {
            assert_eq!(glob_match(pattern, text), *want, "{pattern} vs {text}");
        }
    }

    #[test]
    fn normalizes_repo_urls() {
        assert_eq!(
            normalize_repo_url(" https://Git.Example.com/ML/Platform.git/ "),
            "https://git.example.com/ml/platform"
        );
        assert_eq!(
            normalize_repo_url("git@git.example.com:ml/platform.git"),
            "ssh://git@git.example.com/ml/platform"
        );
        assert_eq!(
            normalize_repo_url("ssh://git@git.example.com/ml/platform"),
            "ssh://git@git.example.com/ml/platform"
        );
    }

    /// One row: the project's patterns, the input, and the expected decision.
    #[allow(clippy::large_enum_variant)]
    enum Row {
        Repo(&'static [&'static str], &'static str, bool),
        Dest(
            Vec<ProjectDestination>,
            (&'static str, Option<&'static str>, &'static str),
            bool,
        ),
        Res(AppProjectSpec, (&'static str, &'static str, bool), bool),
    }

    fn gk(g: &str, k: &str) -> GroupKind {
        GroupKind::new(g, k)
    }

    #[test]
    fn policy_table() {
        use Row::*;
        let gh = "https://github.com/acme-ml/platform-gitops.git";
        let prod = "https://prod-us-east-1.k8s.acme.io";
        let dev = "https://dev-us-east-1.k8s.acme.io";
        let rows: Vec<Row> = vec![
            // source repositories
            Repo(&["*"], gh, true),
            Repo(&[], gh, false),
            Repo(&["https://github.com/acme-ml/*"], gh, true),
            Repo(
                &["https://github.com/acme-ml/*"],
                "https://github.com/other/x",
                false,
            ),
            Repo(&["https://GitHub.com/acme-ml/platform-gitops"], gh, true),
            Repo(&["https://github.com/acme-ml/platform-gitops/"], gh, true),
            Repo(&["*", "!https://github.com/acme-ml/platform-*"], gh, false),
            Repo(&["!https://github.com/acme-ml/platform-*", "*"], gh, false),
            Repo(&["*", "!https://github.com/acme-ml/secret"], gh, true),
            Repo(&["!https://github.com/other/*"], gh, false),
            Repo(
                &["git@github.com:acme-ml/*"],
                "git@github.com:acme-ml/models.git",
                true,
            ),
            Repo(
                &["https://charts.acme.io/*"],
                "https://charts.acme.io/stable",
                true,
            ),
            Repo(
                &["https://charts.acme.io/{stable,incubator}"],
                "https://charts.acme.io/incubator",
                true,
            ),
            Repo(&["!*"], gh, false),
            // destinations
            Dest(
                vec![dest(Some("*"), None, Some("*"))],
                (prod, None, "mlflow"),
                true,
            ),
            Dest(vec![], (prod, None, "mlflow"), false),
            Dest(
                vec![dest(Some(prod), None, Some("ml-*"))],
                (prod, None, "ml-serving"),
                true,
            ),
            Dest(
                vec![dest(Some(prod), None, Some("ml-*"))],
                (prod, None, "airflow"),
                false,
            ),
            Dest(
                vec![dest(Some(prod), None, Some("ml-*"))],
                (dev, None, "ml-serving"),
                false,
            ),
            Dest(
                vec![dest(None, Some("prod-*"), Some("*"))],
                (prod, Some("prod-us-east-1"), "x"),
                true,
            ),
            Dest(
                vec![dest(None, Some("prod-*"), Some("*"))],
                (dev, Some("dev-us-east-1"), "x"),
                false,
            ),
            Dest(
                vec![dest(Some(IN_CLUSTER_SERVER), None, Some("argocd"))],
                ("", Some("in-cluster"), "argocd"),
                true,
            ),
            Dest(
                vec![dest(None, Some("in-cluster"), Some("*"))],
                (IN_CLUSTER_SERVER, None, "monitoring"),
                true,
            ),
            Dest(
                vec![
                    dest(Some("*"), None, Some("!kube-system")),
                    dest(Some("*"), None, Some("*")),
                ],
                (prod, None, "kube-system"),
                false,
            ),
            Dest(
                vec![
                    dest(Some("*"), None, Some("!kube-system")),
                    dest(Some("*"), None, Some("*")),
                ],
                (prod, None, "airflow"),
                true,
            ),
            Dest(
                vec![
                    dest(Some("*"), None, Some("*")),
                    dest(Some("!https://prod-*"), None, Some("*")),
                ],
                (prod, None, "airflow"),
                false,
            ),
            Dest(
                vec![
                    dest(Some("*"), None, Some("*")),
                    dest(Some("!https://prod-*"), None, Some("*")),
                ],
                (dev, None, "airflow"),
                true,
            ),
            Dest(
                vec![
                    dest(Some("*"), None, Some("*")),
                    dest(None, Some("!prod-*"), Some("*")),
                ],
                (prod, Some("prod-us-east-1"), "airflow"),
                false,
            ),
            Dest(vec![dest(Some(dev), None, None)], (dev, None, ""), true),
            Dest(
                vec![dest(Some(dev), None, None)],
                (dev, None, "mlflow"),
                false,
            ),
            Dest(
                vec![dest(Some(dev), None, Some("*"))],
                (dev, None, ""),
                true,
            ),
            // resources
            Res(
                AppProjectSpec::default(),
                ("apps", "Deployment", true),
                true,
            ),
            Res(AppProjectSpec::default(), ("", "Namespace", false), false),
            Res(
                AppProjectSpec {
                    cluster_resource_whitelist: vec![gk("", "Namespace")],
                    ..Default::default()
                },
                ("", "Namespace", false),
                true,
            ),
            Res(
                AppProjectSpec {
                    cluster_resource_whitelist: vec![gk("", "Namespace")],
                    ..Default::default()
                },
                ("rbac.authorization.k8s.io", "ClusterRole", false),
                false,
            ),
            Res(
                AppProjectSpec {
                    cluster_resource_whitelist: vec![gk("*", "*")],
                    ..Default::default()
                },
                ("apiextensions.k8s.io", "CustomResourceDefinition", false),
                true,
            ),
            Res(
                AppProjectSpec {
                    cluster_resource_whitelist: vec![gk("*", "*")],
                    cluster_resource_blacklist: vec![gk("rbac.authorization.k8s.io", "*")],
                    ..Default::default()
                },
                ("rbac.authorization.k8s.io", "ClusterRoleBinding", false),
                false,
            ),
            Res(
                AppProjectSpec {
                    namespace_resource_blacklist: vec![gk("", "ResourceQuota")],
                    ..Default::default()
                },
                ("", "ResourceQuota", true),
                false,
            ),
            Res(
                AppProjectSpec {
                    namespace_resource_blacklist: vec![gk("", "ResourceQuota")],
                    ..Default::default()
                },
                ("", "ConfigMap", true),
                true,
            ),
            Res(
                AppProjectSpec {
                    namespace_resource_whitelist: vec![gk("apps", "Deployment"), gk("", "Service")],
                    ..Default::default()
                },
                ("", "Secret", true),
                false,
            ),
            Res(
                AppProjectSpec {
                    namespace_resource_whitelist: vec![gk("apps", "Deployment"), gk("", "Service")],
                    ..Default::default()
                },
                ("apps", "Deployment", true),
                true,
            ),
            Res(
                AppProjectSpec {
                    namespace_resource_whitelist: vec![gk("*.k8s.io", "*")],
                    ..Default::default()
                },
                ("networking.k8s.io", "Ingress", true),
                true,
            ),
            Res(
                AppProjectSpec {
                    namespace_resource_whitelist: vec![gk("*.k8s.io", "*")],
                    ..Default::default()
                },
                ("apps", "StatefulSet", true),
                false,
            ),
            Res(
                AppProjectSpec {
                    namespace_resource_whitelist: vec![gk("", "*")],
                    ..Default::default()
                },
                ("", "PersistentVolumeClaim", true),
                true,
            ),
            // a namespaced allow list says nothing about cluster-scoped kinds
            Res(
                AppProjectSpec {
                    namespace_resource_whitelist: vec![gk("*", "*")],
                    ..Default::default()
                },
                ("", "Namespace", false),
                false,
            ),
        ];
        assert!(rows.len() >= 40, "{} rows", rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            match row {
                Repo(patterns, url, want) => {
                    assert_eq!(
                        repos(patterns).permits_source_repo(url),
                        want,
                        "row {i}: {patterns:?} {url}"
                    )
                }
                Dest(destinations, (server, name, ns), want) => {
                    let p = project(AppProjectSpec {
                        destinations: destinations.clone(),
                        ..Default::default()
                    });
                    assert_eq!(
                        p.permits_destination(server, name, ns),
                        want,
                        "row {i}: {destinations:?} vs {server} {name:?} {ns}"
                    );
                }
                Res(spec, (group, kind, namespaced), want) => {
                    assert_eq!(
                        project(spec).permits_resource(group, kind, namespaced),
                        want,
                        "row {i}: {group}/{kind} namespaced={namespaced}"
                    );
                }
            }
        }
    }

    fn app(repo: &str, server: Option<&str>, name: Option<&str>, ns: &str) -> Application {
        Application::new(
            ObjectMeta::named("mlflow-prod", "argocd"),
            ApplicationSpec {
                project: "data-platform".into(),
                source: Some(ApplicationSource {
                    repo_url: repo.into(),
                    path: Some("apps/mlflow/overlays/prod".into()),
                    ..ApplicationSource::default()
                }),
                destination: ApplicationDestination {
                    server: server.map(String::from),
                    name: name.map(String::from),
                    namespace: Some(ns.into()),
                    ..ApplicationDestination::default()
                },
                ..ApplicationSpec::default()
            },
        )
    }

    fn data_platform() -> AppProject {
        project(AppProjectSpec {
            source_repos: vec!["https://git.acme.io/ml/*".into()],
            destinations: vec![dest(Some(IN_CLUSTER_SERVER), None, Some("ml-*"))],
            ..AppProjectSpec::default()
        })
    }

    #[test]
    fn check_application_reports_argo_messages() {
        let p = data_platform();
        let ok = app(
            "https://git.acme.io/ml/gitops.git",
            Some(IN_CLUSTER_SERVER),
            None,
            "ml-mlflow",
        );
        assert_eq!(p.check_application(&ok, IN_CLUSTER_SERVER), vec![]);

        let bad = app(
            "https://github.com/evil/repo",
            Some(IN_CLUSTER_SERVER),
            None,
            "kube-system",
        );
        let msgs: Vec<String> = p
            .check_application(&bad, IN_CLUSTER_SERVER)
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "application repo https://github.com/evil/repo is not permitted in project 'data-platform'",
                "application destination server 'https://kubernetes.default.svc' and namespace \
                 'kube-system' do not match any of the allowed destinations in project 'data-platform'",
            ]
        );

        let both = app(
            "https://git.acme.io/ml/gitops",
            Some(IN_CLUSTER_SERVER),
            Some("in-cluster"),
            "ml-x",
        );
        let v = p.check_application(&both, IN_CLUSTER_SERVER);
        assert!(
            matches!(v[0], ProjectViolation::DestinationNameAndServer { .. }),
            "{v:?}"
        );
        assert_eq!(v[0].condition_type(), "InvalidSpecError");

        let unknown = app(
            "https://git.acme.io/ml/gitops",
            None,
            Some("gpu-cluster"),
            "ml-x",
        );
        assert_eq!(
            p.check_application(&unknown, "")[0].to_string(),
            "unable to find destination server: there are no clusters with this name: gpu-cluster"
        );
        let by_name = app(
            "https://git.acme.io/ml/gitops",
            None,
            Some("in-cluster"),
            "ml-x",
        );
        assert_eq!(p.check_application(&by_name, IN_CLUSTER_SERVER), vec![]);
    }

    #[test]
    fn default_project_allows_everything() {
        let p = AppProject::default_project("argocd");
        let a = app(
            "git@anywhere.io:team/x.git",
            Some("https://gpu-1.acme.io"),
            None,
            "kube-system",
        );
        assert!(p.check_application(&a, "https://gpu-1.acme.io").is_empty());
        assert!(p.permits_resource("rbac.authorization.k8s.io", "ClusterRole", false));
        assert!(p.permits_resource("", "Secret", true));
    }

    #[test]
    fn check_resource_messages() {
        let p = data_platform();
        let v = p
            .check_resource(
                "rbac.authorization.k8s.io",
                "ClusterRole",
                None,
                IN_CLUSTER_SERVER,
                None,
            )
            .expect("violation");
        assert_eq!(
            v.to_string(),
            "resource rbac.authorization.k8s.io:ClusterRole is not permitted in project data-platform"
        );
        let v = p
            .check_resource(
                "apps",
                "Deployment",
                Some("default"),
                IN_CLUSTER_SERVER,
                None,
            )
            .expect("violation");
        assert_eq!(
            v.to_string(),
            "namespace default is not permitted in project 'data-platform'"
        );
        assert_eq!(
            p.check_resource(
                "apps",
                "Deployment",
                Some("ml-serving"),
                IN_CLUSTER_SERVER,
                None
            ),
            None
        );
    }

    #[test]
    fn source_namespaces() {
        let p = project(AppProjectSpec {
            source_namespaces: vec!["team-*".into(), "!team-secret".into()],
            ..AppProjectSpec::default()
        });
        assert!(p.permits_source_namespace("argocd", "argocd"));
        assert!(p.permits_source_namespace("team-ml", "argocd"));
        assert!(!p.permits_source_namespace("team-secret", "argocd"));
        assert!(!p.permits_source_namespace("other", "argocd"));
    }

    proptest! {
        #[test]
        fn glob_never_panics(pattern in "[a-z*?\\[\\]{},!\\\\^-]{0,24}", text in "[a-z/*{}-]{0,24}") {
            let _ = glob_match(&pattern, &text);
        }

        #[test]
        fn glob_literal_matches_itself(text in "[a-z0-9./:-]{0,40}") {
            prop_assert!(glob_match(&text, &text));
            let star = format!("{text}*");
            let longer = format!("{}suffix", text);
            prop_assert!(glob_match(&star, &longer));
        }

        #[test]
        fn policy_never_panics(pattern in "\\PC{0,16}", value in "\\PC{0,16}") {
            let p = project(AppProjectSpec {
                source_repos: vec![pattern.clone()],
                destinations: vec![dest(Some(&pattern), Some(&pattern), Some(&pattern))],
                namespace_resource_whitelist: vec![gk(&pattern, &pattern)],
                ..AppProjectSpec::default()
            });
            let _ = p.permits_source_repo(&value);
            let _ = p.permits_destination(&value, Some(&value), &value);
            let _ = p.permits_resource(&value, &value, true);
        }
    }
}
