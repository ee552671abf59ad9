//! TURN REST credentials, the scheme coturn's `use-auth-secret` understands: username
//! `<expiry unix seconds>:<user>`, password `base64(HMAC-SHA1(secret, username))`.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// A username and password pair handed to a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestCredential {
    /// `<expiry>:<user>`.
    pub username: String,
    /// `base64(HMAC-SHA1(secret, username))`.
    pub password: String,
}

/// Mints the credential for `user` that new allocations accept until `expiry` (unix seconds).
pub fn mint(secret: &[u8], user: &str, expiry: i64) -> RestCredential {
    let username = format!("{expiry}:{user}");
    let password = password_for(secret, &username);
    RestCredential { username, password }
}

/// The password that goes with `username` under `secret`.
pub fn password_for(secret: &[u8], username: &str) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The parts of a REST username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestUsername<'a> {
    /// Unix seconds after which no new allocation is accepted.
    pub expiry: i64,
    /// The account the credential was minted for; quotas count per user.
    pub user: &'a str,
}

/// Splits `<expiry>:<user>`; `None` when it is not of that shape.
pub fn parse_username(username: &str) -> Option<RestUsername<'_>> {
    let (expiry, user) = username.split_once(':')?;
    if user.is_empty() || expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(RestUsername { expiry: expiry.parse().ok()?, user })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mints_coturns_rest_scheme() {
        let credential = mint(b"north", "42", 1_700_000_000);
        assert_eq!(credential.username, "1700000000:42");
        // base64(HMAC-SHA1("north", "1700000000:42")), as `openssl dgst -sha1 -hmac north -binary | base64` prints it.
        assert_eq!(credential.password, "DWX3FI7DiPIpadEYQAZsnZBAagI=");
    }

    #[test]
    fn parses_only_expiry_colon_user() {
        assert_eq!(parse_username("12:alice"), Some(RestUsername { expiry: 12, user: "alice" }));
        assert_eq!(parse_username("12:a:b"), Some(RestUsername { expiry: 12, user: "a:b" }));
        for bad in ["alice", ":alice", "12:", "-5:alice", "1e3:alice", "99999999999999999999999:x", ""] {
            assert_eq!(parse_username(bad), None, "{bad}");
        }
    }
}
