//! Stateless nonces: the nonce carries its own issue time and a MAC over that time and the
//! client's transport address, so answering an unauthenticated request stores nothing and a
//! spoofed flood cannot grow memory.

use std::fmt::Write;
use std::net::SocketAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Bytes of MAC kept in a nonce (96 bits).
const MAC_LEN: usize = 12;

/// Issues and checks nonces with a key that lives only in memory.
#[derive(Clone)]
pub struct Nonces {
    key: [u8; 32],
    lifetime_secs: u64,
}

/// Why a nonce was not accepted; both are answered with 438 and a fresh nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceError {
    /// It was issued by this server but is older than its lifetime.
    Stale,
    /// It was not issued by this server for this client.
    Invalid,
}

impl Nonces {
    /// Nonces valid for `lifetime_secs` under a fresh random key.
    pub fn new(lifetime_secs: u64) -> Nonces {
        Nonces { key: rand::random(), lifetime_secs }
    }

    /// A nonce for `client` issued at `now_unix`: 16 hex digits of time, then the MAC in hex.
    pub fn issue(&self, client: SocketAddr, now_unix: u64) -> String {
        let mut nonce = format!("{now_unix:016x}");
        for byte in self.mac(client, now_unix) {
            let _ = write!(nonce, "{byte:02x}");
        }
        nonce
    }

    /// Checks a nonce presented by `client` at `now_unix`.
    pub fn check(&self, nonce: &str, client: SocketAddr, now_unix: u64) -> Result<(), NonceError> {
        if nonce.len() != 16 + 2 * MAC_LEN || !nonce.is_ascii() {
            return Err(NonceError::Invalid);
        }
        let issued = u64::from_str_radix(&nonce[..16], 16).map_err(|_| NonceError::Invalid)?;
        let mut presented = [0u8; MAC_LEN];
        for (i, byte) in presented.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&nonce[16 + 2 * i..18 + 2 * i], 16).map_err(|_| NonceError::Invalid)?;
        }
        if !bool::from(self.mac(client, issued).ct_eq(&presented)) {
            return Err(NonceError::Invalid);
        }
        if issued > now_unix + 60 || now_unix - issued.min(now_unix) > self.lifetime_secs {
            return Err(NonceError::Stale);
        }
        Ok(())
    }

    fn mac(&self, client: SocketAddr, issued: u64) -> [u8; MAC_LEN] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(&issued.to_be_bytes());
        match client.ip() {
            std::net::IpAddr::V4(ip) => mac.update(&ip.octets()),
            std::net::IpAddr::V6(ip) => mac.update(&ip.octets()),
        }
        mac.update(&client.port().to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 7], port))
    }

    #[test]
    fn accepts_its_own_nonce_within_the_lifetime() {
        let nonces = Nonces::new(600);
        let nonce = nonces.issue(client(5000), 1_000);
        assert_eq!(nonce.len(), 40);
        assert_eq!(nonces.check(&nonce, client(5000), 1_000), Ok(()));
        assert_eq!(nonces.check(&nonce, client(5000), 1_600), Ok(()));
    }

    #[test]
    fn refuses_stale_foreign_and_forged_nonces() {
        let nonces = Nonces::new(600);
        let nonce = nonces.issue(client(5000), 1_000);
        assert_eq!(nonces.check(&nonce, client(5000), 1_601), Err(NonceError::Stale));
        assert_eq!(nonces.check(&nonce, client(5001), 1_000), Err(NonceError::Invalid));
        assert_eq!(Nonces::new(600).check(&nonce, client(5000), 1_000), Err(NonceError::Invalid));
        let mut forged = nonce.clone().into_bytes();
        forged[15] = if forged[15] == b'0' { b'1' } else { b'0' };
        assert_eq!(nonces.check(std::str::from_utf8(&forged).unwrap(), client(5000), 1_000), Err(NonceError::Invalid));
        for junk in ["", "zz", "é", "0".repeat(40).as_str()] {
            assert_eq!(nonces.check(junk, client(5000), 1_000), Err(NonceError::Invalid), "{junk}");
        }
    }
}
