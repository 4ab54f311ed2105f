//! Sync status of a resource or an application.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether live state matches desired state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
pub enum SyncStatusCode {
    /// Comparison has not been possible.
    #[default]
    Unknown,
    /// Live equals desired.
    Synced,
    /// Live differs from desired (or is missing, or is extraneous).
    OutOfSync,
}

impl fmt::Display for SyncStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncStatusCode::Unknown => "Unknown",
            SyncStatusCode::Synced => "Synced",
            SyncStatusCode::OutOfSync => "OutOfSync",
        })
    }
}
