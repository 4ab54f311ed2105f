//! A control plane for one test: a sandbox with the Argo CD CRDs, seeded settings
//! (`argocd-cm`, `argocd-rbac-cm`, `argocd-secret`), projects and applications of an ML
//! platform, and a ferrocd server on a free loopback port.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use ferrocd_sandbox::{Sandbox, SandboxOptions};
use ferrocd_server::{ApiOptions, RunningServer, ServerConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

pub const NS: &str = "argocd";
pub const ALICE_PASSWORD: &str = "alice-ml-2026";
pub const READER_PASSWORD: &str = "reader-dash-2026";

pub const POLICY_CSV: &str = "\
p, role:ml-engineer, applications, get, ml-platform/*, allow
p, role:ml-engineer, applications, sync, ml-platform/*, allow
p, role:ml-engineer, applications, sync, ml-platform/*-prod, deny
p, role:ml-engineer, projects, get, ml-platform, allow
g, alice, role:ml-engineer
g, reader, role:readonly
";

/// Options for [`ControlPlane::start_with`].
pub struct Seed {
    pub session_duration: &'static str,
    pub login_limits: ferrocd_server::auth::LimiterOptions,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            session_duration: "24h",
            login_limits: ferrocd_server::auth::LimiterOptions {
                max_failures: 50,
                window: Duration::from_secs(60),
                max_entries: 1000,
            },
        }
    }
}

pub struct ControlPlane {
    pub sandbox: Sandbox,
    pub client: kube::Client,
    pub server: Option<RunningServer>,
    pub addr: SocketAddr,
    pub admin_password: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

pub fn app_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    )
}

pub fn project_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AppProject"),
        "appprojects",
    )
}

pub fn application(name: &str, project: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "project": project,
            "source": {"repoURL": "https://git.example.com/ml/platform.git", "path": format!("apps/{name}"), "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
        }
    })
}

pub fn project(name: &str, roles: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "roles": roles,
        }
    })
}

async fn create<K>(api: &Api<K>, value: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(value).expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("created");
}

impl ControlPlane {
    pub async fn start() -> ControlPlane {
        Self::start_with(Seed::default()).await
    }

    pub async fn start_with(seed: Seed) -> ControlPlane {
        let sandbox = Sandbox::start(SandboxOptions {
            pod_ready_delay: Duration::from_millis(50),
            ..SandboxOptions::default()
        })
        .await
        .expect("sandbox starts");
        let client = sandbox.client().await.expect("client");
        create(
            &Api::<Namespace>::all(client.clone()),
            json!({"metadata": {"name": NS}}),
        )
        .await;
        for ns in ["mlflow", "serving"] {
            create(
                &Api::<Namespace>::all(client.clone()),
                json!({"metadata": {"name": ns}}),
            )
            .await;
        }
        let crd_ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        );
        let crds: Api<DynamicObject> = Api::all_with(client.clone(), &crd_ar);
        for crd in ferrocd_model::crds() {
            create(&crds, crd).await;
        }
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
        create(
            &cms,
            json!({"metadata": {"name": "argocd-cm"}, "data": {
                "accounts.alice": "login",
                "accounts.reader": "login",
                "accounts.mlflow-ci": "apiKey",
                "users.session.duration": seed.session_duration,
            }}),
        )
        .await;
        create(
            &cms,
            json!({"metadata": {"name": "argocd-rbac-cm"}, "data": {"policy.csv": POLICY_CSV}}),
        )
        .await;
        let hash = |p: &str| base64_encode(bcrypt::hash(p, 4).expect("hash").as_bytes());
        let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
        create(
            &secrets,
            json!({"metadata": {"name": "argocd-secret"}, "type": "Opaque", "data": {
                "accounts.alice.password": hash(ALICE_PASSWORD),
                "accounts.reader.password": hash(READER_PASSWORD),
            }}),
        )
        .await;
        let projects: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), NS, &project_resource());
        // the CRDs are served at once by the sandbox; a real cluster may need a moment
        let mut attempts = 0;
        loop {
            let p: DynamicObject = serde_json::from_value(project(
                "ml-platform",
                json!([{"name": "deployer", "policies": [
                    "p, proj:ml-platform:deployer, applications, sync, ml-platform/*, allow",
                    "p, proj:ml-platform:deployer, applications, get, ml-platform/*, allow"]}]),
            ))
            .expect("project");
            match projects.create(&PostParams::default(), &p).await {
                Ok(_) => break,
                Err(_) if attempts < 50 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("creating a project: {e}"),
            }
        }
        create(&projects, project("serving", json!([]))).await;
        let apps: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &app_resource());
        for (name, proj) in [
            ("mlflow", "ml-platform"),
            ("triton-prod", "ml-platform"),
            ("airflow", "default"),
            ("kserve", "serving"),
        ] {
            create(&apps, application(name, proj)).await;
        }
        let server = ferrocd_server::start(ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            namespace: NS.into(),
            client: Some(client.clone()),
            api: ApiOptions {
                settings_ttl: Duration::ZERO,
                login_limits: seed.login_limits,
                ..ApiOptions::default()
            },
        })
        .await
        .expect("server starts");
        let admin_password = server
            .initial_admin_password()
            .expect("generated admin password")
            .expose()
            .to_string();
        let addr = server.addr();
        ControlPlane {
            sandbox,
            client,
            server: Some(server),
            addr,
            admin_password,
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn apps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), NS, &app_resource())
    }

    /// One request; returns status, headers and the JSON body (Null when empty or not JSON).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, hyper::HeaderMap, String) {
        let mut builder = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(format!("http://{}{}", self.addr, path));
        if let Some(t) = token {
            builder = builder.header("authorization", format!("Bearer {t}"));
        }
        let bytes = match body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let response = self
            .http
            .request(builder.body(Full::new(bytes)).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let (status, _, text) = self.raw(method, path, token, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn login(&self, user: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/session",
                None,
                Some(&json!({"username": user, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {user}: {body}");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn admin(&self) -> String {
        self.login("admin", &self.admin_password.clone()).await
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("server stops");
        }
        self.sandbox.shutdown().await;
    }
}

pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A server-sent event stream being read.
pub struct EventStream {
    body: hyper::body::Incoming,
    buffer: String,
}

/// One server-sent event: its `event:` name (empty for messages) and its data as JSON.
#[derive(Debug)]
pub struct SseEvent {
    pub event: String,
    pub data: Value,
}

impl EventStream {
    /// The next event; `None` when the stream ends or nothing comes within 10 s.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && event.is_empty() {
                    continue; // keep-alive comment
                }
                return Some(SseEvent {
                    event,
                    data: serde_json::from_str(&data).unwrap_or(Value::Null),
                });
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .ok()??
                .ok()?;
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}

impl ControlPlane {
    pub async fn stream(&self, path: &str, token: &str) -> (StatusCode, EventStream) {
        let request = Request::builder()
            .uri(format!("http://{}{}", self.addr, path))
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = self.http.request(request).await.expect("response");
        let status = response.status();
        (
            status,
            EventStream {
                body: response.into_body(),
                buffer: String::new(),
            },
        )
    }
}
