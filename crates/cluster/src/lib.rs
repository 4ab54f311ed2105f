//! ferrocd-cluster: everything ferrocd does with a Kubernetes API server.
//!
//! - [`Cluster`]: one API server reached through kube-rs, with a discovery index of
//!   every kind it serves ([`KindIndex`], refreshed on demand, e.g. after a sync created a
//!   CRD) and the writes a sync needs: server-side apply (field manager `ferrocd`, forced
//!   conflicts, dry-run), create, replace and delete with a propagation policy;
//! - [`ClusterRegistry`]: the destination clusters of Applications — the cluster ferrocd
//!   runs in (`https://kubernetes.default.svc`) and those declared by Argo CD cluster
//!   Secrets, addressed by server URL or by name;
//! - [`LiveCache`]: the watch-fed cache of one cluster's live objects, indexed by
//!   application and by owner, that the controller compares with (module [`cache`]).
//!
//! Objects travel as `serde_json::Value` so that every kind, CRDs included, is handled
//! the same way; identity is [`ferrocd_model::ResourceKey`].
#![deny(missing_docs)]

pub mod cache;
mod client;
mod discovery;
mod error;
mod inventory;
mod registry;
#[cfg(feature = "test-util")]
pub mod testing;

pub use cache::{CacheEvent, CacheEventKind, CacheOptions, LiveCache, LiveObject};
pub use client::{Cluster, DeleteOptions, DeleteOutcome, Propagation, WriteOptions};
pub use discovery::{KindIndex, KindInfo};
pub use error::ClusterError;
pub use inventory::Inventory;
pub use registry::{ClusterRegistry, IN_CLUSTER_NAME, IN_CLUSTER_SERVER};

/// The field manager ferrocd applies with.
pub const FIELD_MANAGER: &str = "ferrocd";
