//! The render pipeline plugged into the API server (`/manifests`, `/managed-resources`),
//! so that `ferrocd app manifests --source git` and `ferrocd app diff` work through the
//! server as they do with `--core`.

use futures::future::BoxFuture;
use serde_json::Value;

/// Renders an Application's sources in this process, as `ferrocd render` does.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalRenderer;

impl ferrocd_server::ManifestRenderer for LocalRenderer {
    fn manifests<'a>(
        &'a self,
        app: &'a Value,
        revision: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Value>, String>> {
        Box::pin(async move {
            crate::app::render_locally(app, revision)
                .await
                .map_err(|f| f.message())
        })
    }
}

/// API options with the local renderer.
pub fn api_options() -> ferrocd_server::ApiOptions {
    ferrocd_server::ApiOptions {
        renderer: Some(std::sync::Arc::new(LocalRenderer)),
        ..Default::default()
    }
}
