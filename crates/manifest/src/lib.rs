//! ferrocd-manifest: Kubernetes manifests as data.
#![deny(missing_docs)]
