//! Server-side AWS Signature Version 4 verification, header and presigned forms (security spec §3).

mod canonical;
mod parse;
#[cfg(test)]
mod tests;

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::WireError;
use canonical::{CanonicalParts, STREAMING_PREFIX, UNSIGNED_PAYLOAD};
use parse::{ALGORITHM, AuthInput, Form, TERMINATOR};

/// The clock skew AWS tolerates on signed requests: 15 minutes either way.
pub const DEFAULT_MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// SHA-256 of nothing: the payload hash of a request without a body.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const TOKEN_INVALID: &str = "The security token included in the request is invalid.";
const TOKEN_EXPIRED: &str = "The security token included in the request is expired";
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the \
     signature you provided. Check your AWS Secret Access Key and signing method. Consult the \
     service documentation for details.";

/// A request as it arrived, before any decoding.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// Raw path, as received, still percent-encoded. HTTP/2 callers must copy `:authority`
    /// into a `host` header first: the signature covers it under that name.
    pub path: &'a str,
    /// Raw query string, without the `?`.
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// What the verifier expects of the request.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Server time, epoch milliseconds.
    pub now_ms: i64,
    /// Allowed distance between `X-Amz-Date` and `now_ms`, both directions.
    pub max_skew_ms: i64,
    /// Required scope region; `None` accepts any and reports it in [`Verified`].
    pub region: Option<&'a str>,
    /// Required scope service (signing name); `None` accepts any.
    pub service: Option<&'a str>,
    /// S3 rules: path signed as sent (no normalisation, single encoding) and the payload hash
    /// taken from `x-amz-content-sha256`, which may be `UNSIGNED-PAYLOAD` or `STREAMING-*`.
    pub s3_style: bool,
}

impl VerifyOptions<'_> {
    /// Defaults for a non-S3 service: 15 minutes skew, any region, any service.
    pub fn new(now_ms: i64) -> Self {
        VerifyOptions {
            now_ms,
            max_skew_ms: DEFAULT_MAX_SKEW_MS,
            region: None,
            service: None,
            s3_style: false,
        }
    }
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
    pub session_token: Option<String>,
    /// The request's `X-Amz-Date` (or `Date`), epoch milliseconds.
    pub signed_at_ms: i64,
    /// The payload hash the signature covers. In S3 mode a hex value from
    /// `x-amz-content-sha256` is compared with `body` (or the hash given to
    /// [`verify_with_payload_hash`]) only when there is one, so a caller that passed neither
    /// must compare it itself; `UNSIGNED-PAYLOAD` and `STREAMING-*` mean the body is not
    /// covered by this signature.
    pub payload_hash: String,
}

/// Why a credential lookup refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialError {
    UnknownAccessKey,
    InvalidSessionToken,
    ExpiredSessionToken,
}

/// A secret access key. Wiped from memory on drop; never printed.
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> Self {
        SecretKey(Zeroizing::new(secret.into()))
    }

    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretKey {
    fn from(secret: String) -> Self {
        SecretKey::new(secret)
    }
}

impl From<&str> for SecretKey {
    fn from(secret: &str) -> Self {
        SecretKey::new(secret)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(**redacted**)")
    }
}

/// Resolves an access key id (and the session token sent with it) to its secret.
pub trait SecretLookup {
    fn secret_for(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<SecretKey, CredentialError>;
}

/// Why a signature was refused. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("no Authorization header and no presigned query")]
    Missing,
    /// A required part is absent or unusable; the text is AWS's message.
    #[error("incomplete signature: {0}")]
    Incomplete(String),
    /// A part is present but badly formed; the text is AWS's message.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// Credential scope names the wrong region, service, date or terminator.
    #[error("bad credential scope: {0}")]
    Scope(String),
    #[error("unknown access key")]
    UnknownAccessKey,
    #[error("invalid session token")]
    InvalidSessionToken,
    #[error("expired session token")]
    ExpiredToken,
    #[error("signature mismatch")]
    SignatureMismatch,
    /// The request time is outside `now ± max_skew`.
    #[error("request time outside the allowed clock skew")]
    Skewed {
        signed_at_ms: i64,
        now_ms: i64,
        max_skew_ms: i64,
        /// True when the request claims a time later than the window allows.
        future: bool,
    },
    /// A presigned request used after `X-Amz-Date + X-Amz-Expires`.
    #[error("presigned request expired")]
    PresignExpired {
        signed_at_ms: i64,
        expires_s: i64,
        now_ms: i64,
    },
    /// S3 mode: the body does not hash to the signed `x-amz-content-sha256`.
    #[error("x-amz-content-sha256 does not match the body")]
    ContentSha256Mismatch,
}

impl From<CredentialError> for SigV4Error {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::UnknownAccessKey => SigV4Error::UnknownAccessKey,
            CredentialError::InvalidSessionToken => SigV4Error::InvalidSessionToken,
            CredentialError::ExpiredSessionToken => SigV4Error::ExpiredToken,
        }
    }
}

/// `15 min.` for whole minutes, `90 sec.` otherwise, as in AWS's skew messages.
fn window_text(ms: i64) -> String {
    if ms % 60_000 == 0 {
        format!("{} min.", ms / 60_000)
    } else {
        format!("{} sec.", ms / 1000)
    }
}

impl SigV4Error {
    fn skew_message(&self) -> Option<String> {
        let SigV4Error::Skewed {
            signed_at_ms,
            now_ms,
            max_skew_ms,
            future,
        } = *self
        else {
            return None;
        };
        let signed = parse::format_iso_basic(signed_at_ms);
        let now = parse::format_iso_basic(now_ms);
        let window = window_text(max_skew_ms);
        Some(if future {
            let limit = parse::format_iso_basic(now_ms.saturating_add(max_skew_ms));
            format!(
                "Signature not yet current: {signed} is still later than {limit} ({now} + {window})"
            )
        } else {
            let limit = parse::format_iso_basic(now_ms.saturating_sub(max_skew_ms));
            format!("Signature expired: {signed} is now earlier than {limit} ({now} - {window})")
        })
    }

    /// The error as an awsJson1_1 service (Cognito Identity) reports it.
    pub fn to_json_error(&self) -> WireError {
        match self {
            SigV4Error::Missing => WireError::client(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
            SigV4Error::Incomplete(m) | SigV4Error::Malformed(m) => {
                WireError::client("IncompleteSignatureException", m.as_str())
            }
            SigV4Error::Scope(m) => WireError::client("InvalidSignatureException", m.as_str()),
            SigV4Error::UnknownAccessKey | SigV4Error::InvalidSessionToken => {
                WireError::client("UnrecognizedClientException", TOKEN_INVALID)
            }
            SigV4Error::ExpiredToken => WireError::client("ExpiredTokenException", TOKEN_EXPIRED),
            SigV4Error::SignatureMismatch => {
                WireError::client("InvalidSignatureException", SIGNATURE_MISMATCH)
            }
            SigV4Error::Skewed { .. } => WireError::client(
                "InvalidSignatureException",
                self.skew_message().unwrap_or_default(),
            ),
            SigV4Error::PresignExpired { .. } => {
                WireError::client("InvalidSignatureException", "Request has expired")
            }
            SigV4Error::ContentSha256Mismatch => content_mismatch(),
        }
    }

    /// The error as an awsQuery service (IAM, STS) reports it.
    pub fn to_query_error(&self) -> WireError {
        let denied = |code: &str, message: &str| WireError::with_status(403, code, message);
        match self {
            SigV4Error::Missing => denied(
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ),
            SigV4Error::Incomplete(m) | SigV4Error::Malformed(m) => {
                WireError::client("IncompleteSignature", m.as_str())
            }
            SigV4Error::Scope(m) => denied("SignatureDoesNotMatch", m),
            SigV4Error::UnknownAccessKey | SigV4Error::InvalidSessionToken => {
                denied("InvalidClientTokenId", TOKEN_INVALID)
            }
            SigV4Error::ExpiredToken => denied("ExpiredToken", TOKEN_EXPIRED),
            SigV4Error::SignatureMismatch => denied("SignatureDoesNotMatch", SIGNATURE_MISMATCH),
            SigV4Error::Skewed { .. } => denied(
                "SignatureDoesNotMatch",
                &self.skew_message().unwrap_or_default(),
            ),
            SigV4Error::PresignExpired { .. } => {
                denied("SignatureDoesNotMatch", "Request has expired")
            }
            SigV4Error::ContentSha256Mismatch => content_mismatch(),
        }
    }
}

fn content_mismatch() -> WireError {
    WireError::client(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
}

/// True when the request carries a signature of either form.
pub fn has_signature(parts: &RequestParts) -> bool {
    parts.headers.contains_key(http::header::AUTHORIZATION)
        || canonical::parse_query(parts.query)
            .iter()
            .any(|p| p.key == parse::X_AMZ_SIGNATURE)
}

/// Verifies the request's SigV4 signature and returns who signed it.
///
/// The canonical request is rebuilt from the client's own `SignedHeaders`; scope and clock
/// are checked before the secret is looked up, and signatures are compared in constant time.
pub fn verify(
    parts: &RequestParts,
    opts: &VerifyOptions,
    lookup: &dyn SecretLookup,
) -> Result<Verified, SigV4Error> {
    verify_inner(parts, None, opts, lookup)
}

/// [`verify`] for a caller that holds the body's SHA-256 (64 hex digits) rather than the body,
/// such as an authorizer in front of the service. The hash stands in for the body everywhere
/// the body would count, and `parts.body` is not read; in S3 mode a hex
/// `x-amz-content-sha256` must equal it.
pub fn verify_with_payload_hash(
    parts: &RequestParts,
    payload_sha256: &str,
    opts: &VerifyOptions,
    lookup: &dyn SecretLookup,
) -> Result<Verified, SigV4Error> {
    verify_inner(parts, Some(payload_sha256), opts, lookup)
}

fn is_hex_digest(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn verify_inner(
    parts: &RequestParts,
    payload_sha256: Option<&str>,
    opts: &VerifyOptions,
    lookup: &dyn SecretLookup,
) -> Result<Verified, SigV4Error> {
    // Checked before anything else: a caller bug, not something the client sent.
    if payload_sha256.is_some_and(|h| !is_hex_digest(h)) {
        return Err(SigV4Error::Malformed(
            "the given payload hash must be a SHA-256 in 64 hexadecimal digits.".into(),
        ));
    }
    let query = canonical::parse_query(parts.query);
    let auth = parse::extract(parts.headers, &query)?;
    check_scope(&auth, opts)?;
    check_time(&auth, opts)?;
    let secret = lookup.secret_for(&auth.scope.access_key_id, auth.session_token.as_deref())?;
    let signing_key = derive_signing_key(&secret, &auth);

    let presigned = matches!(auth.form, Form::Presigned { .. });
    // Signers write the body hash in lower case, so a given one is compared that way.
    let body = match payload_sha256 {
        Some(given) => Body {
            hash: given.to_ascii_lowercase(),
            known: true,
        },
        None => Body {
            hash: canonical::sha256_hex(parts.body),
            known: !parts.body.is_empty(),
        },
    };
    let payload_hashes = payload_candidates(parts, opts, presigned, &body)?;
    let uri = canonical::canonical_uri(parts.path, opts.s3_style);
    let signed_names = auth.signed_header_names();
    let headers = canonical::canonical_headers(parts.headers, &signed_names);
    let scope_line = format!(
        "{}/{}/{}/{}",
        auth.scope.date, auth.scope.region, auth.scope.service, auth.scope.terminator
    );
    // Most presigners sign the session token with the rest of the query, but some add it
    // after signing; the lookup above still binds the token to the access key either way.
    let token_in_query = presigned && query.iter().any(|p| p.key == parse::X_AMZ_SECURITY_TOKEN);
    let token_variants: &[bool] = if token_in_query {
        &[true, false]
    } else {
        &[true]
    };

    let mut matched = None;
    'search: for &token_signed in token_variants {
        let canonical_query = canonical::canonical_query(&query, |key| {
            (presigned && key == parse::X_AMZ_SIGNATURE)
                || (!token_signed && key == parse::X_AMZ_SECURITY_TOKEN)
        });
        for payload_hash in &payload_hashes {
            let creq = CanonicalParts {
                method: parts.method,
                uri: &uri,
                query: &canonical_query,
                headers: &headers,
                signed_headers: &auth.signed_headers,
                payload_hash,
            }
            .to_bytes();
            let string_to_sign = format!(
                "{ALGORITHM}\n{}\n{scope_line}\n{}",
                auth.amz_date,
                canonical::sha256_hex(&creq)
            );
            let expected = hex::encode(hmac::sign(&signing_key, string_to_sign.as_bytes()));
            if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
                matched = Some(payload_hash.clone());
                break 'search;
            }
        }
    }
    let payload_hash = matched.ok_or(SigV4Error::SignatureMismatch)?;

    if opts.s3_style
        && is_hex_digest(&payload_hash)
        && body.known
        && !payload_hash.eq_ignore_ascii_case(&body.hash)
    {
        return Err(SigV4Error::ContentSha256Mismatch);
    }

    Ok(Verified {
        access_key_id: auth.scope.access_key_id,
        region: auth.scope.region,
        service: auth.scope.service,
        session_token: auth.session_token,
        signed_at_ms: auth.signed_at_ms,
        payload_hash,
    })
}

/// The body as far as the verifier knows it: its SHA-256, and whether there is one to hold a
/// declared hash against (an empty `body` may only mean the caller did not pass it).
struct Body {
    hash: String,
    known: bool,
}

/// The payload hashes a legitimate signer could have used for this request, likeliest first.
fn payload_candidates(
    parts: &RequestParts,
    opts: &VerifyOptions,
    presigned: bool,
    body: &Body,
) -> Result<Vec<String>, SigV4Error> {
    let body_hash = body.hash.as_str();
    if presigned {
        // S3 presigns with UNSIGNED-PAYLOAD; other presigners (and the AWS test suite) hash
        // the body. Outside S3 an unsigned payload is only tolerable when there is no body.
        return Ok(if opts.s3_style {
            vec![UNSIGNED_PAYLOAD.to_owned(), body_hash.to_owned()]
        } else if body_hash == EMPTY_SHA256 {
            vec![body_hash.to_owned(), UNSIGNED_PAYLOAD.to_owned()]
        } else {
            vec![body_hash.to_owned()]
        });
    }
    if !opts.s3_style {
        return Ok(vec![body_hash.to_owned()]);
    }
    let declared = parts.headers.get_all("x-amz-content-sha256");
    let mut values = declared.iter();
    let Some(first) = values.next() else {
        return Ok(vec![body_hash.to_owned()]);
    };
    let valid = first
        .to_str()
        .ok()
        .filter(|v| *v == UNSIGNED_PAYLOAD || v.starts_with(STREAMING_PREFIX) || is_hex_digest(v));
    match (valid, values.next()) {
        (Some(v), None) => Ok(vec![v.to_owned()]),
        _ => Err(SigV4Error::Malformed(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value, or a valid \
             sha256 value."
                .into(),
        )),
    }
}

fn check_scope(auth: &AuthInput, opts: &VerifyOptions) -> Result<(), SigV4Error> {
    let scope = &auth.scope;
    if scope.terminator != TERMINATOR {
        return Err(SigV4Error::Scope(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'. ",
            scope.terminator
        )));
    }
    let request_day = auth.amz_date.get(..8).unwrap_or_default();
    if scope.date != request_day {
        return Err(SigV4Error::Scope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{}' != '{request_day}', from '{}'.",
            scope.date, auth.amz_date
        )));
    }
    if let Some(region) = opts.region
        && scope.region != region
    {
        return Err(SigV4Error::Scope(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            scope.region
        )));
    }
    if let Some(service) = opts.service
        && scope.service != service
    {
        return Err(SigV4Error::Scope(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    Ok(())
}

fn check_time(auth: &AuthInput, opts: &VerifyOptions) -> Result<(), SigV4Error> {
    let skew = opts.max_skew_ms.max(0);
    let signed = auth.signed_at_ms;
    let skewed = |future| SigV4Error::Skewed {
        signed_at_ms: signed,
        now_ms: opts.now_ms,
        max_skew_ms: skew,
        future,
    };
    if signed > opts.now_ms.saturating_add(skew) {
        return Err(skewed(true));
    }
    match auth.form {
        Form::Header if signed < opts.now_ms.saturating_sub(skew) => Err(skewed(false)),
        Form::Presigned { expires_s } if opts.now_ms > signed.saturating_add(expires_s * 1000) => {
            Err(SigV4Error::PresignExpired {
                signed_at_ms: signed,
                expires_s,
                now_ms: opts.now_ms,
            })
        }
        _ => Ok(()),
    }
}

/// HMAC chain `AWS4`+secret → date → region → service → `aws4_request`.
fn derive_signing_key(secret: &SecretKey, auth: &AuthInput) -> hmac::Key {
    let mut seed = Zeroizing::new(Vec::with_capacity(4 + secret.expose_secret().len()));
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.expose_secret().as_bytes());
    let mut key = hmac::Key::new(hmac::HMAC_SHA256, &seed);
    for part in [
        auth.scope.date.as_str(),
        auth.scope.region.as_str(),
        auth.scope.service.as_str(),
        TERMINATOR,
    ] {
        let tag = hmac::sign(&key, part.as_bytes());
        key = hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref());
    }
    key
}
