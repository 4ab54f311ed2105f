//! The decision table: (subject, resource, action, object) → decision, over a policy in the
//! flavour of an ML platform team.

use serde_json::json;

use super::*;

const POLICY_CSV: &str = r#"
# ML engineers: sync and read their project, no deletes of production models.
p, role:ml-engineer, applications, get, ml-platform/*, allow
p, role:ml-engineer, applications, sync, ml-platform/*, allow
p, role:ml-engineer, applications, update, ml-platform/*, allow
p, role:ml-engineer, applications, action/apps/Deployment/restart, ml-platform/*, allow
p, role:ml-engineer, applications, sync, ml-platform/*-prod, deny
p, role:ml-engineer, logs, get, ml-platform/*, allow
g, ml-engineers, role:ml-engineer
g, alice, role:ml-engineer

# Data engineers own Airflow, in every project whose name starts with data-.
p, role:data-engineer, applications, *, data-*/airflow*, allow
p, role:data-engineer, applications, delete, data-*/airflow-prod, deny
p, role:data-engineer, clusters, get, https://gpu-*.ml.example.com, allow
g, data-engineers, role:data-engineer

# Platform admins, but never exec.
g, platform-admins, role:admin
p, platform-admins, exec, create, */*, deny

# Bob reads everything and may override parameters of serving apps.
g, bob, role:readonly
p, bob, applications, override, serving/*, allow
p, bob, repositories, get, https://github.com/acme/secret-models.git, deny

# Nested roles.
g, role:ml-lead, role:ml-engineer
p, role:ml-lead, applications, delete, ml-platform/*, allow
g, carol, role:ml-lead

# Namespaced application objects, classes and alternatives.
p, dave, applications, get, serving/team-[ab]/*, allow
p, dave, applications, sync, "{serving,ml-platform}/triton*", allow
p, dave, applications, update/*, serving/*, allow
p, dave, applications, delete/*/Pod/*, serving/*, allow
"#;

const EXTRA_CSV: &str =
    "p, erin, projects, get, ml-platform, allow\np, erin, certificates, *, *, allow\n";

fn policy() -> Policy {
    let mut policy = Policy::from_config_map(&json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-rbac-cm", "namespace": "argocd"},
        "data": {
            "policy.csv": POLICY_CSV,
            "policy.erin.csv": EXTRA_CSV,
            "scopes": "[groups, email]",
        }
    }))
    .expect("policy parses");
    let skipped = policy.add_project(
        "ml-platform",
        &[
            ProjectRole {
                name: "deployer".into(),
                policies: vec![
                    "p, proj:ml-platform:deployer, applications, sync, ml-platform/*, allow".into(),
                    "p, proj:ml-platform:deployer, applications, get, ml-platform/*, allow".into(),
                    "p, proj:ml-platform:deployer, applications, sync, ml-platform/mlflow, deny"
                        .into(),
                ],
                groups: vec!["ci-bots".into()],
                ..Default::default()
            },
            ProjectRole {
                name: "viewer".into(),
                policies: vec![
                    "p, proj:ml-platform:viewer, applications, get, ml-platform/*, allow".into(),
                ],
                ..Default::default()
            },
        ],
    );
    assert!(skipped.is_empty(), "{skipped:?}");
    policy
}

fn subject(spec: &str) -> Subject {
    // "user" or "user|group1,group2" or "|group"
    let (user, groups) = spec.split_once('|').unwrap_or((spec, ""));
    Subject {
        user: user.to_string(),
        groups: groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

use Decision::{Allow as A, Deny as D, NoMatch as N};

const TABLE: &[(&str, &str, &str, &str, Decision)] = &[
    // built-in admin account and role
    ("admin", "applications", "delete", "ml-platform/mlflow", A),
    (
        "admin",
        "clusters",
        "create",
        "https://kubernetes.default.svc",
        A,
    ),
    ("admin", "accounts", "update", "alice", A),
    ("admin", "exec", "create", "serving/triton", A),
    ("admin", "projects", "delete", "ml-platform", A),
    ("admin", "gpgkeys", "create", "*", A),
    // role:readonly through bob
    ("bob", "applications", "get", "any-project/any-app", A),
    ("bob", "applications", "get", "serving/ns-a/triton", A),
    ("bob", "applications", "sync", "ml-platform/mlflow", N),
    ("bob", "applications", "delete", "serving/triton", N),
    ("bob", "clusters", "get", "https://gpu-1.ml.example.com", A),
    (
        "bob",
        "clusters",
        "delete",
        "https://gpu-1.ml.example.com",
        N,
    ),
    (
        "bob",
        "repositories",
        "get",
        "https://github.com/acme/models.git",
        A,
    ),
    (
        "bob",
        "repositories",
        "get",
        "https://github.com/acme/secret-models.git",
        D,
    ),
    ("bob", "logs", "get", "serving/triton", A),
    ("bob", "exec", "create", "serving/triton", N),
    ("bob", "accounts", "get", "alice", A),
    ("bob", "applications", "override", "serving/triton", A),
    ("bob", "applications", "override", "ml-platform/mlflow", N),
    // alice: ml-engineer, deny on *-prod wins
    ("alice", "applications", "get", "ml-platform/mlflow", A),
    ("alice", "applications", "sync", "ml-platform/mlflow", A),
    (
        "alice",
        "applications",
        "sync",
        "ml-platform/triton-prod",
        D,
    ),
    ("alice", "applications", "get", "ml-platform/triton-prod", A),
    (
        "alice",
        "applications",
        "sync",
        "ml-platform/ns-a/mlflow",
        A,
    ),
    ("alice", "applications", "sync", "serving/triton", N),
    ("alice", "applications", "delete", "ml-platform/mlflow", N),
    (
        "alice",
        "applications",
        "action/apps/Deployment/restart",
        "ml-platform/mlflow",
        A,
    ),
    (
        "alice",
        "applications",
        "action/apps/StatefulSet/restart",
        "ml-platform/mlflow",
        N,
    ),
    ("alice", "logs", "get", "ml-platform/airflow", A),
    ("alice", "projects", "get", "ml-platform", N),
    // groups
    (
        "frank|ml-engineers",
        "applications",
        "sync",
        "ml-platform/feast",
        A,
    ),
    (
        "frank|ml-engineers",
        "applications",
        "sync",
        "ml-platform/feast-prod",
        D,
    ),
    (
        "frank|data-engineers",
        "applications",
        "create",
        "data-lake/airflow",
        A,
    ),
    (
        "frank|data-engineers",
        "applications",
        "delete",
        "data-lake/airflow-prod",
        D,
    ),
    (
        "frank|data-engineers",
        "applications",
        "delete",
        "data-lake/airflow-staging",
        A,
    ),
    (
        "frank|data-engineers",
        "applications",
        "delete",
        "ml-platform/airflow",
        N,
    ),
    (
        "frank|data-engineers",
        "clusters",
        "get",
        "https://gpu-7.ml.example.com",
        A,
    ),
    (
        "frank|data-engineers",
        "clusters",
        "get",
        "https://cpu-1.ml.example.com",
        N,
    ),
    // per-subject evaluation: an allow through another group still allows
    (
        "frank|ml-engineers,platform-admins",
        "applications",
        "sync",
        "ml-platform/feast-prod",
        A,
    ),
    (
        "gina|platform-admins",
        "exec",
        "create",
        "serving/triton",
        D,
    ),
    (
        "gina|platform-admins",
        "applications",
        "delete",
        "serving/triton",
        A,
    ),
    (
        "gina|platform-admins",
        "clusters",
        "delete",
        "https://gpu-1.ml.example.com",
        A,
    ),
    // nested roles: carol is ml-lead → ml-engineer; the deny of ml-engineer still applies
    ("carol", "applications", "delete", "ml-platform/mlflow", A),
    ("carol", "applications", "get", "ml-platform/mlflow", A),
    (
        "carol",
        "applications",
        "sync",
        "ml-platform/mlflow-prod",
        D,
    ),
    ("carol", "applications", "delete", "serving/triton", N),
    // classes, alternatives, sub-resource actions
    ("dave", "applications", "get", "serving/team-a/triton", A),
    ("dave", "applications", "get", "serving/team-c/triton", N),
    ("dave", "applications", "sync", "serving/triton-gpu", A),
    ("dave", "applications", "sync", "ml-platform/triton", A),
    ("dave", "applications", "sync", "data-lake/triton", N),
    (
        "dave",
        "applications",
        "update/apps/Deployment/serving/triton",
        "serving/triton",
        A,
    ),
    ("dave", "applications", "update", "serving/triton", N),
    (
        "dave",
        "applications",
        "delete//Pod/serving/triton-0",
        "serving/triton",
        A,
    ),
    (
        "dave",
        "applications",
        "delete/apps/Deployment/serving/triton",
        "serving/triton",
        N,
    ),
    // the extra policy key
    ("erin", "projects", "get", "ml-platform", A),
    ("erin", "projects", "get", "serving", N),
    ("erin", "certificates", "delete", "gpu-1.ml.example.com", A),
    // email as a scope value acting as a group
    (
        "hank|hank@example.com",
        "applications",
        "get",
        "ml-platform/mlflow",
        N,
    ),
    // project roles: direct token subject, groups bound to the role, deny inside the project
    (
        "proj:ml-platform:deployer",
        "applications",
        "sync",
        "ml-platform/feast",
        A,
    ),
    (
        "proj:ml-platform:deployer",
        "applications",
        "sync",
        "ml-platform/mlflow",
        D,
    ),
    (
        "proj:ml-platform:deployer",
        "applications",
        "delete",
        "ml-platform/feast",
        N,
    ),
    (
        "proj:ml-platform:deployer",
        "applications",
        "sync",
        "serving/triton",
        N,
    ),
    (
        "proj:ml-platform:viewer",
        "applications",
        "get",
        "ml-platform/feast",
        A,
    ),
    (
        "proj:ml-platform:viewer",
        "applications",
        "sync",
        "ml-platform/feast",
        N,
    ),
    ("ci|ci-bots", "applications", "sync", "ml-platform/feast", A),
    ("ci|ci-bots", "applications", "get", "serving/triton", N),
    // nobody
    ("", "applications", "get", "ml-platform/mlflow", N),
    ("mallory", "applications", "get", "ml-platform/mlflow", N),
    ("mallory|unknown-group", "clusters", "get", "*", N),
];

#[test]
fn decision_table() {
    let policy = policy();
    let mut failures = Vec::new();
    for (who, resource, action, object, expected) in TABLE {
        let got = policy.enforce(&subject(who), resource, action, object);
        if got != *expected {
            failures.push(format!(
                "{who} {resource} {action} {object}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(TABLE.len() >= 60, "the table has {} rows", TABLE.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn default_role_cannot_be_denied() {
    let policy = Policy::from_config_map(&json!({
        "policy.default": "role:readonly",
        "policy.csv": "p, mallory, applications, get, */*, deny\n",
    }))
    .expect("parses");
    assert_eq!(policy.default_role(), Some("role:readonly"));
    assert_eq!(
        policy.enforce(
            &Subject::user("mallory"),
            "applications",
            "get",
            "ml/mlflow"
        ),
        Decision::Allow
    );
    assert_eq!(
        policy.enforce(
            &Subject::user("mallory"),
            "applications",
            "sync",
            "ml/mlflow"
        ),
        Decision::NoMatch
    );
}

#[test]
fn regex_match_mode() {
    let policy = Policy::from_config_map(&json!({
        "policy.matchMode": "regex",
        "policy.csv": "p, ivy, applications, (get|sync), ^ml-platform/(mlflow|feast)$, allow\n",
    }))
    .expect("parses");
    assert_eq!(policy.match_mode(), MatchMode::Regex);
    let ivy = Subject::user("ivy");
    assert!(
        policy
            .enforce(&ivy, "applications", "sync", "ml-platform/feast")
            .is_allowed()
    );
    assert!(
        !policy
            .enforce(&ivy, "applications", "sync", "ml-platform/feast2")
            .is_allowed()
    );
    assert!(
        !policy
            .enforce(&ivy, "applications", "delete", "ml-platform/feast")
            .is_allowed()
    );
}

#[test]
fn errors_name_key_and_line() {
    let err = Policy::from_config_map(&json!({
        "policy.csv": "p, a, applications, get, x/*, allow\n\n# ok\np, b, applications\n",
    }))
    .unwrap_err();
    assert!(
        matches!(&err, RbacError::Line { key, line: 4, .. } if key == "policy.csv"),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("parsing policy.csv line 4:"),
        "{err}"
    );

    let err =
        Policy::from_config_map(&json!({"policy.team-b.csv": "g, x, y\np, a, b, c, [d, allow"}))
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "parsing policy.team-b.csv line 2: object \"[d\": '[' without a closing ']'"
    );

    let err = Policy::from_config_map(&json!({"policy.matchMode": "fuzzy"})).unwrap_err();
    assert!(err.to_string().contains("policy.matchMode"), "{err}");
    let err = Policy::from_config_map(&json!({"scopes": "[groups"})).unwrap_err();
    assert!(err.to_string().contains("scopes"), "{err}");
}

#[test]
fn scopes_default_and_parsed() {
    assert_eq!(Policy::default().scopes(), ["groups"]);
    let p =
        Policy::from_config_map(&json!({"scopes": "[groups, 'email', \"sub\"]"})).expect("parses");
    assert_eq!(p.scopes(), ["groups", "email", "sub"]);
    let p = Policy::from_config_map(&json!({"scopes": "groups"})).expect("parses");
    assert_eq!(p.scopes(), ["groups"]);
}

#[test]
fn invalid_project_lines_are_skipped_and_reported() {
    let mut policy = Policy::default();
    let skipped = policy.add_project(
        "ml-platform",
        &[ProjectRole {
            name: "deployer".into(),
            policies: vec![
                // another role's subject
                "p, proj:ml-platform:admin, applications, sync, ml-platform/*, allow".into(),
                // object outside the project
                "p, proj:ml-platform:deployer, applications, sync, */*, allow".into(),
                // not a project-scoped resource
                "p, proj:ml-platform:deployer, clusters, get, ml-platform/*, allow".into(),
                "g, x, y".into(),
                "p, proj:ml-platform:deployer, applications, get, ml-platform/*, allow".into(),
            ],
            ..Default::default()
        }],
    );
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped[1].to_string().contains("line 2"), "{}", skipped[1]);
    let deployer = Subject::user("proj:ml-platform:deployer");
    assert!(
        !policy
            .enforce(&deployer, "applications", "sync", "serving/triton")
            .is_allowed()
    );
    assert!(
        !policy
            .enforce(&deployer, "applications", "sync", "ml-platform/feast")
            .is_allowed()
    );
    assert!(
        policy
            .enforce(&deployer, "applications", "get", "ml-platform/feast")
            .is_allowed()
    );
}

#[test]
fn role_cycles_terminate() {
    let policy = Policy::from_config_map(&json!({
        "policy.csv": "g, role:a, role:b\ng, role:b, role:a\ng, joe, role:a\np, role:b, projects, get, *, allow\n",
    }))
    .expect("parses");
    assert!(
        policy
            .enforce(&Subject::user("joe"), "projects", "get", "ml")
            .is_allowed()
    );
}

#[test]
fn app_objects() {
    assert_eq!(app_object("ml", "argocd", "argocd", "mlflow"), "ml/mlflow");
    assert_eq!(app_object("ml", "", "argocd", "mlflow"), "ml/mlflow");
    assert_eq!(
        app_object("ml", "team-a", "argocd", "mlflow"),
        "ml/team-a/mlflow"
    );
}

proptest::proptest! {
    #[test]
    fn from_config_map_never_panics(text in "[pg#, a-z*/\\[\\]{}\"\n]{0,200}") {
        let _ = Policy::from_config_map(&json!({"policy.csv": text}));
    }

    #[test]
    fn admin_may_do_anything_on_apps(proj in "[a-z][a-z0-9-]{0,10}", app in "[a-z][a-z0-9-]{0,10}",
                                     action in "(get|create|update|delete|sync|override)") {
        let object = format!("{proj}/{app}");
        proptest::prop_assert!(Policy::default()
            .enforce(&Subject::user("admin"), "applications", &action, &object)
            .is_allowed());
    }
}
