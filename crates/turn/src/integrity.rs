//! MESSAGE-INTEGRITY-SHA256 keyed as RFC 8489 §9.2.4 says when no PASSWORD-ALGORITHM was
//! negotiated (the relay offers none): HMAC-SHA256 with the MD5 long-term key,
//! MD5(username ":" realm ":" password). The codec crate keys it with SHA-256 of the same string,
//! which no RFC-following client does, so the relay checks and signs it here.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The attribute's type.
pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
const FINGERPRINT: u16 = 0x8028;
const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// The long-term key of RFC 8489 §9.2.2 (MD5): the key of MESSAGE-INTEGRITY too.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    Md5::digest(format!("{username}:{realm}:{password}").as_bytes()).into()
}

/// Whether the STUN message `data` carries a MESSAGE-INTEGRITY-SHA256 made with `key`: the
/// HMAC of everything before it, with the header's length counting up to its end, truncated to
/// its length (16 to 32 bytes, a multiple of four).
pub fn verify_sha256(data: &[u8], key: &[u8]) -> bool {
    let mut offset = 20;
    while let Some(header) = data.get(offset..offset + 4) {
        let kind = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if kind == MESSAGE_INTEGRITY_SHA256 {
            let Some(value) = data.get(offset + 4..offset + 4 + len) else { return false };
            if !(16..=32).contains(&len) || len % 4 != 0 {
                return false;
            }
            let mac = hmac(key, data, offset, offset - 20 + 4 + len);
            return bool::from(mac[..len].ct_eq(value));
        }
        offset += 4 + len.next_multiple_of(4);
    }
    false
}

/// HMAC-SHA256 of `data[..end]` with the header's length field set to `length`.
fn hmac(key: &[u8], data: &[u8], end: usize, length: usize) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(&data[..2]);
    mac.update(&(length as u16).to_be_bytes());
    mac.update(&data[4..end]);
    mac.finalize().into_bytes().into()
}

/// Appends a 32-byte MESSAGE-INTEGRITY-SHA256 made with `key`, then FINGERPRINT, to a finished
/// STUN message that has neither.
pub fn sign_sha256(mut message: Vec<u8>, key: &[u8]) -> Vec<u8> {
    let end = message.len();
    let mac = hmac(key, &message, end, end - 20 + 4 + 32);
    message.extend_from_slice(&MESSAGE_INTEGRITY_SHA256.to_be_bytes());
    message.extend_from_slice(&32u16.to_be_bytes());
    message.extend_from_slice(&mac);
    let length = (message.len() - 20 + 8) as u16;
    message[2..4].copy_from_slice(&length.to_be_bytes());
    let crc = crc32(&message) ^ FINGERPRINT_XOR;
    message.extend_from_slice(&FINGERPRINT.to_be_bytes());
    message.extend_from_slice(&4u16.to_be_bytes());
    message.extend_from_slice(&crc.to_be_bytes());
    message
}

/// CRC-32 (ISO HDLC), as FINGERPRINT uses it.
fn crc32(data: &[u8]) -> u32 {
    u32::from_be_bytes(stun_types::attribute::Fingerprint::compute(&[data]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Binding request (header only) with USERNAME "u".
    fn request() -> Vec<u8> {
        let mut bytes = vec![0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42];
        bytes.extend_from_slice(&[9; 12]);
        bytes.extend_from_slice(&[0x00, 0x06, 0x00, 0x01, b'u', 0, 0, 0]);
        bytes
    }

    #[test]
    fn what_it_signs_it_verifies_and_nothing_else() {
        let key = long_term_key("u", "realm", "pass");
        let signed = sign_sha256(request(), &key);
        assert!(verify_sha256(&signed, &key));
        assert!(!verify_sha256(&signed, &long_term_key("u", "realm", "other")));
        let mut tampered = signed.clone();
        tampered[24] ^= 1;
        assert!(!verify_sha256(&tampered, &key));
        assert!(!verify_sha256(&request(), &key), "no attribute, no integrity");
        let mut cut = signed[..signed.len() - 8].to_vec();
        cut.truncate(cut.len() - 10);
        assert!(!verify_sha256(&cut, &key), "an attribute cut short");
    }

    #[test]
    fn a_mac_truncated_to_16_bytes_verifies() {
        let key = long_term_key("u", "realm", "pass");
        let mut bytes = request();
        let end = bytes.len();
        let mac = hmac(&key, &bytes, end, end - 20 + 4 + 16);
        bytes.extend_from_slice(&[0x00, 0x1C, 0x00, 0x10]);
        bytes.extend_from_slice(&mac[..16]);
        let length = (bytes.len() - 20) as u16;
        bytes[2..4].copy_from_slice(&length.to_be_bytes());
        assert!(verify_sha256(&bytes, &key));
    }
}
