//! Health of a resource or an application, as Argo CD reports it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Health status. The derived order runs from best to worst so that the health of an
/// application is the `max` of its resources' health (`Missing` and `Degraded` dominate).
///
/// The order follows Argo CD's: Healthy < Suspended < Progressing < Missing < Degraded,
/// with Unknown ranked below Healthy because an unknown resource must not make an app
/// look broken.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Default,
    schemars::JsonSchema,
)]
pub enum HealthStatus {
    /// Health cannot be assessed.
    #[default]
    Unknown,
    /// Everything is as it should be.
    Healthy,
    /// Paused or suspended on purpose (a suspended CronJob, a paused rollout).
    Suspended,
    /// Not yet healthy but still making progress.
    Progressing,
    /// Expected but not present in the cluster.
    Missing,
    /// Failed or unable to reach a healthy state.
    Degraded,
}

impl HealthStatus {
    /// The name as Argo CD writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Unknown => "Unknown",
            HealthStatus::Healthy => "Healthy",
            HealthStatus::Suspended => "Suspended",
            HealthStatus::Progressing => "Progressing",
            HealthStatus::Missing => "Missing",
            HealthStatus::Degraded => "Degraded",
        }
    }

    /// Parses a status name as written by Argo CD or a Lua health script.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Unknown" => HealthStatus::Unknown,
            "Healthy" => HealthStatus::Healthy,
            "Suspended" => HealthStatus::Suspended,
            "Progressing" => HealthStatus::Progressing,
            "Missing" => HealthStatus::Missing,
            "Degraded" => HealthStatus::Degraded,
            _ => return None,
        })
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::HealthStatus::*;

    #[test]
    fn worst_health_wins() {
        assert_eq!(
            [Healthy, Progressing, Suspended].into_iter().max(),
            Some(Progressing)
        );
        assert_eq!(
            [Healthy, Degraded, Missing].into_iter().max(),
            Some(Degraded)
        );
        assert_eq!([Unknown, Healthy].into_iter().max(), Some(Healthy));
    }
}
