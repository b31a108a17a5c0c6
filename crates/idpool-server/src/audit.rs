//! The audit trail: one `idpool::audit` event per credential set and OpenID token issued, never a secret (issue 6 item 5).

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idpool_wire::json::CognitoOp;
use idpool_wire::query::QueryParams;

use crate::http::AppState;

/// The tracing target operators filter on (`IDPOOL_LOG=idpool::audit=info`).
pub const TARGET: &str = "idpool::audit";

fn source_text(source: Option<IpAddr>) -> String {
    source.map_or_else(|| "-".to_string(), |ip| ip.to_string())
}

/// After a successful Cognito Identity operation: records what it issued, if anything. The
/// role and pool of enhanced-flow credentials are read back from the sealed session token we
/// just made, because the response does not name them.
pub fn cognito(
    state: &AppState,
    op: CognitoOp,
    output: &serde_json::Value,
    source: Option<IpAddr>,
    request_id: &str,
    now_ms: i64,
) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    let identity = text(&output["IdentityId"]);
    match op {
        CognitoOp::GetCredentialsForIdentity => {
            let creds = &output["Credentials"];
            let access_key_id = text(&creds["AccessKeyId"]);
            let token = creds["SessionToken"].as_str().unwrap_or_default();
            let ring = state.core.keys.get();
            let claims = idpool_core::session::open(&ring, &access_key_id, token, now_ms)
                .ok()
                .map(|(claims, _secret)| claims);
            let (pool, role, amr, provider) = match &claims {
                Some(c) => (
                    c.pool_id.clone().unwrap_or_else(|| "-".into()),
                    c.role_arn.clone(),
                    c.amr.join(","),
                    c.provider.clone().unwrap_or_else(|| "-".into()),
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            tracing::info!(
                target: TARGET,
                event = "credentials_issued",
                operation = op.name(),
                identity = %identity,
                pool = %pool,
                role = %role,
                amr = %amr,
                provider = %provider,
                access_key_id = %access_key_id,
                source = %source_text(source),
                request_id,
                "credentials issued"
            );
        }
        CognitoOp::GetOpenIdToken | CognitoOp::GetOpenIdTokenForDeveloperIdentity => {
            let claims = output["Token"]
                .as_str()
                .and_then(|t| t.split('.').nth(1))
                .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .unwrap_or_default();
            let amr = claims["amr"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "-".into());
            tracing::info!(
                target: TARGET,
                event = "openid_token_issued",
                operation = op.name(),
                identity = %identity,
                pool = %text(&claims["aud"]),
                amr = %amr,
                source = %source_text(source),
                request_id,
                "OpenID token issued"
            );
        }
        _ => {}
    }
}

/// After `sts:AssumeRoleWithWebIdentity` succeeded: records the session from its XML answer.
pub fn web_identity(params: &QueryParams, xml: &str, source: Option<IpAddr>, request_id: &str) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let element = |name: &str| -> String {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        xml.find(&open)
            .map(|i| &xml[i + open.len()..])
            .and_then(|rest| rest.find(&close).map(|j| rest[..j].to_string()))
            .unwrap_or_else(|| "-".into())
    };
    tracing::info!(
        target: TARGET,
        event = "credentials_issued",
        operation = "AssumeRoleWithWebIdentity",
        identity = %element("SubjectFromWebIdentityToken"),
        pool = %element("Audience"),
        role = params.get("RoleArn").unwrap_or("-"),
        assumed_role = %element("Arn"),
        provider = %element("Provider"),
        access_key_id = %element("AccessKeyId"),
        source = %source_text(source),
        request_id,
        "credentials issued"
    );
}
