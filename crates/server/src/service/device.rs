//! Device cookies: proof that a browser logged in to an account before. During a password-
//! guessing attack on an account from many addresses, logins without one are slowed to a halt,
//! while the owner's own browsers keep logging in. The cookie is `<user id>.<device id>.<MAC>`,
//! signed with a key kept in the database, so it cannot be forged and means nothing for
//! another account.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Settings key of the signing key.
pub const DEVICE_KEY_SETTING: &str = "device_cookie_key";

/// Signs and checks device cookies.
pub struct DeviceCookies {
    key: Vec<u8>,
}

impl DeviceCookies {
    /// Cookies signed with `key`.
    pub fn new(key: Vec<u8>) -> DeviceCookies {
        DeviceCookies { key }
    }

    /// A new cookie value for `user_id` with a fresh device id.
    pub fn issue(&self, user_id: i64) -> String {
        let device = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let mac = URL_SAFE_NO_PAD.encode(self.mac(user_id, &device));
        format!("{user_id}.{device}.{mac}")
    }

    /// The device id in `cookie` if it is a genuine cookie of `user_id`.
    pub fn device_of<'a>(&self, cookie: &'a str, user_id: i64) -> Option<&'a str> {
        let mut parts = cookie.splitn(3, '.');
        let (user, device, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if user.parse::<i64>().ok()? != user_id || device.len() > 32 {
            return None;
        }
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let mut check = self.keyed();
        check.update(&Self::message(user_id, device));
        check.verify_slice(&mac).ok()?;
        Some(device)
    }

    fn mac(&self, user_id: i64, device: &str) -> Vec<u8> {
        let mut mac = self.keyed();
        mac.update(&Self::message(user_id, device));
        mac.finalize().into_bytes().to_vec()
    }

    /// A signature for an embed picture's URL, so the image proxy fetches only pictures the
    /// server itself put in a preview (the same key as device cookies; the signed text is
    /// prefixed differently, so neither can pass for the other).
    pub fn sign_embed_image(&self, url: &str) -> String {
        let mut mac = self.keyed();
        mac.update(format!("embed-image:{url}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is this server's for `url`.
    pub fn embed_image_signed(&self, url: &str, signature: &str) -> bool {
        let Ok(mac) = URL_SAFE_NO_PAD.decode(signature) else { return false };
        let mut check = self.keyed();
        check.update(format!("embed-image:{url}").as_bytes());
        check.verify_slice(&mac).is_ok()
    }

    fn keyed(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    fn message(user_id: i64, device: &str) -> Vec<u8> {
        format!("device-cookie:{user_id}:{device}").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_proves_the_device_for_its_account_only() {
        let cookies = DeviceCookies::new(b"key".to_vec());
        let cookie = cookies.issue(7);
        let device = cookies.device_of(&cookie, 7).expect("genuine");
        assert!(cookie.contains(device));
        assert_eq!(cookies.device_of(&cookie, 8), None, "another account");
        assert_eq!(DeviceCookies::new(b"other key".to_vec()).device_of(&cookie, 7), None, "another server");
        let forged = cookie.replacen(device, "AAAAAAAAAAAAAAAAAAAAAA", 1);
        assert_eq!(cookies.device_of(&forged, 7), None, "a device id it did not sign");
        for junk in ["", "7", "7.x", "7.x.!!", "x.y.z"] {
            assert_eq!(cookies.device_of(junk, 7), None, "{junk:?}");
        }
    }
}
