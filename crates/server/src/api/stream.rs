//! `GET /api/v1/stream/applications`: server-sent events with every change to the
//! applications the caller may see, in Argo CD's shape
//! (`{"result": {"type": "ADDED|MODIFIED|DELETED", "application": {...}}}`). The stream starts
//! with the current applications (`ADDED`) and follows a watch, listing again when the watch
//! expires. The token is checked again for every event, so a logout ends the stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use kube::api::{ListParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::api::applications::{check_namespace, object_of, project_of};
use crate::api::query::Query;
use crate::api::session::MaybeToken;
use crate::api::{AppState, Caller, now};
use crate::error::ApiError;

/// Which applications a stream carries.
#[derive(Debug, Clone, Default)]
struct Filter {
    name: Option<String>,
    projects: Vec<String>,
    selector: Option<String>,
}

impl Filter {
    fn accepts(&self, app: &Value) -> bool {
        let name = app
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.name.as_deref().is_none_or(|n| n == name)
            && (self.projects.is_empty() || self.projects.iter().any(|p| p == project_of(app)))
    }
}

/// The handler.
#[utoipa::path(
    get,
    path = "/api/v1/stream/applications",
    tag = "applications",
    operation_id = "ApplicationService_Watch",
    params(
        ("projects" = Option<Vec<String>>, Query, description = "Only applications of these projects (repeatable; `project` is accepted too)"),
        ("name" = Option<String>, Query, description = "Only the application with this name"),
        ("appNamespace" = Option<String>, Query, description = "Namespace of the application (only the server's namespace is served)"),
    ),
    responses(
        (status = 200, description = "Server-sent events: {result: {type, application}} per change", content_type = "text/event-stream"),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn applications(
    State(state): State<AppState>,
    caller: Caller,
    MaybeToken(token): MaybeToken,
    query: Query,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    check_namespace(&state, &query)?;
    let mut projects = query.all("projects");
    projects.extend(query.all("project"));
    let filter = Filter {
        name: query
            .get("name")
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        projects,
        selector: query
            .get("selector")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    };
    let (tx, rx) = mpsc::channel::<Event>(256);
    drop(caller);
    tokio::spawn(pump(state, token, filter, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Sends one change if the caller may see it; `false` when the stream must end.
async fn emit(
    state: &AppState,
    token: &Option<String>,
    filter: &Filter,
    tx: &mpsc::Sender<Event>,
    kind: &str,
    app: Value,
) -> bool {
    if !filter.accepts(&app) {
        return true;
    }
    let Ok(snapshot) = state.snapshot().await else {
        return !tx.is_closed();
    };
    let identity =
        match state
            .auth()
            .authenticate(&snapshot.auth, &snapshot.projects, token.as_deref(), now())
        {
            Ok(identity) => identity,
            Err(err) => {
                let event = Event::default()
                    .event("error")
                    .data(json!({"error": err.to_string()}).to_string());
                let _ = tx.send(event).await;
                return false;
            }
        };
    let allowed = snapshot
        .policy
        .enforce(
            &identity.subject,
            "applications",
            "get",
            &object_of(state, &app),
        )
        .is_allowed();
    if !allowed {
        return true;
    }
    let data = json!({"result": {"type": kind, "application": app}}).to_string();
    tx.send(Event::default().data(data)).await.is_ok()
}

async fn pump(state: AppState, token: Option<String>, filter: Filter, tx: mpsc::Sender<Event>) {
    let mut closing = state.closing();
    tokio::select! {
        _ = closing.wait_for(|closed| *closed) => {}
        _ = follow(&state, &token, &filter, &tx) => {}
    }
}

async fn follow(
    state: &AppState,
    token: &Option<String>,
    filter: &Filter,
    tx: &mpsc::Sender<Event>,
) {
    let apps = state.store().apps();
    let mut resource_version = String::new();
    loop {
        if tx.is_closed() {
            return;
        }
        if resource_version.is_empty() {
            let mut params = ListParams::default();
            if let Some(s) = &filter.selector {
                params = params.labels(s);
            }
            match apps.list(&params).await {
                Ok(list) => {
                    for obj in &list.items {
                        let Ok(app) = serde_json::to_value(obj) else {
                            continue;
                        };
                        if !emit(state, token, filter, tx, "ADDED", app).await {
                            return;
                        }
                    }
                    resource_version = list.metadata.resource_version.unwrap_or_default();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "listing applications for a stream");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let mut params = WatchParams::default();
        if let Some(s) = &filter.selector {
            params = params.labels(s);
        }
        let watch = match apps.watch(&params, &resource_version).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "watching applications for a stream");
                resource_version.clear();
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut watch = std::pin::pin!(watch);
        loop {
            let next = tokio::select! {
                _ = tx.closed() => return,
                next = watch.next() => next,
            };
            let (kind, obj) = match next {
                Some(Ok(WatchEvent::Added(o))) => ("ADDED", o),
                Some(Ok(WatchEvent::Modified(o))) => ("MODIFIED", o),
                Some(Ok(WatchEvent::Deleted(o))) => ("DELETED", o),
                Some(Ok(WatchEvent::Bookmark(b))) => {
                    resource_version = b.metadata.resource_version;
                    continue;
                }
                Some(Ok(WatchEvent::Error(status))) => {
                    if status.code == 410 {
                        resource_version.clear();
                    }
                    break;
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "application watch ended");
                    break;
                }
                None => break,
            };
            if let Some(rv) = &obj.metadata.resource_version {
                resource_version = rv.clone();
            }
            let Ok(app) = serde_json::to_value(&obj) else {
                continue;
            };
            if !emit(state, token, filter, tx, kind, app).await {
                return;
            }
        }
    }
}
