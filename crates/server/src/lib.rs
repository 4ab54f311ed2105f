//! ferrocd's API server.
#![deny(missing_docs)]

pub mod auth;
pub mod rbac;
