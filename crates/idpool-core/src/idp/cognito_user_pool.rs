//! Cognito user pool ID tokens: issuer `cognito-idp.<region>.amazonaws.com/<pool id>` (or a self-hosted pool's), keys at `<issuer>/.well-known/jwks.json`, `aud` an app client id, `token_use` = id, and for ServerSideTokenCheck the user pool's word that the user still exists (spec §3.3-3.4; security-and-performance.md §1.1 row 7).

use serde_json::{Map, Value, json};

use super::aws_sign;
use super::jwks::{Answer, Request, check_url};
use super::jwt::{self, ClaimError};
use super::{Idp, KeySource, TokenError, TokenVerifier, UNSUPPORTED_PROVIDER, VerifiedToken};

/// What the client is told when the user pool no longer knows the token's user or has
/// disabled them.
pub const USER_GONE: &str =
    "Invalid login token. The user no longer exists or is disabled in the user pool.";
/// What ExternalServiceException says when the user pool cannot be asked; the cause is logged.
pub const USER_POOL_UNAVAILABLE: &str =
    "The user pool could not be asked whether the user still exists. Try again later.";
const ADMIN_GET_USER: &str = "AWSCognitoIdentityProviderService.AdminGetUser";

/// Verifies the ID tokens of one user pool for the app clients an identity pool lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolVerifier {
    pub issuer: String,
    pub client_ids: Vec<String>,
    pub keys: KeySource,
    pub allow_http: bool,
    /// The app clients whose provider entries have ServerSideTokenCheck on: their tokens are
    /// accepted only once the user pool confirms the user.
    pub checked_clients: Vec<String>,
    /// The user pool id: the provider name's last path segment.
    pub pool_id: String,
    /// The region the pool lives in (and signatures are scoped to).
    pub region: String,
    /// Where AdminGetUser is called: the override, or AWS's endpoint for an AWS provider name.
    /// None for any other name, so the operator's AWS credentials are never sent on behalf of
    /// a user pool that only claims to be somewhere.
    pub api_url: Option<String>,
}

/// The region of a provider name: its `cognito-idp.<region>.amazonaws.com` host, else the
/// `<region>_` prefix every user pool id carries.
fn region_of(provider_name: &str, pool_id: &str) -> String {
    let host = provider_name.split('/').next().unwrap_or_default();
    if let Some(r) = host
        .strip_prefix("cognito-idp.")
        .and_then(|h| h.split_once('.'))
        .map(|(r, _)| r)
    {
        return r.to_string();
    }
    pool_id
        .split_once('_')
        .map(|(r, _)| r.to_string())
        .unwrap_or_default()
}

impl UserPoolVerifier {
    /// The verifier for a `CognitoIdentityProviders` provider name, overrides applied.
    pub fn new(idp: &Idp, provider_name: &str, client_ids: Vec<String>) -> UserPoolVerifier {
        let over = idp.override_for(provider_name);
        let issuer = over
            .and_then(|o| o.issuer.clone())
            .unwrap_or_else(|| super::issuer_for_name(provider_name))
            .trim_end_matches('/')
            .to_string();
        let jwks = over
            .and_then(|o| o.jwks_url.clone())
            .unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        let name = super::provider_key(provider_name);
        let pool_id = name.rsplit('/').next().unwrap_or_default().to_string();
        let region = region_of(name, &pool_id);
        let aws_name = name.split('/').next().is_some_and(|host| {
            host.strip_prefix("cognito-idp.")
                .and_then(|h| h.strip_suffix(".amazonaws.com"))
                .is_some_and(|r| !r.is_empty() && !r.contains('.'))
        });
        let api_url = over
            .and_then(|o| o.user_pool_api_url.clone())
            .or_else(|| aws_name.then(|| format!("https://cognito-idp.{region}.amazonaws.com/")));
        UserPoolVerifier {
            issuer,
            client_ids,
            keys: KeySource::Jwks(jwks),
            allow_http: over.is_some_and(|o| o.allow_http),
            checked_clients: Vec::new(),
            pool_id,
            region,
            api_url,
        }
    }

    /// The same verifier, asking the user pool about the users of these app clients.
    pub fn checking_users_of(mut self, clients: Vec<String>) -> UserPoolVerifier {
        self.checked_clients = clients;
        self
    }

    fn unavailable(&self, why: &str) -> TokenError {
        tracing::warn!(
            user_pool = %self.pool_id,
            why,
            "server-side token check failed"
        );
        TokenError::External(USER_POOL_UNAVAILABLE.into())
    }

    /// AdminGetUser for the token's `cognito:username`, signed with the configured
    /// credentials: a user the pool no longer has, or has disabled, is refused.
    async fn check_user(
        &self,
        idp: &Idp,
        claims: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<(), TokenError> {
        let username =
            jwt::string_claim(claims, "cognito:username").map_err(TokenError::from_claim)?;
        let Some(creds) = idp.settings.user_pool_credentials.as_ref() else {
            return Err(self.unavailable("no user pool credentials are configured"));
        };
        if self.pool_id.is_empty() || self.region.is_empty() {
            return Err(self.unavailable("the provider name names no pool id and region"));
        }
        let Some(api_url) = self.api_url.as_deref() else {
            return Err(self.unavailable(
                "a user pool outside AWS needs user_pool_api_url for ServerSideTokenCheck",
            ));
        };
        check_url(api_url, self.allow_http).map_err(|_| self.unavailable("URL refused"))?;
        let body = json!({"UserPoolId": self.pool_id, "Username": username}).to_string();
        let mut request = Request::post(api_url.to_string(), body.into_bytes())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", ADMIN_GET_USER);
        aws_sign::sign(&mut request, creds, &self.region, "cognito-idp", now_ms)
            .map_err(|_| self.unavailable("URL refused"))?;
        let answer = {
            let _slot = idp
                .introspection
                .acquire()
                .await
                .map_err(|_| self.unavailable("closed"))?;
            idp.fetcher.send(&request).await
        };
        let Answer { status, body } = match answer {
            Ok(a) => a,
            Err(e) => return Err(self.unavailable(&e.to_string())),
        };
        let doc = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            if !doc.is_object() {
                return Err(self.unavailable("the answer is not a JSON object"));
            }
            // A user the pool has disabled is as unwelcome as one it has deleted, and so is a
            // newer user who took a deleted one's name: the token's `sub` is not theirs.
            let disabled = doc.get("Enabled") == Some(&Value::Bool(false));
            let other_user = user_attribute(&doc, "sub")
                .is_some_and(|sub| claims.get("sub").and_then(Value::as_str) != Some(sub));
            return if disabled || other_user {
                Err(TokenError::NotAuthorized(USER_GONE.into()))
            } else {
                Ok(())
            };
        }
        let kind = error_type(&doc);
        if status == 400 && kind == "UserNotFoundException" {
            return Err(TokenError::NotAuthorized(USER_GONE.into()));
        }
        // Anything else (our credentials refused, throttling, an outage) is not the user's doing.
        Err(self.unavailable(&format!("HTTP status {status} {kind}")))
    }
}

/// The value of one of AdminGetUser's `UserAttributes`.
fn user_attribute<'a>(doc: &'a Value, name: &str) -> Option<&'a str> {
    doc.get("UserAttributes")?
        .as_array()?
        .iter()
        .find(|a| a.get("Name").and_then(Value::as_str) == Some(name))?
        .get("Value")?
        .as_str()
}

/// The short error name of an awsJson error body: `__type` (or `code`) without any
/// `namespace#` prefix or `:` suffix.
fn error_type(doc: &Value) -> &str {
    let t = doc
        .get("__type")
        .or_else(|| doc.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let t = t.rsplit('#').next().unwrap_or_default();
    t.split(':').next().unwrap_or_default()
}

#[async_trait::async_trait]
impl TokenVerifier for UserPoolVerifier {
    async fn verify(
        &self,
        idp: &Idp,
        token: &str,
        now_ms: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let claims = idp
            .verify_jwt(
                token,
                std::slice::from_ref(&self.issuer),
                &self.keys,
                self.allow_http,
                now_ms,
            )
            .await?;
        // An access token has no `aud` (it carries `client_id`): AWS reports exactly this.
        let audiences = jwt::audiences(&claims).map_err(TokenError::from_claim)?;
        if claims.get("token_use").and_then(Value::as_str) != Some("id") {
            return Err(TokenError::from_claim(ClaimError::Invalid("token_use")));
        }
        let client_id = audiences
            .iter()
            .find(|a| self.client_ids.iter().any(|c| c == *a))
            .ok_or_else(|| TokenError::NotAuthorized(UNSUPPORTED_PROVIDER.into()))?
            .to_string();
        let subject = super::subject(&claims)?;
        if self.checked_clients.contains(&client_id) {
            self.check_user(idp, &claims, now_ms).await?;
        }
        Ok(VerifiedToken {
            subject,
            client_id,
            claims,
        })
    }
}
