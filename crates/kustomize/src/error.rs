//! Errors of a kustomize build. Messages follow kustomize's wording and name the file.

use std::path::PathBuf;

/// Why a kustomization could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KustomizeError {
    /// The directory holds no kustomization file.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
        dir.display()
    )]
    NoKustomization {
        /// The directory searched.
        dir: PathBuf,
    },
    /// A file could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML or not the expected shape.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The kustomization file has an invalid field.
    #[error("invalid kustomization {}: {message}", path.display())]
    Invalid {
        /// The kustomization file.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A resource, patch or generator file does not exist.
    #[error("accumulating resources from '{entry}' in {}: no such file or directory", kustomization.display())]
    MissingResource {
        /// The kustomization naming it.
        kustomization: PathBuf,
        /// The entry as written.
        entry: String,
    },
    /// Kustomizations include each other.
    #[error("cycle detected: {} includes itself through {}", dir.display(), chain)]
    Cycle {
        /// The directory seen twice.
        dir: PathBuf,
        /// The inclusion chain.
        chain: String,
    },
    /// A path leaves the kustomization root (load restrictor) or the repository.
    #[error("security; file '{}' is not in or below '{}'", path.display(), root.display())]
    OutsideRoot {
        /// The path asked for.
        path: PathBuf,
        /// The root it must stay in.
        root: PathBuf,
    },
    /// Two objects have the same identity.
    #[error("may not add resource with an already registered id: {id} (in {})", file.display())]
    DuplicateId {
        /// The identity (`group_version_kind|namespace|name`).
        id: String,
        /// The kustomization being built.
        file: PathBuf,
    },
    /// A generator produced an object that already exists with behavior `create`.
    #[error("{}: generator collision: {id} already exists; behavior must be merge or replace", file.display())]
    GeneratorCollision {
        /// The identity.
        id: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// A generator with behavior merge/replace found nothing to merge into.
    #[error("{}: id {id} does not exist; cannot merge or replace", file.display())]
    GeneratorNoBase {
        /// The identity.
        id: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// A patch matched no object.
    #[error("{}: no resource matches strategic merge patch \"{target}\"", file.display())]
    PatchTargetNotFound {
        /// Describes the patch target.
        target: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// A patch failed to apply.
    #[error("{}: applying patch to {target}: {message}", file.display())]
    Patch {
        /// The object patched.
        target: String,
        /// What went wrong.
        message: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// A replacement, var or field spec failed.
    #[error("{}: {message}", file.display())]
    Transform {
        /// What went wrong.
        message: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// A feature this crate does not implement yet.
    #[error("{}: {feature} is not supported yet", file.display())]
    Unsupported {
        /// The feature.
        feature: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// A remote resource could not be fetched.
    #[error("{}: fetching remote resource '{url}': {message}", file.display())]
    Remote {
        /// The URL as written.
        url: String,
        /// What went wrong.
        message: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// The kustomization has `helmCharts` but the build was not allowed to inflate charts.
    #[error(
        "{}: helmCharts entry '{chart}' needs helm to be enabled: must specify --enable-helm",
        file.display()
    )]
    HelmNotEnabled {
        /// The chart named by the first entry.
        chart: String,
        /// The kustomization.
        file: PathBuf,
    },
    /// A chart is not on disk and would have to be pulled from a repository.
    #[error(
        "{}: helm chart '{chart}' is not at '{}' and would have to be pulled from '{repo}': remote charts are not supported yet",
        file.display(), path.display()
    )]
    RemoteChart {
        /// The chart name.
        chart: String,
        /// The repository it would come from.
        repo: String,
        /// Where the chart was looked for.
        path: PathBuf,
        /// The kustomization.
        file: PathBuf,
    },
    /// A chart is not on disk and names no repository.
    #[error(
        "{}: no repo specified for pull, no helm chart '{chart}' found at '{}'",
        file.display(), path.display()
    )]
    ChartNotFound {
        /// The chart name.
        chart: String,
        /// Where the chart was looked for.
        path: PathBuf,
        /// The kustomization.
        file: PathBuf,
    },
    /// The native Helm renderer failed on a chart.
    #[error("{}: inflating helm chart '{chart}'", file.display())]
    Helm {
        /// The chart name.
        chart: String,
        /// The kustomization.
        file: PathBuf,
        /// What the renderer reported.
        #[source]
        source: ferrocd_helm::HelmError,
    },
}
