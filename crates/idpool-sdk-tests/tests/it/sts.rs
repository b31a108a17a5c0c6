//! Temporary credentials as signing keys: GetCallerIdentity for root and Cognito sessions, altered tokens and secrets, expiry (spec §4.10, §5.3, §1.5.4).

use std::sync::Arc;

use crate::fixtures::{
    alter_char, developer_pool, developer_token, guest_identity, standard_roles,
};
use crate::helpers::{ACCOUNT, TestServer, assert_failure, expect_err};

const COGNITO: &str = "cognito-identity.amazonaws.com";
const TOKEN_INVALID: &str = "The security token included in the request is invalid.";
const TOKEN_EXPIRED: &str = "The security token included in the request is expired";
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature \
    you provided. Check your AWS Secret Access Key and signing method. Consult the service \
    documentation for details.";

/// Key id, secret and session token.
type Keys = (String, String, String);

async fn sts_for(s: &TestServer, (key, secret, token): &Keys) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&s.config_as(Some((key, secret, Some(token)))).await)
}

async fn cognito_for(
    s: &TestServer,
    (key, secret, token): &Keys,
) -> aws_sdk_cognitoidentity::Client {
    aws_sdk_cognitoidentity::Client::new(&s.config_as(Some((key, secret, Some(token)))).await)
}

/// Enhanced-flow credentials for a new guest of `pool`.
async fn guest_keys(s: &TestServer, pool: &str) -> Keys {
    let guest = guest_identity(s, pool).await;
    let c = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&guest)
        .send()
        .await
        .expect("GetCredentialsForIdentity")
        .credentials
        .expect("Credentials");
    (
        c.access_key_id.expect("AccessKeyId"),
        c.secret_key.expect("SecretKey"),
        c.session_token.expect("SessionToken"),
    )
}

#[tokio::test]
async fn root_is_the_account_root() {
    let s = TestServer::start().await;
    let me = s
        .sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(me.arn.as_deref(), Some("arn:aws:iam::000000000000:root"));
    assert_eq!(me.user_id.as_deref(), Some(ACCOUNT));
    assert_eq!(me.account.as_deref(), Some(ACCOUNT));
}

#[tokio::test]
async fn enhanced_flow_credentials_are_the_assumed_role() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let roles = standard_roles(&s, &pool).await;

    let guest = guest_keys(&s, &pool).await;
    let me = sts_for(&s, &guest)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity as a guest");
    assert_eq!(
        me.arn.as_deref(),
        Some(
            format!(
                "arn:aws:sts::{ACCOUNT}:assumed-role/{}/CognitoIdentityCredentials",
                roles.guest.name
            )
            .as_str()
        )
    );
    assert_eq!(
        me.user_id,
        Some(format!("{}:CognitoIdentityCredentials", roles.guest.id))
    );
    assert_eq!(me.account.as_deref(), Some(ACCOUNT));

    let (id, token) = developer_token(&s, &pool, "uma").await;
    let c = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(COGNITO, &token)
        .send()
        .await
        .expect("GetCredentialsForIdentity")
        .credentials
        .unwrap();
    let keys = (
        c.access_key_id.unwrap(),
        c.secret_key.unwrap(),
        c.session_token.unwrap(),
    );
    let me = sts_for(&s, &keys)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity as a developer identity");
    assert_eq!(
        me.arn,
        Some(format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/{}/CognitoIdentityCredentials",
            roles.authenticated.name
        ))
    );
    assert_eq!(
        me.user_id,
        Some(format!(
            "{}:CognitoIdentityCredentials",
            roles.authenticated.id
        ))
    );
}

#[tokio::test]
async fn one_altered_byte_of_token_or_secret_is_refused() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    standard_roles(&s, &pool).await;
    let (key, secret, token) = guest_keys(&s, &pool).await;

    let forged_token = (
        key.clone(),
        secret.clone(),
        alter_char(&token, token.len() / 2),
    );
    let err = expect_err(
        sts_for(&s, &forged_token)
            .await
            .get_caller_identity()
            .send()
            .await,
    );
    assert_failure(&err, "InvalidClientTokenId", TOKEN_INVALID, 403);
    let err = expect_err(
        cognito_for(&s, &forged_token)
            .await
            .describe_identity_pool()
            .identity_pool_id(&pool)
            .send()
            .await,
    );
    assert_failure(&err, "UnrecognizedClientException", TOKEN_INVALID, 400);

    let forged_secret = (key.clone(), alter_char(&secret, 7), token.clone());
    let err = expect_err(
        sts_for(&s, &forged_secret)
            .await
            .get_caller_identity()
            .send()
            .await,
    );
    assert_failure(&err, "SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403);
    let err = expect_err(
        cognito_for(&s, &forged_secret)
            .await
            .describe_identity_pool()
            .identity_pool_id(&pool)
            .send()
            .await,
    );
    assert_failure(&err, "InvalidSignatureException", SIGNATURE_MISMATCH, 400);

    // A genuine token presented with another session's key id.
    let (other_key, other_secret, _) = guest_keys(&s, &pool).await;
    let swapped = (other_key, other_secret, token.clone());
    let err = expect_err(
        sts_for(&s, &swapped)
            .await
            .get_caller_identity()
            .send()
            .await,
    );
    assert_failure(&err, "InvalidClientTokenId", TOKEN_INVALID, 403);

    sts_for(&s, &(key, secret, token))
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("the unaltered credentials still work");
}

#[tokio::test]
async fn credentials_past_their_expiry_are_refused() {
    let clock = Arc::new(idpool_core::clock::OffsetClock::default());
    let s = TestServer::start_with_clock(clock.clone()).await;
    let pool = developer_pool(&s, true).await;
    standard_roles(&s, &pool).await;

    // Issued an hour and a second ago by the server's clock: expired one second ago. Only
    // unsigned calls run while the clock is off, so no signature is judged stale.
    clock.set_offset_ms(-3_601_000);
    let keys = guest_keys(&s, &pool).await;
    clock.set_offset_ms(0);

    let err = expect_err(sts_for(&s, &keys).await.get_caller_identity().send().await);
    assert_failure(&err, "ExpiredToken", TOKEN_EXPIRED, 403);
    let err = expect_err(
        cognito_for(&s, &keys)
            .await
            .describe_identity_pool()
            .identity_pool_id(&pool)
            .send()
            .await,
    );
    assert_failure(&err, "ExpiredTokenException", TOKEN_EXPIRED, 400);

    // Fresh credentials from the same pool are fine.
    let fresh = guest_keys(&s, &pool).await;
    sts_for(&s, &fresh)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("fresh credentials");
}
