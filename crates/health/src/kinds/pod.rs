//! `v1` Pod: phase, container waiting errors (CrashLoopBackOff, ImagePullBackOff,
//! ErrImagePull, CreateContainerConfigError, ...), OOMKilled containers, restart policy,
//! readiness, and Pending Pods waiting for GPU capacity.

use serde_json::Value;

use crate::HealthAssessment;
use crate::gpu;
use crate::object::{array_at, condition, int_at, str_at};

/// Health of a Pod.
pub fn check(obj: &Value) -> HealthAssessment {
    if let Some(degraded) = container_error(obj) {
        return degraded;
    }
    let status_message = str_at(obj, "/status/message").unwrap_or("");
    let restart_policy = str_at(obj, "/spec/restartPolicy").unwrap_or("Always");
    match str_at(obj, "/status/phase").unwrap_or("") {
        "Pending" => {
            if let Some(message) = gpu::waiting_message(obj) {
                return HealthAssessment::progressing(message);
            }
            let message = condition(obj, "PodScheduled")
                .filter(|c| c.is_false() && !c.message.is_empty())
                .map(|c| c.message)
                .unwrap_or(status_message);
            HealthAssessment::progressing(if message.is_empty() {
                "Pod is pending"
            } else {
                message
            })
        }
        "Succeeded" => HealthAssessment::healthy(if status_message.is_empty() {
            "Pod completed"
        } else {
            status_message
        }),
        "Failed" => {
            if !status_message.is_empty() {
                return HealthAssessment::degraded(status_message);
            }
            let message = terminated_message(obj).unwrap_or_else(|| "Pod failed".to_string());
            HealthAssessment::degraded(message)
        }
        "Running" => {
            if restart_policy != "Always" {
                return HealthAssessment::progressing("Pod is running");
            }
            match condition(obj, "Ready") {
                Some(ready) if ready.is_true() => {
                    HealthAssessment::healthy("Pod is running and ready")
                }
                ready => {
                    if let Some(message) = oom_now(obj) {
                        return HealthAssessment::degraded(message);
                    }
                    let message = ready.map(|c| c.message).filter(|m| !m.is_empty());
                    HealthAssessment::progressing(
                        message.unwrap_or("Waiting for containers to be ready"),
                    )
                }
            }
        }
        "" => HealthAssessment::progressing("Pod has no phase yet"),
        other => HealthAssessment::unknown(if status_message.is_empty() {
            format!("Pod phase is {other}")
        } else {
            status_message.to_string()
        }),
    }
}

/// All container statuses, init containers first.
fn statuses(obj: &Value) -> impl Iterator<Item = &Value> {
    array_at(obj, "/status/initContainerStatuses")
        .iter()
        .chain(array_at(obj, "/status/containerStatuses"))
}

fn is_error_reason(reason: &str) -> bool {
    reason.starts_with("Err")
        || reason.ends_with("Error")
        || reason.ends_with("BackOff")
        || reason == "InvalidImageName"
}

/// A container stuck waiting with an error reason makes the Pod Degraded.
fn container_error(obj: &Value) -> Option<HealthAssessment> {
    for cs in statuses(obj) {
        let Some(reason) = str_at(cs, "/state/waiting/reason") else {
            continue;
        };
        if !is_error_reason(reason) {
            continue;
        }
        let container = str_at(cs, "/name").unwrap_or("");
        let detail = str_at(cs, "/state/waiting/message").unwrap_or("");
        let mut message = format!("container {container:?} is waiting: {reason}");
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        if str_at(cs, "/lastState/terminated/reason") == Some("OOMKilled") {
            message = format!(
                "container {container:?} was OOMKilled (exit code {}); {message}",
                int_at(cs, "/lastState/terminated/exitCode").unwrap_or(137)
            );
        }
        return Some(HealthAssessment::degraded(message));
    }
    None
}

/// A container that is terminated right now because it ran out of memory.
fn oom_now(obj: &Value) -> Option<String> {
    statuses(obj).find_map(|cs| {
        (str_at(cs, "/state/terminated/reason") == Some("OOMKilled")).then(|| {
            format!(
                "container {:?} was OOMKilled (exit code {})",
                str_at(cs, "/name").unwrap_or(""),
                int_at(cs, "/state/terminated/exitCode").unwrap_or(137)
            )
        })
    })
}

/// Why the containers of a failed Pod terminated.
fn terminated_message(obj: &Value) -> Option<String> {
    statuses(obj).find_map(|cs| {
        let terminated = cs.pointer("/state/terminated")?;
        let code = int_at(terminated, "/exitCode").unwrap_or(0);
        if code == 0 && str_at(terminated, "/reason") != Some("OOMKilled") {
            return None;
        }
        let reason = str_at(terminated, "/reason").unwrap_or("Error");
        let mut message = format!(
            "container {:?} terminated: {reason} (exit code {code})",
            str_at(cs, "/name").unwrap_or("")
        );
        if let Some(detail) = str_at(terminated, "/message").filter(|m| !m.is_empty()) {
            message.push_str(": ");
            message.push_str(detail.trim());
        }
        Some(message)
    })
}
