//! Argo CD Application kustomize options applied on top of a kustomization, and the
//! repository boundary.

use std::path::Path;

use ferrocd_kustomize::{
    AppOverrides, KustomizeError, KustomizeOptions, Patch, Replica, Selector, build, build_with,
};
use serde_json::Value;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

const BASE: &[(&str, &str)] = &[
    (
        "app/kustomization.yaml",
        "commonLabels:\n  team: ml\nresources:\n- deploy.yaml\nconfigMapGenerator:\n- name: env\n  literals: [A=1]\n",
    ),
    (
        "app/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ranker\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: ranker}\n  template:\n    metadata:\n      labels: {app: ranker}\n    spec:\n      containers:\n      - name: ranker\n        image: registry.local/ranker:1.0\n        envFrom:\n        - configMapRef: {name: env}\n",
    ),
    (
        "gpu/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: ranker}\n    spec:\n      template:\n        spec:\n          nodeSelector: {gpu: a100}\n",
    ),
];

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .expect("object of kind")
}

#[test]
fn argo_overrides_edit_the_root_kustomization() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), BASE);
    let overrides = AppOverrides {
        name_prefix: Some("prod-".into()),
        name_suffix: Some("-v2".into()),
        images: vec!["registry.local/ranker=registry.local/mirror/ranker:1.1".into()],
        common_labels: vec![
            ("team".into(), "platform".into()),
            ("env".into(), "prod".into()),
        ],
        common_annotations: vec![("owner".into(), "ml@example.com".into())],
        namespace: Some("ranking".into()),
        replicas: vec![Replica {
            name: "ranker".into(),
            count: 4,
        }],
        components: vec!["../gpu".into()],
        patches: vec![Patch {
            patch: Some("- op: add\n  path: /spec/minReadySeconds\n  value: 10\n".into()),
            target: Some(Selector {
                kind: Some("Deployment".into()),
                ..Selector::default()
            }),
            ..Patch::default()
        }],
        ..AppOverrides::default()
    };
    let objs = build_with(
        &tmp.path().join("app"),
        &KustomizeOptions::default(),
        &overrides,
    )
    .expect("build");
    let d = find(&objs, "Deployment");
    assert_eq!(d["metadata"]["name"], "prod-ranker-v2");
    assert_eq!(d["metadata"]["namespace"], "ranking");
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(
        d["metadata"]["labels"]["team"], "ml",
        "labels are not overwritten without force"
    );
    assert_eq!(d["metadata"]["labels"]["env"], "prod");
    assert_eq!(d["spec"]["selector"]["matchLabels"]["env"], "prod");
    assert_eq!(d["metadata"]["annotations"]["owner"], "ml@example.com");
    assert_eq!(d["spec"]["minReadySeconds"], 10);
    assert_eq!(d["spec"]["template"]["spec"]["nodeSelector"]["gpu"], "a100");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "registry.local/mirror/ranker:1.1");
    let cm = find(&objs, "ConfigMap");
    let cm_name = cm["metadata"]["name"].as_str().expect("name");
    assert!(cm_name.starts_with("prod-env-v2-"), "{cm_name}");
    assert_eq!(c["envFrom"][0]["configMapRef"]["name"], cm_name);
}

#[test]
fn forced_labels_and_selectorless_labels() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), BASE);
    let forced = AppOverrides {
        common_labels: vec![("team".into(), "platform".into())],
        force_common_labels: true,
        ..AppOverrides::default()
    };
    let objs = build_with(
        &tmp.path().join("app"),
        &KustomizeOptions::default(),
        &forced,
    )
    .expect("build");
    assert_eq!(
        find(&objs, "Deployment")["metadata"]["labels"]["team"],
        "platform"
    );

    let no_selector = AppOverrides {
        common_labels: vec![("cost".to_string(), "gpu".to_string())],
        label_without_selector: true,
        ..AppOverrides::default()
    };
    let objs = build_with(
        &tmp.path().join("app"),
        &KustomizeOptions::default(),
        &no_selector,
    )
    .expect("build");
    let d = find(&objs, "Deployment");
    assert_eq!(d["metadata"]["labels"]["cost"], "gpu");
    assert!(d["spec"]["selector"]["matchLabels"].get("cost").is_none());
}

#[test]
fn empty_overrides_equal_a_plain_build() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), BASE);
    let dir = tmp.path().join("app");
    let plain = build(&dir, &KustomizeOptions::default()).expect("build");
    let with =
        build_with(&dir, &KustomizeOptions::default(), &AppOverrides::default()).expect("build");
    assert_eq!(plain, with);
}

#[test]
fn repository_root_is_never_left() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        &[
            (
                "secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata: {name: outside}\n",
            ),
            (
                "repo/other/kustomization.yaml",
                "resources:\n- ../../secret.yaml\n",
            ),
            (
                "repo/app/kustomization.yaml",
                "resources:\n- ../../outside-dir\n",
            ),
            ("outside-dir/kustomization.yaml", "resources: []\n"),
        ],
    );
    let opts = KustomizeOptions {
        repo_root: Some(tmp.path().join("repo")),
        load_restrictor: ferrocd_kustomize::LoadRestrictor::None,
        ..KustomizeOptions::default()
    };
    let err = build(&tmp.path().join("repo/other"), &opts).expect_err("outside file");
    assert!(matches!(err, KustomizeError::OutsideRoot { .. }), "{err}");
    let err = build(&tmp.path().join("repo/app"), &opts).expect_err("outside dir");
    assert!(matches!(err, KustomizeError::OutsideRoot { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_repository_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        &[
            (
                "private/creds.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n",
            ),
            ("repo/app/kustomization.yaml", "resources:\n- link.yaml\n"),
        ],
    );
    std::os::unix::fs::symlink(
        tmp.path().join("private/creds.yaml"),
        tmp.path().join("repo/app/link.yaml"),
    )
    .expect("symlink");
    let opts = KustomizeOptions {
        repo_root: Some(tmp.path().join("repo")),
        ..KustomizeOptions::default()
    };
    let err = build(&tmp.path().join("repo/app"), &opts).expect_err("symlink escapes");
    assert!(err.to_string().contains("security"), "{err}");
}

#[test]
fn errors_name_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        &[("app/kustomization.yaml", "resources:\n- missing.yaml\n")],
    );
    let err = build(&tmp.path().join("app"), &KustomizeOptions::default()).expect_err("missing");
    let msg = err.to_string();
    assert!(
        msg.contains("missing.yaml") && msg.contains("kustomization.yaml"),
        "{msg}"
    );
    assert!(!ferrocd_kustomize::is_kustomization_dir(tmp.path()));
    assert!(ferrocd_kustomize::is_kustomization_dir(
        &tmp.path().join("app")
    ));
}

struct DirFetcher(std::path::PathBuf);

impl ferrocd_kustomize::RemoteFetcher for DirFetcher {
    fn checkout(&self, repo_url: &str, git_ref: &str) -> Result<std::path::PathBuf, String> {
        if repo_url == "https://github.com/acme/ml-platform" && git_ref == "v1.0.0" {
            Ok(self.0.clone())
        } else {
            Err(format!("unknown {repo_url}@{git_ref}"))
        }
    }
}

#[test]
fn remote_resources_go_through_the_fetcher() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        &[
            (
                "checkout/deploy/base/kustomization.yaml",
                "resources:\n- cm.yaml\n",
            ),
            (
                "checkout/deploy/base/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote}\n",
            ),
            (
                "local/kustomization.yaml",
                "namePrefix: x-\nresources:\n- https://github.com/acme/ml-platform//deploy/base?ref=v1.0.0\n",
            ),
        ],
    );
    let opts = KustomizeOptions {
        remote: Some(std::sync::Arc::new(DirFetcher(tmp.path().join("checkout")))),
        ..KustomizeOptions::default()
    };
    let objs = build(&tmp.path().join("local"), &opts).expect("build");
    assert_eq!(objs[0]["metadata"]["name"], "x-remote");
    let err =
        build(&tmp.path().join("local"), &KustomizeOptions::default()).expect_err("no fetcher");
    assert!(matches!(err, KustomizeError::Remote { .. }), "{err}");
}
