//! The web UI: static files from `crates/server/ui/` compiled into the binary, so
//! `cargo build` is all it takes (no front-end build step). Paths that are not files fall back
//! to `index.html`, so the UI's own routes (`/applications/argocd/airflow`) survive a reload.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, Uri, header};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "ui/"]
struct Assets;

/// Routes serving the UI; merged after the API so `/api/*` never reaches it.
pub(crate) fn router() -> Router {
    Router::new().fallback(serve_asset)
}

async fn serve_asset(uri: Uri) -> Response<Body> {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") {
        return not_found();
    }
    match Assets::get(path).filter(|_| !path.is_empty()) {
        Some(file) => asset_response(path, file, true),
        None => match Assets::get("index.html") {
            Some(index) => asset_response("index.html", index, false),
            None => not_found(),
        },
    }
}

fn asset_response(path: &str, file: rust_embed::EmbeddedFile, cacheable: bool) -> Response<Body> {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let mut response = Response::new(Body::from(file.data.into_owned()));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // index.html must be revalidated so a new binary's UI is picked up; the other assets are
    // revalidated too (their names carry no hash) but by ETag, cheaply.
    let etag = format!("\"{}\"", hex_prefix(&file.metadata.sha256_hash()));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if cacheable { "no-cache" } else { "no-store" }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn not_found() -> Response<Body> {
    let mut response = Response::new(Body::from("not found"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    async fn get(path: &str) -> (StatusCode, String, String) {
        let response = router()
            .oneshot(
                Request::builder()
                    .uri(path)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (
            status,
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn assets_are_served_with_their_content_type() {
        let (status, content_type, body) = get("/js/main.js").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.contains("javascript"), "{content_type}");
        assert!(body.contains("import"), "{body}");
        let (status, content_type, _) = get("/css/base.css").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "text/css");
        let (_, content_type, _) = get("/favicon.svg").await;
        assert_eq!(content_type, "image/svg+xml");
    }

    #[tokio::test]
    async fn unknown_paths_fall_back_to_the_app_shell() {
        for path in [
            "/",
            "/applications",
            "/applications/mlflow-dev?tab=history",
            "/no/such/page.html",
        ] {
            let (status, content_type, body) = get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(content_type, "text/html", "{path}");
            assert!(body.contains("/js/main.js"), "{path}: {body}");
        }
    }

    #[tokio::test]
    async fn api_paths_never_fall_back() {
        for path in ["/api/v1/nope", "/api/v1/applications/x/unknown", "/api/"] {
            let (status, _, body) = get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!body.contains("<html"), "{path}: {body}");
        }
    }

    #[test]
    fn every_module_the_ui_imports_is_embedded() {
        // A typo in an import path would only show in the browser: check them here.
        let mut missing = Vec::new();
        for path in Assets::iter() {
            if !path.ends_with(".js") {
                continue;
            }
            let Some(file) = Assets::get(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&file.data).into_owned();
            let dir = std::path::Path::new(path.as_ref())
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            for line in text.lines() {
                let Some(spec) = line
                    .split(" from '")
                    .nth(1)
                    .and_then(|rest| rest.split('\'').next())
                else {
                    continue;
                };
                let mut target = dir.clone();
                for part in spec.split('/') {
                    match part {
                        "." => {}
                        ".." => {
                            target.pop();
                        }
                        other => target.push(other),
                    }
                }
                let target = target.to_string_lossy().replace('\\', "/");
                if Assets::get(&target).is_none() {
                    missing.push(format!("{path} imports {spec}"));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
    }
}
