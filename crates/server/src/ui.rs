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
