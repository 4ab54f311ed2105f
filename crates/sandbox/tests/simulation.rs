//! Simulated workloads: Deployments roll out and roll over, ReplicaSets/StatefulSets/DaemonSets
//! report status, Jobs complete or fail, Endpoints follow selectors, PVCs bind, LoadBalancers
//! get addresses, and GPU requests beyond capacity stay unschedulable. Timing-dependent checks
//! only run against the sandbox.

mod common;

use std::time::Duration;

use common::{TestCluster, eventually};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Node, PersistentVolumeClaim, Pod, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

fn deployment(name: &str, image: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image, "ports": [{"name": "http", "containerPort": 8080}]}]}}}
    }))
    .expect("deployment")
}

fn condition(d: &Deployment, ty: &str) -> Option<(String, String)> {
    d.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == ty)
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
}

#[tokio::test]
async fn deployment_rolls_out_and_over() {
    let mut tc = TestCluster::start().await;
    if !tc.is_sandbox() {
        return tc.finish().await;
    }
    let ns = tc.namespace("rollout").await;
    let api: Api<Deployment> = Api::namespaced(tc.client.clone(), &ns);
    api.create(
        &PostParams::default(),
        &deployment("airflow-web", "apache/airflow:2.8.1", 3),
    )
    .await
    .expect("create");
    let d = eventually("available", WAIT, || {
        let api = api.clone();
        async move {
            let d = api.get("airflow-web").await.ok()?;
            (condition(&d, "Available") == Some(("True".into(), "MinimumReplicasAvailable".into()))
                && condition(&d, "Progressing")
                    == Some(("True".into(), "NewReplicaSetAvailable".into())))
            .then_some(d)
        }
    })
    .await;
    let st = d.status.expect("status");
    assert_eq!(
        (
            st.replicas,
            st.ready_replicas,
            st.updated_replicas,
            st.available_replicas
        ),
        (Some(3), Some(3), Some(3), Some(3))
    );
    assert_eq!(st.observed_generation, Some(1));
    let rss: Api<ReplicaSet> = Api::namespaced(tc.client.clone(), &ns);
    let first = rss.list(&ListParams::default()).await.expect("rs").items;
    assert_eq!(first.len(), 1);
    let hash = first[0]
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .cloned()
        .expect("hash label");
    assert_eq!(
        first[0].metadata.name.as_deref(),
        Some(format!("airflow-web-{hash}").as_str())
    );
    let pods: Api<Pod> = Api::namespaced(tc.client.clone(), &ns);
    let running = pods
        .list(&ListParams::default().labels("app=airflow-web"))
        .await
        .expect("pods")
        .items;
    assert_eq!(running.len(), 3);
    assert!(
        running
            .iter()
            .all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
    );
    assert!(running.iter().all(|p| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| n.starts_with("sandbox-node-"))
    }));

    // template change: a new ReplicaSet takes over, the old one scales to zero
    api.patch(
        "airflow-web",
        &PatchParams::default(),
        &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "apache/airflow:2.9.0"}]}}}})),
    )
    .await
    .expect("new image");
    eventually("rolled over", WAIT, || {
        let (api, rss) = (api.clone(), rss.clone());
        async move {
            let d = api.get("airflow-web").await.ok()?;
            let st = d.status.clone()?;
            let sets = rss.list(&ListParams::default()).await.ok()?.items;
            let old_zero = sets
                .iter()
                .filter(|r| r.spec.as_ref().and_then(|s| s.replicas) == Some(0))
                .count()
                == 1;
            (st.observed_generation == Some(2)
                && st.updated_replicas == Some(3)
                && st.available_replicas == Some(3)
                && st.replicas == Some(3)
                && sets.len() == 2
                && old_zero
                && d.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("deployment.kubernetes.io/revision"))
                    .map(String::as_str)
                    == Some("2"))
            .then_some(())
        }
    })
    .await;
    let images: Vec<String> = pods
        .list(&ListParams::default().labels("app=airflow-web"))
        .await
        .expect("pods")
        .items
        .iter()
        .filter_map(|p| p.spec.as_ref()?.containers.first()?.image.clone())
        .collect();
    assert_eq!(images, vec!["apache/airflow:2.9.0"; 3]);
    tc.finish().await;
}

#[tokio::test]
async fn jobs_complete_or_fail_on_request() {
    let mut tc = TestCluster::start().await;
    if !tc.is_sandbox() {
        return tc.finish().await;
    }
    let ns = tc.namespace("jobs").await;
    let api: Api<Job> = Api::namespaced(tc.client.clone(), &ns);
    let job = |name: &str, fail: bool| -> Job {
        let mut annotations = json!({});
        if fail {
            annotations[ferrocd_sandbox::sim::FAIL_ANNOTATION] = json!("true");
        }
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"backoffLimit": 1, "completions": 2,
            "template": {"metadata": {"annotations": annotations}, "spec": {"restartPolicy": "Never",
                "containers": [{"name": "train", "image": "pytorch/pytorch:2.2.0-cuda12.1-cudnn8-runtime"}]}}}}))
        .expect("job")
    };
    let created = api
        .create(&PostParams::default(), &job("train", false))
        .await
        .expect("create");
    let uid = created.metadata.uid.clone().expect("uid");
    assert_eq!(
        created
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .and_then(|s| s.match_labels.as_ref())
            .and_then(|m| m.get("batch.kubernetes.io/controller-uid")),
        Some(&uid)
    );
    api.create(&PostParams::default(), &job("broken", true))
        .await
        .expect("create");
    let cond = |j: &Job, ty: &str| -> Option<String> {
        j.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == ty && c.status == "True")
            .and_then(|c| c.reason.clone())
    };
    let done = eventually("job complete", WAIT, || {
        let api = api.clone();
        async move {
            let j = api.get("train").await.ok()?;
            cond(&j, "Complete").map(|_| j)
        }
    })
    .await;
    let st = done.status.expect("status");
    assert_eq!(st.succeeded, Some(2));
    assert!(st.completion_time.is_some() && st.start_time.is_some());
    let failed = eventually("job failed", WAIT, || {
        let api = api.clone();
        async move {
            let j = api.get("broken").await.ok()?;
            cond(&j, "Failed").map(|r| (j, r))
        }
    })
    .await;
    assert_eq!(failed.1, "BackoffLimitExceeded");
    assert_eq!(failed.0.status.and_then(|s| s.failed), Some(2));
    tc.finish().await;
}

#[tokio::test]
async fn services_get_endpoints_and_load_balancer_addresses() {
    let mut tc = TestCluster::start().await;
    if !tc.is_sandbox() {
        return tc.finish().await;
    }
    let ns = tc.namespace("svc").await;
    let deps: Api<Deployment> = Api::namespaced(tc.client.clone(), &ns);
    deps.create(
        &PostParams::default(),
        &deployment("feast", "feastdev/feature-server:0.35.0", 2),
    )
    .await
    .expect("create");
    let svcs: Api<Service> = Api::namespaced(tc.client.clone(), &ns);
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "feast"}, "spec": {"type": "LoadBalancer",
        "selector": {"app": "feast"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}})).expect("svc");
    svcs.create(&PostParams::default(), &svc)
        .await
        .expect("svc");
    let eps: Api<Endpoints> = Api::namespaced(tc.client.clone(), &ns);
    let ep = eventually("two ready endpoints", WAIT, || {
        let eps = eps.clone();
        async move {
            let e = eps.get("feast").await.ok()?;
            let subset = e.subsets.as_ref()?.first()?.clone();
            (subset.addresses.as_ref().map_or(0, Vec::len) == 2).then_some(subset)
        }
    })
    .await;
    assert_eq!(
        ep.ports.as_ref().map(|p| p[0].port),
        Some(8080),
        "named targetPort resolved"
    );
    let lb = eventually("load balancer address", WAIT, || {
        let svcs = svcs.clone();
        async move {
            let s = svcs.get("feast").await.ok()?;
            s.status?.load_balancer?.ingress?.first()?.ip.clone()
        }
    })
    .await;
    assert!(lb.starts_with("192.0.2."), "{lb}");
    let s = svcs.get("feast").await.expect("svc");
    assert!(
        s.spec
            .and_then(|s| s.ports)
            .is_some_and(|p| p[0].node_port.is_some_and(|n| (30000..=32767).contains(&n)))
    );
    // scaling to zero empties the endpoints
    deps.patch(
        "feast",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 0}})),
    )
    .await
    .expect("scale");
    eventually("endpoints emptied", WAIT, || {
        let eps = eps.clone();
        async move {
            eps.get("feast")
                .await
                .ok()?
                .subsets
                .is_none_or(|s| s.is_empty())
                .then_some(())
        }
    })
    .await;
    tc.finish().await;
}

#[tokio::test]
async fn statefulsets_daemonsets_and_volumes() {
    let mut tc = TestCluster::start().await;
    if !tc.is_sandbox() {
        return tc.finish().await;
    }
    let ns = tc.namespace("stateful").await;
    let sts_api: Api<StatefulSet> = Api::namespaced(tc.client.clone(), &ns);
    let sts: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "postgres"}, "spec": {"serviceName": "postgres", "replicas": 2,
        "selector": {"matchLabels": {"app": "postgres"}},
        "template": {"metadata": {"labels": {"app": "postgres"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}]}}))
        .expect("sts");
    sts_api
        .create(&PostParams::default(), &sts)
        .await
        .expect("sts");
    eventually("statefulset ready", WAIT, || {
        let api = sts_api.clone();
        async move {
            let s = api.get("postgres").await.ok()?.status?;
            (s.ready_replicas == Some(2)
                && s.current_revision.is_some()
                && s.current_revision == s.update_revision)
                .then_some(())
        }
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(tc.client.clone(), &ns);
    for n in ["postgres-0", "postgres-1"] {
        pods.get(n).await.expect("ordinal pod");
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(tc.client.clone(), &ns);
    let bound = eventually("claims bound", WAIT, || {
        let pvcs = pvcs.clone();
        async move {
            let l = pvcs.list(&ListParams::default()).await.ok()?.items;
            (l.len() == 2
                && l.iter()
                    .all(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")))
            .then_some(l)
        }
    })
    .await;
    let names: Vec<String> = bound
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    assert_eq!(names, vec!["data-postgres-0", "data-postgres-1"]);
    assert_eq!(
        bound[0]
            .spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_deref()),
        Some("standard")
    );
    assert!(
        bound[0]
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .is_some_and(|v| v.starts_with("pvc-"))
    );

    let ds_api: Api<DaemonSet> = Api::namespaced(tc.client.clone(), &ns);
    let ds: DaemonSet = serde_json::from_value(json!({"metadata": {"name": "node-exporter"}, "spec": {
        "selector": {"matchLabels": {"app": "node-exporter"}},
        "template": {"metadata": {"labels": {"app": "node-exporter"}}, "spec": {"containers": [{"name": "exporter", "image": "prom/node-exporter:v1.7.0"}]}}}}))
        .expect("ds");
    ds_api
        .create(&PostParams::default(), &ds)
        .await
        .expect("ds");
    eventually("daemonset on every node", WAIT, || {
        let api = ds_api.clone();
        async move {
            let s = api.get("node-exporter").await.ok()?.status?;
            (s.desired_number_scheduled == 3
                && s.number_ready == 3
                && s.updated_number_scheduled == Some(3))
            .then_some(())
        }
    })
    .await;
    tc.finish().await;
}

#[tokio::test]
async fn gpu_requests_beyond_capacity_stay_pending() {
    let mut opts = common::fast();
    opts.gpus_per_node = 2;
    let mut tc = TestCluster::start_with(opts).await;
    if !tc.is_sandbox() {
        return tc.finish().await;
    }
    let nodes: Api<Node> = Api::all(tc.client.clone());
    let n = nodes
        .list(&ListParams::default())
        .await
        .expect("nodes")
        .items;
    assert_eq!(n.len(), 3);
    let cap = n[0]
        .status
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .expect("capacity");
    assert_eq!(cap.get("nvidia.com/gpu").map(|q| q.0.as_str()), Some("2"));
    assert!(cap.contains_key("cpu") && cap.contains_key("memory"));

    let ns = tc.namespace("gpu").await;
    let pods: Api<Pod> = Api::namespaced(tc.client.clone(), &ns);
    let pod = |name: &str, gpus: u32| -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "llm",
            "image": "vllm/vllm-openai:v0.4.0", "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}})).expect("pod")
    };
    pods.create(&PostParams::default(), &pod("llama-70b", 4))
        .await
        .expect("pod");
    pods.create(&PostParams::default(), &pod("llama-7b", 1))
        .await
        .expect("pod");
    let cond = eventually("unschedulable", WAIT, || {
        let pods = pods.clone();
        async move {
            let p = pods.get("llama-70b").await.ok()?;
            p.status?
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        }
    })
    .await;
    assert_eq!(cond.reason.as_deref(), Some("Unschedulable"));
    let msg = cond.message.unwrap_or_default();
    assert!(
        msg.starts_with("0/3 nodes are available: 3 Insufficient nvidia.com/gpu."),
        "{msg}"
    );
    eventually("small model runs", WAIT, || {
        let pods = pods.clone();
        async move {
            (pods.get("llama-7b").await.ok()?.status?.phase.as_deref() == Some("Running"))
                .then_some(())
        }
    })
    .await;
    // the scheduler explains itself in an Event, as kubectl describe shows
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(tc.client.clone(), &ns);
    let ev = events
        .list(&ListParams::default().fields("involvedObject.name=llama-70b"))
        .await
        .expect("events")
        .items;
    assert!(
        ev.iter()
            .any(|e| e.reason.as_deref() == Some("FailedScheduling")
                && e.type_.as_deref() == Some("Warning")),
        "{ev:?}"
    );
    let big = pods.get("llama-70b").await.expect("pod");
    assert_eq!(big.status.and_then(|s| s.phase).as_deref(), Some("Pending"));
    assert!(big.spec.and_then(|s| s.node_name).is_none());
    tc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_rollouts_exceed_their_progress_deadline() {
    let mut opts = common::fast();
    opts.gpus_per_node = 1;
    let mut tc = TestCluster::start_with(opts).await;
    if !tc.is_sandbox() {
        return tc.finish().await;
    }
    let ns = tc.namespace("deadline").await;
    let api: Api<Deployment> = Api::namespaced(tc.client.clone(), &ns);
    let mut d = deployment("trainer", "nvcr.io/nvidia/pytorch:24.01-py3", 1);
    if let Some(spec) = d.spec.as_mut() {
        spec.progress_deadline_seconds = Some(1);
        if let Some(c) = spec.template.spec.as_mut().map(|s| &mut s.containers[0]) {
            c.resources = Some(
                serde_json::from_value(json!({"limits": {"nvidia.com/gpu": 8}}))
                    .expect("resources"),
            );
        }
    }
    api.create(&PostParams::default(), &d)
        .await
        .expect("create");
    let (avail, prog) = eventually("deadline exceeded", WAIT, || {
        let api = api.clone();
        async move {
            let d = api.get("trainer").await.ok()?;
            let prog = condition(&d, "Progressing")?;
            (prog.1 == "ProgressDeadlineExceeded").then(|| (condition(&d, "Available"), prog))
        }
    })
    .await;
    assert_eq!(prog.0, "False");
    assert_eq!(
        avail,
        Some((
            "False".to_string(),
            "MinimumReplicasUnavailable".to_string()
        ))
    );
    let out = tc.kubectl(&[
        "-n",
        &ns,
        "rollout",
        "status",
        "deployment/trainer",
        "--timeout=5s",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exceeded its progress deadline"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tc.finish().await;
}

#[tokio::test]
async fn autoscalers_keep_targets_in_range_and_scale_on_request() {
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    let mut tc = TestCluster::start_with(common::fast()).await;
    if !tc.is_sandbox() {
        return tc.finish().await;
    }
    let ns = tc.namespace("hpa").await;
    let deployments: Api<Deployment> = Api::namespaced(tc.client.clone(), &ns);
    deployments
        .create(
            &PostParams::default(),
            &deployment("triton", "nvcr.io/nvidia/tritonserver:24.08-py3", 1),
        )
        .await
        .expect("deployment");
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(tc.client.clone(), &ns);
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "triton"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triton"},
            "minReplicas": 2, "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70}}}]}}))
    .expect("hpa");
    hpas.create(&PostParams::default(), &hpa)
        .await
        .expect("create hpa");

    // Below minReplicas: the autoscaler raises the target and reports AbleToScale.
    eventually("scaled to min", WAIT, || {
        let (deployments, hpas) = (deployments.clone(), hpas.clone());
        async move {
            let d = deployments.get("triton").await.ok()?;
            let h = hpas.get("triton").await.ok()?;
            let able = h
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "AbleToScale" && c.status == "True");
            (d.spec?.replicas == Some(2) && able).then_some(())
        }
    })
    .await;

    // Simulated load asks for 9 replicas: limited to maxReplicas.
    hpas.patch(
        "triton",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {ferrocd_sandbox::sim::DESIRED_REPLICAS_ANNOTATION: "9"}}})),
    )
    .await
    .expect("annotate");
    eventually("scaled to max", WAIT, || {
        let (deployments, hpas) = (deployments.clone(), hpas.clone());
        async move {
            let d = deployments.get("triton").await.ok()?;
            let h = hpas.get("triton").await.ok()?;
            let limited = h
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "ScalingLimited" && c.status == "True");
            (d.spec?.replicas == Some(4) && limited).then_some(())
        }
    })
    .await;
    tc.finish().await;
}
