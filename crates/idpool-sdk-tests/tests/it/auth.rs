//! Who may call what: SigV4 failures per protocol, public versus signed Cognito operations, raw unsigned requests (spec §1.3, §1.5.4; design.md "Who may call what").

use aws_sdk_cognitoidentity::error::SdkError;

use crate::helpers::{
    ROOT_KEY_ID, RawResponse, TestServer, assert_code, assert_failure, expect_err, failure,
    is_pool_id, raw_post,
};

const WRONG_SECRET: &str = "wrong/secret/example/key/000000000000000";
const UNKNOWN_KEY: &str = "AKIDUNKNOWNEXAMPLE01";
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature \
    you provided. Check your AWS Secret Access Key and signing method. Consult the service \
    documentation for details.";
const TOKEN_INVALID: &str = "The security token included in the request is invalid.";

async fn pool(s: &TestServer) -> String {
    s.cognito
        .create_identity_pool()
        .identity_pool_name("guarded")
        .allow_unauthenticated_identities(true)
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_every_protocol() {
    let s = TestServer::start().await;
    let cognito = s.cognito_as(ROOT_KEY_ID, WRONG_SECRET).await;
    let err = expect_err(
        cognito
            .create_identity_pool()
            .identity_pool_name("sneaky")
            .allow_unauthenticated_identities(true)
            .send()
            .await,
    );
    assert_failure(&err, "InvalidSignatureException", SIGNATURE_MISMATCH, 400);
    let listed = s
        .cognito
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    assert!(
        listed.identity_pools().is_empty(),
        "the refused call created nothing"
    );

    let iam = s.iam_as(ROOT_KEY_ID, WRONG_SECRET).await;
    let err = expect_err(iam.list_roles().send().await);
    assert_failure(&err, "SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403);

    let sts = s.sts_as(ROOT_KEY_ID, WRONG_SECRET).await;
    let err = expect_err(sts.get_caller_identity().send().await);
    assert_failure(&err, "SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403);
}

#[tokio::test]
async fn an_unknown_access_key_is_refused_by_every_protocol() {
    let s = TestServer::start().await;
    let cognito = s.cognito_as(UNKNOWN_KEY, WRONG_SECRET).await;
    let err = expect_err(cognito.list_identity_pools().max_results(10).send().await);
    assert_failure(&err, "UnrecognizedClientException", TOKEN_INVALID, 400);

    let iam = s.iam_as(UNKNOWN_KEY, WRONG_SECRET).await;
    let err = expect_err(iam.list_roles().send().await);
    assert_failure(&err, "InvalidClientTokenId", TOKEN_INVALID, 403);

    let sts = s.sts_as(UNKNOWN_KEY, WRONG_SECRET).await;
    let err = expect_err(sts.get_caller_identity().send().await);
    assert_failure(&err, "InvalidClientTokenId", TOKEN_INVALID, 403);
}

#[tokio::test]
async fn root_keys_with_a_session_token_are_refused() {
    let s = TestServer::start().await;
    let cognito = s.cognito_with_token("FwoGZXIvYXdzEXAMPLETOKEN").await;
    let err = expect_err(cognito.list_identity_pools().max_results(10).send().await);
    assert_code(&err, "UnrecognizedClientException", 400);
}

#[tokio::test]
async fn unsigned_callers_reach_public_operations_only() {
    let s = TestServer::start().await;
    let id = pool(&s).await;

    // GetId is public: a pool that admits guests hands an unsigned caller an identity.
    let out = s
        .unsigned
        .get_id()
        .identity_pool_id(&id)
        .send()
        .await
        .expect("unsigned GetId");
    let identity = out.identity_id.expect("IdentityId");
    assert!(
        is_pool_id(&identity),
        "identity ids share the pool id format: {identity}"
    );

    // ListIdentityPools needs a signature. The SDK (as of this writing) refuses to send it
    // without credentials; should it ever send it, the server must refuse it.
    let err = expect_err(
        s.unsigned
            .list_identity_pools()
            .max_results(10)
            .send()
            .await,
    );
    let f = failure(&err);
    if f.is_service_error {
        assert_eq!(
            f.code.as_deref(),
            Some("MissingAuthenticationTokenException"),
            "{f:?}"
        );
    } else {
        assert!(
            matches!(err, SdkError::DispatchFailure(_)),
            "refused before sending: {err:?}"
        );
    }
}

/// One Cognito Identity call with no signature at all.
async fn unsigned_json(s: &TestServer, operation: &str, body: &str) -> RawResponse {
    let target = format!("AWSCognitoIdentityService.{operation}");
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", target.as_str()),
    ];
    raw_post(s.addr, &headers, body).await
}

#[tokio::test]
async fn the_server_itself_refuses_unsigned_admin_calls() {
    let s = TestServer::start().await;
    let id = pool(&s).await;
    let r = unsigned_json(&s, "ListIdentityPools", r#"{"MaxResults":10}"#).await;
    assert_eq!(r.status, 400, "{r:?}");
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("JSON error body");
    assert_eq!(
        body["__type"], "MissingAuthenticationTokenException",
        "{r:?}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{r:?}"
    );
    assert!(
        r.header("x-amzn-errortype")
            .is_some_and(|t| t.starts_with("MissingAuthenticationTokenException")),
        "{r:?}"
    );
    assert!(
        r.header("x-amzn-requestid").is_some_and(|v| !v.is_empty()),
        "{r:?}"
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("*"),
        "errors carry CORS headers"
    );

    // The same unsigned request for a signed-only data-plane operation is refused too.
    let r = unsigned_json(
        &s,
        "ListIdentities",
        &format!(r#"{{"IdentityPoolId":"{id}","MaxResults":10}}"#),
    )
    .await;
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("JSON error body");
    assert_eq!(
        (r.status, &body["__type"]),
        (
            400,
            &serde_json::json!("MissingAuthenticationTokenException")
        )
    );

    // A public operation is not refused for want of a signature.
    let r = unsigned_json(&s, "GetId", &format!(r#"{{"IdentityPoolId":"{id}"}}"#)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("JSON body");
    assert!(body["IdentityId"].as_str().is_some_and(is_pool_id), "{r:?}");

    let form = [(
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )];
    let r = raw_post(s.addr, &form, "Action=ListRoles&Version=2010-05-08").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{r:?}"
    );
    let r = raw_post(s.addr, &form, "Action=GetCallerIdentity&Version=2011-06-15").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{r:?}"
    );
}
