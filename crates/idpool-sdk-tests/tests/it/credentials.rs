//! GetCredentialsForIdentity through the SDK: guest and developer credentials, login checks, role choice and the trust check STS would make (spec §2, §4.4, §4.9, §4.10, §4.12).

use std::sync::Arc;

use serde_json::json;

use crate::fixtures::{
    DEVELOPER, WEB_IDENTITY_AND_TAGS, alter_char, check_credentials, create_role, developer_pool,
    developer_token, guest_identity, jwt, now_s, pool_trust, role_arn, set_roles, standard_roles,
    trust,
};
use crate::helpers::{TestServer, assert_code, assert_failure, expect_err, failure};

const LOGINS_DONT_MATCH: &str = "Logins don't match. Please include at least one valid login for this identity or identity pool.";
const INVALID_CONFIGURATION: &str =
    "Invalid identity pool configuration. Check assigned IAM roles for this pool.";
const COGNITO: &str = "cognito-identity.amazonaws.com";

#[tokio::test]
async fn guests_get_one_hour_credentials_for_their_own_identity() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    standard_roles(&s, &pool).await;
    let guest = guest_identity(&s, &pool).await;
    let issued = now_s();
    let out = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&guest)
        .send()
        .await
        .expect("GetCredentialsForIdentity");
    assert_eq!(out.identity_id.as_deref(), Some(guest.as_str()));
    let (key, _, _) = check_credentials(out.credentials.as_ref().expect("Credentials"), issued);

    let again = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&guest)
        .send()
        .await
        .unwrap();
    let key2 = again.credentials.unwrap().access_key_id.unwrap();
    assert_ne!(key, key2, "every call issues new credentials");
}

#[tokio::test]
async fn developer_identities_get_credentials_with_their_token() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    standard_roles(&s, &pool).await;
    let (id, token) = developer_token(&s, &pool, "olga").await;
    let issued = now_s();
    let out = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(COGNITO, &token)
        .send()
        .await
        .expect("GetCredentialsForIdentity");
    assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
    check_credentials(out.credentials.as_ref().expect("Credentials"), issued);
}

#[tokio::test]
async fn authenticated_identities_need_a_valid_login_of_their_own() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    standard_roles(&s, &pool).await;
    let (id, token) = developer_token(&s, &pool, "pete").await;
    let (_, other_token) = developer_token(&s, &pool, "quinn").await;
    let call = |logins: Option<(&str, &str)>| {
        let mut c = s.unsigned.get_credentials_for_identity().identity_id(&id);
        if let Some((k, v)) = logins {
            c = c.logins(k, v);
        }
        c.send()
    };

    let err = expect_err(call(None).await);
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);
    assert!(err.into_service_error().is_not_authorized_exception());

    let err = expect_err(call(Some((COGNITO, &other_token))).await);
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);

    // One altered character of the signature.
    let forged = alter_char(&token, token.len() - 10);
    let err = expect_err(call(Some((COGNITO, &forged))).await);
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Invalid login token. Couldn't verify signed token.",
        400,
    );

    // A genuine token of another pool does not speak for this pool's identity.
    let other_pool = developer_pool(&s, false).await;
    let (_, foreign) = developer_token(&s, &other_pool, "pete").await;
    let err = expect_err(call(Some((COGNITO, &foreign))).await);
    assert_code(&err, "NotAuthorizedException", 400);

    let err = expect_err(call(Some(("graph.facebook.com", "EAAGm0PX4ZCpsBA"))).await);
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Token is not from a supported provider of this identity pool.",
        400,
    );

    call(Some((COGNITO, &token)))
        .await
        .expect("the identity's own token still works");
}

#[tokio::test]
async fn expired_developer_tokens_are_refused() {
    let clock = Arc::new(idpool_core::clock::OffsetClock::default());
    let s = TestServer::start_with_clock(clock.clone()).await;
    let pool = developer_pool(&s, false).await;
    standard_roles(&s, &pool).await;
    let out = s
        .cognito
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(&pool)
        .logins(DEVELOPER, "rita")
        .token_duration(60)
        .send()
        .await
        .unwrap();
    let (id, token) = (out.identity_id.unwrap(), out.token.unwrap());
    let exp = jwt(&token).1["exp"].as_i64().expect("exp");

    // Three minutes on, well past the token's minute and any clock leeway.
    // GetCredentialsForIdentity is unsigned, so no signature ages with it.
    clock.set_offset_ms(180_000);
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(COGNITO, &token)
            .send()
            .await,
    );
    let f = failure(&err);
    assert_eq!(f.code.as_deref(), Some("NotAuthorizedException"), "{err:?}");
    let message = f.message.expect("message");
    let numbers = message
        .strip_prefix("Invalid login token. Token expired: ")
        .unwrap_or_else(|| panic!("{message}"));
    let (now, token_exp) = numbers.split_once(" >= ").expect("`<now> >= <exp>`");
    let (now, token_exp): (i64, i64) = (now.parse().unwrap(), token_exp.parse().unwrap());
    assert_eq!(token_exp, exp);
    assert!(now >= exp, "{message}");
}

#[tokio::test]
async fn a_missing_role_for_the_kind_of_identity_is_a_configuration_error() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let guest = guest_identity(&s, &pool).await;
    let (id, token) = developer_token(&s, &pool, "sam").await;

    // No roles at all.
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidIdentityPoolConfigurationException",
        INVALID_CONFIGURATION,
        400,
    );
    assert!(
        err.into_service_error()
            .is_invalid_identity_pool_configuration_exception()
    );

    // Only a guest role: the developer identity has none.
    let guest_role = create_role(&s, "Guest", &pool_trust(&pool, "unauthenticated")).await;
    set_roles(&s, &pool, None, Some(&guest_role.arn)).await;
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(COGNITO, &token)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidIdentityPoolConfigurationException",
        INVALID_CONFIGURATION,
        400,
    );
    s.unsigned
        .get_credentials_for_identity()
        .identity_id(&guest)
        .send()
        .await
        .expect("the guest has its role");
}

#[tokio::test]
async fn guests_lose_access_when_the_pool_stops_admitting_them() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    standard_roles(&s, &pool).await;
    let guest = guest_identity(&s, &pool).await;
    s.cognito
        .update_identity_pool()
        .identity_pool_id(&pool)
        .identity_pool_name("closed")
        .allow_unauthenticated_identities(false)
        .developer_provider_name(DEVELOPER)
        .send()
        .await
        .expect("UpdateIdentityPool");
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Unauthenticated access is not supported for this identity pool.",
        400,
    );
}

/// One trust-policy case: the role's trust policy, the tags the token carries, whether
/// Cognito gets credentials.
struct TrustCase {
    name: &'static str,
    trust: String,
    tags: &'static [(&'static str, &'static str)],
    allowed: bool,
}

#[tokio::test]
async fn the_authenticated_role_must_trust_the_identity_as_sts_would() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let (id, _) = developer_token(&s, &pool, "tess").await;
    let aud = |op: &str, value: &str| json!({op: {"cognito-identity.amazonaws.com:aud": value}});
    let only_web_identity = ["sts:AssumeRoleWithWebIdentity"];
    let cases = [
        TrustCase {
            name: "StringEquals aud and ForAnyValue:StringLike amr",
            trust: pool_trust(&pool, "authenticated"),
            tags: &[],
            allowed: true,
        },
        TrustCase {
            name: "StringLike aud",
            trust: trust(&only_web_identity, aud("StringLike", "us-east-1:*")),
            tags: &[],
            allowed: true,
        },
        TrustCase {
            name: "amr names the developer provider",
            trust: trust(
                &only_web_identity,
                json!({
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": DEVELOPER},
                }),
            ),
            tags: &[],
            allowed: true,
        },
        TrustCase {
            name: "StringEquals sub of this identity",
            trust: trust(
                &only_web_identity,
                json!({"StringEquals": {"cognito-identity.amazonaws.com:sub": id}}),
            ),
            tags: &[],
            allowed: true,
        },
        TrustCase {
            name: "wrong aud",
            trust: trust(
                &only_web_identity,
                aud(
                    "StringEquals",
                    "us-east-1:00000000-0000-4000-8000-000000000000",
                ),
            ),
            tags: &[],
            allowed: false,
        },
        TrustCase {
            name: "amr for guests only",
            trust: pool_trust(&pool, "unauthenticated"),
            tags: &[],
            allowed: false,
        },
        TrustCase {
            name: "another federated principal",
            trust: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Federated": "accounts.google.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                }]
            })
            .to_string(),
            tags: &[],
            allowed: false,
        },
        TrustCase {
            name: "principal tags without sts:TagSession",
            trust: trust(&only_web_identity, aud("StringEquals", &pool)),
            tags: &[("department", "research")],
            allowed: false,
        },
        TrustCase {
            name: "principal tags with sts:TagSession",
            trust: trust(&WEB_IDENTITY_AND_TAGS, aud("StringEquals", &pool)),
            tags: &[("department", "research")],
            allowed: true,
        },
    ];
    for case in cases {
        let role = create_role(&s, "Case", &case.trust).await;
        set_roles(&s, &pool, Some(&role.arn), None).await;
        let mut call = s
            .cognito
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&pool)
            .logins(DEVELOPER, "tess");
        for (k, v) in case.tags {
            call = call.principal_tags(*k, *v);
        }
        let token = call.send().await.expect("developer token").token.unwrap();
        let result = s
            .unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(COGNITO, &token)
            .send()
            .await;
        match (case.allowed, result) {
            (true, Ok(out)) => assert!(out.credentials.is_some(), "{}", case.name),
            (true, Err(e)) => panic!("{}: refused: {e:?}", case.name),
            (false, Ok(_)) => panic!("{}: credentials were issued", case.name),
            (false, Err(e)) => assert_failure(
                &e,
                "InvalidIdentityPoolConfigurationException",
                INVALID_CONFIGURATION,
                400,
            ),
        }
    }
}

#[tokio::test]
async fn roles_that_do_not_exist_here_are_configuration_errors() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let guest = guest_identity(&s, &pool).await;
    let real = create_role(&s, "Guest", &pool_trust(&pool, "unauthenticated")).await;
    let missing = role_arn("NeverCreated");
    let other_account = format!("arn:aws:iam::111111111111:role/{}", real.name);
    for arn in [&missing, &other_account] {
        set_roles(&s, &pool, None, Some(arn)).await;
        let err = expect_err(
            s.unsigned
                .get_credentials_for_identity()
                .identity_id(&guest)
                .send()
                .await,
        );
        assert_failure(
            &err,
            "InvalidIdentityPoolConfigurationException",
            INVALID_CONFIGURATION,
            400,
        );
    }
    set_roles(&s, &pool, None, Some(&real.arn)).await;
    s.unsigned
        .get_credentials_for_identity()
        .identity_id(&guest)
        .send()
        .await
        .expect("the real role works");
}

#[tokio::test]
async fn the_guest_role_must_trust_unauthenticated_identities() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let guest = guest_identity(&s, &pool).await;
    let wrong = create_role(&s, "Guest", &pool_trust(&pool, "authenticated")).await;
    set_roles(&s, &pool, None, Some(&wrong.arn)).await;
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidIdentityPoolConfigurationException",
        INVALID_CONFIGURATION,
        400,
    );
}
