//! ferrocd-kustomize: kustomization.yaml rendering.
#![deny(missing_docs)]
