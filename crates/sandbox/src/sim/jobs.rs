//! The Job controller: runs pods up to `parallelism` until `completions` succeed, or until more
//! than `backoffLimit` failed; reports the Complete / Failed conditions.

use serde_json::json;

use super::{Sim, ids, owner_ref, pod_from_template};
use crate::apiserver::Propagation;
use crate::meta;

fn finished(job: &serde_json::Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

/// Reconciles one Job.
pub fn reconcile(sim: &mut Sim, ns: &str, name: &str) {
    let Some(job) = sim.get(ids::JOBS, ns, name) else {
        return;
    };
    if meta::deleting(&job) || finished(&job) {
        return;
    }
    if job["spec"]["suspend"].as_bool() == Some(true) {
        return;
    }
    let completions = job["spec"]["completions"].as_i64().unwrap_or(1).max(1);
    let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1).max(0);
    let backoff = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
    let pods = sim.owned(ids::PODS, ns, meta::uid(&job));
    let succeeded = pods
        .iter()
        .filter(|p| p["status"]["phase"] == "Succeeded")
        .count() as i64;
    let failed = pods
        .iter()
        .filter(|p| p["status"]["phase"] == "Failed")
        .count() as i64;
    let active: Vec<_> = pods
        .iter()
        .filter(|p| !super::pod_finished(p) && !meta::deleting(p))
        .collect();
    let ready = active.iter().filter(|p| super::pod_ready(p)).count() as i64;
    let now = meta::now();
    let start = job["status"]["startTime"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| now.clone());
    let mut status = json!({"startTime": start, "terminating": 0, "uncountedTerminatedPods": {}, "ready": ready});
    if succeeded > 0 {
        status["succeeded"] = json!(succeeded);
    }
    if failed > 0 {
        status["failed"] = json!(failed);
    }
    if succeeded >= completions {
        let msg = "Reached expected number of succeeded pods";
        status["conditions"] = json!([
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": msg, "lastProbeTime": now, "lastTransitionTime": now},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": msg, "lastProbeTime": now, "lastTransitionTime": now}
        ]);
        status["completionTime"] = json!(now);
        sim.event(&job, false, "Completed", "Job completed", "job-controller");
        status["ready"] = json!(0);
    } else if failed > backoff {
        for p in &active {
            sim.delete(ids::PODS, ns, meta::name(p), Propagation::Background);
        }
        let msg = "Job has reached the specified backoff limit";
        sim.event(&job, true, "BackoffLimitExceeded", msg, "job-controller");
        status["conditions"] = json!([
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": msg, "lastProbeTime": now, "lastTransitionTime": now},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": msg, "lastProbeTime": now, "lastTransitionTime": now}
        ]);
        status["ready"] = json!(0);
    } else {
        let want_active = parallelism.min(completions - succeeded);
        let mut n_active = active.len() as i64;
        while n_active < want_active {
            let pod = pod_from_template(
                &job["spec"]["template"],
                &format!("{name}-"),
                owner_ref(&job, "batch/v1", "Job"),
                &[],
            );
            if sim
                .create(ids::PODS, ns, pod, "kube-controller-manager")
                .is_err()
            {
                break;
            }
            n_active += 1;
        }
        if n_active > 0 {
            status["active"] = json!(n_active);
        }
    }
    if let Some(job) = sim.get(ids::JOBS, ns, name) {
        sim.set_status(ids::JOBS, &job, status, "kube-controller-manager");
    }
}
