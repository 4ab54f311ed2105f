//! HTTPS front: TLS accept loop, bearer-token authentication, URL routing to the API core,
//! content negotiation and `Status` error responses.

mod discovery;
mod openapi;
mod protobuf;
mod table;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch as tokio_watch;
use tokio_rustls::TlsAcceptor;

use crate::apiserver::{ApiServer, DeleteOptions, ListQuery, PatchType, Propagation, WriteContext};
use crate::faults::{FaultHandle, Verb};
use crate::resources::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct HttpState {
    /// The API core.
    pub api: Arc<ApiServer>,
    /// The bearer token clients must present.
    pub token: String,
    /// Fault injection.
    pub faults: FaultHandle,
    /// How often watches with bookmarks get one.
    pub bookmark_interval: Duration,
    /// `host:port` the server is reachable at.
    pub address: String,
}

/// Accepts TLS connections until `shutdown` changes.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: HttpState,
    mut shutdown: tokio_watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let state = state.clone();
                conns.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let state = state.clone();
                        async move {
                            let req = req.map(Body::new);
                            Ok::<_, std::convert::Infallible>(handle(state, req).await)
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(tls);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(io, svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// A JSON response.
pub fn json_response(code: u16, body: &Value) -> Response<Body> {
    json_response_typed(code, body, "application/json")
}

fn json_response_typed(code: u16, body: &Value, content_type: &str) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .header("Audit-Id", uuid::Uuid::new_v4().to_string())
        .body(Body::from(bytes))
        .unwrap_or_default()
}

/// A `Status` error response.
pub fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

fn query_map(q: Option<&str>) -> HashMap<String, String> {
    q.and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .map(|v| v.into_iter().collect())
        .unwrap_or_default()
}

fn manager_from(headers: &HeaderMap, q: &HashMap<String, String>) -> String {
    if let Some(m) = q.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.clone();
    }
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.split('/').next().unwrap_or(ua).to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn truthy(v: Option<&String>) -> bool {
    matches!(v.map(String::as_str), Some("true" | "1"))
}

/// What a resource URL names.
struct Target {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

async fn handle(state: HttpState, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let anonymous = matches!(
        path.as_str(),
        "/version" | "/healthz" | "/livez" | "/readyz"
    );
    if !anonymous {
        let ok = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| t.trim() == state.token);
        if !ok {
            return error_response(&ApiError::unauthorized());
        }
    }
    let latency = state.faults.config().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match route(state, req, &path).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn route(
    state: HttpState,
    req: Request<Body>,
    path: &str,
) -> Result<Response<Body>, ApiError> {
    let reg = &state.api.registry;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => return Ok(json_response(200, &discovery::version())),
        ["healthz"] | ["livez"] | ["readyz"] => {
            return Ok(Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("ok"))
                .unwrap_or_default());
        }
        ["api"] | ["apis"] => {
            let core = segs[0] == "api";
            if let Some(v) = aggregated_version(&accept) {
                let ct = format!(
                    "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"
                );
                return Ok(json_response_typed(
                    200,
                    &discovery::aggregated(reg, core, v),
                    &ct,
                ));
            }
            let body = if core {
                discovery::core_versions(&state.address)
            } else {
                discovery::group_list(reg)
            };
            return Ok(json_response(200, &body));
        }
        ["api", "v1"] => {
            return discovery::resource_list(reg, "", "v1")
                .map(|b| json_response(200, &b))
                .ok_or_else(ApiError::no_resource);
        }
        ["apis", g] => {
            return discovery::group(reg, g)
                .map(|b| json_response(200, &b))
                .ok_or_else(ApiError::no_resource);
        }
        ["apis", g, v] => {
            return discovery::resource_list(reg, g, v)
                .map(|b| json_response(200, &b))
                .ok_or_else(ApiError::no_resource);
        }
        ["openapi", "v3"] => return Ok(json_response(200, &openapi::index(reg))),
        ["openapi", "v3", "api", v] => {
            return openapi::group_version(reg, "", v)
                .map(|b| json_response(200, &b))
                .ok_or_else(ApiError::no_resource);
        }
        ["openapi", "v3", "apis", g, v] => {
            return openapi::group_version(reg, g, v)
                .map(|b| json_response(200, &b))
                .ok_or_else(ApiError::no_resource);
        }
        _ => {}
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => {
            return Ok(Response::builder()
                .status(404)
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Body::from("404 page not found\n"))
                .unwrap_or_default());
        }
    };
    let target = resolve(&state, group, version, rest)?;
    dispatch(state, req, target, &accept).await
}

fn aggregated_version(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        if part.contains("as=APIGroupDiscoveryList") && part.contains("g=apidiscovery.k8s.io") {
            if part.contains("v=v2beta1") {
                return Some("v2beta1");
            }
            if part.contains("v=v2") {
                return Some("v2");
            }
        }
    }
    None
}

fn resolve(
    state: &HttpState,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Target, ApiError> {
    let reg = &state.api.registry;
    let lookup = |plural: &str| {
        reg.get(group, version, plural)
            .ok_or_else(ApiError::no_resource)
    };
    let t = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if !(group.is_empty()
                && tail.is_empty()
                && matches!(*plural, "status" | "finalize")) =>
        {
            let rt = lookup(plural)?;
            if !rt.namespaced {
                return Err(ApiError::no_resource());
            }
            Target {
                rt,
                namespace: Some(ns.to_string()),
                name: tail.first().map(|s| s.to_string()),
                subresource: tail.get(1).map(|s| s.to_string()),
            }
        }
        [plural, tail @ ..] => {
            let rt = lookup(plural)?;
            if rt.namespaced && !tail.is_empty() {
                return Err(ApiError::no_resource());
            }
            Target {
                rt,
                namespace: None,
                name: tail.first().map(|s| s.to_string()),
                subresource: tail.get(1).map(|s| s.to_string()),
            }
        }
        [] => return Err(ApiError::no_resource()),
    };
    if let Some(sub) = &t.subresource {
        let ok = (sub == "status" && t.rt.status_subresource)
            || (sub == "scale" && t.rt.scale_subresource)
            || (sub == "log" && t.rt.kind == "Pod" && !t.rt.custom)
            || (sub == "finalize" && t.rt.kind == "Namespace");
        if !ok {
            return Err(ApiError::no_resource());
        }
    }
    Ok(t)
}

async fn read_body(req: Request<Body>) -> Result<(HeaderMap, Value, String), ApiError> {
    let (parts, body) = req.into_parts();
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    if ct.starts_with("application/cbor") {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {ct})"
        )));
    }
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
    if ct.starts_with("application/vnd.kubernetes.protobuf") {
        let value = protobuf::decode(&bytes)
            .map_err(|e| ApiError::unsupported_media_type(e.to_string()))?;
        return Ok((parts.headers, value, "application/json".into()));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    let value = if text.trim().is_empty() {
        Value::Null
    } else if ct.contains("yaml") {
        // Clients (kube-rs, kubectl) send apply patches as JSON, which is YAML: parse it
        // as JSON first (several times faster), as YAML when that fails.
        let json = text
            .trim_start()
            .starts_with('{')
            .then(|| serde_json::from_str::<Value>(text).ok())
            .flatten();
        match json {
            Some(value) => value,
            None => serde_saphyr::from_str::<Value>(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
        }
    } else {
        serde_json::from_str::<Value>(text).map_err(|e| {
            ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}': {e}",
                text.chars().take(200).collect::<String>()
            ))
        })?
    };
    Ok((parts.headers, value, ct))
}

fn list_query(
    q: &HashMap<String, String>,
    rt: &ResourceType,
    ns: Option<&str>,
) -> Result<ListQuery, ApiError> {
    let label = LabelSelector::parse(
        q.get("labelSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let mut field_text = q.get("fieldSelector").cloned().unwrap_or_default();
    if let Some(ns) = ns {
        let _ = ns;
    }
    field_text = field_text.trim().to_string();
    let field = FieldSelector::parse(&field_text, &rt.kind)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok());
    Ok(ListQuery {
        label,
        field,
        limit,
        continue_token: q.get("continue").cloned(),
    })
}

fn delete_options(q: &HashMap<String, String>, body: &Value) -> Result<DeleteOptions, ApiError> {
    let policy = q
        .get("propagationPolicy")
        .cloned()
        .or_else(|| body["propagationPolicy"].as_str().map(str::to_string));
    let propagation = match policy {
        Some(p) => Some(Propagation::parse(&p).ok_or_else(|| {
            ApiError::bad_request(format!("propagationPolicy: Unsupported value: \"{p}\""))
        })?),
        None => match body["orphanDependents"].as_bool() {
            Some(true) => Some(Propagation::Orphan),
            _ => None,
        },
    };
    let dry_run = q.get("dryRun").is_some_and(|v| v == "All")
        || body["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        propagation,
        uid: body["preconditions"]["uid"].as_str().map(str::to_string),
        resource_version: body["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string),
        dry_run,
    })
}

fn verb_of(method: &Method, has_name: bool, watch: bool) -> Verb {
    match (method.as_str(), has_name) {
        ("GET", _) if watch => Verb::Watch,
        ("GET", true) => Verb::Get,
        ("GET", false) => Verb::List,
        ("POST", _) => Verb::Create,
        ("PUT", _) => Verb::Update,
        ("PATCH", _) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        _ => Verb::DeleteCollection,
    }
}

async fn dispatch(
    state: HttpState,
    req: Request<Body>,
    t: Target,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let q = query_map(req.uri().query());
    let method = req.method().clone();
    let api = state.api.clone();
    let rt = t.rt.clone();
    let ns_param = t.namespace.clone();
    let ns = ns_param.clone().unwrap_or_default();
    let watch = truthy(q.get("watch"));
    let verb = verb_of(&method, t.name.is_some(), watch);
    if let Some(code) = state.faults.injected_error(verb) {
        return Err(ApiError::injected(code));
    }
    let dry_run = q.get("dryRun").is_some_and(|v| v == "All");
    if let Some(d) = q.get("dryRun")
        && d != "All"
    {
        return Err(ApiError::bad_request(format!(
            "dryRun: Unsupported value: \"{d}\": supported values: \"All\""
        )));
    }
    match (method.as_str(), &t.name) {
        ("GET", None) => {
            let lq = list_query(&q, &rt, ns_param.as_deref())?;
            if watch {
                return watch::start(&state, rt, ns_param, lq, &q);
            }
            if accept.contains("as=Table") {
                let list = api.list(&rt, ns_param.as_deref(), &lq)?;
                return Ok(json_response(200, &table::from_list(&rt, &list)));
            }
            let page = api.list_page(&rt, ns_param.as_deref(), &lq)?;
            Ok(Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(page.to_json_bytes(&rt)))
                .unwrap_or_default())
        }
        ("GET", Some(name)) => {
            if t.subresource.as_deref() == Some("scale") {
                return Ok(json_response(200, &api.get_scale(&rt, &ns, name)?));
            }
            let o = api.get(&rt, &ns, name)?;
            if t.subresource.as_deref() == Some("log") {
                return Ok(pod_log(&o, q.get("container").map(String::as_str)));
            }
            if accept.contains("as=Table") {
                return Ok(json_response(200, &table::from_object(&rt, &o)));
            }
            Ok(json_response(200, &o))
        }
        ("POST", None) => {
            let (headers, body, _) = read_body(req).await?;
            let ctx = WriteContext {
                manager: manager_from(&headers, &q),
                dry_run,
                force: false,
            };
            let o = api.create(&rt, &ns, body, &ctx)?;
            Ok(json_response(201, &o))
        }
        ("PUT", Some(name)) => {
            let (headers, body, _) = read_body(req).await?;
            if state.faults.injected_conflict() {
                return Err(ApiError::stale(&rt, name));
            }
            let ctx = WriteContext {
                manager: manager_from(&headers, &q),
                dry_run,
                force: false,
            };
            match t.subresource.as_deref() {
                Some("scale") => {
                    let replicas = body["spec"]["replicas"].as_i64().unwrap_or(0);
                    Ok(json_response(
                        200,
                        &api.set_scale(&rt, &ns, name, replicas, &ctx)?,
                    ))
                }
                Some("finalize") => {
                    let o = api.update(&rt, &ns, name, body, &ctx, false)?;
                    Ok(json_response(200, &o))
                }
                sub => {
                    let o = api.update(&rt, &ns, name, body, &ctx, sub == Some("status"))?;
                    Ok(json_response(200, &o))
                }
            }
        }
        ("PATCH", Some(name)) => {
            let (headers, body, ct) = read_body(req).await?;
            let ptype = if ct.starts_with("application/json-patch+json") {
                PatchType::Json
            } else if ct.starts_with("application/merge-patch+json") {
                PatchType::Merge
            } else if ct.starts_with("application/strategic-merge-patch+json") {
                PatchType::Strategic
            } else if ct.starts_with("application/apply-patch+yaml")
                || ct.starts_with("application/apply-patch+json")
            {
                PatchType::Apply
            } else {
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct})"
                )));
            };
            if state.faults.injected_conflict() {
                return Err(ApiError::stale(&rt, name));
            }
            let manager = if ptype == PatchType::Apply {
                q.get("fieldManager").cloned().unwrap_or_default()
            } else {
                manager_from(&headers, &q)
            };
            let ctx = WriteContext {
                manager,
                dry_run,
                force: truthy(q.get("force")),
            };
            if ptype != PatchType::Apply && q.contains_key("force") {
                return Err(ApiError::bad_request(
                    "force may not be specified for non-apply patch",
                ));
            }
            if t.subresource.as_deref() == Some("scale") {
                let mut scale = api.get_scale(&rt, &ns, name)?;
                match ptype {
                    PatchType::Json => crate::patch::json_patch(&mut scale, &body),
                    _ => crate::patch::merge_patch(&mut scale, &body),
                }
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
                let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
                return Ok(json_response(
                    200,
                    &api.set_scale(&rt, &ns, name, replicas, &ctx)?,
                ));
            }
            let for_status = t.subresource.as_deref() == Some("status");
            let (o, created) = api.patch(&rt, &ns, name, ptype, &body, &ctx, for_status)?;
            Ok(json_response(if created { 201 } else { 200 }, &o))
        }
        ("DELETE", Some(name)) => {
            let (_, body, _) = read_body(req).await?;
            let mut opts = delete_options(&q, &body)?;
            opts.dry_run |= dry_run;
            let d = api.delete(&rt, &ns, name, &opts)?;
            Ok(json_response(if d.finished { 200 } else { 202 }, &d.body))
        }
        ("DELETE", None) => {
            let (_, body, _) = read_body(req).await?;
            let mut opts = delete_options(&q, &body)?;
            opts.dry_run |= dry_run;
            let lq = list_query(&q, &rt, ns_param.as_deref())?;
            Ok(json_response(
                200,
                &api.delete_collection(&rt, ns_param.as_deref(), &lq, &opts)?,
            ))
        }
        (m, _) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({m})"
        ))),
    }
}

/// The simulated log of a pod's container: nothing runs, so it says so.
fn pod_log(pod: &Value, container: Option<&str>) -> Response<Body> {
    let first = pod["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or_default();
    let name = container.unwrap_or(first);
    let image = pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["image"].as_str())
        .unwrap_or_default();
    let started = pod["status"]["startTime"].as_str().unwrap_or_default();
    let text = format!(
        "{started} ferrocd sandbox: container {name} ({image}) of pod {}/{} is simulated; no process runs and there is no output\n",
        crate::meta::namespace(pod),
        crate::meta::name(pod)
    );
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(text))
        .unwrap_or_default()
}

/// The `host:port` string of an address.
pub fn address_of(addr: SocketAddr) -> String {
    addr.to_string()
}

/// `json!` re-export for submodules.
pub(crate) fn status_event(e: &ApiError) -> Value {
    json!({"type": "ERROR", "object": e.to_status()})
}
