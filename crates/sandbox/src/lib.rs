//! ferrocd-sandbox: a Kubernetes-API-compatible server with simulated workloads.
#![deny(missing_docs)]
