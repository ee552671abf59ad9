//! Who is calling: the authenticated account behind a request or gateway session. Plain data,
//! so every layer (use cases, fan-out, transports) can name the caller without importing the
//! layer that authenticated it.

/// The authenticated caller of a request or gateway connection.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Account id.
    pub user_id: i64,
    /// Account username.
    pub username: String,
    /// Whether the account administers the server.
    pub admin: bool,
    /// The login session (token) used, so logout ends exactly its gateway sessions.
    pub login_session_id: i64,
}
