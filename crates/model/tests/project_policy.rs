//! The team's example GitOps repository (`examples/ml-platform`) obeys its own
//! AppProject, and the project refuses what it should.

use std::path::{Path, PathBuf};

use ferrocd_model::{AppProject, Application, ProjectViolation};

const PROD_SERVER: &str = "https://prod-us-east-1.k8s.example.com";

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ml-platform")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn project() -> AppProject {
    let path = example_dir().join("projects/data-platform-project.yaml");
    AppProject::from_yaml(&read(&path), &path.display().to_string()).expect("parse project")
}

fn applications() -> Vec<(PathBuf, Application)> {
    let mut out = Vec::new();
    for cluster in ["dev-us-east-1", "prod-us-east-1"] {
        let dir = example_dir().join("clusters").join(cluster);
        let mut files = vec![dir.join("root.yaml")];
        let mut apps: Vec<PathBuf> = std::fs::read_dir(dir.join("apps"))
            .expect("read apps dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        apps.sort();
        files.extend(apps);
        for file in files {
            let text = read(&file);
            // A file may hold several documents; keep the Applications.
            for doc in text.split("\n---") {
                if doc.contains("kind: Application\n") {
                    let app = Application::from_yaml(doc, &file.display().to_string())
                        .unwrap_or_else(|e| panic!("{e}"));
                    out.push((file.clone(), app));
                }
            }
        }
    }
    out
}

/// The server a destination resolves to, as the cluster Secrets of the demo say.
fn resolve(app: &Application) -> String {
    match app.spec.destination.name.as_deref() {
        Some("prod-us-east-1") => PROD_SERVER.to_string(),
        Some("in-cluster") => "https://kubernetes.default.svc".to_string(),
        Some(_) => String::new(),
        None => app.spec.destination.server.clone().unwrap_or_default(),
    }
}

#[test]
fn example_applications_obey_their_project() {
    let project = project();
    let apps = applications();
    assert!(apps.len() >= 10, "found only {} applications", apps.len());
    let mut checked = 0;
    for (file, app) in &apps {
        let proj = if app.spec.project == project.name() {
            checked += 1;
            project.clone()
        } else {
            AppProject::default_project("argocd")
        };
        let violations = proj.check_application(app, &resolve(app));
        assert!(
            violations.is_empty(),
            "{}: {}",
            file.display(),
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    assert!(checked >= 8, "only {checked} apps use data-platform");
}

#[test]
fn example_project_refuses_foreign_repo_namespace_and_kinds() {
    let project = project();
    let (_, mut app) = applications()
        .into_iter()
        .find(|(_, a)| a.name() == "mlflow-prod")
        .expect("mlflow-prod in the examples");
    if let Some(source) = app.spec.source.as_mut() {
        source.repo_url = "https://github.com/someone-else/mlflow-fork.git".into();
    }
    app.spec.destination.namespace = Some("kube-system".into());
    let messages: Vec<String> = project
        .check_application(&app, PROD_SERVER)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        messages,
        [
            "application repo https://github.com/someone-else/mlflow-fork.git is not permitted \
             in project 'data-platform'"
                .to_string(),
            format!(
                "application destination server '{PROD_SERVER}' and namespace 'kube-system' do \
                 not match any of the allowed destinations in project 'data-platform'"
            ),
        ]
    );

    // The same repository written differently is still the permitted one.
    assert!(project.permits_source_repo("https://GIT.example.com/platform/ml-platform"));
    assert!(project.permits_source_repo("https://git.example.com/platform/ml-platform/"));

    // Namespaces only among cluster-scoped kinds; quotas stay with the admins.
    assert!(project.permits_resource("", "Namespace", false));
    assert!(!project.permits_resource("rbac.authorization.k8s.io", "ClusterRole", false));
    assert!(!project.permits_resource("", "ResourceQuota", true));
    assert!(project.permits_resource("apps", "Deployment", true));
    assert_eq!(
        project.check_resource(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            None,
            PROD_SERVER,
            Some("prod-us-east-1"),
        ),
        Some(ProjectViolation::Resource {
            group: "apiextensions.k8s.io".into(),
            kind: "CustomResourceDefinition".into(),
            project: "data-platform".into(),
        })
    );
    // An unregistered cluster name.
    app.spec.destination.name = Some("gpu-us-west-2".into());
    app.spec.destination.namespace = Some("ml-prod".into());
    let v = project.check_application(&app, "");
    assert!(
        matches!(&v[..], [ProjectViolation::SourceRepo { .. }, ProjectViolation::UnknownClusterName { name }] if name == "gpu-us-west-2"),
        "{v:?}"
    );
}
