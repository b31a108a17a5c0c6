//! Provider key sets: JWK parsing and key selection, the fetcher trait, and the TTL cache with a refetch cool-down (security-and-performance.md §1.1 rows 4, 12, 13 and §1.2).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::jwt::{Alg, Curve, JwsError, strict_json};

/// Keys a set may hold; real providers publish two to five.
const MAX_KEYS: usize = 100;
/// Largest document fetched (key set or discovery document).
pub const MAX_DOCUMENT_BYTES: usize = 128 * 1024;
/// Members that only a private key has; a set carrying them was published by mistake.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
}

/// One usable public verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    /// The algorithm the key is bound to, when the set says so.
    pub alg: Option<Alg>,
    material: Material,
}

impl Jwk {
    /// Modulus and exponent, big-endian without leading zeros.
    pub(crate) fn rsa(&self) -> Option<(&[u8], &[u8])> {
        match &self.material {
            Material::Rsa { n, e } => Some((n, e)),
            Material::Ec { .. } => None,
        }
    }

    /// The uncompressed point, when the key is on `curve`.
    pub(crate) fn ec_point(&self, curve: Curve) -> Option<&[u8]> {
        match &self.material {
            Material::Ec { curve: c, point } if *c == curve => Some(point),
            _ => None,
        }
    }

    /// Whether the key may verify `alg`: its family and curve fit, and its own `alg`, if any,
    /// is the same (so a PS512 key never checks an RS256 signature).
    fn fits(&self, alg: Alg) -> bool {
        if self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        match (&self.material, alg.curve()) {
            (Material::Rsa { .. }, None) => true,
            (Material::Ec { curve, .. }, Some(c)) => *curve == c,
            _ => false,
        }
    }

    /// Reads one JWK; `None` when it is not a public signature key we can use.
    fn from_json(m: &Map<String, Value>) -> Option<Jwk> {
        if PRIVATE_MEMBERS.iter().any(|k| m.contains_key(*k)) {
            return None;
        }
        if let Some(u) = m.get("use")
            && u.as_str() != Some("sig")
        {
            return None;
        }
        if let Some(ops) = m.get("key_ops") {
            let verify = ops
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
            if !verify {
                return None;
            }
        }
        let alg = match m.get("alg") {
            None => None,
            Some(Value::String(a)) => Some(Alg::from_name(a)?),
            Some(_) => return None,
        };
        let kid = match m.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return None,
        };
        let material = match m.get("kty").and_then(Value::as_str)? {
            "RSA" => rsa_material(m)?,
            "EC" => ec_material(m)?,
            _ => return None,
        };
        let key = Jwk { kid, alg, material };
        // A key bound to an algorithm of the other family, or another curve, is contradictory.
        if let Some(a) = alg
            && !key.fits(a)
        {
            return None;
        }
        Some(key)
    }
}

fn member_bytes(m: &Map<String, Value>, name: &str) -> Option<Vec<u8>> {
    let s = m.get(name)?.as_str()?;
    // Key material comes from the provider's own endpoint; some publish standard base64.
    URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s.trim_end_matches('=')))
        .ok()
}

fn rsa_material(m: &Map<String, Value>) -> Option<Material> {
    let n = strip_zeros(member_bytes(m, "n")?);
    let e = strip_zeros(member_bytes(m, "e")?);
    // At least 2048 bits (the verification algorithms refuse less anyway); an exponent that is
    // odd, at least 3 and at most 2^32.
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(2048..=8192).contains(&bits) || e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 {
        return None;
    }
    if e.len() == 1 && e[0] < 3 {
        return None;
    }
    if roca_fingerprint(&n) {
        return None;
    }
    Some(Material::Rsa { n, e })
}

fn ec_material(m: &Map<String, Value>) -> Option<Material> {
    let curve = Curve::from_name(m.get("crv")?.as_str()?)?;
    let x = member_bytes(m, "x")?;
    let y = member_bytes(m, "y")?;
    let len = curve.coordinate_len();
    if x.len() != len || y.len() != len {
        return None;
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    // Refuses points that are not on the curve (invalid-curve attacks) once, at load time.
    aws_lc_rs::signature::ParsedPublicKey::new(curve.verification(), &point).ok()?;
    Some(Material::Ec { curve, point })
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.drain(..first);
    v
}

/// Whether a modulus has the structure of the keys generated by the Infineon library of
/// CVE-2017-15361 (ROCA): modulo each small prime it lies in the subgroup generated by 65537.
/// Such keys can be factored, so a set publishing one is not trusted with it.
fn roca_fingerprint(n: &[u8]) -> bool {
    // The odd primes up to 701: every ROCA modulus of 2048 bits or more is built from their
    // product, and a random modulus passes all of them with probability about 1e-50.
    const PRIMES: [u32; 125] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181,
        191, 193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281,
        283, 293, 307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397,
        401, 409, 419, 421, 431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503,
        509, 521, 523, 541, 547, 557, 563, 569, 571, 577, 587, 593, 599, 601, 607, 613, 617, 619,
        631, 641, 643, 647, 653, 659, 661, 673, 677, 683, 691, 701,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p);
        let g = 65537 % p;
        let mut x = 1u32;
        for _ in 0..p {
            if x == residue {
                return true;
            }
            x = x * g % p;
            if x == 1 {
                break;
            }
        }
        false
    })
}

/// A provider's usable keys. Entries that are not public signature keys we support (HMAC
/// secrets, encryption keys, private keys, unknown algorithms, weak or broken RSA moduli,
/// off-curve points) are left out rather than failing the whole set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error("the key set is not a JSON object with a keys array")]
    Malformed,
    #[error("the key set holds more than {MAX_KEYS} keys")]
    TooManyKeys,
}

impl KeySet {
    pub fn parse(bytes: &[u8]) -> Result<KeySet, KeySetError> {
        let v = strict_json(bytes).map_err(|_| KeySetError::Malformed)?;
        KeySet::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Result<KeySet, KeySetError> {
        let list = v
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(KeySetError::Malformed)?;
        if list.len() > MAX_KEYS {
            return Err(KeySetError::TooManyKeys);
        }
        let keys = list
            .iter()
            .filter_map(Value::as_object)
            .filter_map(Jwk::from_json)
            .collect();
        Ok(KeySet { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some key carries this `kid` (an unknown one justifies a refetch).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The one key for a header. `kid` is an exact-match lookup key and nothing else. Two
    /// fitting keys under one `kid` (or, without a `kid`, two fitting keys at all) are
    /// ambiguous and refused rather than tried in turn.
    pub fn select(&self, kid: Option<&str>, alg: Alg) -> Result<&Jwk, JwsError> {
        let mut fitting = self
            .keys
            .iter()
            .filter(|k| kid.is_none_or(|id| k.kid.as_deref() == Some(id)) && k.fits(alg));
        match (fitting.next(), fitting.next()) {
            (Some(k), None) => Ok(k),
            (Some(_), Some(_)) => Err(JwsError::AmbiguousKey),
            (None, _) => Err(JwsError::UnknownKey),
        }
    }
}

/// A fetched document and how long its server says it may be kept.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub max_age_s: Option<u64>,
}

/// Why a key set or discovery document could not be had. Shown to clients only as
/// ExternalServiceException with a fixed message; the detail is logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("URL refused: {0}")]
    Refused(String),
    #[error("transport: {0}")]
    Transport(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("document larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("unreadable document: {0}")]
    Unreadable(String),
    #[error("a recent fetch failed; waiting for the cool-down")]
    CoolingDown,
}

/// The methods outbound calls use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// An outbound call that needs more than a plain GET: request headers (an OAuth or SigV4
/// `Authorization`) and, for POST, a body.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    /// Header names and values, sent as given.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Request {
        Request {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn post(url: impl Into<String>, body: Vec<u8>) -> Request {
        Request {
            method: Method::Post,
            url: url.into(),
            headers: Vec::new(),
            body,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The value of a header, by case-insensitive name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Header values and the query carry credentials (an `Authorization`, Facebook's
/// `access_token`) and the body may name users, so only their shape prints.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &url)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The answer to a [`Request`], whatever its status: callers read error bodies too (an AWS
/// error's `__type`, a provider's refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Gets documents over HTTP(S). A trait so tests can serve keys without a network.
#[async_trait::async_trait]
pub trait Fetcher: Send + Sync {
    /// A document: any status other than 2xx is an error.
    async fn get(&self, url: &str) -> Result<Fetched, FetchError>;

    /// One call with headers and a body. Redirects are not followed and the body is capped
    /// at [`MAX_DOCUMENT_BYTES`] as for `get`; a non-2xx status is an answer, not an error.
    async fn send(&self, request: &Request) -> Result<Answer, FetchError>;
}

/// `https://` anywhere; `http://` only to this machine unless the operator allowed it for
/// that provider. No user-info, fragments or whitespace.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), FetchError> {
    let refused = || FetchError::Refused(url.chars().take(200).collect());
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(refused());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty()
        || authority.contains('@')
        || url.contains('#')
        || url.contains(|c: char| c.is_whitespace() || c.is_control())
    {
        return Err(refused());
    }
    if lower.starts_with("http://") && !allow_http && !is_loopback_authority(authority) {
        return Err(refused());
    }
    Ok(())
}

/// Whether `host[:port]` names this machine.
pub fn is_loopback_authority(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How long documents are kept and how often a URL may be fetched.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// Kept this long when the server sends no `max-age`.
    pub default_ttl_s: u64,
    /// A server's `max-age` is clamped into this range.
    pub min_ttl_s: u64,
    pub max_ttl_s: u64,
    /// At most one fetch per URL in this many seconds, successful or not.
    pub cooldown_s: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            default_ttl_s: 600,
            min_ttl_s: 300,
            max_ttl_s: 86_400,
            cooldown_s: 30,
        }
    }
}

struct Slot<T> {
    value: Option<Arc<T>>,
    fetched_ms: i64,
    ttl_ms: i64,
    last_attempt_ms: Option<i64>,
    last_error: Option<FetchError>,
}

/// Parsed documents by URL. One async lock per URL makes concurrent misses share one fetch.
pub struct DocCache<T> {
    slots: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot<T>>>>>,
}

impl<T> Default for DocCache<T> {
    fn default() -> Self {
        DocCache {
            slots: std::sync::Mutex::new(HashMap::new()),
        }
    }
}

/// URLs remembered before the table is emptied; URLs come from configuration, never from
/// tokens, so this only bounds a misconfiguration.
const MAX_URLS: usize = 1_024;

impl<T: Send + Sync> DocCache<T> {
    fn slot(&self, url: &str) -> Arc<tokio::sync::Mutex<Slot<T>>> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() >= MAX_URLS && !slots.contains_key(url) {
            slots.clear();
        }
        slots
            .entry(url.to_string())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Slot {
                    value: None,
                    fetched_ms: 0,
                    ttl_ms: 0,
                    last_attempt_ms: None,
                    last_error: None,
                }))
            })
            .clone()
    }

    /// The document at `url`. A fresh cached copy that `wanted` accepts is returned at once;
    /// otherwise the URL is fetched, at most once per cool-down. When a fetch fails or is not
    /// allowed yet, the last good copy is returned if there is one.
    pub async fn get(
        &self,
        fetcher: &dyn Fetcher,
        policy: &CachePolicy,
        url: &str,
        now_ms: i64,
        parse: impl Fn(&[u8]) -> Result<T, String> + Send,
        wanted: impl Fn(&T) -> bool + Send,
    ) -> Result<Arc<T>, FetchError> {
        let slot = self.slot(url);
        let mut s = slot.lock().await;
        if let Some(v) = &s.value
            && now_ms < s.fetched_ms.saturating_add(s.ttl_ms)
            && wanted(v)
        {
            return Ok(v.clone());
        }
        let cooldown_ms = i64::try_from(policy.cooldown_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let may_fetch = s
            .last_attempt_ms
            .is_none_or(|t| now_ms < t || now_ms - t >= cooldown_ms);
        if !may_fetch {
            return match &s.value {
                Some(v) => Ok(v.clone()),
                None => Err(s.last_error.clone().unwrap_or(FetchError::CoolingDown)),
            };
        }
        s.last_attempt_ms = Some(now_ms);
        let outcome = match fetcher.get(url).await {
            Ok(f) if f.body.len() > MAX_DOCUMENT_BYTES => Err(FetchError::TooLarge),
            Ok(f) => parse(&f.body)
                .map(|v| (v, f.max_age_s))
                .map_err(FetchError::Unreadable),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((v, max_age)) => {
                let ttl_s = max_age
                    .unwrap_or(policy.default_ttl_s)
                    .clamp(policy.min_ttl_s, policy.max_ttl_s.max(policy.min_ttl_s));
                let v = Arc::new(v);
                s.value = Some(v.clone());
                s.fetched_ms = now_ms;
                s.ttl_ms = i64::try_from(ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX);
                s.last_error = None;
                Ok(v)
            }
            Err(e) => {
                tracing::warn!(url, error = %e, "identity provider document fetch failed");
                s.last_error = Some(e.clone());
                s.value.clone().ok_or(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Serves documents from a map and counts requests.
    #[derive(Default)]
    struct MapFetcher {
        docs: Mutex<HashMap<String, Result<Fetched, FetchError>>>,
        calls: AtomicUsize,
    }

    impl MapFetcher {
        fn set(&self, url: &str, body: Result<&str, FetchError>) {
            self.docs.lock().unwrap().insert(
                url.into(),
                body.map(|b| Fetched {
                    body: b.as_bytes().to_vec(),
                    max_age_s: None,
                }),
            );
        }
    }

    #[async_trait::async_trait]
    impl Fetcher for MapFetcher {
        async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.docs
                .lock()
                .unwrap()
                .get(url)
                .cloned()
                .unwrap_or(Err(FetchError::Status(404)))
        }

        async fn send(&self, request: &Request) -> Result<Answer, FetchError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let found = self.docs.lock().unwrap().get(&request.url).cloned();
            match found {
                Some(Ok(f)) if request.method == Method::Get => Ok(Answer {
                    status: 200,
                    body: f.body,
                }),
                Some(Err(FetchError::Status(status))) => Ok(Answer {
                    status,
                    body: Vec::new(),
                }),
                Some(Err(e)) => Err(e),
                _ => Ok(Answer {
                    status: 404,
                    body: Vec::new(),
                }),
            }
        }
    }

    fn parse_text(b: &[u8]) -> Result<String, String> {
        String::from_utf8(b.to_vec()).map_err(|e| e.to_string())
    }

    const URL: &str = "https://idp.example/keys";

    #[tokio::test]
    async fn fresh_copies_are_served_and_unknown_items_refetch_once_per_cooldown() {
        let f = MapFetcher::default();
        f.set(URL, Ok("a"));
        let cache = DocCache::<String>::default();
        let p = CachePolicy::default();
        let get = |now: i64, want: &'static str| {
            cache.get(&f, &p, URL, now, parse_text, move |v: &String| {
                v.contains(want)
            })
        };
        assert_eq!(*get(0, "a").await.unwrap(), "a");
        assert_eq!(*get(1_000, "a").await.unwrap(), "a");
        assert_eq!(
            f.calls.load(Ordering::SeqCst),
            1,
            "a fresh hit fetches nothing"
        );
        // The provider rotates; a flood of unknown items causes one fetch per cool-down.
        f.set(URL, Ok("ab"));
        for i in 0..50 {
            let _ = get(2_000 + i * 100, "z").await;
        }
        assert_eq!(f.calls.load(Ordering::SeqCst), 1, "inside the cool-down");
        assert_eq!(*get(31_000, "b").await.unwrap(), "ab");
        assert_eq!(f.calls.load(Ordering::SeqCst), 2);
        for i in 0..100 {
            let _ = get(31_000 + i * 1_000, "z").await;
        }
        // 100 s of unknown items with a 30 s cool-down: at most 100/30 + 1 fetches more.
        assert!(f.calls.load(Ordering::SeqCst) <= 2 + 4);
    }

    #[tokio::test]
    async fn failures_keep_the_last_good_copy_and_are_throttled() {
        let f = MapFetcher::default();
        let cache = DocCache::<String>::default();
        let p = CachePolicy::default();
        f.set(URL, Err(FetchError::Status(500)));
        let e = cache.get(&f, &p, URL, 0, parse_text, |_| true).await;
        assert_eq!(e.unwrap_err(), FetchError::Status(500));
        // Within the cool-down the failure is repeated without a request.
        let e = cache.get(&f, &p, URL, 5_000, parse_text, |_| true).await;
        assert_eq!(e.unwrap_err(), FetchError::Status(500));
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
        f.set(URL, Ok("good"));
        let v = cache.get(&f, &p, URL, 30_000, parse_text, |_| true).await;
        assert_eq!(*v.unwrap(), "good");
        // Past the TTL the endpoint fails: the stale copy still answers.
        f.set(URL, Err(FetchError::Transport("timed out".into())));
        let v = cache
            .get(&f, &p, URL, 30_000 + 601_000, parse_text, |_| true)
            .await;
        assert_eq!(*v.unwrap(), "good");
        assert_eq!(f.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn oversized_and_unreadable_documents_are_refused() {
        let f = MapFetcher::default();
        let cache = DocCache::<KeySet>::default();
        let p = CachePolicy::default();
        let big = format!(
            "{{\"keys\":[],\"pad\":\"{}\"}}",
            "x".repeat(MAX_DOCUMENT_BYTES)
        );
        f.set(URL, Ok(&big));
        let parse = |b: &[u8]| KeySet::parse(b).map_err(|e| e.to_string());
        let e = cache
            .get(&f, &p, URL, 0, parse, |_| true)
            .await
            .unwrap_err();
        assert_eq!(e, FetchError::TooLarge);
        f.set(URL, Ok("not json"));
        let e = cache
            .get(&f, &p, URL, 60_000, parse, |_| true)
            .await
            .unwrap_err();
        assert!(matches!(e, FetchError::Unreadable(_)));
        let many = format!("{{\"keys\":[{}]}}", vec!["{}"; MAX_KEYS + 1].join(","));
        assert_eq!(
            KeySet::parse(many.as_bytes()),
            Err(KeySetError::TooManyKeys)
        );
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let f = Arc::new(MapFetcher::default());
        f.set(URL, Ok("a"));
        let cache = Arc::new(DocCache::<String>::default());
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (f, cache) = (f.clone(), cache.clone());
            tasks.push(tokio::spawn(async move {
                let p = CachePolicy::default();
                cache
                    .get(f.as_ref(), &p, URL, 0, parse_text, |_| true)
                    .await
                    .map(|v| (*v).clone())
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), "a");
        }
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    }

    /// Facebook's and Amazon's token APIs take the access token in the query string.
    #[test]
    fn a_request_prints_neither_its_query_nor_its_header_values() {
        let r = Request::get("https://graph.facebook.com/me?access_token=EAAB-live-token")
            .header("authorization", "OAuth oauth_signature=\"abc\"");
        let printed = format!("{r:?}");
        assert!(
            printed.contains("https://graph.facebook.com/me"),
            "{printed}"
        );
        assert!(printed.contains("authorization"), "{printed}");
        assert!(
            !printed.contains("EAAB-live-token") && !printed.contains("oauth_signature"),
            "{printed}"
        );
    }

    #[test]
    fn urls_follow_the_scheme_rule() {
        assert!(check_url("https://idp.example/.well-known/jwks.json", false).is_ok());
        assert!(check_url("http://127.0.0.1:9229/pool/.well-known/jwks.json", false).is_ok());
        assert!(check_url("http://localhost:9229/x", false).is_ok());
        assert!(check_url("http://[::1]:9229/x", false).is_ok());
        assert!(check_url("http://idp.example/x", false).is_err());
        assert!(check_url("http://idp.example/x", true).is_ok());
        assert!(check_url("file:///etc/passwd", true).is_err());
        assert!(check_url("https://user@idp.example/x", false).is_err());
        assert!(check_url("https:///x", false).is_err());
        assert!(check_url("https://idp.example/x#frag", false).is_err());
    }

    #[test]
    fn unusable_keys_are_left_out() {
        let rsa =
            aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        use aws_lc_rs::signature::KeyPair as _;
        let public = rsa.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let good = serde_json::json!({"kty": "RSA", "kid": "a", "n": n, "e": "AQAB", "use": "sig", "alg": "RS256"});
        let with = |k: &str, v: Value| {
            let mut x = good.clone();
            x[k] = v;
            x
        };
        let set = serde_json::json!({"keys": [
            good.clone(),
            with("use", "enc".into()),
            with("key_ops", serde_json::json!(["encrypt"])),
            with("alg", "HS256".into()),
            with("alg", "ES256".into()),
            with("e", "AQ".into()),
            with("e", "Aw".into()),
            with("d", "AQAB".into()),
            with("kty", "oct".into()),
            with("kid", 5.into()),
        ]});
        let ks = KeySet::from_value(&set).unwrap();
        // The genuine key and the e=3 variant stay.
        assert_eq!(ks.len(), 2);
        assert!(ks.has_kid("a"));
        assert_eq!(
            ks.select(Some("a"), Alg::Rs256),
            Err(JwsError::AmbiguousKey)
        );
        assert_eq!(ks.select(Some("b"), Alg::Rs256), Err(JwsError::UnknownKey));
        assert_eq!(ks.select(Some("a"), Alg::Ps256), Err(JwsError::UnknownKey));
        assert_eq!(ks.select(Some("a"), Alg::Es256), Err(JwsError::UnknownKey));
    }
}
