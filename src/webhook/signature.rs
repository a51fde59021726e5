//! Standard Webhooks signatures, scheme `v1` (HMAC-SHA256).
//!
//! Wire format (standard-webhooks spec v1.0.0, "Signature scheme"): the
//! signed content is `{webhook-id}.{webhook-timestamp}.{raw body}`; the
//! header `webhook-signature` carries `v1,<standard base64 of the MAC>`,
//! several space-separated entries during a secret rotation. The secret as
//! shown to users is `whsec_` + base64 of the key bytes; the HMAC key is the
//! decoded bytes, not that text.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// The shortest key accepted, in bytes (the spec suggests 24–64 random bytes).
pub const MIN_KEY_BYTES: usize = 16;
/// How far a receiver lets `webhook-timestamp` differ from its clock, in
/// seconds, either way (the reference libraries' tolerance).
pub const TOLERANCE_SECS: i64 = 300;

/// An HMAC key. Its `Debug` prints nothing of it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    /// Parses a secret: `whsec_<base64>` (padding optional) is decoded;
    /// anything else is used as its UTF-8 bytes. Errors never quote the
    /// secret.
    pub fn parse(secret: &str) -> Result<SigningKey, &'static str> {
        let secret = secret.trim();
        let key = match secret.strip_prefix(SECRET_PREFIX) {
            Some(b64) => STANDARD
                .decode(b64)
                .or_else(|_| STANDARD_NO_PAD.decode(b64))
                .map_err(|_| "is not valid base64 after `whsec_`")?,
            None => secret.as_bytes().to_vec(),
        };
        if key.len() < MIN_KEY_BYTES {
            return Err("is too short (use 24 to 64 random bytes, e.g. `whsec_` + base64)");
        }
        Ok(SigningKey(key))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length: `new_from_slice` cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` header value: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, timestamp, body).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// A receiver's check: some `v1` entry of `header` matches (in constant
    /// time) and `timestamp` is within [`TOLERANCE_SECS`] of `now`. Entries
    /// of other versions are skipped.
    pub fn verify(&self, header: &str, id: &str, timestamp: i64, body: &[u8], now: i64) -> bool {
        if (now - timestamp).abs() > TOLERANCE_SECS {
            return false;
        }
        header.split(' ').any(|entry| {
            let Some(b64) = entry.strip_prefix("v1,") else {
                return false;
            };
            let Ok(tag) = STANDARD.decode(b64) else {
                return false;
            };
            self.mac(id, timestamp, body).verify_slice(&tag).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vector 1 of `shared/reference/webhooks.md`: the official one, from the
    /// standard-webhooks Rust library's `test_sign`.
    #[test]
    fn signs_the_official_test_vector() {
        let key = SigningKey::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            key.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    const SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const ID: &str = "msg_usdtmon_0001";
    const TS: i64 = 1767323045;
    const BODY: &str = r#"{"type":"transfer.received","timestamp":"2026-01-02T03:04:05Z","data":{"chain":"tron","amount":"1.5"}}"#;
    const SIGNATURE: &str = "v1,+tRoQSm4h/nLnARFxLV2ligV7LkIeFKJRTn8CjHXJGI=";

    /// Vector 2 of the reference: a 32-byte key 00..1f.
    #[test]
    fn signs_the_projects_test_vector() {
        assert_eq!(BODY.len(), 102);
        let key = SigningKey::parse(SECRET).unwrap();
        assert_eq!(key.sign(ID, TS, BODY.as_bytes()), SIGNATURE);
        // Unpadded base64 is accepted too (the Python reference tolerates it).
        let unpadded = SigningKey::parse(SECRET.trim_end_matches('=')).unwrap();
        assert_eq!(unpadded.sign(ID, TS, BODY.as_bytes()), SIGNATURE);
    }

    /// The reference's negative checks: every tampering fails verification.
    #[test]
    fn verification_rejects_tampering_and_stale_timestamps() {
        let key = SigningKey::parse(SECRET).unwrap();
        let body = BODY.as_bytes();
        assert!(key.verify(SIGNATURE, ID, TS, body, TS));
        let mut changed = body.to_vec();
        changed[50] ^= 1;
        assert!(!key.verify(SIGNATURE, ID, TS, &changed, TS));
        assert!(!key.verify(SIGNATURE, "msg_usdtmon_0002", TS, body, TS));
        assert!(!key.verify(SIGNATURE, ID, TS + 1, body, TS + 1));
        // The secret's text used as the key instead of its decoded bytes.
        let as_text = SigningKey(SECRET.as_bytes().to_vec());
        assert!(!as_text.verify(SIGNATURE, ID, TS, body, TS));
        assert!(!key.verify(SIGNATURE, ID, TS, body, TS + 301));
        assert!(!key.verify(SIGNATURE, ID, TS, body, TS - 301));
        // Several entries: any matching v1 passes; other versions are skipped.
        let rotated = format!("v1a,AAAA v1,{} {SIGNATURE}", STANDARD.encode([0u8; 32]));
        assert!(key.verify(&rotated, ID, TS, body, TS));
    }

    #[test]
    fn bad_secrets_are_refused_without_quoting_them() {
        for secret in ["whsec_not*base64!", "whsec_AAEC", "short-secret"] {
            let e = SigningKey::parse(secret).unwrap_err();
            assert!(!e.contains(secret), "{e}");
        }
        assert!(SigningKey::parse("a-plain-text-secret-of-some-length").is_ok());
        let key = SigningKey::parse(SECRET).unwrap();
        assert!(!format!("{key:?}").contains("AAEC"));
    }
}
