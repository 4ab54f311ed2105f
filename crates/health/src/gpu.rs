//! Pods that wait for GPU capacity.
//!
//! A Pod that the scheduler cannot place only because no node has a free GPU
//! (`PodScheduled=False`, reason `Unschedulable`, message such as
//! `0/3 nodes are available: 3 Insufficient nvidia.com/gpu.`) is waiting for capacity —
//! the cluster autoscaler or a finishing training job will free some — so it is
//! Progressing, never Degraded. Workload checks use [`waiting_pod`] to say the same of
//! the controller that owns such Pods.

use serde_json::Value;

use crate::object::{condition, str_at};

/// Extended resource names that denote GPUs.
const GPU_RESOURCES: [&str; 4] = [
    "nvidia.com/gpu",
    "amd.com/gpu",
    "gpu.intel.com/",
    "nvidia.com/mig-",
];

/// If `pod` is Pending and unschedulable for lack of GPUs, the user-facing message
/// `Waiting for GPU capacity: <scheduler message>`.
pub(crate) fn waiting_message(pod: &Value) -> Option<String> {
    if str_at(pod, "/kind") != Some("Pod") {
        return None;
    }
    if str_at(pod, "/status/phase").is_some_and(|p| p != "Pending") {
        return None;
    }
    let scheduled = condition(pod, "PodScheduled")?;
    if !scheduled.is_false() || scheduled.reason != "Unschedulable" {
        return None;
    }
    if !mentions_gpu(scheduled.message) {
        return None;
    }
    Some(format!("Waiting for GPU capacity: {}", scheduled.message))
}

/// Whether a scheduler message names a GPU resource.
pub(crate) fn mentions_gpu(message: &str) -> bool {
    GPU_RESOURCES.iter().any(|r| message.contains(r))
}

/// The GPU waiting message of the first child Pod that waits for GPU capacity.
pub(crate) fn waiting_pod(children: &[&Value]) -> Option<String> {
    children.iter().find_map(|c| waiting_message(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pending(message: &str) -> Value {
        json!({"kind": "Pod", "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": message}]}})
    }

    #[test]
    fn gpu_shortage_is_detected() {
        let msg = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.";
        assert_eq!(
            waiting_message(&pending(msg)).as_deref(),
            Some(
                "Waiting for GPU capacity: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
            )
        );
    }

    #[test]
    fn cpu_shortage_is_not_gpu() {
        assert_eq!(
            waiting_message(&pending("0/3 nodes are available: 3 Insufficient cpu.")),
            None
        );
    }
}
