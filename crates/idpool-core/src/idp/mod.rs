//! Verifying sign-in tokens of outside identity providers: one verifier per provider kind behind one trait, their shared JWT pipeline, and per-issuer URL overrides (spec §3.3, §4.2; design.md "Verifying login tokens").

pub mod aws_sign;
pub mod cognito_user_pool;
pub mod http;
pub mod introspect;
pub mod jwks;
pub mod jwt;
pub mod oauth1;
pub mod oidc;
pub mod presets;
pub mod saml;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use jwks::{CachePolicy, DocCache, FetchError, Fetcher, KeySet};
use jwt::ClaimError;

/// What a client is told when a token cannot be proven genuine (spec §1.5.5).
pub const BAD_SIGNATURE: &str = "Invalid login token. Couldn't verify signed token.";
pub const ISSUER_MISMATCH: &str = "Invalid login token. Issuer doesn't match providerName";
pub const UNSUPPORTED_PROVIDER: &str =
    "Token is not from a supported provider of this identity pool.";
/// What ExternalServiceException says when a provider's keys cannot be had; the cause is logged.
pub const KEYS_UNAVAILABLE: &str =
    "The identity provider's signing keys could not be retrieved. Try again later.";

/// A refused token: NotAuthorizedException, or ExternalServiceException when the provider
/// could not be reached. The token itself never appears in either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    NotAuthorized(String),
    #[error("{0}")]
    External(String),
}

impl TokenError {
    fn bad_signature() -> Self {
        TokenError::NotAuthorized(BAD_SIGNATURE.into())
    }

    fn from_claim(e: ClaimError) -> Self {
        TokenError::NotAuthorized(match e {
            ClaimError::Malformed => BAD_SIGNATURE.into(),
            ClaimError::Missing(c) => format!("Invalid login token. Missing a required claim: {c}"),
            ClaimError::Invalid(c) => format!("Invalid login token. Invalid claim: {c}"),
            ClaimError::Expired { now, exp } => {
                format!("Invalid login token. Token expired: {now} >= {exp}")
            }
            ClaimError::NotYetValid { now, nbf } => {
                format!("Invalid login token. Token is not valid yet: {now} < {nbf}")
            }
            ClaimError::IssuedInFuture { now, iat } => {
                format!("Invalid login token. Token was issued in the future: {iat} > {now}")
            }
        })
    }

    fn from_fetch(e: &FetchError) -> Self {
        tracing::warn!(error = %e, "identity provider keys unavailable");
        TokenError::External(KEYS_UNAVAILABLE.into())
    }
}

/// A credential from settings or pool configuration (an OAuth consumer secret, an AWS
/// secret key): it keys signatures and is never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

/// What a genuine token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The provider's stable user key (`sub`).
    pub subject: String,
    /// The configured client id the token was issued to (`aud`, or `azp` for OIDC).
    pub client_id: String,
    pub claims: Map<String, Value>,
}

/// One kind of identity provider.
#[async_trait::async_trait]
pub trait TokenVerifier: Send + Sync {
    /// Proves `token` genuine and current, issued by this provider to one of its configured
    /// clients, and returns its subject and claims.
    async fn verify(
        &self,
        idp: &Idp,
        token: &str,
        now_ms: i64,
    ) -> Result<VerifiedToken, TokenError>;
}

/// One `[[idp_override]]` of the settings: where a provider's keys really are, for
/// self-hosted and offline identity providers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdpOverride {
    /// The provider name as a `Logins` key: the issuer without its scheme (a user pool's
    /// `cognito-idp.<region>.amazonaws.com/<pool id>`, an OIDC provider's host and path,
    /// `accounts.google.com`, `appleid.apple.com`).
    pub provider: String,
    /// The `iss` its tokens carry, when not `https://<provider>`.
    pub issuer: Option<String>,
    /// The key set URL, skipping discovery.
    pub jwks_url: Option<String>,
    /// The discovery document URL, when not `<issuer>/.well-known/openid-configuration`.
    pub discovery_url: Option<String>,
    /// The base URL of Facebook's Graph API, Amazon's token API or Twitter's API, when not
    /// the public one.
    pub introspection_url: Option<String>,
    /// A user pool's API endpoint (AdminGetUser, for ServerSideTokenCheck), when not
    /// `https://cognito-idp.<region>.amazonaws.com/`.
    pub user_pool_api_url: Option<String>,
    /// Allow `http://` to hosts other than this machine (a provider on a private network).
    pub allow_http: bool,
}

/// Settings of token verification.
#[derive(Debug, Clone)]
pub struct IdpSettings {
    pub overrides: Vec<IdpOverride>,
    pub cache: CachePolicy,
    pub fetch_timeout: Duration,
    /// Clock leeway for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_s: i64,
    /// What idpool signs its user pool AdminGetUser calls with (ServerSideTokenCheck, spec
    /// §3.4); without them such checks fail as ExternalServiceException.
    pub user_pool_credentials: Option<aws_sign::AwsCredentials>,
}

impl Default for IdpSettings {
    fn default() -> Self {
        IdpSettings {
            overrides: Vec::new(),
            cache: CachePolicy::default(),
            fetch_timeout: Duration::from_secs(5),
            leeway_s: jwt::LEEWAY_S,
            user_pool_credentials: None,
        }
    }
}

/// A provider name or URL without scheme and trailing slash, for comparing.
pub fn provider_key(name: &str) -> &str {
    name.split_once("://")
        .map_or(name, |(_, rest)| rest)
        .trim_end_matches('/')
}

/// The issuer a provider name stands for (design.md "Verifying login tokens"):
/// `https://<name>`, or `http://<name>` when its host is this machine.
pub fn issuer_for_name(name: &str) -> String {
    let name = provider_key(name);
    let authority = name.split('/').next().unwrap_or_default();
    if jwks::is_loopback_authority(authority) {
        format!("http://{name}")
    } else {
        format!("https://{name}")
    }
}

/// Where a verifier finds its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key set URL.
    Jwks(String),
    /// A discovery document URL, whose `issuer` must be the expected one.
    Discovery { url: String, issuer: String },
}

/// Discovery document members we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
}

/// The verification context every request shares: settings, the fetcher, the caches.
pub struct Idp {
    settings: IdpSettings,
    fetcher: Arc<dyn Fetcher>,
    keys: DocCache<KeySet>,
    discovery: DocCache<Discovery>,
    /// Slots for outbound token introspection calls, so a burst of logins cannot open
    /// unbounded connections to a provider.
    introspection: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("overrides", &self.settings.overrides)
            .finish_non_exhaustive()
    }
}

impl Idp {
    /// Fetching over HTTPS.
    pub fn new(settings: IdpSettings) -> Idp {
        let fetcher = Arc::new(http::HttpFetcher::new(settings.fetch_timeout));
        Idp::with_fetcher(settings, fetcher)
    }

    /// Fetching through `fetcher` (tests serve keys without a network).
    pub fn with_fetcher(settings: IdpSettings, fetcher: Arc<dyn Fetcher>) -> Idp {
        Idp {
            settings,
            fetcher,
            keys: DocCache::default(),
            discovery: DocCache::default(),
            introspection: tokio::sync::Semaphore::new(introspect::MAX_CONCURRENT_INTROSPECTIONS),
        }
    }

    pub fn settings(&self) -> &IdpSettings {
        &self.settings
    }

    /// The override configured for a provider name, if any.
    pub fn override_for(&self, provider: &str) -> Option<&IdpOverride> {
        let key = provider_key(provider);
        self.settings
            .overrides
            .iter()
            .find(|o| provider_key(&o.provider) == key)
    }

    /// The key set URL of a source, through discovery when needed.
    async fn jwks_url(
        &self,
        source: &KeySource,
        allow_http: bool,
        now_ms: i64,
    ) -> Result<String, TokenError> {
        match source {
            KeySource::Jwks(url) => {
                jwks::check_url(url, allow_http).map_err(|e| TokenError::from_fetch(&e))?;
                Ok(url.clone())
            }
            KeySource::Discovery { url, issuer } => {
                jwks::check_url(url, allow_http).map_err(|e| TokenError::from_fetch(&e))?;
                let expected = issuer.clone();
                let doc = self
                    .discovery
                    .get(
                        self.fetcher.as_ref(),
                        &self.settings.cache,
                        url,
                        now_ms,
                        move |b| parse_discovery(b, &expected),
                        |_| true,
                    )
                    .await
                    .map_err(|e| TokenError::from_fetch(&e))?;
                jwks::check_url(&doc.jwks_uri, allow_http)
                    .map_err(|e| TokenError::from_fetch(&e))?;
                Ok(doc.jwks_uri.clone())
            }
        }
    }

    /// The JWT pipeline every verifier shares: structure and header, claims, `iss` among
    /// `issuers`, the key chosen by `kid` from the provider's set (refetched once per
    /// cool-down when the `kid` is unknown), the signature, then `exp`/`nbf`/`iat`.
    pub async fn verify_jwt(
        &self,
        token: &str,
        issuers: &[String],
        source: &KeySource,
        allow_http: bool,
        now_ms: i64,
    ) -> Result<Map<String, Value>, TokenError> {
        let jws = jwt::parse(token).map_err(|_| TokenError::bad_signature())?;
        let claims = jwt::parse_claims(&jws.payload).map_err(|_| TokenError::bad_signature())?;
        // The issuer picks the keys, so it is compared before anything is fetched: a token
        // can only ever cause a fetch of its configured provider's URLs.
        match claims.get("iss").and_then(Value::as_str) {
            Some(iss) if issuers.iter().any(|i| i == iss) => {}
            _ => return Err(TokenError::NotAuthorized(ISSUER_MISMATCH.into())),
        }
        let url = self.jwks_url(source, allow_http, now_ms).await?;
        let kid = jws.header.kid.clone();
        let keys = self
            .keys
            .get(
                self.fetcher.as_ref(),
                &self.settings.cache,
                &url,
                now_ms,
                |b| KeySet::parse(b).map_err(|e| e.to_string()),
                move |set: &KeySet| kid.as_deref().is_none_or(|k| set.has_kid(k)),
            )
            .await
            .map_err(|e| TokenError::from_fetch(&e))?;
        jwt::verify(&jws, &keys).map_err(|_| TokenError::bad_signature())?;
        jwt::check_times(&claims, now_ms.div_euclid(1000), self.settings.leeway_s)
            .map_err(TokenError::from_claim)?;
        Ok(claims)
    }
}

fn parse_discovery(bytes: &[u8], expected_issuer: &str) -> Result<Discovery, String> {
    let v = jwt::strict_json(bytes).map_err(|e| e.to_string())?;
    let issuer = v.get("issuer").and_then(Value::as_str).unwrap_or_default();
    let jwks_uri = v
        .get("jwks_uri")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if issuer.trim_end_matches('/') != expected_issuer.trim_end_matches('/') {
        return Err(format!(
            "discovery issuer {issuer:?} is not {expected_issuer:?}"
        ));
    }
    if jwks_uri.is_empty() {
        return Err("discovery document has no jwks_uri".into());
    }
    Ok(Discovery {
        issuer: issuer.to_string(),
        jwks_uri: jwks_uri.to_string(),
    })
}

/// A required `sub`, as the provider's stable user key.
fn subject(claims: &Map<String, Value>) -> Result<String, TokenError> {
    jwt::string_claim(claims, "sub")
        .map(str::to_string)
        .map_err(TokenError::from_claim)
}
