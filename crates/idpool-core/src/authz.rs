//! Authorising calls made with idpool-issued credentials: the role's inline policies
//! intersected with the session's policies, over the session's keys and tags (spec §4.10;
//! security-and-performance.md §4).

use crate::Core;
use crate::cognito::CognitoError;
use crate::cognito::credentials::context_for;
use crate::policy::eval::{ContextKeys, Decision, Request};
use crate::session::SessionClaims;

/// The request context a session carries into every policy check.
pub fn session_context(core: &Core, s: &SessionClaims, now_ms: i64) -> ContextKeys {
    let mut keys = match (&s.pool_id, &s.identity_id) {
        (Some(aud), Some(sub)) => context_for(aud, sub, &s.amr, &Default::default()),
        _ => ContextKeys::new(),
    };
    for (k, v) in &s.tags {
        keys.insert_one(&format!("aws:PrincipalTag/{k}"), v.clone());
    }
    keys.insert_one("aws:userid", format!("{}:{}", s.role_id, s.session_name));
    keys.insert_one("aws:PrincipalArn", s.role_arn.clone());
    keys.insert_one("aws:PrincipalAccount", core.account_id.clone());
    keys.insert_one("aws:PrincipalType", "AssumedRole");
    keys.insert_one("aws:CurrentTime", crate::sts::iso8601(now_ms));
    keys.insert_one("aws:EpochTime", (now_ms / 1000).to_string());
    keys.insert_one("aws:SecureTransport", "false");
    keys.insert_one("aws:TokenIssueTime", crate::sts::iso8601(s.issued_ms));
    if let Some(p) = &s.provider {
        keys.insert_one("aws:FederatedProvider", p.clone());
    }
    keys
}

/// Evaluates `action` on `resource` for a session, with extra context keys (such as
/// `aws:SourceIp`) supplied by the caller; they override the session's own.
pub async fn evaluate_session_with(
    core: &Core,
    s: &SessionClaims,
    action: &str,
    resource: &str,
    extra: &[(String, Vec<String>)],
    now_ms: i64,
) -> Result<Decision, CognitoError> {
    let mut context = session_context(core, s, now_ms);
    for (k, v) in extra {
        context.insert(k, v.clone());
    }
    let entry = crate::cache::role_entry(core, &s.role_arn)
        .await
        .map_err(|e| CognitoError::Internal(Box::new(std::io::Error::other(e.to_string()))))?;
    // A deleted role's sessions are allowed nothing.
    let identity_refs: Vec<_> = entry.iter().flat_map(|e| e.inline.iter()).collect();
    // Sealed policies were checked when issued; one that no longer parses must not leave the
    // session with its role's full rights, so it allows nothing.
    let Some(session) = s
        .session_policies
        .iter()
        .map(|d| crate::cache::session_policy(core, d))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(Decision::ImplicitlyDenied);
    };
    let req = Request {
        action,
        resource,
        principal: None,
        context: &context,
    };
    let session_refs: Vec<_> = session.iter().map(|p| p.as_ref()).collect();
    Ok(crate::policy::eval::evaluate_with_session(
        &identity_refs,
        &session_refs,
        &req,
    ))
}

/// [`evaluate_session_with`] with only the session's own keys.
pub async fn evaluate_session(
    core: &Core,
    s: &SessionClaims,
    action: &str,
    resource: &str,
    now_ms: i64,
) -> Result<Decision, CognitoError> {
    evaluate_session_with(core, s, action, resource, &[], now_ms).await
}
