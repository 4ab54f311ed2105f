//! `batch/v1` CronJob: suspended, never run, last run succeeded or failed.
//!
//! The CronJob's own status only has `lastScheduleTime`, `lastSuccessfulTime` and the
//! active Jobs. A schedule newer than the last success with no active Job means the last
//! Job failed; an active Job is Progressing. When the caller passes the CronJob's Jobs as children, the newest Job's
//! own health decides instead (its failure message is shown).

use serde_json::Value;

use crate::HealthAssessment;
use crate::kinds::job;
use crate::object::{array_at, bool_at, str_at};

/// Health of a CronJob; `children` may hold the Jobs it created.
pub fn check(obj: &Value, children: &[&Value]) -> HealthAssessment {
    if bool_at(obj, "/spec/suspend") {
        return HealthAssessment::suspended("CronJob is suspended");
    }
    let newest_job = children
        .iter()
        .filter(|c| str_at(c, "/kind") == Some("Job"))
        .max_by_key(|c| str_at(c, "/metadata/creationTimestamp").unwrap_or(""));
    if let Some(job) = newest_job {
        let health = job::check(job, &[]);
        return match health.status {
            ferrocd_model::HealthStatus::Degraded => HealthAssessment::degraded(format!(
                "last job {:?} failed: {}",
                str_at(job, "/metadata/name").unwrap_or(""),
                health.message
            )),
            ferrocd_model::HealthStatus::Healthy => {
                HealthAssessment::healthy("CronJob's last job completed successfully")
            }
            _ => HealthAssessment::progressing(format!(
                "last job {:?} is running",
                str_at(job, "/metadata/name").unwrap_or("")
            )),
        };
    }
    let Some(scheduled) = str_at(obj, "/status/lastScheduleTime") else {
        return HealthAssessment::healthy("CronJob has not been scheduled yet");
    };
    if !array_at(obj, "/status/active").is_empty() {
        return HealthAssessment::progressing("CronJob's last job is running");
    }
    // RFC 3339 timestamps in UTC (as the API server writes them) compare as strings.
    match str_at(obj, "/status/lastSuccessfulTime") {
        Some(success) if success >= scheduled => {
            HealthAssessment::healthy("CronJob's last job completed successfully")
        }
        _ => HealthAssessment::degraded(format!(
            "CronJob's last job, scheduled at {scheduled}, did not complete successfully"
        )),
    }
}
