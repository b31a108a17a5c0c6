//! Cognito user pool ID tokens: issuer `cognito-idp.<region>.amazonaws.com/<pool id>` (or a self-hosted pool's), keys at `<issuer>/.well-known/jwks.json`, `aud` an app client id, `token_use` = id (spec §3.3-3.4; security-and-performance.md §1.1 row 7).

use serde_json::Value;

use super::jwt::{self, ClaimError};
use super::{Idp, KeySource, TokenError, TokenVerifier, UNSUPPORTED_PROVIDER, VerifiedToken};

/// Verifies the ID tokens of one user pool for the app clients an identity pool lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolVerifier {
    pub issuer: String,
    pub client_ids: Vec<String>,
    pub keys: KeySource,
    pub allow_http: bool,
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
        UserPoolVerifier {
            issuer,
            client_ids,
            keys: KeySource::Jwks(jwks),
            allow_http: over.is_some_and(|o| o.allow_http),
        }
    }
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
        Ok(VerifiedToken {
            subject,
            client_id,
            claims,
        })
    }
}
