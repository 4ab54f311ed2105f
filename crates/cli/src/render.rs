//! `ferrocd render`: a folder or an Application file to manifests.
//!
//! Flags are parsed faithfully first ([`RenderArgs`]), then turned into validated
//! options; errors name what was wrong.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use ferrocd_kustomize::KustomizeOptions;
use ferrocd_manifest::{Manifest, to_json_list, to_yaml_documents, to_yaml_string};
use ferrocd_model::Application;
use ferrocd_render::application::{AppRenderOptions, AppRenderer};
use ferrocd_render::directory::{DirectoryOptions, render_directory};
use ferrocd_render::helm::render_helm_chart;
use ferrocd_render::jsonnet::{JsonnetOptions, JsonnetVar};
use ferrocd_render::kustomize::{CacheFetcher, render_kustomization};
use ferrocd_render::repo_path::RepoRoot;
use ferrocd_render::{RenderError, SourceType, detect_source_type};
use ferrocd_source::{CredentialStore, RepoCache};

use crate::Failure;

/// Output format of rendered manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Multi-document YAML.
    #[default]
    Yaml,
    /// A JSON list.
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A folder to render, or a YAML file holding an Argo CD Application.
    pub source: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Directory sources: also render sub-folders.
    #[arg(long)]
    pub recurse: bool,
    /// Directory sources: only files matching this glob (e.g. '{a.yaml,b.yaml}').
    #[arg(long)]
    pub include: Option<String>,
    /// Directory sources: skip files matching this glob.
    #[arg(long)]
    pub exclude: Option<String>,
    /// Directory sources: evaluate *.jsonnet files.
    #[arg(long)]
    pub jsonnet: bool,
    /// Jsonnet external variable as a string (NAME=VALUE). Implies --jsonnet.
    #[arg(long = "ext-str", value_name = "NAME=VALUE")]
    pub ext_str: Vec<String>,
    /// Jsonnet external variable as code (NAME=CODE). Implies --jsonnet.
    #[arg(long = "ext-code", value_name = "NAME=CODE")]
    pub ext_code: Vec<String>,
    /// Jsonnet top-level argument as a string (NAME=VALUE). Implies --jsonnet.
    #[arg(long = "tla-str", value_name = "NAME=VALUE")]
    pub tla_str: Vec<String>,
    /// Jsonnet top-level argument as code (NAME=CODE). Implies --jsonnet.
    #[arg(long = "tla-code", value_name = "NAME=CODE")]
    pub tla_code: Vec<String>,
    /// Jsonnet library folder, relative to the repository root. Implies --jsonnet.
    #[arg(long = "jsonnet-lib", value_name = "DIR")]
    pub jsonnet_lib: Vec<String>,
    /// Kustomize: output order when the kustomization has no sortOptions (legacy|none).
    #[arg(long, value_name = "legacy|none", default_value = "legacy")]
    pub reorder: ferrocd_kustomize::Reorder,
    /// Kustomize: which files may be read
    /// (LoadRestrictionsRootOnly|LoadRestrictionsNone).
    #[arg(
        long = "load-restrictor",
        value_name = "RESTRICTOR",
        default_value = "LoadRestrictionsRootOnly"
    )]
    pub load_restrictor: ferrocd_kustomize::LoadRestrictor,
    /// Helm charts: `helm template`'s flags.
    #[command(flatten)]
    pub helm: HelmArgs,
    /// Kustomize: render `helmCharts` (with the native Helm renderer), as
    /// `kubectl kustomize --enable-helm`.
    #[arg(long = "enable-helm")]
    pub enable_helm: bool,
    /// Application sources: render at this revision instead of targetRevision.
    #[arg(long)]
    pub revision: Option<String>,
    /// Repository credentials: a YAML file of Argo CD repository Secrets or a
    /// `repositories:` list (see docs/sources.md).
    #[arg(long = "repo-creds", value_name = "FILE", env = "FERROCD_REPO_CREDS")]
    pub repo_creds: Option<PathBuf>,
    /// Where fetched repositories are cached.
    #[arg(long = "cache-dir", value_name = "DIR", env = "FERROCD_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

pub fn run(args: RenderArgs) -> Result<(), Failure> {
    let manifests = if args.source.is_dir() {
        render_folder(&args)?
    } else if args.source.is_file() {
        let (manifests, commits) = render_application(&args)?;
        // Which commit each source resolved to, for the person at the terminal (stderr keeps
        // stdout pure YAML).
        for commit in commits {
            eprintln!("revision: {commit}");
        }
        manifests
    } else {
        return Err(anyhow::anyhow!("{}: no such file or directory", args.source.display()).into());
    };
    let helm_chart = args.source.is_dir() && detect_source_type(&args.source) == SourceType::Helm;
    let text = match args.output {
        // Like `helm template`, name each document's template.
        OutputFormat::Yaml if helm_chart => manifests
            .iter()
            .map(|m| {
                format!(
                    "---\n# Source: {}\n{}",
                    m.origin.file,
                    to_yaml_string(&m.object)
                )
            })
            .collect(),
        OutputFormat::Yaml => to_yaml_documents(manifests.iter().map(|m| &m.object)),
        OutputFormat::Json => to_json_list(manifests.iter().map(|m| &m.object)),
    };
    crate::write_stdout(&text)
}

fn render_error(err: RenderError) -> Failure {
    match err {
        RenderError::Unsupported(_) => Failure::unsupported(err),
        other => other.into(),
    }
}

/// The repository a local folder belongs to: the nearest ancestor holding `.git`, or
/// the folder itself. Paths must not leave it.
fn local_repo_root(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("reading {}", dir.display()))?;
    let mut cur = Some(dir.as_path());
    while let Some(p) = cur {
        if p.join(".git").exists() {
            return Ok(p.to_path_buf());
        }
        cur = p.parent();
    }
    Ok(dir)
}

fn split_var(flag: &str, item: &str, code: bool) -> anyhow::Result<JsonnetVar> {
    let (name, value) = item
        .split_once('=')
        .with_context(|| format!("--{flag} {item:?}: expected NAME=VALUE"))?;
    Ok(JsonnetVar {
        name: name.to_string(),
        value: value.to_string(),
        code,
    })
}

fn jsonnet_options(args: &RenderArgs) -> anyhow::Result<Option<JsonnetOptions>> {
    let wanted = args.jsonnet
        || !args.ext_str.is_empty()
        || !args.ext_code.is_empty()
        || !args.tla_str.is_empty()
        || !args.tla_code.is_empty()
        || !args.jsonnet_lib.is_empty();
    if !wanted {
        return Ok(None);
    }
    let mut opts = JsonnetOptions {
        libs: args.jsonnet_lib.clone(),
        ..Default::default()
    };
    for s in &args.ext_str {
        opts.ext_vars.push(split_var("ext-str", s, false)?);
    }
    for s in &args.ext_code {
        opts.ext_vars.push(split_var("ext-code", s, true)?);
    }
    for s in &args.tla_str {
        opts.tlas.push(split_var("tla-str", s, false)?);
    }
    for s in &args.tla_code {
        opts.tlas.push(split_var("tla-code", s, true)?);
    }
    Ok(Some(opts))
}

pub(crate) fn render_folder(args: &RenderArgs) -> Result<Vec<Manifest>, Failure> {
    let root = local_repo_root(&args.source)?;
    let repo = RepoRoot::new(&root).map_err(render_error)?;
    let dir = args
        .source
        .canonicalize()
        .with_context(|| format!("reading {}", args.source.display()))?;
    match detect_source_type(&dir) {
        SourceType::Directory => {
            let opts = DirectoryOptions {
                recurse: args.recurse,
                include: args.include.clone(),
                exclude: args.exclude.clone(),
                jsonnet: jsonnet_options(args)?,
            };
            render_directory(&repo, &dir, &opts).map_err(render_error)
        }
        SourceType::Kustomize => {
            let cache = Arc::new(open_cache(args)?);
            let opts = KustomizeOptions {
                load_restrictor: args.load_restrictor,
                reorder: args.reorder,
                enable_helm: args.enable_helm,
                remote: Some(Arc::new(CacheFetcher::new(cache))),
                ..Default::default()
            };
            render_kustomization(&repo, &dir, opts, None).map_err(render_error)
        }
        SourceType::Helm => {
            let opts = args.helm.to_options()?;
            render_helm_chart(&dir, &opts).map_err(render_error)
        }
        other => Err(Failure::unsupported(anyhow::anyhow!(
            "{}: {other} sources are not supported yet",
            args.source.display()
        ))),
    }
}

fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERROCD_CACHE") {
        return PathBuf::from(dir).join("repos");
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("ferrocd/repos");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache/ferrocd/repos");
    }
    std::env::temp_dir().join("ferrocd/repos")
}

fn open_cache(args: &RenderArgs) -> anyhow::Result<RepoCache> {
    let credentials = match &args.repo_creds {
        Some(path) => CredentialStore::from_file(path)?,
        None => CredentialStore::new(),
    };
    Ok(RepoCache::new(
        args.cache_dir.clone().unwrap_or_else(default_cache_dir),
        credentials,
    ))
}

/// The manifests of an Application file (quietly: the API server and the direct-mode
/// commands call this too).
pub(crate) fn render_application_file(args: &RenderArgs) -> Result<Vec<Manifest>, Failure> {
    render_application(args).map(|(manifests, _)| manifests)
}

/// The manifests of an Application file and the commit each source resolved to.
fn render_application(args: &RenderArgs) -> Result<(Vec<Manifest>, Vec<String>), Failure> {
    let file = args.source.display().to_string();
    let text = std::fs::read_to_string(&args.source).with_context(|| format!("reading {file}"))?;
    let app = Application::from_yaml(&text, &file)?;
    let cache = Arc::new(open_cache(args)?);
    let renderer = AppRenderer::new(cache);
    let opts = AppRenderOptions {
        revision: args.revision.clone(),
    };
    let rendered = renderer.render(&app, &opts).map_err(render_error)?;
    let commits = rendered.sources.iter().map(|s| s.commit.clone()).collect();
    Ok((rendered.manifests().cloned().collect(), commits))
}

/// The flags of `helm template` that `ferrocd render CHART_DIR` accepts, with the same
/// meaning.
#[derive(Debug, Args)]
pub struct HelmArgs {
    /// Release name (`helm template NAME`).
    #[arg(
        long = "release-name",
        value_name = "NAME",
        default_value = "release-name"
    )]
    pub release_name: String,
    /// Namespace of the release.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Values file (repeatable; later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set values (a.b=c,d[0]=e).
    #[arg(long, value_name = "EXPR")]
    pub set: Vec<String>,
    /// Set values as strings.
    #[arg(long = "set-string", value_name = "EXPR")]
    pub set_string: Vec<String>,
    /// Set values from JSON (a={"b":1}).
    #[arg(long = "set-json", value_name = "EXPR")]
    pub set_json: Vec<String>,
    /// Set values from files (key=path).
    #[arg(long = "set-file", value_name = "EXPR")]
    pub set_file: Vec<String>,
    /// Print the chart's crds/ files.
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Never print the chart's crds/ files.
    #[arg(long = "skip-crds")]
    pub skip_crds: bool,
    /// Kubernetes version for .Capabilities.KubeVersion.
    #[arg(long = "kube-version", value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Extra API versions for .Capabilities.APIVersions (repeatable).
    #[arg(short = 'a', long = "api-versions", value_name = "VERSION")]
    pub api_versions: Vec<String>,
    /// Drop test hooks.
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
}

impl HelmArgs {
    /// Files named on the command line are the user's own choice (like helm's -f), so
    /// they are not confined to the chart's repository; Application value files are.
    fn to_options(&self) -> Result<ferrocd_helm::RenderOptions, Failure> {
        let mut value_files = Vec::new();
        for file in &self.values {
            if !file.is_file() {
                return Err(anyhow::anyhow!("values file {}: no such file", file.display()).into());
            }
            value_files.push(file.clone());
        }
        Ok(ferrocd_helm::RenderOptions {
            release_name: self.release_name.clone(),
            namespace: self.namespace.clone().unwrap_or_default(),
            value_files,
            set: self.set.clone(),
            set_string: self.set_string.clone(),
            set_json: self.set_json.clone(),
            set_file: self.set_file.clone(),
            kube_version: self.kube_version.clone().unwrap_or_default(),
            api_versions: self.api_versions.clone(),
            include_crds: self.include_crds,
            skip_crds: self.skip_crds,
            skip_tests: self.skip_tests,
        })
    }
}
