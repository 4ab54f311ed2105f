//! ferrocd-render: from a source (a folder of a Git snapshot plus the source's options)
//! to Kubernetes manifests.
//!
//! One entry per source type: [`detect_source_type`] tells which renderer a folder needs
//! (as Argo CD does: a kustomization → Kustomize, `Chart.yaml` → Helm, otherwise a
//! directory), [`directory::render_directory`] renders plain YAML/JSON and Jsonnet, and
//! [`application::AppRenderer`] renders an Argo CD `Application` with all its sources.
//! Every path that comes from a user (source path, include glob, value file, Jsonnet
//! import) is resolved by [`repo_path`] so that it can never read outside its repository.
#![deny(missing_docs)]

pub mod application;
pub mod directory;
mod error;
pub mod helm;
pub mod jsonnet;
pub mod kustomize;
pub mod remote_values;
pub mod repo_path;

use std::path::Path;

pub use error::RenderError;
pub use ferrocd_model::application_source::SourceType;

/// File names that make a folder a Kustomize source, in the order Argo CD checks them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Detects the source type of a folder the way Argo CD does when the Application names
/// none: a kustomization file → Kustomize, `Chart.yaml` → Helm, otherwise Directory.
pub fn detect_source_type(dir: &Path) -> SourceType {
    detect_source_type_by(|name| dir.join(name).is_file())
}

/// [`detect_source_type`] over a folder known by the names of its files (`has_file`).
pub fn detect_source_type_by(has_file: impl Fn(&str) -> bool) -> SourceType {
    if KUSTOMIZATION_FILES.iter().any(|f| has_file(f)) {
        SourceType::Kustomize
    } else if has_file("Chart.yaml") {
        SourceType::Helm
    } else {
        SourceType::Directory
    }
}
