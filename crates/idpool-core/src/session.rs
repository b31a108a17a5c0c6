//! Sealed credentials: the session token carries everything needed to verify a request, so
//! issuing credentials writes nothing (design.md "Credentials are sealed, not stored").

use std::collections::BTreeMap;

use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use idpool_wire::sigv4::{CredentialError, SecretKey, SecretLookup};

use crate::keys::KeyRing;

/// First byte of every token; a new layout gets a new number.
const TOKEN_VERSION: u8 = 1;
/// Binds the ciphertext to its purpose so no other sealed blob can pass for a session.
const AAD: &[u8] = b"idpool-session-token";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// What a session is: who, as which role, until when, under which extra limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    #[serde(rename = "k")]
    pub access_key_id: String,
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    #[serde(rename = "r")]
    pub role_arn: String,
    #[serde(rename = "ri")]
    pub role_id: String,
    #[serde(rename = "n")]
    pub session_name: String,
    #[serde(rename = "t")]
    pub issued_ms: i64,
    #[serde(rename = "x")]
    pub expires_ms: i64,
    /// Principal (session) tags.
    #[serde(rename = "g", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Inline session policies the request must also be allowed by (guest scope-down,
    /// an AssumeRole* `Policy`), as JSON text.
    #[serde(rename = "sp", default, skip_serializing_if = "Vec::is_empty")]
    pub session_policies: Vec<String>,
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The web identity provider that vouched for the session.
    #[serde(rename = "pv", default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// Credentials as handed to a client. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_ms: i64,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"**redacted**")
            .field("session_token", &"**redacted**")
            .field("expires_ms", &self.expires_ms)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the key ring has no session key")]
    NoKey,
    #[error("randomness unavailable")]
    Random,
    #[error("the session token is not one of ours or was altered")]
    Invalid,
    #[error("the session token has expired")]
    Expired,
}

/// A fresh temporary access key id: `ASIA` and 16 base32 characters, as STS makes them.
pub fn new_access_key_id() -> Result<String, SessionError> {
    let mut raw = [0u8; 16];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| SessionError::Random)?;
    let mut out = String::with_capacity(20);
    out.push_str("ASIA");
    out.extend(raw.iter().map(|b| BASE32[(*b as usize) % 32] as char));
    Ok(out)
}

/// Seals `claims` (whose `access_key_id` the caller filled) and derives the matching secret.
pub fn issue(ring: &KeyRing, claims: &SessionClaims) -> Result<IssuedCredentials, SessionError> {
    let key = ring.current_session().ok_or(SessionError::NoKey)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SessionError::Random)?;
    let mut body = serde_json::to_vec(claims).map_err(|_| SessionError::Invalid)?;
    let tag = key
        .seal
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(AAD),
            &mut body,
        )
        .map_err(|_| SessionError::Invalid)?;
    let mut token = Vec::with_capacity(1 + 4 + NONCE_LEN + body.len() + tag.as_ref().len());
    token.push(TOKEN_VERSION);
    token.extend_from_slice(&key.id.to_be_bytes());
    token.extend_from_slice(&nonce);
    token.extend_from_slice(&body);
    token.extend_from_slice(tag.as_ref());
    Ok(IssuedCredentials {
        access_key_id: claims.access_key_id.clone(),
        secret_access_key: derive_secret(&key.derive, &claims.access_key_id, &nonce),
        session_token: URL_SAFE_NO_PAD.encode(token),
        expires_ms: claims.expires_ms,
    })
}

/// The session token a signed request carries: the `X-Amz-Security-Token` header, or the
/// query parameter of the same name in a presigned URL.
pub fn token_of_request(headers: &http::HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers.get("x-amz-security-token") {
        return v.to_str().ok().map(str::to_string);
    }
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.eq_ignore_ascii_case("X-Amz-Security-Token").then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// The session key id a token names, without opening it (None when it is not one of ours).
pub fn key_id_of(token: &str) -> Option<u32> {
    let head = token.get(..8)?;
    let raw = URL_SAFE_NO_PAD.decode(head).ok()?;
    match raw.as_slice() {
        [TOKEN_VERSION, a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Opens a session token presented with `access_key_id`, checks it belongs to that key id and
/// has not expired, and returns the claims with the secret the request must have been signed with.
pub fn open(
    ring: &KeyRing,
    access_key_id: &str,
    token: &str,
    now_ms: i64,
) -> Result<(SessionClaims, String), SessionError> {
    let raw = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| SessionError::Invalid)?;
    if raw.len() < 1 + 4 + NONCE_LEN + 16 || raw[0] != TOKEN_VERSION {
        return Err(SessionError::Invalid);
    }
    let key_id = u32::from_be_bytes([raw[1], raw[2], raw[3], raw[4]]);
    let key = ring.session_by_id(key_id).ok_or(SessionError::Invalid)?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&raw[5..5 + NONCE_LEN]);
    let mut sealed = raw[5 + NONCE_LEN..].to_vec();
    let plain = key
        .seal
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(AAD),
            &mut sealed,
        )
        .map_err(|_| SessionError::Invalid)?;
    let claims: SessionClaims = serde_json::from_slice(plain).map_err(|_| SessionError::Invalid)?;
    if claims.access_key_id != access_key_id {
        return Err(SessionError::Invalid);
    }
    if now_ms >= claims.expires_ms {
        return Err(SessionError::Expired);
    }
    let secret = derive_secret(&key.derive, access_key_id, &nonce);
    Ok((claims, secret))
}

/// The [`SecretLookup`] for requests signed with sealed session credentials: it opens the
/// token sent with the key id and keeps the claims, so a verified request costs one opening.
pub struct SessionLookup {
    ring: std::sync::Arc<KeyRing>,
    now_ms: i64,
    opened: std::sync::Mutex<Option<SessionClaims>>,
}

impl SessionLookup {
    pub fn new(ring: std::sync::Arc<KeyRing>, now_ms: i64) -> Self {
        SessionLookup {
            ring,
            now_ms,
            opened: std::sync::Mutex::new(None),
        }
    }

    /// The claims of the session whose secret was handed out, once `verify` asked for it.
    pub fn take_claims(&self) -> Option<SessionClaims> {
        self.opened.lock().ok().and_then(|mut c| c.take())
    }
}

impl SecretLookup for SessionLookup {
    fn secret_for(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<SecretKey, CredentialError> {
        // Without a token there is nothing to open: idpool keeps no table of session keys.
        let token = session_token.ok_or(CredentialError::UnknownAccessKey)?;
        match open(&self.ring, access_key_id, token, self.now_ms) {
            Ok((claims, secret)) => {
                if let Ok(mut slot) = self.opened.lock() {
                    *slot = Some(claims);
                }
                Ok(SecretKey::new(secret))
            }
            Err(SessionError::Expired) => Err(CredentialError::ExpiredSessionToken),
            Err(_) => Err(CredentialError::InvalidSessionToken),
        }
    }
}

/// 40 characters from HMAC-SHA256(derivation key, access key id || nonce): recomputable by any
/// instance holding the ring, never stored.
fn derive_secret(key: &aws_lc_rs::hmac::Key, access_key_id: &str, nonce: &[u8]) -> String {
    let mut ctx = aws_lc_rs::hmac::Context::with_key(key);
    ctx.update(b"secret-v1\0");
    ctx.update(access_key_id.as_bytes());
    ctx.update(nonce);
    let tag = ctx.sign();
    let mut s = STANDARD.encode(tag.as_ref());
    s.truncate(40);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KIND_SESSION, KeyRing};

    fn ring() -> KeyRing {
        let row = idpool_store::KeyRow {
            kind: KIND_SESSION.into(),
            id: 7,
            created_ms: 0,
            material: vec![9u8; 64],
        };
        KeyRing::from_rows(&[row], "us-east-1").expect("test key rows")
    }

    fn claims(akid: &str) -> SessionClaims {
        SessionClaims {
            access_key_id: akid.into(),
            identity_id: Some("us-east-1:0b1c".into()),
            pool_id: Some("us-east-1:aaaa".into()),
            role_arn: "arn:aws:iam::000000000000:role/R".into(),
            role_id: "AROAEXAMPLE".into(),
            session_name: "CognitoIdentityCredentials".into(),
            issued_ms: 1_000,
            expires_ms: 3_601_000,
            tags: [("dept".to_string(), "eng".to_string())].into(),
            session_policies: vec!["{}".into()],
            amr: vec!["unauthenticated".into()],
            provider: Some("cognito-identity.amazonaws.com".into()),
        }
    }

    #[test]
    fn issue_then_open_round_trips() {
        let r = ring();
        let akid = new_access_key_id().unwrap();
        assert!(akid.starts_with("ASIA") && akid.len() == 20);
        let c = issue(&r, &claims(&akid)).unwrap();
        assert_eq!(c.secret_access_key.len(), 40);
        let (back, secret) = open(&r, &akid, &c.session_token, 2_000).unwrap();
        assert_eq!(back, claims(&akid));
        assert_eq!(secret, c.secret_access_key);
        assert!(!format!("{c:?}").contains(&c.secret_access_key));
    }

    #[test]
    fn every_altered_byte_is_refused() {
        let r = ring();
        let akid = new_access_key_id().unwrap();
        let c = issue(&r, &claims(&akid)).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&c.session_token).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let t = URL_SAFE_NO_PAD.encode(&bad);
            assert!(
                open(&r, &akid, &t, 2_000).is_err(),
                "byte {i} altered but accepted"
            );
        }
        assert_eq!(
            open(&r, "ASIAOTHERKEY00000000", &c.session_token, 2_000),
            Err(SessionError::Invalid)
        );
        assert_eq!(
            open(&r, &akid, &c.session_token, 3_601_000),
            Err(SessionError::Expired)
        );
        assert_eq!(
            open(&r, &akid, "garbage!", 2_000),
            Err(SessionError::Invalid)
        );
    }

    #[test]
    fn secrets_differ_per_key_id() {
        let r = ring();
        let a = issue(&r, &claims("ASIAAAAAAAAAAAAAAAAA")).unwrap();
        let b = issue(&r, &claims("ASIABBBBBBBBBBBBBBBB")).unwrap();
        assert_ne!(a.secret_access_key, b.secret_access_key);
    }
}
