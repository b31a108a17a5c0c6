//! Compact JWS parsing and signature checks, and the claim checks every login token shares (security-and-performance.md §1.1 rows 1-12).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::jwks::{Jwk, KeySet};

/// The longest token accepted: the model's bound on a `Logins` value (spec §3.3).
pub const MAX_TOKEN_BYTES: usize = 50_000;
/// The longest encoded header: ID token headers are under 200 bytes, and even one carrying an
/// `x5c` chain fits; anything larger is refused before decoding.
const MAX_HEADER_BYTES: usize = 8_192;
/// Clock leeway for `exp`, `nbf` and `iat` of outside providers' tokens: AWS documents a
/// five-minute clock-skew allowance for OpenID Connect logins (spec §4.2.2), so a token AWS
/// would still take is taken here too.
pub const LEEWAY_S: i64 = 300;

/// The signature algorithms accepted from outside identity providers. HMAC and `none` are
/// absent on purpose: a shared secret cannot come from a public key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
}

/// The curves our EC algorithms use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Alg {
    /// The allow-list lookup: exact, case-sensitive names only.
    pub fn from_name(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
        }
    }

    /// The curve an EC algorithm is bound to; `None` for RSA algorithms.
    pub fn curve(self) -> Option<Curve> {
        match self {
            Alg::Es256 => Some(Curve::P256),
            Alg::Es384 => Some(Curve::P384),
            _ => None,
        }
    }

    fn rsa_params(self) -> Option<&'static aws_lc_rs::signature::RsaParameters> {
        use aws_lc_rs::signature as s;
        Some(match self {
            Alg::Rs256 => &s::RSA_PKCS1_2048_8192_SHA256,
            Alg::Rs384 => &s::RSA_PKCS1_2048_8192_SHA384,
            Alg::Rs512 => &s::RSA_PKCS1_2048_8192_SHA512,
            Alg::Ps256 => &s::RSA_PSS_2048_8192_SHA256,
            Alg::Ps384 => &s::RSA_PSS_2048_8192_SHA384,
            Alg::Ps512 => &s::RSA_PSS_2048_8192_SHA512,
            Alg::Es256 | Alg::Es384 => return None,
        })
    }
}

impl Curve {
    pub fn from_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            _ => None,
        }
    }

    /// Bytes of one coordinate.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    pub(crate) fn verification(self) -> &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm {
        match self {
            Curve::P256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
        }
    }
}

/// Why a token's JWS layer was refused. None of these reaches a client as such: they all
/// become "Couldn't verify signed token.".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the token is too large")]
    TooLarge,
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the algorithm is not accepted")]
    Algorithm,
    #[error("the header uses an extension we do not implement")]
    Unsupported,
    #[error("no key of the provider matches the token")]
    UnknownKey,
    #[error("several keys of the provider match the token")]
    AmbiguousKey,
    #[error("the signature does not verify")]
    Signature,
}

/// The protected header, as far as verification uses it. `jku`, `x5u`, `jwk` and `x5c` are
/// read by nobody: keys come only from the provider's configured key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: Alg,
    pub kid: Option<String>,
    pub typ: Option<String>,
}

/// A token split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    pub header: Header,
    signing_input: &'a str,
    pub payload: Vec<u8>,
    signature: Vec<u8>,
}

/// Splits a compact JWS and decodes its parts, refusing before any key is looked at: oversized
/// input, anything but exactly three segments, non-canonical base64url, a header that is not a
/// JSON object without duplicate members, an algorithm off the allow-list, `crit`, `b64: false`
/// and JWE/compression members.
pub fn parse(token: &str) -> Result<Jws<'_>, JwsError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwsError::TooLarge);
    }
    // splitn bounds the work whatever the number of dots (golang-jwt CVE-2025-30204).
    let mut parts = token.splitn(4, '.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    if h.is_empty() || s.is_empty() || h.len() > MAX_HEADER_BYTES {
        return Err(JwsError::Malformed);
    }
    let header_bytes = decode_segment(h)?;
    let header = match strict_json(&header_bytes) {
        Ok(Value::Object(m)) => read_header(&m)?,
        _ => return Err(JwsError::Malformed),
    };
    let payload = decode_segment(p)?;
    let signature = decode_segment(s)?;
    Ok(Jws {
        header,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload,
        signature,
    })
}

fn read_header(m: &Map<String, Value>) -> Result<Header, JwsError> {
    let alg = match m.get("alg") {
        Some(Value::String(a)) => Alg::from_name(a).ok_or(JwsError::Algorithm)?,
        _ => return Err(JwsError::Malformed),
    };
    // RFC 7515 §4.1.11: an extension the recipient does not understand makes the JWS invalid,
    // and we implement none. `b64` (RFC 7797) would change what was signed.
    for member in ["crit", "b64", "zip", "enc"] {
        if m.contains_key(member) {
            return Err(JwsError::Unsupported);
        }
    }
    let kid = match m.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(JwsError::Malformed),
    };
    let typ = match m.get("typ") {
        None => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(JwsError::Malformed),
    };
    Ok(Header { alg, kid, typ })
}

/// base64url without padding, canonical (unused bits zero), as RFC 7515 §2 requires.
fn decode_segment(s: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| JwsError::Malformed)
}

/// Verifies the signature with the one key of `keys` that the header selects.
pub fn verify(jws: &Jws<'_>, keys: &KeySet) -> Result<(), JwsError> {
    let key = keys.select(jws.header.kid.as_deref(), jws.header.alg)?;
    verify_with(jws, key)
}

fn verify_with(jws: &Jws<'_>, key: &Jwk) -> Result<(), JwsError> {
    let message = jws.signing_input.as_bytes();
    let alg = jws.header.alg;
    let ok = match (alg.rsa_params(), alg.curve()) {
        (Some(params), _) => {
            let (n, e) = key.rsa().ok_or(JwsError::UnknownKey)?;
            aws_lc_rs::signature::RsaPublicKeyComponents { n, e }
                .verify(params, message, &jws.signature)
                .is_ok()
        }
        (None, Some(curve)) => {
            let point = key.ec_point(curve).ok_or(JwsError::UnknownKey)?;
            // JWS carries r||s of fixed width; anything else is refused by the _FIXED
            // algorithms, which also reject r or s equal to zero or not below the order.
            aws_lc_rs::signature::UnparsedPublicKey::new(curve.verification(), point)
                .verify(message, &jws.signature)
                .is_ok()
        }
        (None, None) => false,
    };
    if ok { Ok(()) } else { Err(JwsError::Signature) }
}

/// Parses, selects the key and verifies: the JWS layer alone, payload returned as bytes.
pub fn verify_compact(token: &str, keys: &KeySet) -> Result<(Header, Vec<u8>), JwsError> {
    let jws = parse(token)?;
    verify(&jws, keys)?;
    Ok((jws.header, jws.payload))
}

/// Why the claims of a genuine token were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("the claims are not a JSON object")]
    Malformed,
    #[error("missing claim {0}")]
    Missing(&'static str),
    #[error("claim {0} has the wrong type")]
    Invalid(&'static str),
    #[error("token expired: {now} >= {exp}")]
    Expired { now: i64, exp: i64 },
    #[error("token not valid before {nbf}")]
    NotYetValid { now: i64, nbf: i64 },
    #[error("token issued in the future")]
    IssuedInFuture { now: i64, iat: i64 },
}

/// The claims set: a JSON object, valid UTF-8, no trailing data, no duplicate member at any
/// depth (two `sub` members must not mean different things to different readers).
pub fn parse_claims(payload: &[u8]) -> Result<Map<String, Value>, ClaimError> {
    match strict_json(payload) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ClaimError::Malformed),
    }
}

/// A NumericDate claim: a JSON number (fractions dropped). Strings, booleans and the like are
/// refused rather than treated as absent.
pub fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, ClaimError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
                    _ => Err(ClaimError::Invalid(name)),
                }
            }
        }
        Some(_) => Err(ClaimError::Invalid(name)),
    }
}

/// `exp` required; `nbf` and `iat` checked when present; `leeway` seconds each way.
pub fn check_times(claims: &Map<String, Value>, now: i64, leeway: i64) -> Result<(), ClaimError> {
    let exp = numeric_date(claims, "exp")?.ok_or(ClaimError::Missing("exp"))?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    if now >= exp.saturating_add(leeway) {
        return Err(ClaimError::Expired { now, exp });
    }
    if let Some(nbf) = nbf
        && now.saturating_add(leeway) < nbf
    {
        return Err(ClaimError::NotYetValid { now, nbf });
    }
    if let Some(iat) = iat
        && iat > now.saturating_add(leeway)
    {
        return Err(ClaimError::IssuedInFuture { now, iat });
    }
    Ok(())
}

/// `aud` as a list: a string or a non-empty array of non-empty strings. Missing, empty and
/// any other shape are refused (jwt-go CVE-2020-26160: an empty array must not pass).
pub fn audiences(claims: &Map<String, Value>) -> Result<Vec<&str>, ClaimError> {
    match claims.get("aud") {
        None => Err(ClaimError::Missing("aud")),
        Some(Value::String(s)) if !s.is_empty() => Ok(vec![s.as_str()]),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() => Ok(s.as_str()),
                _ => Err(ClaimError::Invalid("aud")),
            })
            .collect(),
        Some(Value::Array(_)) => Err(ClaimError::Missing("aud")),
        Some(_) => Err(ClaimError::Invalid("aud")),
    }
}

/// A required string claim, non-empty.
pub fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, ClaimError> {
    match claims.get(name) {
        None => Err(ClaimError::Missing(name)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(ClaimError::Invalid(name)),
    }
}

/// Parses JSON refusing duplicate object members. serde_json's own `Value` keeps the last
/// duplicate silently, so the tree is built here.
pub fn strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom("duplicate member"));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}
