//! The OpenAPI document served at `/api/openapi.json`.

use serde::Serialize;
use utoipa::ToSchema;

/// An error, shaped as Argo CD's.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
    /// Same as `error`.
    pub message: String,
    /// The gRPC-style code.
    pub code: i32,
}
