//! Turning a `Logins` map into verified facts: which provider vouched for which subject
//! (spec §3.3, §4.2). Tokens are never stored; only (provider, subject) is.

use std::collections::BTreeMap;

use idpool_store::LoginLink;
use serde_json::Value;

use super::CognitoError;
use super::credentials::LoginClaims;
use super::model::Pool;
use crate::Core;
use crate::idp::cognito_user_pool::UserPoolVerifier;
use crate::idp::oidc::OidcVerifier;
use crate::idp::{TokenError, TokenVerifier, VerifiedToken, introspect, presets, saml};

/// The `Logins` key under which our own OpenID tokens come back (spec §3.3).
pub const COGNITO_PROVIDER: &str = "cognito-identity.amazonaws.com";

/// Whether a `Logins` key names our own tokens: the global key, or in a China region the
/// regional one the mobile SDKs send there (`cognito-identity.cn-north-1.amazonaws.com.cn`).
pub fn is_cognito_key(region: &str, key: &str) -> bool {
    key == COGNITO_PROVIDER
        || (region.starts_with("cn-")
            && key
                .strip_prefix("cognito-identity.")
                .and_then(|r| r.strip_suffix(".amazonaws.com.cn"))
                == Some(region))
}

pub const LOGINS_DONT_MATCH: &str = "Logins don't match. Please include at least one valid login for this identity or identity pool.";
pub const UNSUPPORTED_PROVIDER: &str = crate::idp::UNSUPPORTED_PROVIDER;

/// Entries a `Logins` map may hold (spec §3.3).
pub const MAX_LOGINS: usize = 10;

/// One verified login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedLogin {
    /// Our own OpenID token: it names the identity directly.
    Ours {
        identity_id: String,
        amr: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    /// An outside provider's token: a link to find or make, its `amr` detail entry
    /// (spec §4.11) and the claims role mappings and principal tags read.
    External {
        link: LoginLink,
        amr_detail: String,
        claims: LoginClaims,
    },
}

/// Verifies every login of a request; one bad token fails the whole call (spec §4.2.3).
/// Sizes are checked for all entries before any token is parsed or any key fetched.
pub async fn verify_logins(
    core: &Core,
    pool: &Pool,
    logins: &BTreeMap<String, String>,
    now_ms: i64,
) -> Result<Vec<VerifiedLogin>, CognitoError> {
    if logins.len() > MAX_LOGINS {
        return Err(CognitoError::InvalidParameter(format!(
            "Logins may hold at most {MAX_LOGINS} entries."
        )));
    }
    if logins
        .values()
        .any(|t| t.is_empty() || t.len() > crate::idp::jwt::MAX_TOKEN_BYTES)
    {
        return Err(CognitoError::NotAuthorized(
            crate::idp::BAD_SIGNATURE.into(),
        ));
    }
    let mut out = Vec::with_capacity(logins.len());
    for (provider, token) in logins {
        out.push(verify_one(core, pool, provider, token, now_ms).await?);
    }
    Ok(out)
}

/// Whether `key` names a provider of the pool as a `Logins` key: a supported login provider,
/// a user pool, the issuer (without scheme) of one of its OIDC providers, or a SAML ARN.
pub fn is_login_key(pool: &Pool, key: &str) -> bool {
    let c = &pool.config;
    c.supported_login_providers
        .as_ref()
        .is_some_and(|m| m.contains_key(key))
        || c.cognito_identity_providers
            .iter()
            .flatten()
            .any(|p| p.provider_name.as_deref() == Some(key))
        || oidc_arn_for(pool, key).is_some()
        || c.saml_provider_arns.iter().flatten().any(|a| a == key)
}

/// The pool's OIDC provider ARN whose issuer is `key` (ARN `...:oidc-provider/<issuer host/path>`).
fn oidc_arn_for<'a>(pool: &'a Pool, key: &str) -> Option<&'a String> {
    pool.config
        .open_id_connect_provider_arns
        .iter()
        .flatten()
        .find(|arn| {
            arn.split_once(":oidc-provider/")
                .is_some_and(|(_, r)| r == key)
        })
}

fn token_error(e: TokenError) -> CognitoError {
    match e {
        TokenError::NotAuthorized(m) => CognitoError::NotAuthorized(m),
        TokenError::External(m) => CognitoError::ExternalService(m),
    }
}

async fn verify_one(
    core: &Core,
    pool: &Pool,
    provider: &str,
    token: &str,
    now_ms: i64,
) -> Result<VerifiedLogin, CognitoError> {
    if is_cognito_key(&core.region, provider) {
        let kid = crate::openid::kid_of(token);
        core.ring_for(|r| kid.as_deref().is_some_and(|k| r.openid_by_kid(k).is_none()))
            .await;
        return verify_ours(core, pool, token, now_ms);
    }
    let c = &pool.config;
    let idp = core.idp.as_ref();
    let user_pool_clients: Vec<String> = c
        .cognito_identity_providers
        .iter()
        .flatten()
        .filter(|p| p.provider_name.as_deref() == Some(provider))
        .filter_map(|p| p.client_id.clone())
        .collect();
    if !user_pool_clients.is_empty() {
        let checked: Vec<String> = c
            .cognito_identity_providers
            .iter()
            .flatten()
            .filter(|p| {
                p.provider_name.as_deref() == Some(provider)
                    && p.server_side_token_check == Some(true)
            })
            .filter_map(|p| p.client_id.clone())
            .collect();
        let v = UserPoolVerifier::new(idp, provider, user_pool_clients).checking_users_of(checked);
        let t = v.verify(idp, token, now_ms).await.map_err(token_error)?;
        return Ok(external(
            provider,
            format!("{provider}:CognitoSignIn:{}", t.subject),
            format!("{provider}:{}", t.client_id),
            provider,
            t,
        ));
    }
    if let Some(configured) = c
        .supported_login_providers
        .as_ref()
        .and_then(|m| m.get(provider))
    {
        // Google and Apple issue JWTs; Facebook and Amazon tokens are opaque and are asked
        // about at the provider, and a Twitter token pair signs a call to Twitter's API.
        let t = if let Some(v) = presets::verifier(idp, provider, configured) {
            v.verify(idp, token, now_ms).await
        } else if let Some(v) = introspect::verifier(idp, provider, configured) {
            v.verify(idp, token, now_ms).await
        } else {
            return Err(CognitoError::NotAuthorized(
                crate::idp::BAD_SIGNATURE.into(),
            ));
        }
        .map_err(token_error)?;
        return Ok(external(
            provider,
            format!("{provider}:{}:{}", t.client_id, t.subject),
            provider.to_string(),
            provider,
            t,
        ));
    }
    if let Some(arn) = oidc_arn_for(pool, provider) {
        let registered = crate::iam::get_oidc_provider(core, arn)
            .await
            .map_err(|e| CognitoError::Internal(Box::new(std::io::Error::other(e.to_string()))))?
            .ok_or_else(|| CognitoError::NotAuthorized(UNSUPPORTED_PROVIDER.into()))?;
        let v = OidcVerifier::for_iam_provider(idp, &registered.url, registered.client_ids);
        let t = v.verify(idp, token, now_ms).await.map_err(token_error)?;
        return Ok(external(
            provider,
            format!("{arn}:OIDC:{}", t.subject),
            arn.clone(),
            arn,
            t,
        ));
    }
    if c.saml_provider_arns.iter().flatten().any(|a| a == provider) {
        return verify_saml(core, provider, token, now_ms).await;
    }
    Err(CognitoError::NotAuthorized(UNSUPPORTED_PROVIDER.into()))
}

/// What a client is told when a SAML response is not a genuine one from the provider.
pub const SAML_INVALID: &str = "Invalid login token. Couldn't verify the SAML response.";

/// A SAML response against the IAM SAML provider's metadata (spec §3.3 SAML): linked as
/// (provider ARN, NameID); its attributes are the claims rules and principal tags read, and
/// its Role attribute offers the roles (spec §4.9).
async fn verify_saml(
    core: &Core,
    arn: &str,
    token: &str,
    now_ms: i64,
) -> Result<VerifiedLogin, CognitoError> {
    let registered = crate::iam::get_saml_provider(core, arn)
        .await
        .map_err(|e| CognitoError::Internal(Box::new(std::io::Error::other(e.to_string()))))?
        .ok_or_else(|| CognitoError::NotAuthorized(UNSUPPORTED_PROVIDER.into()))?;
    if registered.valid_until_ms <= now_ms {
        return Err(CognitoError::NotAuthorized(
            "Invalid login token. The SAML provider's metadata has expired.".into(),
        ));
    }
    let metadata = crate::iam::metadata::read_saml_metadata(&registered.metadata)
        .map_err(|_| CognitoError::NotAuthorized(SAML_INVALID.into()))?;
    let keys = saml::SamlProviderKeys::new(arn, metadata.entity_id, &metadata.certificates);
    let endpoints = saml::aws_endpoints(&core.region);
    let leeway_s = core.idp.settings().leeway_s;
    let assertion =
        saml::verify_response(token, &keys, &endpoints, now_ms, leeway_s).map_err(|e| {
            tracing::info!(provider = arn, reason = e.reason(), "SAML response refused");
            CognitoError::NotAuthorized(match e {
                saml::SamlError::Invalid(_) => SAML_INVALID.to_string(),
                saml::SamlError::Rejected(r) => format!("Invalid login token. SAML: {r}."),
            })
        })?;
    let mut claims = serde_json::Map::new();
    for (name, values) in &assertion.attributes {
        let value = match values.as_slice() {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        claims.insert(name.clone(), value);
    }
    // Default principal tags and rules on `sub` read the NameID, as for token providers; an
    // attribute that happens to be called `sub` does not replace the subject.
    claims.insert("sub".into(), Value::String(assertion.subject.clone()));
    Ok(VerifiedLogin::External {
        link: LoginLink {
            provider: arn.to_string(),
            subject: assertion.subject.clone(),
        },
        amr_detail: format!("{arn}:SAML:{}", assertion.subject),
        claims: LoginClaims {
            mapping_key: arn.to_string(),
            tag_provider: arn.to_string(),
            client_id: assertion.audience,
            claims,
            assertion_roles: Some(assertion.roles),
        },
    })
}

/// A verified outside login: linked as (provider, subject), never as the token.
fn external(
    provider: &str,
    amr_detail: String,
    mapping_key: String,
    tag_provider: &str,
    t: VerifiedToken,
) -> VerifiedLogin {
    VerifiedLogin::External {
        link: LoginLink {
            provider: provider.to_string(),
            subject: t.subject,
        },
        amr_detail,
        claims: LoginClaims {
            mapping_key,
            tag_provider: tag_provider.to_string(),
            client_id: t.client_id,
            claims: t.claims,
            assertion_roles: None,
        },
    }
}

fn verify_ours(
    core: &Core,
    pool: &Pool,
    token: &str,
    now_ms: i64,
) -> Result<VerifiedLogin, CognitoError> {
    let ring = core.keys.get();
    let claims = crate::openid::verify(&ring, token, now_ms / 1000, Some(&core.issuer)).map_err(
        |e| match e {
            crate::openid::OpenIdError::Expired { now, exp } => CognitoError::NotAuthorized(
                format!("Invalid login token. Token expired: {now} >= {exp}"),
            ),
            crate::openid::OpenIdError::Issuer => CognitoError::NotAuthorized(
                "Invalid login token. Issuer doesn't match providerName".into(),
            ),
            _ => CognitoError::NotAuthorized(
                "Invalid login token. Couldn't verify signed token.".into(),
            ),
        },
    )?;
    if claims.get("aud").and_then(Value::as_str) != Some(pool.id.as_str()) {
        return Err(CognitoError::NotAuthorized(UNSUPPORTED_PROVIDER.into()));
    }
    let identity_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            CognitoError::NotAuthorized("Invalid login token. Missing a required claim: sub".into())
        })?
        .to_string();
    let amr = claims
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let tags = claims
        .get("https://aws.amazon.com/tags")
        .and_then(|t| t.get("principal_tags"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let first = v.as_array().and_then(|a| a.first()).or(Some(v));
                    first
                        .and_then(Value::as_str)
                        .map(|s| (k.clone(), s.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(VerifiedLogin::Ours {
        identity_id,
        amr,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::is_cognito_key;

    #[test]
    fn the_china_key_names_our_tokens_only_in_its_region() {
        assert!(is_cognito_key(
            "us-east-1",
            "cognito-identity.amazonaws.com"
        ));
        assert!(is_cognito_key(
            "cn-north-1",
            "cognito-identity.amazonaws.com"
        ));
        assert!(is_cognito_key(
            "cn-north-1",
            "cognito-identity.cn-north-1.amazonaws.com.cn"
        ));
        assert!(is_cognito_key(
            "cn-northwest-1",
            "cognito-identity.cn-northwest-1.amazonaws.com.cn"
        ));
        assert!(!is_cognito_key(
            "us-east-1",
            "cognito-identity.cn-north-1.amazonaws.com.cn"
        ));
        assert!(!is_cognito_key(
            "cn-northwest-1",
            "cognito-identity.cn-north-1.amazonaws.com.cn"
        ));
        assert!(!is_cognito_key(
            "cn-north-1",
            "cognito-identity.amazonaws.com.cn"
        ));
    }
}
