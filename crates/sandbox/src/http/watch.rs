//! Watches: newline-delimited JSON events from a resourceVersion (or with an initial snapshot),
//! bookmarks, `sendInitialEvents`, timeouts, 410 Expired as an ERROR event when the position is
//! too old, and fault-injected drops.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Response, header};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::HttpState;
use crate::apiserver::ListQuery;
use crate::meta;
use crate::resources::ResourceType;
use crate::status::ApiError;
use crate::store::{Change, EventType};

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

/// One watch event line, `{"type": .., "object": ..}`; the stored object is serialized in
/// place (copied only when it lacks its apiVersion and kind).
fn event_line(ty: &str, rt: &ResourceType, o: &Value) -> Bytes {
    let typed;
    let object = if o.get("apiVersion").is_none() {
        let mut copy = o.clone();
        copy["apiVersion"] = json!(rt.api_version());
        copy["kind"] = json!(rt.kind);
        typed = copy;
        &typed
    } else {
        o
    };
    // `ty` is one of the fixed event type words: no escaping needed.
    let mut b = format!("{{\"type\":\"{ty}\",\"object\":").into_bytes();
    if serde_json::to_writer(&mut b, object).is_err() {
        return Bytes::new();
    }
    b.extend_from_slice(b"}\n");
    Bytes::from(b)
}

/// Starts a watch and returns the streaming response.
pub fn start(
    state: &HttpState,
    rt: Arc<ResourceType>,
    ns: Option<String>,
    q: ListQuery,
    params: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let rv_param = params.get("resourceVersion").cloned().unwrap_or_default();
    let send_initial = params.get("sendInitialEvents").is_some_and(|v| v == "true");
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true");
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let from = if rv_param.is_empty() || rv_param == "0" || send_initial {
        None
    } else {
        Some(rv_param.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{rv_param}\": must be a number"
            ))
        })?)
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let store = state.api.store.clone();
    let faults = state.faults.clone();
    let bookmark_interval = state.bookmark_interval;
    let sub = store.subscribe(&rt.id(), from);
    tokio::spawn(async move {
        let matches = |o: &Value| -> bool {
            ns.as_deref().is_none_or(|n| meta::namespace(o) == n)
                && q.label.matches_object(o)
                && q.field.matches(o)
        };
        let sub = match sub {
            Ok(s) => s,
            Err(too_old) => {
                let e = ApiError::expired(format!(
                    "too old resource version: {} ({})",
                    too_old.requested, too_old.oldest
                ));
                let _ = tx.send(line(&super::status_event(&e))).await;
                return;
            }
        };
        let mut last_rv = sub.rv;
        for o in &sub.snapshot {
            if matches(o) && tx.send(event_line("ADDED", &rt, o)).await.is_err() {
                return;
            }
        }
        if send_initial {
            let bm = json!({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": sub.rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}}});
            if tx.send(line(&bm)).await.is_err() {
                return;
            }
        }
        // an object that starts or stops matching the selectors is ADDED or DELETED
        let event_of = |c: &Change| -> Option<&'static str> {
            let now = matches(&c.object);
            let before = c.previous.as_deref().map(&matches);
            match (c.event, before, now) {
                (EventType::Modified, Some(false), true) => Some("ADDED"),
                (EventType::Modified, Some(true), false) => Some("DELETED"),
                (_, _, false) => None,
                (e, _, true) => Some(e.as_str()),
            }
        };
        for c in &sub.backlog {
            last_rv = last_rv.max(c.rv);
            let Some(ty) = event_of(c) else { continue };
            if tx.send(event_line(ty, &rt, &c.object)).await.is_err() {
                return;
            }
        }
        let mut live = sub.live;
        let mut drop_signal = faults.drop_signal();
        let drop_after = faults.config().drop_watches_after;
        let deadline = async {
            match (timeout, drop_after) {
                (Some(a), Some(b)) => tokio::time::sleep(a.min(b)).await,
                (Some(a), None) | (None, Some(a)) => tokio::time::sleep(a).await,
                (None, None) => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(bookmark_interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = drop_signal.changed() => return,
                _ = tx.closed() => return,
                _ = ticker.tick(), if bookmarks => {
                    let bm = json!({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version(),
                        "metadata": {"resourceVersion": last_rv.to_string()}}});
                    if tx.send(line(&bm)).await.is_err() { return; }
                }
                msg = live.recv() => match msg {
                    Ok(c) => {
                        if c.resource != rt.id() { continue; }
                        last_rv = last_rv.max(c.rv);
                        let Some(ty) = event_of(&c) else { continue };
                        if tx.send(event_line(ty, &rt, &c.object)).await.is_err() { return; }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<Bytes, std::convert::Infallible>(b), rx))
    });
    Ok(Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .unwrap_or_default())
}
