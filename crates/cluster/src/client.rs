//! One Kubernetes API server: discovery and the reads and writes of a sync.

use std::path::Path;
use std::sync::Arc;

use ferrocd_model::ResourceKey;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::Discovery;
use parking_lot::RwLock;
use serde_json::Value;

use crate::discovery::{KindIndex, KindInfo};
use crate::error::ClusterError;

/// A connection to one API server. Cheap to clone; clones share the discovery index.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    client: kube::Client,
    server: String,
    kinds: RwLock<Arc<KindIndex>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.inner.server)
            .finish_non_exhaustive()
    }
}

/// How a write is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Server-side dry run: validated and defaulted by the server, not persisted.
    pub dry_run: bool,
    /// Take over fields other managers own (server-side apply `force=true`).
    pub force_conflicts: bool,
    /// Field manager.
    pub field_manager: String,
    /// Ask the server to skip schema validation (`Validate=false`).
    pub skip_validation: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            force_conflicts: true,
            field_manager: crate::FIELD_MANAGER.to_string(),
            skip_validation: false,
        }
    }
}

/// Propagation policy of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Dependents are deleted in the background (the API default for most kinds).
    #[default]
    Background,
    /// The object stays until its dependents are gone.
    Foreground,
    /// Dependents are left behind.
    Orphan,
}

impl Propagation {
    /// Parses Argo CD's `PrunePropagationPolicy` values (`foreground`, `background`,
    /// `orphan`, any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "background" => Some(Self::Background),
            "foreground" => Some(Self::Foreground),
            "orphan" => Some(Self::Orphan),
            _ => None,
        }
    }
}

/// How a delete is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Propagation policy.
    pub propagation: Propagation,
    /// Server-side dry run.
    pub dry_run: bool,
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The object was deleted (or is being deleted).
    Deleted,
    /// The object did not exist.
    NotFound,
}

impl Cluster {
    /// Connects with a kube-rs configuration and runs discovery.
    pub async fn connect(config: kube::Config) -> Result<Self, ClusterError> {
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Unreachable {
            server: server.clone(),
            message: e.to_string(),
        })?;
        Self::from_client(client, server).await
    }

    /// Wraps an existing kube-rs client (whose server URL is `server`) and runs discovery.
    pub async fn from_client(client: kube::Client, server: String) -> Result<Self, ClusterError> {
        let cluster = Self {
            inner: Arc::new(Inner {
                client,
                server,
                kinds: RwLock::new(Arc::new(KindIndex::default())),
            }),
        };
        cluster.refresh_discovery().await?;
        Ok(cluster)
    }

    /// Connects with a kubeconfig file (`None`: `$KUBECONFIG`, then `~/.kube/config`, then
    /// the in-cluster service account) and an optional context.
    pub async fn from_kubeconfig(
        path: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Self, ClusterError> {
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let config = match path {
            Some(path) => {
                let kubeconfig =
                    Kubeconfig::read_from(path).map_err(|e| ClusterError::Kubeconfig {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            None if context.is_some() => kube::Config::from_kubeconfig(&options).await,
            None => kube::Config::infer().await.map_err(|e| {
                kube::config::KubeconfigError::ReadConfig(
                    std::io::Error::other(e.to_string()),
                    "the environment".into(),
                )
            }),
        }
        .map_err(|e| ClusterError::Kubeconfig {
            path: path
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(default)".to_string()),
            message: e.to_string(),
        })?;
        Self::connect(config).await
    }

    /// Connects with a kubeconfig given as YAML text (`source` names it in errors).
    pub async fn from_kubeconfig_yaml(
        yaml: &str,
        context: Option<&str>,
        source: &str,
    ) -> Result<Self, ClusterError> {
        let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|e| ClusterError::Kubeconfig {
            path: source.to_string(),
            message: e.to_string(),
        })?;
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| ClusterError::Kubeconfig {
                path: source.to_string(),
                message: e.to_string(),
            })?;
        Self::connect(config).await
    }

    /// The kube-rs client.
    pub fn client(&self) -> &kube::Client {
        &self.inner.client
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// The current discovery index.
    pub fn kinds(&self) -> Arc<KindIndex> {
        self.inner.kinds.read().clone()
    }

    /// Runs discovery again (after CRDs were created or removed).
    pub async fn refresh_discovery(&self) -> Result<(), ClusterError> {
        let discovery = match Discovery::new(self.inner.client.clone())
            .run_aggregated()
            .await
        {
            Ok(d) => d,
            Err(aggregated) => {
                tracing::debug!(server = %self.inner.server, error = %aggregated,
                    "aggregated discovery failed; falling back to per-group discovery");
                Discovery::new(self.inner.client.clone())
                    .run()
                    .await
                    .map_err(|e| ClusterError::Unreachable {
                        server: self.inner.server.clone(),
                        message: format!("discovery: {e}"),
                    })?
            }
        };
        let index = KindIndex::from_discovery(&discovery);
        tracing::debug!(server = %self.inner.server, kinds = index.len(), "discovery refreshed");
        *self.inner.kinds.write() = Arc::new(index);
        Ok(())
    }

    /// How to reach `kind` of `group`; refreshes discovery once when the kind is unknown
    /// (a CRD may have been created since).
    pub async fn kind_info(&self, group: &str, kind: &str) -> Result<KindInfo, ClusterError> {
        if let Some(info) = self.kinds().get(group, kind) {
            return Ok(info.clone());
        }
        self.refresh_discovery().await?;
        self.kinds()
            .get(group, kind)
            .cloned()
            .ok_or_else(|| self.unknown_kind(group, kind))
    }

    async fn kind_info_for(&self, obj: &Value) -> Result<KindInfo, ClusterError> {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version.is_empty() || kind.is_empty() {
            return Err(ClusterError::InvalidObject {
                key: Box::new(ResourceKey::from_object(obj)),
                message: "apiVersion and kind are required".to_string(),
            });
        }
        if let Some(info) = self.kinds().for_api_version(api_version, kind) {
            return Ok(info.clone());
        }
        self.refresh_discovery().await?;
        let group = ferrocd_model::group_of_api_version(api_version);
        self.kinds()
            .for_api_version(api_version, kind)
            .cloned()
            .ok_or_else(|| self.unknown_kind(group, kind))
    }

    fn unknown_kind(&self, group: &str, kind: &str) -> ClusterError {
        ClusterError::UnknownKind {
            server: self.inner.server.clone(),
            group: group.to_string(),
            kind: kind.to_string(),
        }
    }

    /// Whether objects of this kind live in namespaces (`None` when the kind is unknown).
    pub async fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        self.kind_info(group, kind).await.ok().map(|i| i.namespaced)
    }

    /// Puts an object where it belongs: a namespaced object without a namespace gets
    /// `default_namespace`; a cluster-scoped object loses a namespace it should not have.
    pub async fn place_in_namespace(
        &self,
        obj: &mut Value,
        default_namespace: &str,
    ) -> Result<(), ClusterError> {
        let info = self.kind_info_for(obj).await?;
        let Some(metadata) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
            return Err(ClusterError::InvalidObject {
                key: Box::new(ResourceKey::from_object(obj)),
                message: "metadata is required".to_string(),
            });
        };
        let has_namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if info.namespaced && !has_namespace && !default_namespace.is_empty() {
            metadata.insert(
                "namespace".to_string(),
                Value::String(default_namespace.to_string()),
            );
        } else if !info.namespaced {
            metadata.remove("namespace");
        }
        Ok(())
    }

    fn api_for(&self, info: &KindInfo, namespace: &str) -> Api<DynamicObject> {
        if info.namespaced {
            Api::namespaced_with(self.inner.client.clone(), namespace, &info.resource)
        } else {
            Api::all_with(self.inner.client.clone(), &info.resource)
        }
    }

    fn api_for_object(
        &self,
        info: &KindInfo,
        key: &ResourceKey,
    ) -> Result<Api<DynamicObject>, ClusterError> {
        if info.namespaced && key.namespace.is_empty() {
            return Err(ClusterError::InvalidObject {
                key: Box::new(key.clone()),
                message: format!("{} is namespaced but has no namespace", key.kind),
            });
        }
        Ok(self.api_for(info, &key.namespace))
    }

    /// Reads one object; `None` when it does not exist.
    pub async fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        let info = self.kind_info(&key.group, &key.kind).await?;
        let api = self.api_for_object(&info, key)?;
        let found = api
            .get_opt(&key.name)
            .await
            .map_err(|e| ClusterError::api("get", key, e))?;
        found.map(|o| to_value(&o, key)).transpose()
    }

    /// Lists every object of a kind (in `namespace`, or everywhere when `None`).
    pub async fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, ClusterError> {
        let info = self.kind_info(group, kind).await?;
        let api = match namespace {
            Some(ns) if info.namespaced => self.api_for(&info, ns),
            _ => Api::all_with(self.inner.client.clone(), &info.resource),
        };
        let key = ResourceKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.unwrap_or_default().to_string(),
            name: String::new(),
        };
        let mut out = Vec::new();
        let mut params = ListParams::default().limit(500);
        loop {
            let page = api
                .list(&params)
                .await
                .map_err(|e| ClusterError::api("list", &key, e))?;
            for item in &page.items {
                out.push(to_value(item, &key)?);
            }
            match page.metadata.continue_.as_deref() {
                Some(token) if !token.is_empty() => {
                    params = ListParams::default().limit(500).continue_token(token);
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// Server-side apply; returns the object as the server stored it (or would, on a
    /// dry run).
    pub async fn apply(&self, obj: &Value, opts: &WriteOptions) -> Result<Value, ClusterError> {
        let info = self.kind_info_for(obj).await?;
        let key = ResourceKey::from_object(obj);
        require_name(&key)?;
        let api = self.api_for_object(&info, &key)?;
        let mut params = PatchParams::apply(&opts.field_manager);
        params.force = opts.force_conflicts;
        params.dry_run = opts.dry_run;
        if opts.skip_validation {
            params = params.validation_ignore();
        }
        let applied = api
            .patch(&key.name, &params, &Patch::Apply(obj))
            .await
            .map_err(|e| ClusterError::api("apply", &key, e))?;
        to_value(&applied, &key)
    }

    /// Creates an object (also one with `metadata.generateName` and no name); returns the
    /// created object with the name the server chose.
    pub async fn create(&self, obj: &Value, opts: &WriteOptions) -> Result<Value, ClusterError> {
        let info = self.kind_info_for(obj).await?;
        let key = ResourceKey::from_object(obj);
        let api = self.api_for_object(&info, &key)?;
        let params = PostParams {
            dry_run: opts.dry_run,
            field_manager: Some(opts.field_manager.clone()),
        };
        let dynamic = from_value(obj, &key)?;
        let created = api
            .create(&params, &dynamic)
            .await
            .map_err(|e| ClusterError::api("create", &key, e))?;
        to_value(&created, &key)
    }

    /// Replaces an object with a PUT (creating it when it does not exist), as
    /// `Replace=true` asks.
    pub async fn replace(&self, obj: &Value, opts: &WriteOptions) -> Result<Value, ClusterError> {
        let info = self.kind_info_for(obj).await?;
        let key = ResourceKey::from_object(obj);
        require_name(&key)?;
        let api = self.api_for_object(&info, &key)?;
        let live = api
            .get_opt(&key.name)
            .await
            .map_err(|e| ClusterError::api("get", &key, e))?;
        let Some(live) = live else {
            return self.create(obj, opts).await;
        };
        let mut dynamic = from_value(obj, &key)?;
        dynamic.metadata.resource_version = live.metadata.resource_version.clone();
        let params = PostParams {
            dry_run: opts.dry_run,
            field_manager: Some(opts.field_manager.clone()),
        };
        let replaced = api
            .replace(&key.name, &params, &dynamic)
            .await
            .map_err(|e| ClusterError::api("replace", &key, e))?;
        to_value(&replaced, &key)
    }

    /// Deletes an object.
    pub async fn delete(
        &self,
        key: &ResourceKey,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, ClusterError> {
        let info = self.kind_info(&key.group, &key.kind).await?;
        let api = self.api_for_object(&info, key)?;
        let mut params = match opts.propagation {
            Propagation::Background => DeleteParams::background(),
            Propagation::Foreground => DeleteParams::foreground(),
            Propagation::Orphan => DeleteParams::orphan(),
        };
        params.dry_run = opts.dry_run;
        match api.delete(&key.name, &params).await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(DeleteOutcome::NotFound),
            Err(e) => Err(ClusterError::api("delete", key, e)),
        }
    }

    /// Applies CustomResourceDefinitions and waits (up to `timeout`) until the server
    /// serves every kind they define.
    pub async fn install_crds(
        &self,
        crds: &[Value],
        timeout: std::time::Duration,
    ) -> Result<(), ClusterError> {
        for crd in crds {
            self.apply(crd, &WriteOptions::default()).await?;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        for crd in crds {
            let group = crd
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = crd
                .pointer("/spec/names/kind")
                .and_then(Value::as_str)
                .unwrap_or("");
            while let Err(e) = self.kind_info(group, kind).await {
                if tokio::time::Instant::now() > deadline {
                    return Err(e);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Merge-patches an object (metadata edits such as removing a finalizer).
    pub async fn merge_patch(
        &self,
        key: &ResourceKey,
        patch: &Value,
    ) -> Result<Value, ClusterError> {
        let info = self.kind_info(&key.group, &key.kind).await?;
        let api = self.api_for_object(&info, key)?;
        let patched = api
            .patch(&key.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|e| ClusterError::api("patch", key, e))?;
        to_value(&patched, key)
    }
}

fn require_name(key: &ResourceKey) -> Result<(), ClusterError> {
    if key.name.is_empty() {
        return Err(ClusterError::InvalidObject {
            key: Box::new(key.clone()),
            message: "metadata.name is required".to_string(),
        });
    }
    Ok(())
}

fn to_value(obj: &DynamicObject, key: &ResourceKey) -> Result<Value, ClusterError> {
    serde_json::to_value(obj).map_err(|e| ClusterError::InvalidObject {
        key: Box::new(key.clone()),
        message: format!("response is not JSON: {e}"),
    })
}

fn from_value(obj: &Value, key: &ResourceKey) -> Result<DynamicObject, ClusterError> {
    serde_json::from_value(obj.clone()).map_err(|e| ClusterError::InvalidObject {
        key: Box::new(key.clone()),
        message: e.to_string(),
    })
}
