//! Simulated nodes with CPU, memory and `nvidia.com/gpu` capacity.

use serde_json::{Value, json};

use crate::SandboxOptions;

/// The name of node `i` (1-based).
pub fn node_name(i: u32) -> String {
    format!("sandbox-node-{i}")
}

/// The InternalIP of node `i`.
pub fn node_ip(i: u32) -> String {
    format!("172.18.0.{}", (i % 250) + 1)
}

/// The Node object for node `i`.
pub fn node_object(i: u32, opts: &SandboxOptions) -> Value {
    let name = node_name(i);
    let mut capacity = json!({
        "cpu": opts.cpu_per_node.to_string(),
        "memory": format!("{}Gi", opts.memory_gib_per_node),
        "pods": "110",
        "ephemeral-storage": "100Gi",
    });
    let mut labels = json!({
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": format!("sandbox-{}", ["a", "b", "c"][(i as usize - 1) % 3]),
    });
    if i == 1 {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
    }
    if opts.gpus_per_node > 0 {
        capacity["nvidia.com/gpu"] = json!(opts.gpus_per_node.to_string());
        labels["nvidia.com/gpu.present"] = json!("true");
        labels["nvidia.com/gpu.product"] = json!("NVIDIA-A100-SXM4-80GB");
    }
    let now = crate::meta::now();
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": format!("10.244.{i}.0/24"), "podCIDRs": [format!("10.244.{i}.0/24")]},
        "status": {
            "capacity": capacity.clone(),
            "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": node_ip(i)}, {"type": "Hostname", "address": name}],
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}
            ],
            "nodeInfo": {
                "architecture": "amd64", "operatingSystem": "linux", "osImage": "ferrocd sandbox",
                "kernelVersion": "6.1.0", "containerRuntimeVersion": "sandbox://1.0",
                "kubeletVersion": "v1.34.0", "kubeProxyVersion": "v1.34.0",
                "machineID": format!("{:032x}", i), "systemUUID": format!("00000000-0000-0000-0000-{:012x}", i), "bootID": format!("{:032x}", i + 1000)
            },
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    })
}
