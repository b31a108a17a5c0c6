//! The STS slice: AssumeRoleWithWebIdentity for the basic flow and GetCallerIdentity
//! (spec §5), answered as awsQuery XML.

use idpool_wire::WireError;
use idpool_wire::query::{QueryParams, STS_NAMESPACE};
use idpool_wire::xml::XmlWriter;
use serde_json::Value;

use crate::Core;
use crate::cognito::credentials::{check_trust, context_for};
use crate::cognito::logins::COGNITO_PROVIDER;
use crate::session::SessionClaims;

/// Who signed a request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The account's root key pair.
    Root,
    /// Temporary credentials idpool issued.
    Session(Box<SessionClaims>),
}

pub fn is_sts_action(action: &str) -> bool {
    matches!(action, "AssumeRoleWithWebIdentity" | "GetCallerIdentity")
}

/// Runs one STS action. `caller` is `None` for the unsigned AssumeRoleWithWebIdentity.
pub async fn handle(
    core: &Core,
    action: &str,
    params: &QueryParams,
    caller: Option<&Caller>,
    request_id: &str,
) -> Result<String, WireError> {
    match action {
        "AssumeRoleWithWebIdentity" => {
            assume_role_with_web_identity(core, params, request_id).await
        }
        "GetCallerIdentity" => match caller {
            Some(c) => Ok(get_caller_identity(core, c, request_id)),
            None => Err(WireError::with_status(
                403,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            )),
        },
        other => Err(WireError::client(
            "InvalidAction",
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn access_denied(msg: impl Into<String>) -> WireError {
    WireError::with_status(403, "AccessDenied", msg)
}

fn invalid_token(msg: impl Into<String>) -> WireError {
    WireError::client("InvalidIdentityToken", msg)
}

fn required<'a>(params: &'a QueryParams, name: &str) -> Result<&'a str, WireError> {
    params.get(name).ok_or_else(|| {
        let camel = format!("{}{}", name[..1].to_ascii_lowercase(), &name[1..]);
        WireError::client(
            "ValidationError",
            format!("1 validation error detected: Value null at '{camel}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

/// `arn:aws:iam::<acct>:role/<path><name>` -> name.
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

async fn assume_role_with_web_identity(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, WireError> {
    let now_ms = core.clock.now_ms();
    let role_arn = required(params, "RoleArn")?;
    let session_name = required(params, "RoleSessionName")?;
    let token = required(params, "WebIdentityToken")?;

    let kid = crate::openid::kid_of(token);
    let ring = core
        .ring_for(|r| kid.as_deref().is_some_and(|k| r.openid_by_kid(k).is_none()))
        .await;
    let peek = crate::openid::peek_claims(token)
        .ok_or_else(|| invalid_token("The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."))?;
    let iss = peek.get("iss").and_then(Value::as_str).unwrap_or_default();
    if iss != core.issuer {
        // Only our own tokens can be verified until outside OIDC providers are supported here.
        return Err(invalid_token(format!(
            "No OpenIDConnect provider found in your account for {iss}"
        )));
    }
    let claims = crate::openid::verify(&ring, token, now_ms / 1000, Some(&core.issuer)).map_err(|e| match e {
        crate::openid::OpenIdError::Expired { .. } => {
            WireError::client("ExpiredTokenException", "Token expired: current date/time must be before the expiration date/time")
        }
        _ => invalid_token("The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."),
    })?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let amr: Vec<String> = claims
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let tags: std::collections::BTreeMap<String, String> = claims
        .get("https://aws.amazon.com/tags")
        .and_then(|t| t.get("principal_tags"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    v.as_array()
                        .and_then(|a| a.first())
                        .and_then(Value::as_str)
                        .map(|s| (k.clone(), s.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();

    let context = context_for(&aud, &sub, &amr, &tags);
    let role = crate::iam::find_role_by_arn(core, role_arn)
        .await
        .map_err(|e| e.to_wire())?
        .ok_or_else(|| access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity"))?;
    let trusted = check_trust(core, &role.arn, &context, !tags.is_empty())
        .await
        .map_err(|e| e.to_wire())?
        .ok_or_else(|| access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity"))?;

    let duration_s: i64 = match params.get("DurationSeconds") {
        Some(d) => d.parse().map_err(|_| {
            WireError::client("ValidationError", "DurationSeconds must be a number")
        })?,
        None => 3600,
    };
    if duration_s > i64::from(role.max_session_duration) {
        return Err(WireError::client(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let mut session_policies = Vec::new();
    if let Some(policy) = params.get("Policy") {
        crate::policy::parse_policy(policy, crate::policy::PolicyKind::Identity)
            .map_err(|e| WireError::client("MalformedPolicyDocument", e.message().to_string()))?;
        session_policies.push(policy.to_string());
    }

    let session = SessionClaims {
        access_key_id: crate::session::new_access_key_id()
            .map_err(|_| WireError::internal("InternalFailure"))?,
        identity_id: Some(sub.clone()),
        pool_id: Some(aud.clone()),
        role_arn: trusted.arn.clone(),
        role_id: trusted.id.clone(),
        session_name: session_name.to_string(),
        issued_ms: now_ms,
        expires_ms: now_ms + duration_s * 1000,
        tags,
        session_policies,
        amr,
        provider: Some(COGNITO_PROVIDER.into()),
    };
    let creds = crate::session::issue(&ring, &session)
        .map_err(|_| WireError::internal("InternalFailure"))?;

    let mut w = XmlWriter::new();
    w.open_ns("AssumeRoleWithWebIdentityResponse", STS_NAMESPACE);
    w.open("AssumeRoleWithWebIdentityResult");
    w.open("Credentials");
    w.leaf("AccessKeyId", &creds.access_key_id);
    w.leaf("SecretAccessKey", &creds.secret_access_key);
    w.leaf("SessionToken", &creds.session_token);
    w.leaf("Expiration", &iso8601(creds.expires_ms));
    w.close("Credentials");
    w.leaf("SubjectFromWebIdentityToken", &sub);
    w.open("AssumedRoleUser");
    w.leaf("AssumedRoleId", &format!("{}:{session_name}", trusted.id));
    w.leaf("Arn", &assumed_role_arn(core, &trusted.arn, session_name));
    w.close("AssumedRoleUser");
    w.leaf("Provider", COGNITO_PROVIDER);
    w.leaf("Audience", &aud);
    w.close("AssumeRoleWithWebIdentityResult");
    metadata(&mut w, request_id);
    w.close("AssumeRoleWithWebIdentityResponse");
    Ok(w.finish())
}

/// `arn:aws:sts::<acct>:assumed-role/<role name>/<session>`.
pub fn assumed_role_arn(core: &Core, role_arn: &str, session_name: &str) -> String {
    format!(
        "arn:{}:sts::{}:assumed-role/{}/{}",
        crate::partition(&core.region),
        core.account_id,
        role_name(role_arn),
        session_name
    )
}

fn get_caller_identity(core: &Core, caller: &Caller, request_id: &str) -> String {
    let (arn, user_id) = match caller {
        Caller::Root => (
            format!(
                "arn:{}:iam::{}:root",
                crate::partition(&core.region),
                core.account_id
            ),
            core.account_id.clone(),
        ),
        Caller::Session(s) => (
            assumed_role_arn(core, &s.role_arn, &s.session_name),
            format!("{}:{}", s.role_id, s.session_name),
        ),
    };
    let mut w = XmlWriter::new();
    w.open_ns("GetCallerIdentityResponse", STS_NAMESPACE);
    w.open("GetCallerIdentityResult");
    w.leaf("Arn", &arn);
    w.leaf("UserId", &user_id);
    w.leaf("Account", &core.account_id);
    w.close("GetCallerIdentityResult");
    metadata(&mut w, request_id);
    w.close("GetCallerIdentityResponse");
    w.finish()
}

fn metadata(w: &mut XmlWriter, request_id: &str) {
    w.open("ResponseMetadata");
    w.leaf("RequestId", request_id);
    w.close("ResponseMetadata");
}

/// `2026-11-26T10:17:41Z`.
pub fn iso8601(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}
