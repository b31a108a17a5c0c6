//! Turning a `Logins` map into verified facts: which provider vouched for which subject
//! (spec §3.3, §4.2). Tokens are never stored; only (provider, subject) is.

use std::collections::BTreeMap;

use idpool_store::LoginLink;
use serde_json::Value;

use super::CognitoError;
use super::model::Pool;
use crate::Core;

/// The `Logins` key under which our own OpenID tokens come back (spec §3.3).
pub const COGNITO_PROVIDER: &str = "cognito-identity.amazonaws.com";

pub const LOGINS_DONT_MATCH: &str = "Logins don't match. Please include at least one valid login for this identity or identity pool.";
pub const UNSUPPORTED_PROVIDER: &str =
    "Token is not from a supported provider of this identity pool.";

/// One verified login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedLogin {
    /// Our own OpenID token: it names the identity directly.
    Ours {
        identity_id: String,
        amr: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    /// An outside provider's token: a link to find or make, with its `amr` entries.
    External { link: LoginLink, amr_detail: String },
}

/// Verifies every login of a request; one bad token fails the whole call (spec §4.2.3).
pub fn verify_logins(
    core: &Core,
    pool: &Pool,
    logins: &BTreeMap<String, String>,
    now_ms: i64,
) -> Result<Vec<VerifiedLogin>, CognitoError> {
    let mut out = Vec::with_capacity(logins.len());
    for (provider, token) in logins {
        out.push(verify_one(core, pool, provider, token, now_ms)?);
    }
    Ok(out)
}

fn verify_one(
    core: &Core,
    pool: &Pool,
    provider: &str,
    token: &str,
    now_ms: i64,
) -> Result<VerifiedLogin, CognitoError> {
    if provider == COGNITO_PROVIDER {
        return verify_ours(core, pool, token, now_ms);
    }
    if !pool.configured_providers().iter().any(|p| p == provider) {
        return Err(CognitoError::NotAuthorized(UNSUPPORTED_PROVIDER.into()));
    }
    // Outside identity providers are verified by the provider verifiers of a later release;
    // until then no such token can be proven genuine, and an unproven token is refused.
    Err(CognitoError::NotAuthorized(
        "Invalid login token. Couldn't verify signed token.".into(),
    ))
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
