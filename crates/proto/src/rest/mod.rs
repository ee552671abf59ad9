//! Bodies of the REST API under `/api/v1`: requests the server reads and resources it returns.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

mod account;
mod auth;
mod channels;
mod messages;
mod server;

pub use account::*;
pub use auth::*;
pub use channels::*;
pub use messages::*;
pub use server::*;

/// Every REST error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

/// A typed error: a stable snake_case code and a human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `username_taken`.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
