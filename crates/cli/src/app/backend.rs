//! Where the verbs of `app|proj|repo|cluster` read and write: straight to Kubernetes
//! (`--core`: the custom resources and Secrets of the control-plane namespace, written the
//! way the controller reads them) or through the ferrocd API server (Argo CD's REST API,
//! checked by its RBAC). Each verb is written once against [`Backend`]; only the transport
//! differs.

use anyhow::{Context as _, anyhow};
use ferrocd_cluster::{Cluster, DeleteOptions, DeleteOutcome, WriteOptions};
use ferrocd_model::{ClusterSecret, ResourceKey};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::api::ApiClient;
use super::{RESOURCES_FINALIZER, text, username};
use crate::Failure;

/// The label that marks Argo CD Secrets.
const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

/// A control plane to talk to.
pub enum Backend {
    /// Kubernetes, directly.
    Core {
        /// The control-plane cluster.
        cluster: Cluster,
        /// The namespace of Applications, AppProjects and Argo CD Secrets.
        ns: String,
    },
    /// A ferrocd API server.
    Server {
        /// Its client.
        api: ApiClient,
    },
}

/// The smallest JSON merge patch (RFC 7386) that turns `old` into `new`: keys gone from
/// `new` become `null`.
pub fn merge_patch_between(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, ov) in o {
                match n.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(nv) if nv != ov => {
                        patch.insert(k.clone(), merge_patch_between(ov, nv));
                    }
                    Some(_) => {}
                }
            }
            for (k, nv) in n {
                if !o.contains_key(k) {
                    patch.insert(k.clone(), nv.clone());
                }
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

fn key(group: &str, kind: &str, ns: &str, name: &str) -> ResourceKey {
    ResourceKey {
        group: group.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

/// Parses the JSON strings of an API answer (`manifests`, `liveState`), skipping `null`.
fn parse_json_strings<'a>(items: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    items
        .filter_map(|v| match v {
            Value::String(s) => serde_json::from_str::<Value>(s).ok(),
            Value::Object(_) => Some(v.clone()),
            _ => None,
        })
        .filter(|v| !v.is_null())
        .collect()
}

impl Backend {
    /// Whether this is the server transport.
    pub fn is_server(&self) -> bool {
        matches!(self, Backend::Server { .. })
    }

    /// Applications of the namespace the caller may see.
    pub async fn list_apps(&self) -> Result<Vec<Value>, Failure> {
        match self {
            Backend::Core { cluster, ns } => Ok(cluster
                .list("argoproj.io", "Application", Some(ns))
                .await
                .with_context(|| {
                    format!(
                        "listing applications in namespace {ns} (are the CRDs installed? `ferrocd crds | kubectl apply -f -`)"
                    )
                })?),
            Backend::Server { api, .. } => api.items(&["applications"], "listing applications").await,
        }
    }

    /// An Application, `None` when it does not exist.
    pub async fn app_opt(&self, name: &str) -> Result<Option<Value>, Failure> {
        match self {
            Backend::Core { cluster, ns } => Ok(cluster
                .get(&key("argoproj.io", "Application", ns, name))
                .await
                .with_context(|| format!("reading application '{name}'"))?),
            Backend::Server { api, .. } => {
                match api
                    .call(Method::GET, &["applications", name], &[], None)
                    .await
                {
                    Ok(v) => Ok(Some(v)),
                    Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
                    Err(e) => Err(e.explain(api, &format!("reading application '{name}'"), None)),
                }
            }
        }
    }

    /// Creates an Application.
    pub async fn create_app(&self, app: &Value) -> Result<(), Failure> {
        let name = text(app, "/metadata/name");
        match self {
            Backend::Core { cluster, .. } => {
                cluster
                    .create(app, &WriteOptions::default())
                    .await
                    .with_context(|| format!("creating application '{name}'"))?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::POST,
                    &["applications"],
                    &[],
                    Some(app),
                    &format!("creating application '{name}'"),
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Replaces the spec (and labels, annotations) of `live` with those of `desired`.
    pub async fn update_app(&self, live: &Value, desired: &Value) -> Result<(), Failure> {
        self.replace_spec(SpecOwner::Application, live, desired)
            .await
    }

    /// Asks the controller to compare the application again (`kind`: `normal` or `hard`).
    pub async fn refresh_app(&self, app: &Value, kind: &str) -> Result<(), Failure> {
        let name = text(app, "/metadata/name");
        let doing = format!("requesting a refresh of application '{name}'");
        match self {
            Backend::Core { cluster, ns } => {
                cluster
                    .merge_patch(
                        &key("argoproj.io", "Application", ns, name),
                        &json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": kind}}}),
                    )
                    .await
                    .with_context(|| doing.clone())?;
            }
            Backend::Server { api } => {
                api.get(
                    &["applications", name],
                    &[("refresh", kind.to_string())],
                    &doing,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Deletes an Application (its resources too with `cascade`); false when it was gone.
    pub async fn delete_app(&self, app: &Value, cascade: bool) -> Result<bool, Failure> {
        let name = text(app, "/metadata/name");
        match self {
            Backend::Core { cluster, ns } => {
                let key = key("argoproj.io", "Application", ns, name);
                let mut finalizers: Vec<String> = app
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let has = finalizers.iter().any(|f| f == RESOURCES_FINALIZER);
                if cascade && !has {
                    finalizers.push(RESOURCES_FINALIZER.to_string());
                } else if !cascade && has {
                    finalizers.retain(|f| f != RESOURCES_FINALIZER);
                }
                if cascade != has {
                    cluster
                        .merge_patch(&key, &json!({"metadata": {"finalizers": finalizers}}))
                        .await
                        .with_context(|| {
                            format!("setting the finalizers of application '{name}'")
                        })?;
                }
                let outcome = cluster
                    .delete(&key, &DeleteOptions::default())
                    .await
                    .with_context(|| format!("deleting application '{name}'"))?;
                Ok(!matches!(outcome, DeleteOutcome::NotFound))
            }
            Backend::Server { api, .. } => {
                match api
                    .call(
                        Method::DELETE,
                        &["applications", name],
                        &[("cascade", cascade.to_string())],
                        None,
                    )
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(false),
                    Err(e) => Err(e.explain(api, &format!("deleting application '{name}'"), None)),
                }
            }
        }
    }

    /// Requests a sync. `request` has the shape of Argo CD's `ApplicationSyncRequest`
    /// (`revision`, `prune`, `dryRun`, `resources`, `syncOptions.items`).
    pub async fn sync_app(&self, app: &Value, request: &Value) -> Result<(), Failure> {
        let name = text(app, "/metadata/name");
        let doing = format!("requesting a sync of application '{name}'");
        match self {
            Backend::Core { cluster, ns } => {
                let mut sync = Map::new();
                for (from, to) in [
                    ("revision", "revision"),
                    ("prune", "prune"),
                    ("dryRun", "dryRun"),
                    ("resources", "resources"),
                ] {
                    if let Some(v) = request.get(from).filter(|v| !v.is_null()) {
                        sync.insert(to.into(), v.clone());
                    }
                }
                if let Some(items) = request.pointer("/syncOptions/items") {
                    sync.insert("syncOptions".into(), items.clone());
                }
                let operation = json!({"sync": sync, "initiatedBy": {"username": username()}});
                cluster
                    .merge_patch(
                        &key("argoproj.io", "Application", ns, name),
                        &json!({"operation": operation}),
                    )
                    .await
                    .with_context(|| doing.clone())?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::POST,
                    &["applications", name, "sync"],
                    &[],
                    Some(request),
                    &doing,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Requests a sync to history entry `entry` (id `id`).
    pub async fn rollback_app(&self, app: &Value, entry: &Value, id: i64) -> Result<(), Failure> {
        let name = text(app, "/metadata/name");
        let doing = format!("requesting the rollback of application '{name}'");
        match self {
            Backend::Core { cluster, ns } => {
                let mut sync = json!({"revision": entry["revision"].clone()});
                for field in ["source", "sources", "revisions"] {
                    if let Some(v) = entry.get(field).filter(|v| !v.is_null()) {
                        sync[field] = v.clone();
                    }
                }
                let operation = json!({
                    "sync": sync,
                    "initiatedBy": {"username": username()},
                    "info": [{"name": "Reason", "value": format!("Rollback to deployment {id}")}],
                });
                cluster
                    .merge_patch(
                        &key("argoproj.io", "Application", ns, name),
                        &json!({"operation": operation}),
                    )
                    .await
                    .with_context(|| doing.clone())?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::PUT,
                    &["applications", name, "rollback"],
                    &[],
                    Some(&json!({"id": id})),
                    &doing,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Asks the running operation to stop.
    pub async fn terminate_op(&self, app: &Value) -> Result<(), Failure> {
        let name = text(app, "/metadata/name");
        let doing = format!("terminating the operation of application '{name}'");
        match self {
            Backend::Core { cluster, ns } => {
                cluster
                    .merge_patch(
                        &key("argoproj.io", "Application", ns, name),
                        &json!({"status": {"operationState": {"phase": "Terminating"}}}),
                    )
                    .await
                    .with_context(|| doing.clone())?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::DELETE,
                    &["applications", name, "operation"],
                    &[],
                    None,
                    &doing,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The live objects of the application's resources (Secret values masked).
    pub async fn live_manifests(&self, app: &Value) -> Result<Vec<Value>, Failure> {
        match self {
            Backend::Core { cluster, .. } => {
                let mut out = Vec::new();
                for r in app
                    .pointer("/status/resources")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let key = key(
                        text(r, "/group"),
                        text(r, "/kind"),
                        text(r, "/namespace"),
                        text(r, "/name"),
                    );
                    if let Some(mut obj) = cluster.get(&key).await.with_context(|| {
                        format!("reading {}/{} {}", key.group, key.kind, key.name)
                    })? {
                        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                            meta.remove("managedFields");
                        }
                        if key.kind == "Secret" && key.group.is_empty() {
                            super::source::mask_secret(&mut obj);
                        }
                        out.push(obj);
                    }
                }
                Ok(out)
            }
            Backend::Server { .. } => {
                let items = self.managed_resources(app).await?;
                let mut objects =
                    parse_json_strings(items.iter().filter_map(|i| i.get("liveState")));
                for obj in &mut objects {
                    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.remove("managedFields");
                    }
                }
                Ok(objects)
            }
        }
    }

    /// The desired objects rendered from the application's sources.
    pub async fn git_manifests(
        &self,
        app: &Value,
        revision: Option<&str>,
    ) -> Result<Vec<Value>, Failure> {
        match self {
            Backend::Core { .. } => super::source::render_locally(app, revision).await,
            Backend::Server { api, .. } => {
                let name = text(app, "/metadata/name");
                let query: Vec<(&str, String)> = revision
                    .map(|r| vec![("revision", r.to_string())])
                    .unwrap_or_default();
                let answer = api
                    .get(
                        &["applications", name, "manifests"],
                        &query,
                        &format!("rendering the manifests of application '{name}'"),
                        None,
                    )
                    .await?;
                Ok(parse_json_strings(
                    answer
                        .get("manifests")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                ))
            }
        }
    }

    /// `managed-resources` of the server: live and target state of each resource.
    pub async fn managed_resources(&self, app: &Value) -> Result<Vec<Value>, Failure> {
        let name = text(app, "/metadata/name");
        match self {
            Backend::Server { api, .. } => {
                api.items(
                    &["applications", name, "managed-resources"],
                    &format!("reading the resources of application '{name}'"),
                )
                .await
            }
            Backend::Core { .. } => Err(anyhow!("managed resources come from the server").into()),
        }
    }

    /// AppProjects the caller may see.
    pub async fn list_projects(&self) -> Result<Vec<Value>, Failure> {
        match self {
            Backend::Core { cluster, ns } => Ok(cluster
                .list("argoproj.io", "AppProject", Some(ns))
                .await
                .with_context(|| format!("listing projects in namespace {ns}"))?),
            Backend::Server { api, .. } => api.items(&["projects"], "listing projects").await,
        }
    }

    /// An AppProject, `None` when it does not exist.
    pub async fn project_opt(&self, name: &str) -> Result<Option<Value>, Failure> {
        match self {
            Backend::Core { cluster, ns } => Ok(cluster
                .get(&key("argoproj.io", "AppProject", ns, name))
                .await
                .with_context(|| format!("reading project '{name}'"))?),
            Backend::Server { api, .. } => {
                match api.call(Method::GET, &["projects", name], &[], None).await {
                    Ok(v) => Ok(Some(v)),
                    Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
                    Err(e) => Err(e.explain(api, &format!("reading project '{name}'"), None)),
                }
            }
        }
    }

    /// Creates a project, or replaces its spec when `exists`.
    pub async fn write_project(&self, project: &Value, exists: bool) -> Result<(), Failure> {
        let name = text(project, "/metadata/name");
        let doing = format!("writing project '{name}'");
        match self {
            Backend::Core { cluster, .. } => {
                cluster
                    .apply(project, &WriteOptions::default())
                    .await
                    .with_context(|| doing.clone())?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::POST,
                    &["projects"],
                    &[],
                    Some(&json!({"project": project, "upsert": exists})),
                    &doing,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Replaces the spec of project `live` with that of `desired`.
    pub async fn update_project(&self, live: &Value, desired: &Value) -> Result<(), Failure> {
        self.replace_spec(SpecOwner::Project, live, desired).await
    }

    /// Replaces the spec of `live` with that of `desired`: a merge patch of the difference
    /// in core mode, a PUT of the object through the API server (an Application without its
    /// status and operation, which the server does not take from a client; a project in
    /// the server's `{"project": ...}` envelope).
    async fn replace_spec(
        &self,
        owner: SpecOwner,
        live: &Value,
        desired: &Value,
    ) -> Result<(), Failure> {
        let name = text(live, "/metadata/name");
        let (kind, noun, route) = match owner {
            SpecOwner::Application => ("Application", "application", "applications"),
            SpecOwner::Project => ("AppProject", "project", "projects"),
        };
        let doing = format!("updating {noun} '{name}'");
        match self {
            Backend::Core { cluster, ns } => {
                patch_spec(cluster, &key("argoproj.io", kind, ns, name), live, desired)
                    .await
                    .with_context(|| doing.clone())?;
            }
            Backend::Server { api, .. } => {
                let mut object = live.clone();
                object["spec"] = desired["spec"].clone();
                let body = match owner {
                    SpecOwner::Application => {
                        if let Some(map) = object.as_object_mut() {
                            map.remove("status");
                            map.remove("operation");
                        }
                        object
                    }
                    SpecOwner::Project => json!({"project": object}),
                };
                api.send(Method::PUT, &[route, name], &[], Some(&body), &doing, None)
                    .await?;
            }
        }
        Ok(())
    }

    /// Secrets of the control-plane namespace with `argocd.argoproj.io/secret-type: TYPE`.
    async fn secrets_of_type(
        cluster: &Cluster,
        ns: &str,
        kind: &str,
    ) -> Result<Vec<Value>, Failure> {
        let all = cluster
            .list("", "Secret", Some(ns))
            .await
            .with_context(|| format!("listing Secrets in namespace {ns}"))?;
        Ok(all
            .into_iter()
            .filter(|s| {
                s.pointer("/metadata/labels/argocd.argoproj.io~1secret-type")
                    .and_then(Value::as_str)
                    == Some(kind)
            })
            .collect())
    }

    /// Registered repositories, without credentials: `repo`, `name`, `type`, `project`,
    /// `username`, `credentials` (`ssh-key`, `password`, `yes`, `none`), `insecure`, and in
    /// core mode `secret` (the Secret's name).
    pub async fn list_repos(&self) -> Result<Vec<Value>, Failure> {
        use super::repo::{REPOSITORY_TYPE, secret_value};
        let mut rows: Vec<Value> = match self {
            Backend::Core { cluster, ns } => Self::secrets_of_type(cluster, ns, REPOSITORY_TYPE)
                .await?
                .iter()
                .map(|s| {
                    let has = |k: &str| secret_value(s, k).is_some_and(|v| !v.is_empty());
                    let credentials = if has("sshPrivateKey") {
                        "ssh-key"
                    } else if has("password") {
                        "password"
                    } else {
                        "none"
                    };
                    json!({
                        "repo": secret_value(s, "url").unwrap_or_default(),
                        "name": secret_value(s, "name").unwrap_or_default(),
                        "type": secret_value(s, "type").unwrap_or_else(|| "git".into()),
                        "project": secret_value(s, "project").unwrap_or_default(),
                        "username": secret_value(s, "username").unwrap_or_default(),
                        "credentials": credentials,
                        "insecure": secret_value(s, "insecure").as_deref() == Some("true"),
                        "secret": text(s, "/metadata/name"),
                    })
                })
                .collect(),
            Backend::Server { api, .. } => api
                .items(&["repositories"], "listing repositories")
                .await?
                .iter()
                .map(|r| {
                    json!({
                        "repo": text(r, "/repo"),
                        "name": text(r, "/name"),
                        "type": match text(r, "/type") { "" => "git", t => t },
                        "project": text(r, "/project"),
                        "username": text(r, "/username"),
                        "credentials": if r["hasCredentials"] == json!(true) { "yes" } else { "none" },
                        "insecure": r["insecure"] == json!(true),
                        "connection": text(r, "/connectionState/status"),
                    })
                })
                .collect(),
        };
        rows.sort_by(|a, b| text(a, "/repo").cmp(text(b, "/repo")));
        Ok(rows)
    }

    /// Registers a repository. `request` has the shape of Argo CD's `Repository`
    /// (`repo`, `type`, `name`, `username`, `password`, `sshPrivateKey`).
    pub async fn add_repo(&self, request: &Value, upsert: bool) -> Result<(), Failure> {
        use super::repo::{REPOSITORY_TYPE, secret_name};
        let url = text(request, "/repo");
        let doing = format!("registering repository {url}");
        match self {
            Backend::Core { cluster, ns } => {
                let mut data = Map::new();
                for (from, to) in [
                    ("repo", "url"),
                    ("type", "type"),
                    ("name", "name"),
                    ("username", "username"),
                    ("password", "password"),
                    ("sshPrivateKey", "sshPrivateKey"),
                ] {
                    let v = text(request, &format!("/{from}"));
                    if !v.is_empty() {
                        data.insert(to.into(), json!(v));
                    }
                }
                let secret = json!({
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": secret_name(url),
                        "namespace": ns,
                        "labels": {SECRET_TYPE_LABEL: REPOSITORY_TYPE},
                        "annotations": {"managed-by": "argocd.argoproj.io"},
                    },
                    "type": "Opaque",
                    "stringData": data,
                });
                cluster
                    .apply(&secret, &WriteOptions::default())
                    .await
                    .with_context(|| format!("writing the Secret of repository {url}"))?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::POST,
                    &["repositories"],
                    &[("upsert", upsert.to_string())],
                    Some(request),
                    &doing,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Removes a repository (a row of [`Backend::list_repos`]).
    pub async fn remove_repo(&self, row: &Value) -> Result<(), Failure> {
        let url = text(row, "/repo");
        match self {
            Backend::Core { cluster, ns } => {
                cluster
                    .delete(
                        &key("", "Secret", ns, text(row, "/secret")),
                        &DeleteOptions::default(),
                    )
                    .await
                    .with_context(|| format!("deleting the Secret of repository {url}"))?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::DELETE,
                    &["repositories", url],
                    &[],
                    None,
                    &format!("removing repository {url}"),
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Registered clusters, without credentials: `server`, `name`, `namespaces`, `project`,
    /// `credentials` (a masked summary in core mode), `connection` (server mode), and in core
    /// mode `secret`.
    pub async fn list_clusters(&self) -> Result<Vec<Value>, Failure> {
        use super::cluster::{CLUSTER_TYPE, IN_CLUSTER_SERVER};
        let mut rows: Vec<Value> = match self {
            Backend::Core { cluster, ns } => {
                let mut rows = Vec::new();
                for s in Self::secrets_of_type(cluster, ns, CLUSTER_TYPE).await? {
                    match ClusterSecret::from_secret(&s) {
                        Ok(c) => rows.push(json!({
                            "name": c.name,
                            "server": c.server,
                            "namespaces": c.namespaces,
                            "project": c.project.clone().unwrap_or_default(),
                            // Display masks every credential.
                            "credentials": c.config.to_string(),
                            "secret": text(&s, "/metadata/name"),
                        })),
                        Err(e) => eprintln!(
                            "warning: skipping cluster Secret {}: {e}",
                            text(&s, "/metadata/name")
                        ),
                    }
                }
                if !rows.iter().any(|r| text(r, "/server") == IN_CLUSTER_SERVER) {
                    rows.push(json!({
                        "name": ferrocd_model::IN_CLUSTER_NAME,
                        "server": IN_CLUSTER_SERVER,
                        "namespaces": [],
                        "project": "",
                        "credentials": "in-cluster",
                    }));
                }
                rows
            }
            Backend::Server { api, .. } => api
                .items(&["clusters"], "listing clusters")
                .await?
                .iter()
                .map(|c| {
                    json!({
                        "name": text(c, "/name"),
                        "server": text(c, "/server"),
                        "namespaces": c.get("namespaces").cloned().unwrap_or(json!([])),
                        "project": text(c, "/project"),
                        "credentials": if text(c, "/server") == IN_CLUSTER_SERVER { "in-cluster" } else { "kept by the server" },
                        "connection": text(c, "/connectionState/status"),
                    })
                })
                .collect(),
        };
        rows.sort_by(|a, b| text(a, "/server").cmp(text(b, "/server")));
        Ok(rows)
    }

    /// Registers a cluster; `existing` is its row when it is already registered (upsert).
    pub async fn add_cluster(
        &self,
        secret: &mut ClusterSecret,
        existing: Option<&Value>,
    ) -> Result<(), Failure> {
        let doing = format!("registering cluster {}", secret.server);
        match self {
            Backend::Core { cluster, ns } => {
                secret.secret_name = match existing.map(|r| text(r, "/secret")) {
                    Some(s) if !s.is_empty() => s.to_string(),
                    _ => super::cluster::secret_name(&secret.server),
                };
                let object = secret.to_secret(ns);
                cluster
                    .apply(&object, &WriteOptions::default())
                    .await
                    .with_context(|| format!("writing the Secret of cluster {}", secret.server))?;
            }
            Backend::Server { api, .. } => {
                let config = serde_json::to_value(&secret.config)
                    .context("encoding the cluster configuration")?;
                let body = json!({
                    "server": secret.server,
                    "name": secret.name,
                    "namespaces": secret.namespaces,
                    "project": secret.project.clone().unwrap_or_default(),
                    "config": config,
                });
                api.send(
                    Method::POST,
                    &["clusters"],
                    &[("upsert", existing.is_some().to_string())],
                    Some(&body),
                    &doing,
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Removes a cluster (a row of [`Backend::list_clusters`]).
    pub async fn remove_cluster(&self, row: &Value) -> Result<(), Failure> {
        let server = text(row, "/server");
        match self {
            Backend::Core { cluster, ns } => {
                let secret = text(row, "/secret");
                if secret.is_empty() {
                    return Err(anyhow!(
                        "the in-cluster destination {server} is built in and cannot be removed"
                    )
                    .into());
                }
                cluster
                    .delete(&key("", "Secret", ns, secret), &DeleteOptions::default())
                    .await
                    .with_context(|| format!("deleting the Secret of cluster {server}"))?;
            }
            Backend::Server { api, .. } => {
                api.send(
                    Method::DELETE,
                    &["clusters", server],
                    &[],
                    None,
                    &format!("removing cluster {server}"),
                    None,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Core mode's update of an Application or AppProject: a merge patch of the spec fields that
/// differ (the controller's own fields stay untouched).
/// The kinds whose spec the CLI replaces.
#[derive(Clone, Copy)]
enum SpecOwner {
    Application,
    Project,
}

async fn patch_spec(
    cluster: &Cluster,
    target: &ResourceKey,
    live: &Value,
    desired: &Value,
) -> Result<(), ferrocd_cluster::ClusterError> {
    let patch = json!({"spec": merge_patch_between(&live["spec"], &desired["spec"])});
    cluster.merge_patch(target, &patch).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_nulls_removed_keys_and_keeps_unchanged_out() {
        let old = json!({"destination": {"server": "https://a", "namespace": "ml"}, "project": "default",
            "syncPolicy": {"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true"]}});
        let new = json!({"destination": {"name": "gpu-east", "namespace": "ml"}, "project": "default",
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}});
        assert_eq!(
            merge_patch_between(&old, &new),
            json!({"destination": {"server": null, "name": "gpu-east"}, "syncPolicy": {"automated": null}})
        );
        assert_eq!(merge_patch_between(&old, &old), json!({}));
    }

    #[test]
    fn json_strings_parse_and_nulls_are_skipped() {
        let items = [
            json!("{\"kind\":\"Service\"}"),
            json!("null"),
            json!({"kind": "Pod"}),
            json!(3),
        ];
        let parsed = parse_json_strings(items.iter());
        assert_eq!(
            parsed,
            vec![json!({"kind": "Service"}), json!({"kind": "Pod"})]
        );
    }
}
