//! Our OpenID tokens: RS512 JWS minted with a pre-parsed key, and verified when they come back
//! as a login or a web identity token (spec §4.11, design.md "Our OpenID tokens").

use aws_lc_rs::rand::SystemRandom;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::keys::KeyRing;

/// Clock leeway when checking `exp`/`iat` of a token we issued (seconds).
pub const LEEWAY_S: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenIdError {
    #[error("the key ring has no signing key")]
    NoKey,
    #[error("signing failed")]
    Signing,
    #[error("not a well-formed token")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("token expired: {now} >= {exp}")]
    Expired { now: i64, exp: i64 },
    #[error("issuer mismatch")]
    Issuer,
}

/// Signs `claims` (a JSON object) as a compact JWS with the current key.
pub fn mint(ring: &KeyRing, claims: &Map<String, Value>) -> Result<String, OpenIdError> {
    let key = ring.current_openid().ok_or(OpenIdError::NoKey)?;
    let header = format!(
        "{{\"kid\":\"{}\",\"typ\":\"JWS\",\"alg\":\"RS512\"}}",
        key.kid
    );
    let payload = serde_json::to_vec(claims).map_err(|_| OpenIdError::Signing)?;
    let mut out = String::with_capacity(900);
    URL_SAFE_NO_PAD.encode_string(header.as_bytes(), &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let mut sig = vec![0u8; key.pair.public_modulus_len()];
    key.pair
        .sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA512,
            &SystemRandom::new(),
            out.as_bytes(),
            &mut sig,
        )
        .map_err(|_| OpenIdError::Signing)?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
    Ok(out)
}

/// The `kid` a token's header names, without verifying anything.
pub fn kid_of(token: &str) -> Option<String> {
    let header: Map<String, Value> = decode_json(token.split('.').next()?).ok()?;
    header.get("kid")?.as_str().map(str::to_string)
}

/// Verifies a token we issued: RS512 only, a `kid` of our ring, the signature, `exp` (with
/// leeway) and, when given, `iss`. Returns the claims.
pub fn verify(
    ring: &KeyRing,
    token: &str,
    now_s: i64,
    issuer: Option<&str>,
) -> Result<Map<String, Value>, OpenIdError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OpenIdError::Malformed);
    };
    let header: Map<String, Value> = decode_json(h)?;
    // The algorithm is pinned: a header naming anything else (none, HS*, RS256) is refused
    // before a key is even looked at.
    if header.get("alg").and_then(Value::as_str) != Some("RS512") {
        return Err(OpenIdError::Algorithm);
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(OpenIdError::UnknownKey)?;
    let key = ring.openid_by_kid(kid).ok_or(OpenIdError::UnknownKey)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| OpenIdError::Malformed)?;
    let signed = &token[..h.len() + 1 + p.len()];
    key.verifier
        .verify_sig(signed.as_bytes(), &sig)
        .map_err(|_| OpenIdError::Signature)?;
    let claims: Map<String, Value> = decode_json(p)?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(OpenIdError::Malformed)?;
    if now_s >= exp + LEEWAY_S {
        return Err(OpenIdError::Expired { now: now_s, exp });
    }
    if let Some(iss) = issuer
        && claims.get("iss").and_then(Value::as_str) != Some(iss)
    {
        return Err(OpenIdError::Issuer);
    }
    Ok(claims)
}

/// Reads a token's claims without verifying anything (to route it to the right checks).
pub fn peek_claims(token: &str) -> Option<Map<String, Value>> {
    decode_json(token.split('.').nth(1)?).ok()
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, OpenIdError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| OpenIdError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| OpenIdError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KIND_OPENID, KeyRing};
    use aws_lc_rs::encoding::AsDer;

    fn ring_with(ids: &[u32]) -> KeyRing {
        let rows: Vec<idpool_store::KeyRow> = ids
            .iter()
            .map(|id| {
                let pair =
                    aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                        .unwrap();
                idpool_store::KeyRow {
                    kind: KIND_OPENID.into(),
                    id: *id,
                    created_ms: i64::from(*id),
                    material: pair.as_der().unwrap().as_ref().to_vec(),
                }
            })
            .collect();
        KeyRing::from_rows(&rows, "us-east-1").expect("test key rows")
    }

    fn claims(exp: i64) -> Map<String, Value> {
        let v = serde_json::json!({"iss": "http://idp", "sub": "us-east-1:x", "aud": "us-east-1:p",
            "amr": ["unauthenticated"], "iat": exp - 600, "exp": exp});
        v.as_object().unwrap().clone()
    }

    #[test]
    fn minted_tokens_verify_and_carry_the_header() {
        let ring = ring_with(&[1]);
        let t = mint(&ring, &claims(10_000)).unwrap();
        let header: Map<String, Value> = decode_json(t.split('.').next().unwrap()).unwrap();
        assert_eq!(header["alg"], "RS512");
        assert_eq!(header["typ"], "JWS");
        assert_eq!(header["kid"], "us-east-1-1");
        let c = verify(&ring, &t, 9_000, Some("http://idp")).unwrap();
        assert_eq!(c["sub"], "us-east-1:x");
        assert_eq!(
            verify(&ring, &t, 9_000, Some("http://other")),
            Err(OpenIdError::Issuer)
        );
        assert!(matches!(
            verify(&ring, &t, 10_060, None),
            Err(OpenIdError::Expired { .. })
        ));
    }

    #[test]
    fn tampering_and_foreign_keys_are_refused() {
        let ring = ring_with(&[1]);
        let other = ring_with(&[1]);
        let t = mint(&ring, &claims(10_000)).unwrap();
        assert_eq!(verify(&other, &t, 9_000, None), Err(OpenIdError::Signature));
        let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
        let mut c = claims(10_000);
        c.insert("sub".into(), "us-east-1:attacker".into());
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        assert_eq!(
            verify(&ring, &parts.join("."), 9_000, None),
            Err(OpenIdError::Signature)
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(b"{\"alg\":\"none\",\"kid\":\"us-east-1-1\"}"),
            parts[1]
        );
        assert_eq!(
            verify(&ring, &none, 9_000, None),
            Err(OpenIdError::Algorithm)
        );
        assert_eq!(
            verify(&ring, "a.b", 9_000, None),
            Err(OpenIdError::Malformed)
        );
    }

    #[test]
    fn old_keys_keep_verifying_after_rotation() {
        let ring = ring_with(&[1, 2]);
        assert_eq!(ring.current_openid().unwrap().kid, "us-east-1-2");
        let jwks = ring.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
    }
}
