//! ferrocd-health: health assessment of Kubernetes objects.
#![deny(missing_docs)]
