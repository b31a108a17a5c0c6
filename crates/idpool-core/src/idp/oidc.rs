//! Generic OpenID Connect providers named by an identity pool's OpenIdConnectProviderARNs: the IAM provider's URL is the issuer, its client ids the audiences, its keys found by discovery (spec §3.3 "Generic OIDC").

use serde_json::Value;

use super::jwt;
use super::{Idp, KeySource, TokenError, TokenVerifier, UNSUPPORTED_PROVIDER, VerifiedToken};

/// Verifies ID tokens of one OpenID Connect issuer for a set of client ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcVerifier {
    /// Accepted `iss` values (Google's tokens carry either of two).
    pub issuers: Vec<String>,
    pub client_ids: Vec<String>,
    pub keys: KeySource,
    pub allow_http: bool,
}

impl OidcVerifier {
    /// The verifier for an IAM OIDC provider registered with `url`, overrides applied.
    pub fn for_iam_provider(idp: &Idp, url: &str, client_ids: Vec<String>) -> OidcVerifier {
        let over = idp.override_for(url);
        let registered = if url.contains("://") {
            url.trim_end_matches('/').to_string()
        } else {
            super::issuer_for_name(url)
        };
        let issuer = over
            .and_then(|o| o.issuer.clone())
            .unwrap_or(registered)
            .trim_end_matches('/')
            .to_string();
        let keys = match over.and_then(|o| o.jwks_url.clone()) {
            Some(jwks) => KeySource::Jwks(jwks),
            None => KeySource::Discovery {
                url: over
                    .and_then(|o| o.discovery_url.clone())
                    .unwrap_or_else(|| format!("{issuer}/.well-known/openid-configuration")),
                issuer: issuer.clone(),
            },
        };
        OidcVerifier {
            issuers: vec![issuer],
            client_ids,
            keys,
            allow_http: over.is_some_and(|o| o.allow_http),
        }
    }
}

#[async_trait::async_trait]
impl TokenVerifier for OidcVerifier {
    async fn verify(
        &self,
        idp: &Idp,
        token: &str,
        now_ms: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let claims = idp
            .verify_jwt(token, &self.issuers, &self.keys, self.allow_http, now_ms)
            .await?;
        let audiences = jwt::audiences(&claims).map_err(TokenError::from_claim)?;
        let configured = |id: &str| self.client_ids.iter().any(|c| c == id);
        // The authorized party decides when present, else the audience (spec §3.3).
        let client_id = match claims.get("azp") {
            Some(Value::String(azp)) if configured(azp) => azp.clone(),
            Some(_) => return Err(TokenError::NotAuthorized(UNSUPPORTED_PROVIDER.into())),
            None => audiences
                .iter()
                .find(|a| configured(a))
                .ok_or_else(|| TokenError::NotAuthorized(UNSUPPORTED_PROVIDER.into()))?
                .to_string(),
        };
        let subject = super::subject(&claims)?;
        Ok(VerifiedToken {
            subject,
            client_id,
            claims,
        })
    }
}
