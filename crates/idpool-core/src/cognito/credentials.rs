//! Choosing the role, checking its trust policy as STS would, and issuing sealed credentials
//! and OpenID tokens (spec §4.4, §4.9-4.12).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::CognitoError;
use super::logins::COGNITO_PROVIDER;
use super::model::Pool;
use crate::Core;
use crate::policy::eval::{ContextKeys, Decision, Request, RequestPrincipal};
use crate::session::{IssuedCredentials, SessionClaims};

/// Lifetime of enhanced-flow credentials (spec §4.10: one hour, not configurable).
pub const ENHANCED_CREDENTIALS_MS: i64 = 3600 * 1000;
/// Lifetime of GetOpenIdToken tokens (spec §4.5).
pub const OPEN_ID_TOKEN_S: i64 = 600;
/// Session name AWS gives enhanced-flow sessions.
pub const ENHANCED_SESSION_NAME: &str = "CognitoIdentityCredentials";

pub const INVALID_POOL_CONFIGURATION: &str =
    "Invalid identity pool configuration. Check assigned IAM roles for this pool.";

/// The services a guest session may reach whatever its role says: the inline scope-down
/// policy and `AmazonCognitoUnAuthedIdentitiesSessionPolicy` together (spec §4.4 step 6).
const GUEST_ACTIONS: &[&str] = &[
    "appsync:*",
    "cloudwatch:*",
    "cognito-identity:*",
    "cognito-sync:*",
    "comprehend:*",
    "dynamodb:*",
    "firehose:*",
    "kinesis:*",
    "gamelift:*",
    "iot:*",
    "kms:*",
    "lambda:*",
    "lex:*",
    "machinelearning:*",
    "mobileanalytics:*",
    "mobiletargeting:*",
    "polly:*",
    "rekognition:*",
    "s3:*",
    "sdb:*",
    "ses:*",
    "sns:*",
    "sqs:*",
    "sumerian:*",
    "transcribe:*",
    "translate:*",
    "rum:PutRumEvents",
    "sagemaker:InvokeEndpoint",
    "personalize:*",
    "geo:GetMap*",
    "geo:SearchPlaceIndex*",
    "geo:CalculateRoute*",
];

/// The guest scope-down session policy as a policy document.
pub fn guest_session_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": GUEST_ACTIONS, "Resource": "*"}]
    })
    .to_string()
}

/// Who the credentials are for.
#[derive(Debug, Clone)]
pub struct Subject {
    pub identity_id: String,
    pub authenticated: bool,
    /// `amr` as the token carries it.
    pub amr: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// The `amr` claim for an identity: `unauthenticated`, or `authenticated` and its providers.
pub fn amr_for(authenticated: bool, providers: &[String]) -> Vec<String> {
    if authenticated {
        let mut v = vec!["authenticated".to_string()];
        v.extend(providers.iter().cloned());
        v
    } else {
        vec!["unauthenticated".to_string()]
    }
}

/// Picks the role for a subject from the pool's default roles (spec §4.9, without mappings).
pub fn choose_role(
    pool: &Pool,
    subject: &Subject,
    custom_role_arn: Option<&str>,
) -> Result<String, CognitoError> {
    let key = if subject.authenticated {
        "authenticated"
    } else {
        "unauthenticated"
    };
    let role = pool
        .config
        .roles
        .as_ref()
        .and_then(|r| r.get(key))
        .cloned()
        .ok_or_else(|| {
            CognitoError::InvalidIdentityPoolConfiguration(INVALID_POOL_CONFIGURATION.into())
        })?;
    match custom_role_arn {
        // Without a mapping that offers a choice, the only role an identity may ask for is the
        // one it would get anyway (spec §4.9.3).
        Some(custom) if custom != role => Err(CognitoError::NotAuthorized(format!(
            "Access to Role '{custom}' is forbidden."
        ))),
        _ => Ok(role),
    }
}

/// The context keys STS sees for a Cognito web identity (spec §4.12).
pub fn cognito_context(pool_id: &str, subject: &Subject) -> ContextKeys {
    context_for(pool_id, &subject.identity_id, &subject.amr, &subject.tags)
}

/// Context keys from a Cognito token's `aud`, `sub`, `amr` and principal tags.
pub fn context_for(
    aud: &str,
    sub: &str,
    amr: &[String],
    tags: &BTreeMap<String, String>,
) -> ContextKeys {
    let mut keys = ContextKeys::new();
    keys.insert_one("cognito-identity.amazonaws.com:aud", aud);
    keys.insert_one("cognito-identity.amazonaws.com:sub", sub);
    keys.insert("cognito-identity.amazonaws.com:amr", amr.to_vec());
    keys.insert_one("aws:FederatedProvider", COGNITO_PROVIDER);
    if !tags.is_empty() {
        keys.insert("aws:TagKeys", tags.keys().cloned().collect());
        for (k, v) in tags {
            keys.insert_one(&format!("aws:RequestTag/{k}"), v.clone());
        }
    }
    keys
}

/// The role as STS needs it: its id and whether its trust policy lets a Cognito identity in.
pub struct TrustedRole {
    pub arn: String,
    pub id: String,
}

/// Looks the role up in idpool's IAM and evaluates its trust policy for
/// `sts:AssumeRoleWithWebIdentity` (and `sts:TagSession` when tags travel). `None` means STS
/// would refuse.
pub async fn check_trust(
    core: &Core,
    role_arn: &str,
    context: &ContextKeys,
    with_tags: bool,
) -> Result<Option<TrustedRole>, CognitoError> {
    let entry = crate::cache::role_entry(core, role_arn)
        .await
        .map_err(|e| CognitoError::Internal(Box::new(std::io::Error::other(e.to_string()))))?;
    let Some(entry) = entry else { return Ok(None) };
    let Some(doc) = &entry.trust else {
        return Ok(None);
    };
    let role = &entry.role;
    let principal = RequestPrincipal::Federated(COGNITO_PROVIDER.to_string());
    let mut actions = vec!["sts:AssumeRoleWithWebIdentity"];
    if with_tags {
        actions.push("sts:TagSession");
    }
    for action in actions {
        let req = Request {
            action,
            resource: &role.arn,
            principal: Some(&principal),
            context,
        };
        if crate::policy::eval::evaluate(&[doc], &req) != Decision::Allowed {
            return Ok(None);
        }
    }
    Ok(Some(TrustedRole {
        arn: role.arn.clone(),
        id: role.id.clone(),
    }))
}

/// Issues enhanced-flow credentials: role chosen, trust checked, session sealed. Nothing is
/// written.
pub async fn issue_enhanced(
    core: &Core,
    pool: &Pool,
    subject: &Subject,
    custom_role_arn: Option<&str>,
    now_ms: i64,
) -> Result<IssuedCredentials, CognitoError> {
    let role_arn = choose_role(pool, subject, custom_role_arn)?;
    let context = cognito_context(&pool.id, subject);
    let trusted = check_trust(core, &role_arn, &context, !subject.tags.is_empty())
        .await?
        .ok_or_else(|| {
            CognitoError::InvalidIdentityPoolConfiguration(INVALID_POOL_CONFIGURATION.into())
        })?;
    let claims = SessionClaims {
        access_key_id: crate::session::new_access_key_id().map_err(CognitoError::internal)?,
        identity_id: Some(subject.identity_id.clone()),
        pool_id: Some(pool.id.clone()),
        role_arn: trusted.arn,
        role_id: trusted.id,
        session_name: ENHANCED_SESSION_NAME.into(),
        issued_ms: now_ms,
        expires_ms: now_ms + ENHANCED_CREDENTIALS_MS,
        tags: subject.tags.clone(),
        session_policies: if subject.authenticated {
            Vec::new()
        } else {
            vec![guest_session_policy()]
        },
        amr: subject.amr.clone(),
        provider: Some(COGNITO_PROVIDER.into()),
    };
    crate::session::issue(&core.keys.get(), &claims).map_err(CognitoError::internal)
}

/// Mints one of our OpenID tokens for a subject (spec §4.11).
pub fn mint_open_id_token(
    core: &Core,
    pool_id: &str,
    subject: &Subject,
    lifetime_s: i64,
    now_ms: i64,
) -> Result<String, CognitoError> {
    let iat = now_ms / 1000;
    let mut claims = Map::new();
    claims.insert("sub".into(), subject.identity_id.clone().into());
    claims.insert("aud".into(), pool_id.into());
    claims.insert(
        "https://cognito-identity.amazonaws.com/identity-pool-arn".into(),
        super::pools::pool_arn(core, pool_id).into(),
    );
    claims.insert("amr".into(), subject.amr.clone().into());
    claims.insert("iss".into(), core.issuer.clone().into());
    if !subject.tags.is_empty() {
        let tags: Map<String, Value> = subject
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), json!([v])))
            .collect();
        claims.insert(
            "https://aws.amazon.com/tags".into(),
            json!({ "principal_tags": tags }),
        );
    }
    claims.insert("exp".into(), (iat + lifetime_s).into());
    claims.insert("iat".into(), iat.into());
    crate::openid::mint(&core.keys.get(), &claims).map_err(CognitoError::internal)
}

/// The `Credentials` member of GetCredentialsForIdentity.
pub fn credentials_wire(c: &IssuedCredentials) -> Value {
    json!({
        "AccessKeyId": c.access_key_id,
        "SecretKey": c.secret_access_key,
        "SessionToken": c.session_token,
        "Expiration": idpool_wire::json::epoch_seconds(c.expires_ms),
    })
}
