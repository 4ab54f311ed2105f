//! ferrocd-kustomize: kustomization.yaml rendering.
//!
//! A native implementation of `kubectl kustomize` (kustomize v5): resources, bases,
//! components, generators with kustomize's content-hash names, patches (strategic merge
//! with Kubernetes merge keys from `ferrocd-schema`, and JSON 6902), the field
//! transformers, name references, replacements, vars and output order. The output equals
//! `kubectl kustomize`'s object for object (proved by the differential suite in
//! `tests/differential.rs`).
//!
//! `helmCharts` are inflated in-process by `ferrocd-helm` when
//! [`KustomizeOptions::enable_helm`] is set (kustomize's `--enable-helm`); charts must
//! already be on disk under `helmGlobals.chartHome`.
//!
//! Argo CD's per-Application kustomize options are applied as an in-memory edit of the root
//! kustomization ([`AppOverrides`], [`build_with`]), the way Argo CD runs `kustomize edit`
//! before building.
#![deny(missing_docs)]

mod build;
mod config;
mod crds;
mod error;
mod fieldpath;
mod fieldspec;
mod generator;
mod helm;
mod kustomization;
mod loader;
mod metadata;
mod nameref;
mod overrides;
mod patch;
mod remote;
mod replacement;
mod resource;
mod selector;
mod sort;
mod transform;
mod vars;
mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

pub use error::KustomizeError;
pub use kustomization::{Image, Patch, PatchOptions, Replica, Selector};
pub use overrides::{AppOverrides, parse_argo_image};
pub use remote::{RemoteFetcher, RemoteRef, parse_remote};

/// Which files a kustomization may read (`--load-restrictor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// `LoadRestrictionsRootOnly`: files must be in or below the kustomization's directory.
    #[default]
    RootOnly,
    /// `LoadRestrictionsNone`: files may be anywhere (still inside `repo_root` when set).
    None,
}

impl std::str::FromStr for LoadRestrictor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "LoadRestrictionsRootOnly" | "rootOnly" => Ok(Self::RootOnly),
            "LoadRestrictionsNone" | "none" => Ok(Self::None),
            other => Err(format!(
                "unknown load restrictor `{other}` (expected LoadRestrictionsRootOnly or LoadRestrictionsNone)"
            )),
        }
    }
}

/// The output order when the kustomization has no `sortOptions` (`--reorder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reorder {
    /// `legacy`: by kind (namespaces first, webhooks last), then by identity.
    #[default]
    Legacy,
    /// `none`: the order objects were read and generated in.
    None,
}

impl std::str::FromStr for Reorder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "legacy" => Ok(Self::Legacy),
            "none" => Ok(Self::None),
            other => Err(format!(
                "unknown reorder `{other}` (expected legacy or none)"
            )),
        }
    }
}

/// How to build.
#[derive(Clone, Default)]
pub struct KustomizeOptions {
    /// Which files may be read.
    pub load_restrictor: LoadRestrictor,
    /// Output order without `sortOptions`.
    pub reorder: Reorder,
    /// When set, no file outside this directory is ever read (symlinks resolved).
    pub repo_root: Option<PathBuf>,
    /// Fetches remote (Git) resources; without it remote resources are an error.
    pub remote: Option<Arc<dyn RemoteFetcher>>,
    /// `--enable-helm`: inflate `helmCharts` with the native Helm renderer (charts must be
    /// on disk). When false, a kustomization with `helmCharts` is an error, as in kustomize.
    pub enable_helm: bool,
}

impl std::fmt::Debug for KustomizeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KustomizeOptions")
            .field("load_restrictor", &self.load_restrictor)
            .field("reorder", &self.reorder)
            .field("repo_root", &self.repo_root)
            .field("remote", &self.remote.is_some())
            .field("enable_helm", &self.enable_helm)
            .finish()
    }
}

/// Whether `dir` holds a kustomization (`kustomization.yaml`, `kustomization.yml` or
/// `Kustomization`).
pub fn is_kustomization_dir(dir: &Path) -> bool {
    kustomization::find_file(dir).is_some()
}

/// Builds the kustomization in `dir`, like `kubectl kustomize DIR`.
pub fn build(dir: &Path, opts: &KustomizeOptions) -> Result<Vec<Value>, KustomizeError> {
    build_inner(dir, opts, None)
}

/// Builds the kustomization in `dir` with an Argo CD Application's kustomize options
/// applied on top of the root kustomization.
pub fn build_with(
    dir: &Path,
    opts: &KustomizeOptions,
    overrides: &AppOverrides,
) -> Result<Vec<Value>, KustomizeError> {
    build_inner(dir, opts, Some(overrides))
}

fn build_inner(
    dir: &Path,
    opts: &KustomizeOptions,
    overrides: Option<&AppOverrides>,
) -> Result<Vec<Value>, KustomizeError> {
    let repo_root = match &opts.repo_root {
        Some(root) => Some(root.canonicalize().map_err(|source| KustomizeError::Read {
            path: root.clone(),
            source,
        })?),
        None => None,
    };
    if let Some(root) = &repo_root {
        let canonical = dir
            .canonicalize()
            .map_err(|_| KustomizeError::NoKustomization {
                dir: dir.to_path_buf(),
            })?;
        if !canonical.starts_with(root) {
            return Err(KustomizeError::OutsideRoot {
                path: canonical,
                root: root.clone(),
            });
        }
    }
    let mut builder = build::Builder {
        opts,
        repo_root,
        stack: Vec::new(),
        overrides,
    };
    builder.build(dir)
}
