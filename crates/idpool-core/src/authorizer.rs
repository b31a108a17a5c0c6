//! The authorizer for resource servers: may this idpool-signed request do what the service maps it to? (design.md "The authorizer for resource servers").

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};
use idpool_wire::WireError;
use idpool_wire::sigv4::{self, CredentialError, SecretKey, SecretLookup, SigV4Error};
use serde::{Deserialize, Serialize};

use crate::Core;
use crate::policy::eval::Decision;
use crate::session::{SessionClaims, SessionLookup};

#[cfg(test)]
mod tests;

/// A question: a request as the resource server received it, and the action and resource the
/// service maps it to.
#[derive(Clone)]
pub struct AuthorizeRequest {
    pub method: String,
    /// `http://host/path?query` or `/path?query`, percent-encoded exactly as received.
    pub url: String,
    /// Every header the client sent. Without a `host`, the URL's authority stands in for it.
    pub headers: HeaderMap,
    /// `service:Operation`, e.g. `s3:GetObject`.
    pub action: String,
    /// e.g. `arn:aws:s3:::bucket/key`.
    pub resource: String,
    /// Request context keys the resource server knows, such as `aws:SourceIp`. Keys that
    /// describe the principal come from the session and may not be given here.
    pub context: Vec<(String, Vec<String>)>,
    /// SHA-256 (64 hex digits) of the exact body the client sent, for a service that does not
    /// pass the body: outside S3 the signature covers it. `None` checks the request as one
    /// without a body.
    pub payload_sha256: Option<String>,
}

impl std::fmt::Debug for AuthorizeRequest {
    // Header values and the query may carry the session token; names and the path do not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.url.split(['?', '#']).next().unwrap_or_default();
        let names: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("AuthorizeRequest")
            .field("method", &self.method)
            .field("url", &path)
            .field("headers", &names)
            .field("action", &self.action)
            .field("resource", &self.resource)
            .field("context", &self.context)
            .field("payload_sha256", &self.payload_sha256)
            .finish()
    }
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Allow,
    Deny,
}

/// Why the verdict is what it is. `Display` is the `reason` text of the wire answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Allowed,
    ExplicitlyDenied,
    NoPolicyAllows,
    /// The account's root keys: long-term, all-powerful, and never to be handed to clients.
    RootCredentials,
    UnknownAccessKey,
    /// The session token was altered, or sealed by another key ring.
    InvalidSessionToken,
    ExpiredSessionToken,
    BadSignature,
    /// A header signature older than the allowed clock skew.
    ExpiredSignature,
    SignatureNotYetValid,
    ExpiredPresignedUrl,
    MissingSignature,
    MalformedSignature(String),
    /// The credential scope names another region or service, or a bad date or terminator.
    BadScope(String),
    /// The question itself cannot be used (only reachable through the library call, whose
    /// caller built the request by hand; the HTTP endpoint answers 400 instead).
    BadQuestion(String),
    /// The role could not be read; the request is refused rather than guessed about.
    Internal,
}

impl Reason {
    /// A short stable name, for logs and metrics: unlike the text, it never carries request data.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Allowed => "allowed",
            Reason::ExplicitlyDenied => "explicitly_denied",
            Reason::NoPolicyAllows => "no_policy_allows",
            Reason::RootCredentials => "root_credentials",
            Reason::UnknownAccessKey => "unknown_access_key",
            Reason::InvalidSessionToken => "invalid_session_token",
            Reason::ExpiredSessionToken => "expired_session_token",
            Reason::BadSignature => "bad_signature",
            Reason::ExpiredSignature => "expired_signature",
            Reason::SignatureNotYetValid => "signature_not_yet_valid",
            Reason::ExpiredPresignedUrl => "expired_presigned_url",
            Reason::MissingSignature => "missing_signature",
            Reason::MalformedSignature(_) => "malformed_signature",
            Reason::BadScope(_) => "bad_scope",
            Reason::BadQuestion(_) => "bad_question",
            Reason::Internal => "internal",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Allowed => f.write_str("allowed by policy"),
            Reason::ExplicitlyDenied => f.write_str("explicitly denied by policy"),
            Reason::NoPolicyAllows => f.write_str("no policy allows"),
            Reason::RootCredentials => {
                f.write_str("root credentials are not accepted by the authorizer")
            }
            Reason::UnknownAccessKey => f.write_str("unknown access key"),
            Reason::InvalidSessionToken => f.write_str("tampered or foreign session token"),
            Reason::ExpiredSessionToken => f.write_str("expired session token"),
            Reason::BadSignature => f.write_str("bad signature"),
            Reason::ExpiredSignature => {
                f.write_str("expired signature: the request time is older than the allowed skew")
            }
            Reason::SignatureNotYetValid => f.write_str(
                "signature not yet valid: the request time is later than the allowed skew",
            ),
            Reason::ExpiredPresignedUrl => f.write_str("expired presigned URL"),
            Reason::MissingSignature => {
                f.write_str("missing signature: no Authorization header and no presigned query")
            }
            Reason::MalformedSignature(m) => write!(f, "malformed signature: {m}"),
            Reason::BadScope(m) => write!(f, "bad credential scope: {}", m.trim()),
            Reason::BadQuestion(m) => write!(f, "bad question: {m}"),
            Reason::Internal => f.write_str("internal error"),
        }
    }
}

/// Who signed, as the resource server may want to log or use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
    pub identity_id: Option<String>,
    pub pool_id: Option<String>,
    pub role_arn: String,
    pub session_name: String,
    /// Principal (session) tags.
    pub tags: BTreeMap<String, String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeAnswer {
    pub decision: Verdict,
    pub reason: Reason,
    /// Present once the signature and session token checked out.
    pub principal: Option<Principal>,
    /// The payload hash the signature covers: a hex SHA-256 the caller must compare with the
    /// body, `UNSIGNED-PAYLOAD`, or a `STREAMING-*` mode whose chunks carry their own signatures.
    /// With `payload_sha256` in the question, a hex value here is that hash (lower-cased).
    pub payload_hash: Option<String>,
}

impl AuthorizeAnswer {
    fn deny(reason: Reason) -> Self {
        AuthorizeAnswer {
            decision: Verdict::Deny,
            reason,
            principal: None,
            payload_hash: None,
        }
    }

    pub fn is_allowed(&self) -> bool {
        self.decision == Verdict::Allow
    }

    /// The wire answer: `{"decision", "reason", "principal"?}`.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            decision: Verdict,
            reason: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            principal: Option<&'a Principal>,
        }
        serde_json::to_string(&Wire {
            decision: self.decision,
            reason: self.reason.to_string(),
            principal: self.principal.as_ref(),
        })
        .unwrap_or_else(|_| r#"{"decision":"Deny","reason":"internal error"}"#.to_string())
    }
}

/// What the embedding service decides about the check itself.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizerOptions<'a> {
    /// Allowed distance between the request time and now, both ways.
    pub max_skew_ms: i64,
    /// The account's root key id, so that a request signed with it is named as such.
    pub root_access_key_id: Option<&'a str>,
}

impl Default for AuthorizerOptions<'_> {
    fn default() -> Self {
        AuthorizerOptions {
            max_skew_ms: sigv4::DEFAULT_MAX_SKEW_MS,
            root_access_key_id: None,
        }
    }
}

/// [`authorize_with`] with AWS's 15-minute skew.
pub async fn authorize(core: &Core, req: &AuthorizeRequest, now_ms: i64) -> AuthorizeAnswer {
    authorize_with(core, req, &AuthorizerOptions::default(), now_ms).await
}

/// Verifies the request's SigV4 signature (header or presigned; S3's payload modes when the
/// action or the signing service is S3), opens its session token, and evaluates the role's
/// policies with the session policies for `action` on `resource`.
///
/// Never fails: anything that cannot be verified or evaluated is a `Deny` with its reason.
pub async fn authorize_with(
    core: &Core,
    req: &AuthorizeRequest,
    opts: &AuthorizerOptions<'_>,
    now_ms: i64,
) -> AuthorizeAnswer {
    if let Err(m) = check_action(&req.action)
        .and_then(|()| check_context(&req.context))
        .and_then(|()| check_payload_sha256(req.payload_sha256.as_deref()))
    {
        return AuthorizeAnswer::deny(Reason::BadQuestion(m));
    }
    if let Ok(target) = split_url(&req.url) {
        core.ring_for_request(
            &with_host(&req.headers, target.authority),
            Some(target.query),
        )
        .await;
    }
    let (claims, payload_hash) = match verify_request(core, req, opts, now_ms) {
        Ok(v) => v,
        Err(reason) => return AuthorizeAnswer::deny(reason),
    };
    let principal = Principal {
        arn: crate::sts::assumed_role_arn(core, &claims.role_arn, &claims.session_name),
        identity_id: claims.identity_id.clone(),
        pool_id: claims.pool_id.clone(),
        role_arn: claims.role_arn.clone(),
        session_name: claims.session_name.clone(),
        tags: claims.tags.clone(),
    };
    let decision = crate::authz::evaluate_session_with(
        core,
        &claims,
        &req.action,
        &req.resource,
        &req.context,
        now_ms,
    )
    .await;
    let (decision, reason) = match decision {
        Ok(Decision::Allowed) => (Verdict::Allow, Reason::Allowed),
        Ok(Decision::ExplicitlyDenied) => (Verdict::Deny, Reason::ExplicitlyDenied),
        Ok(Decision::ImplicitlyDenied) => (Verdict::Deny, Reason::NoPolicyAllows),
        Err(e) => {
            tracing::error!(error = %e, "authorizer could not read the role");
            (Verdict::Deny, Reason::Internal)
        }
    };
    AuthorizeAnswer {
        decision,
        reason,
        principal: Some(principal),
        payload_hash: Some(payload_hash),
    }
}

/// Session lookup that also recognises root's key id, so its refusal can say why.
struct AuthorizerLookup<'a> {
    sessions: SessionLookup,
    root_access_key_id: Option<&'a str>,
    root_seen: AtomicBool,
}

impl SecretLookup for AuthorizerLookup<'_> {
    fn secret_for(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<SecretKey, CredentialError> {
        if session_token.is_none() && self.root_access_key_id == Some(access_key_id) {
            self.root_seen.store(true, Ordering::Relaxed);
        }
        self.sessions.secret_for(access_key_id, session_token)
    }
}

fn verify_request(
    core: &Core,
    req: &AuthorizeRequest,
    opts: &AuthorizerOptions,
    now_ms: i64,
) -> Result<(SessionClaims, String), Reason> {
    let target = split_url(&req.url).map_err(Reason::BadQuestion)?;
    let headers = with_host(&req.headers, target.authority);
    let s3_action = req
        .action
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("s3:"));
    let s3_style = s3_action || signing_service(&headers, target.query).as_deref() == Some("s3");
    let parts = sigv4::RequestParts {
        method: &req.method,
        path: target.path,
        query: target.query,
        headers: &headers,
        body: &[],
    };
    let verify_opts = sigv4::VerifyOptions {
        now_ms,
        max_skew_ms: opts.max_skew_ms,
        region: Some(&core.region),
        // S3 signs as `s3` whatever the endpoint: a signature for another service is not one.
        service: s3_action.then_some("s3"),
        s3_style,
    };
    let lookup = AuthorizerLookup {
        sessions: SessionLookup::new(core.keys.get(), now_ms),
        root_access_key_id: opts.root_access_key_id,
        root_seen: AtomicBool::new(false),
    };
    let verified = match req.payload_sha256.as_deref() {
        Some(hash) => sigv4::verify_with_payload_hash(&parts, hash, &verify_opts, &lookup),
        None => sigv4::verify(&parts, &verify_opts, &lookup),
    };
    match verified {
        Ok(verified) => {
            // Outside S3 a caller that hashed the body expects the Allow to vouch for it, so a
            // client that signed without covering the body (UNSIGNED-PAYLOAD, streaming) is
            // refused rather than allowed with a body nobody checked.
            if let Some(hash) = req.payload_sha256.as_deref()
                && !s3_action
                && !verified.payload_hash.eq_ignore_ascii_case(hash)
            {
                return Err(Reason::MalformedSignature(
                    "the signature does not cover the request body".into(),
                ));
            }
            // verify succeeds only after the lookup opened the token, so the claims are there.
            let claims = lookup.sessions.take_claims().ok_or(Reason::Internal)?;
            Ok((claims, verified.payload_hash))
        }
        Err(SigV4Error::UnknownAccessKey) if lookup.root_seen.load(Ordering::Relaxed) => {
            Err(Reason::RootCredentials)
        }
        Err(e) => Err(refusal(e)),
    }
}

fn refusal(e: SigV4Error) -> Reason {
    match e {
        SigV4Error::Missing => Reason::MissingSignature,
        SigV4Error::Incomplete(m) | SigV4Error::Malformed(m) => Reason::MalformedSignature(m),
        SigV4Error::Scope(m) => Reason::BadScope(m),
        SigV4Error::UnknownAccessKey => Reason::UnknownAccessKey,
        SigV4Error::InvalidSessionToken => Reason::InvalidSessionToken,
        SigV4Error::ExpiredToken => Reason::ExpiredSessionToken,
        SigV4Error::SignatureMismatch | SigV4Error::ContentSha256Mismatch => Reason::BadSignature,
        SigV4Error::Skewed { future: true, .. } => Reason::SignatureNotYetValid,
        SigV4Error::Skewed { future: false, .. } => Reason::ExpiredSignature,
        SigV4Error::PresignExpired { .. } => Reason::ExpiredPresignedUrl,
    }
}

/// The pieces of the request URL the signature covers.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    authority: Option<&'a str>,
    path: &'a str,
    query: &'a str,
}

/// Splits `http(s)://authority/path?query#fragment` or `/path?query` without decoding anything:
/// the signature was computed over the bytes as sent.
fn split_url(url: &str) -> Result<Target<'_>, String> {
    let url = url.split('#').next().unwrap_or_default();
    let (authority, rest) = if url.starts_with('/') {
        (None, url)
    } else {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| "url must be absolute (http://host/path) or start with /".to_string())?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(format!("url scheme must be http or https, not '{scheme}'"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        if authority.is_empty() {
            return Err("url has no host".to_string());
        }
        (Some(authority), rest)
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err("url path holds spaces or control characters".to_string());
    }
    Ok(Target {
        authority,
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// The headers with `host` filled in from the URL when the caller left it out (HTTP/2 sends
/// `:authority` instead, and the signature covers it as `host`).
fn with_host<'h>(headers: &'h HeaderMap, authority: Option<&str>) -> Cow<'h, HeaderMap> {
    match authority.and_then(|a| HeaderValue::from_str(a).ok()) {
        Some(host) if !headers.contains_key(http::header::HOST) => {
            let mut owned = headers.clone();
            owned.insert(http::header::HOST, host);
            Cow::Owned(owned)
        }
        _ => Cow::Borrowed(headers),
    }
}

/// The service named in the SigV4 credential scope, from either signature form.
fn signing_service(headers: &HeaderMap, query: &str) -> Option<String> {
    let from_header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| c.split(',').next().unwrap_or_default().to_string());
    let credential = from_header.or_else(|| {
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == "X-Amz-Credential").then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    })?;
    credential.split('/').nth(3).map(str::to_string)
}

fn check_action(action: &str) -> Result<(), String> {
    let valid = action.split_once(':').is_some_and(|(service, name)| {
        !service.is_empty()
            && !name.is_empty()
            && action
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_' | b'.'))
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "action must be one service:Operation without wildcards, not '{action}'"
        ))
    }
}

/// Keys that describe who signed: the session supplies them, so a question may not.
fn is_principal_key(key: &str) -> bool {
    const PREFIXES: &[&str] = &["cognito-identity.amazonaws.com:", "aws:principaltag/"];
    const KEYS: &[&str] = &[
        "aws:userid",
        "aws:username",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:federatedprovider",
        "aws:tokenissuetime",
        "aws:currenttime",
        "aws:epochtime",
    ];
    let lower = key.to_ascii_lowercase();
    PREFIXES.iter().any(|p| lower.starts_with(p)) || KEYS.contains(&lower.as_str())
}

fn check_payload_sha256(hash: Option<&str>) -> Result<(), String> {
    match hash {
        Some(h) if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Err("payload_sha256 must be the body's SHA-256 as 64 hexadecimal digits".to_string())
        }
        _ => Ok(()),
    }
}

fn check_context(context: &[(String, Vec<String>)]) -> Result<(), String> {
    match context.iter().find(|(k, _)| is_principal_key(k)) {
        Some((k, _)) => Err(format!(
            "context key '{k}' describes the principal and comes from the session"
        )),
        None => Ok(()),
    }
}

impl AuthorizeRequest {
    /// Reads the JSON question `{method, url, headers, action, resource, context?,
    /// payload_sha256?}`. Errors are AWS-shaped 400s: `SerializationException` for text that is
    /// not a JSON object, `InvalidParameterException` for a field that is missing or unusable.
    pub fn from_json(body: &[u8]) -> Result<AuthorizeRequest, WireError> {
        let q: Question = serde_json::from_slice(body).map_err(|e| {
            if e.classify() == serde_json::error::Category::Data {
                invalid(e.to_string())
            } else {
                WireError::client(
                    "SerializationException",
                    "The request body is not a JSON object.",
                )
            }
        })?;
        if q.method.is_empty() || http::Method::from_bytes(q.method.as_bytes()).is_err() {
            return Err(invalid(format!(
                "method '{}' is not an HTTP method",
                q.method
            )));
        }
        let target = split_url(&q.url).map_err(invalid)?;
        check_action(&q.action).map_err(invalid)?;
        if q.resource.is_empty() {
            return Err(invalid("resource must not be empty"));
        }

        let mut headers = HeaderMap::with_capacity(q.headers.0.len());
        let mut authority = None;
        for (name, value) in q.headers.0 {
            let values = match value {
                StringOrList::One(v) => vec![v],
                StringOrList::Many(v) => v,
            };
            if let Some(pseudo) = name.strip_prefix(':') {
                // HTTP/2 pseudo-headers: only `:authority` matters, as the host.
                if pseudo.eq_ignore_ascii_case("authority") {
                    authority = values.into_iter().next();
                }
                continue;
            }
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("'{name}' is not a valid header name")))?;
            for v in values {
                let v = HeaderValue::from_bytes(v.as_bytes()).map_err(|_| {
                    invalid(format!(
                        "header '{name}' holds a character headers cannot carry"
                    ))
                })?;
                headers.append(header.clone(), v);
            }
        }
        if !headers.contains_key(http::header::HOST) {
            let host = authority.as_deref().or(target.authority);
            if let Some(v) = host.and_then(|h| HeaderValue::from_str(h).ok()) {
                headers.insert(http::header::HOST, v);
            }
        }

        let mut context = Vec::new();
        for (key, value) in q.context.unwrap_or_default().0 {
            let values = match value {
                ContextValue::One(v) => vec![v.into_string()],
                ContextValue::Many(v) => v.into_iter().map(Scalar::into_string).collect(),
            };
            context.push((key, values));
        }
        check_context(&context).map_err(invalid)?;
        check_payload_sha256(q.payload_sha256.as_deref()).map_err(invalid)?;

        Ok(AuthorizeRequest {
            method: q.method,
            url: q.url,
            headers,
            action: q.action,
            resource: q.resource,
            context,
            payload_sha256: q.payload_sha256,
        })
    }
}

fn invalid(message: impl Into<String>) -> WireError {
    WireError::client("InvalidParameterException", message)
}

#[derive(Deserialize)]
struct Question {
    method: String,
    url: String,
    #[serde(default)]
    headers: Pairs<StringOrList>,
    action: String,
    resource: String,
    #[serde(default)]
    context: Option<Pairs<ContextValue>>,
    #[serde(default)]
    payload_sha256: Option<String>,
}

/// A JSON object read as its entries in order, duplicates kept (`Host` and `host` are one
/// header with two values, as on the wire).
struct Pairs<V>(Vec<(String, V)>);

impl<V> Default for Pairs<V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs<V>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ContextValue {
    One(Scalar),
    Many(Vec<Scalar>),
}

/// A context value: policies compare strings, so numbers and booleans are read as their text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Bool(bool),
    Number(serde_json::Number),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Bool(b) => b.to_string(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}
