//! The basic (classic) flow through the SDKs: GetOpenIdToken and its gates, the token and the keys that verify it, STS AssumeRoleWithWebIdentity and key rotation (spec §2 GetOpenIdToken, §4.5, §4.11, §4.12, §5).

use std::sync::Arc;

use aws_sdk_cognitoidentity::types::{AmbiguousRoleResolutionType, RoleMapping, RoleMappingType};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::fixtures::{
    DEVELOPER, Role, alter_char, create_role, developer_pool, developer_token, guest_identity,
    is_temporary_key_id, jwt, now_s, pool_trust, standard_roles, trust,
};
use crate::helpers::{
    ACCOUNT, TestServer, assert_code, assert_failure, expect_err, pool_arn, raw_get,
};

const COGNITO: &str = "cognito-identity.amazonaws.com";
const LOGINS_DONT_MATCH: &str = "Logins don't match. Please include at least one valid login for this identity or identity pool.";
const NOT_TRUSTED: &str = "Not authorized to perform sts:AssumeRoleWithWebIdentity";

async fn unsigned_sts(s: &TestServer) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&s.config_as(None).await)
}

async fn open_id_token(s: &TestServer, identity: &str, login: Option<&str>) -> String {
    let mut call = s.unsigned.get_open_id_token().identity_id(identity);
    if let Some(token) = login {
        call = call.logins(COGNITO, token);
    }
    let out = call.send().await.expect("GetOpenIdToken");
    assert_eq!(out.identity_id.as_deref(), Some(identity));
    out.token.expect("Token")
}

/// The served JWKS, after checking the HTTP answer.
async fn served_keys(s: &TestServer) -> Vec<Value> {
    let r = raw_get(s.addr, "/.well-known/jwks_uri").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{r:?}"
    );
    let doc: Value = serde_json::from_str(&r.body).expect("JWKS is JSON");
    doc["keys"].as_array().expect("keys").clone()
}

/// Whether a token's RS512 signature verifies against the served key its header names.
fn signature_verifies(token: &str, keys: &[Value]) -> bool {
    let (header, _) = jwt(token);
    let kid = header["kid"].as_str().expect("kid");
    let key = keys
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("no served key has kid {kid}: {keys:?}"));
    assert_eq!(
        (&key["kty"], &key["alg"], &key["use"]),
        (
            &Value::from("RSA"),
            &Value::from("RS512"),
            &Value::from("sig")
        )
    );
    let n = URL_SAFE_NO_PAD
        .decode(key["n"].as_str().expect("n"))
        .expect("n is base64url");
    let e = URL_SAFE_NO_PAD
        .decode(key["e"].as_str().expect("e"))
        .expect("e is base64url");
    let (signed, signature) = token.rsplit_once('.').expect("signature part");
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .expect("signature base64url");
    aws_lc_rs::signature::RsaPublicKeyComponents { n, e }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA512,
            signed.as_bytes(),
            &signature,
        )
        .is_ok()
}

#[tokio::test]
async fn a_guest_token_is_a_verifiable_ten_minute_jwt() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let guest = guest_identity(&s, &pool).await;
    let before = now_s();
    let token = open_id_token(&s, &guest, None).await;
    let (header, claims) = jwt(&token);
    assert_eq!(header["alg"], "RS512");
    assert_eq!(header["kid"], "us-east-1-1");
    assert_eq!(claims["sub"], guest.as_str());
    assert_eq!(claims["aud"], pool.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["unauthenticated"]));
    assert_eq!(
        claims["https://cognito-identity.amazonaws.com/identity-pool-arn"],
        pool_arn(&pool).as_str()
    );
    assert!(
        claims["iss"]
            .as_str()
            .is_some_and(|i| i.starts_with("http")),
        "{claims}"
    );
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((before - 2..=now_s() + 2).contains(&iat), "{iat}");
    assert_eq!(claims["exp"].as_i64().expect("exp") - iat, 600);

    let keys = served_keys(&s).await;
    assert!(keys.iter().any(|k| k["kid"] == "us-east-1-1"), "{keys:?}");
    assert!(
        signature_verifies(&token, &keys),
        "signed by the served key"
    );
    let forged = alter_char(&token, token.len() - 10);
    assert!(
        !signature_verifies(&forged, &keys),
        "the check itself can fail"
    );

    let discovery = raw_get(s.addr, "/.well-known/openid-configuration").await;
    assert_eq!(discovery.status, 200, "{discovery:?}");
    let doc: Value = serde_json::from_str(&discovery.body).expect("discovery JSON");
    assert_eq!(doc["issuer"], claims["iss"]);
    assert!(
        doc["jwks_uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("/.well-known/jwks_uri")),
        "{doc}"
    );
}

#[tokio::test]
async fn authenticated_identities_get_tokens_only_with_their_login() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let (id, dev_token) = developer_token(&s, &pool, "vera").await;
    let err = expect_err(s.unsigned.get_open_id_token().identity_id(&id).send().await);
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);

    let token = open_id_token(&s, &id, Some(&dev_token)).await;
    let (_, claims) = jwt(&token);
    assert_eq!(claims["sub"], id.as_str());
    let amr = claims["amr"].as_array().expect("amr");
    assert_eq!(amr.first(), Some(&Value::from("authenticated")), "{amr:?}");
    assert!(amr.contains(&Value::from(DEVELOPER)), "{amr:?}");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
}

#[tokio::test]
async fn the_classic_flow_gates_refuse_before_anything_is_linked() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let guest = guest_identity(&s, &pool).await;
    let update = |classic: Option<bool>| {
        s.cognito
            .update_identity_pool()
            .identity_pool_id(&pool)
            .identity_pool_name("classic")
            .allow_unauthenticated_identities(true)
            .developer_provider_name(DEVELOPER)
            .supported_login_providers("accounts.google.com", "client-123")
            .set_allow_classic_flow(classic)
            .send()
    };

    // Unset behaves as enabled (spec §7.9).
    open_id_token(&s, &guest, None).await;
    update(Some(true)).await.expect("UpdateIdentityPool");
    open_id_token(&s, &guest, None).await;

    update(Some(false)).await.expect("UpdateIdentityPool");
    let err = expect_err(
        s.unsigned
            .get_open_id_token()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidParameterException",
        "Basic (classic) flow is not enabled, please use enhanced flow.",
        400,
    );
    assert!(err.into_service_error().is_invalid_parameter_exception());
    // The refusal came before any linking: the developer token's identity stays unlinked.
    let (dev_id, dev_token) = developer_token(&s, &pool, "walt").await;
    let err = expect_err(
        s.unsigned
            .get_open_id_token()
            .identity_id(&guest)
            .logins(COGNITO, &dev_token)
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);

    update(Some(true)).await.expect("UpdateIdentityPool");
    // With the gate open the same call reaches the login check, so the gate came first.
    let err = expect_err(
        s.unsigned
            .get_open_id_token()
            .identity_id(&guest)
            .logins(COGNITO, &dev_token)
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);
    assert!(
        s.cognito
            .describe_identity()
            .identity_id(&guest)
            .send()
            .await
            .unwrap()
            .logins()
            .is_empty(),
        "nothing was linked to the guest"
    );
    assert_ne!(dev_id, guest);
    let auth = create_role(&s, "Auth", &pool_trust(&pool, "authenticated")).await;
    s.cognito
        .set_identity_pool_roles()
        .identity_pool_id(&pool)
        .roles("authenticated", &auth.arn)
        .role_mappings(
            "accounts.google.com",
            RoleMapping::builder()
                .r#type(RoleMappingType::Token)
                .ambiguous_role_resolution(AmbiguousRoleResolutionType::AuthenticatedRole)
                .build()
                .expect("complete mapping"),
        )
        .send()
        .await
        .expect("SetIdentityPoolRoles");
    let err = expect_err(
        s.unsigned
            .get_open_id_token()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidParameterException",
        "Basic (classic) flow is not supported with RoleMappings, please use enhanced flow.",
        400,
    );
}

#[tokio::test]
async fn sts_turns_a_guest_token_into_credentials_for_a_trusting_role() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let roles = standard_roles(&s, &pool).await;
    let guest = guest_identity(&s, &pool).await;
    let token = open_id_token(&s, &guest, None).await;

    let issued = now_s();
    let out = unsigned_sts(&s)
        .await
        .assume_role_with_web_identity()
        .role_arn(&roles.guest.arn)
        .role_session_name("app-session")
        .web_identity_token(&token)
        .duration_seconds(900)
        .send()
        .await
        .expect("AssumeRoleWithWebIdentity");
    let want_arn = format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/{}/app-session",
        roles.guest.name
    );
    let user = out.assumed_role_user().expect("AssumedRoleUser");
    assert_eq!(user.arn, want_arn);
    assert_eq!(
        user.assumed_role_id,
        format!("{}:app-session", roles.guest.id)
    );
    assert_eq!(out.subject_from_web_identity_token(), Some(guest.as_str()));
    assert_eq!(out.provider(), Some(COGNITO));
    assert_eq!(out.audience(), Some(pool.as_str()));
    let c = out.credentials().expect("Credentials");
    assert!(is_temporary_key_id(&c.access_key_id), "{}", c.access_key_id);
    assert_eq!(c.secret_access_key.len(), 40);
    let expires = c.expiration.secs();
    assert!(
        (issued + 900 - 5..=issued + 900 + 5).contains(&expires),
        "DurationSeconds honoured: {expires}"
    );

    let signed = aws_sdk_sts::Client::new(
        &s.config_as(Some((
            &c.access_key_id,
            &c.secret_access_key,
            Some(&c.session_token),
        )))
        .await,
    );
    let me = signed
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(me.arn.as_deref(), Some(want_arn.as_str()));
    assert_eq!(me.user_id, Some(format!("{}:app-session", roles.guest.id)));
    assert_eq!(me.account.as_deref(), Some(ACCOUNT));
}

#[tokio::test]
async fn a_developer_token_goes_straight_to_sts() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let roles = standard_roles(&s, &pool).await;
    let (id, token) = developer_token(&s, &pool, "xena").await;
    let out = unsigned_sts(&s)
        .await
        .assume_role_with_web_identity()
        .role_arn(&roles.authenticated.arn)
        .role_session_name("xena")
        .web_identity_token(&token)
        .send()
        .await
        .expect("AssumeRoleWithWebIdentity");
    assert_eq!(out.subject_from_web_identity_token(), Some(id.as_str()));
    let expires = out.credentials().expect("Credentials").expiration.secs();
    assert!(
        (now_s() + 3600 - 10..=now_s() + 3600 + 5).contains(&expires),
        "default one hour"
    );

    // The guest role does not trust authenticated identities.
    let err = expect_err(
        unsigned_sts(&s)
            .await
            .assume_role_with_web_identity()
            .role_arn(&roles.guest.arn)
            .role_session_name("xena")
            .web_identity_token(&token)
            .send()
            .await,
    );
    assert_failure(&err, "AccessDenied", NOT_TRUSTED, 403);
}

async fn assume(
    s: &TestServer,
    role: &str,
    token: &str,
) -> Result<
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
    aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
    >,
> {
    unsigned_sts(s)
        .await
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name("probe")
        .web_identity_token(token)
        .send()
        .await
}

#[tokio::test]
async fn sts_refuses_roles_that_do_not_trust_the_token() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let guest = guest_identity(&s, &pool).await;
    let token = open_id_token(&s, &guest, None).await;

    let other_pool = "us-east-1:00000000-0000-4000-8000-000000000000";
    let wrong_aud: Role =
        create_role(&s, "Other", &pool_trust(other_pool, "unauthenticated")).await;
    let err = expect_err(assume(&s, &wrong_aud.arn, &token).await);
    assert_failure(&err, "AccessDenied", NOT_TRUSTED, 403);

    let err = expect_err(assume(&s, &crate::fixtures::role_arn("NeverCreated"), &token).await);
    assert_failure(&err, "AccessDenied", NOT_TRUSTED, 403);

    // A developer token with principal tags needs sts:TagSession too.
    let no_tags = create_role(
        &s,
        "NoTags",
        &trust(
            &["sts:AssumeRoleWithWebIdentity"],
            serde_json::json!({"StringEquals": {"cognito-identity.amazonaws.com:aud": pool}}),
        ),
    )
    .await;
    let tagged = s
        .cognito
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(&pool)
        .logins(DEVELOPER, "yuri")
        .principal_tags("team", "blue")
        .send()
        .await
        .unwrap()
        .token
        .unwrap();
    let err = expect_err(assume(&s, &no_tags.arn, &tagged).await);
    assert_failure(&err, "AccessDenied", NOT_TRUSTED, 403);
    let (_, untagged) = developer_token(&s, &pool, "yuri").await;
    assume(&s, &no_tags.arn, &untagged)
        .await
        .expect("without tags the same role is fine");

    let forged = alter_char(&token, token.len() - 10);
    let err = expect_err(assume(&s, &wrong_aud.arn, &forged).await);
    assert_code(&err, "InvalidIdentityToken", 400);
    let err = expect_err(assume(&s, &wrong_aud.arn, "not.a.jwt").await);
    assert_code(&err, "InvalidIdentityToken", 400);

    let fine = create_role(&s, "Guest", &pool_trust(&pool, "unauthenticated")).await;
    let err = expect_err(
        unsigned_sts(&s)
            .await
            .assume_role_with_web_identity()
            .role_arn(&fine.arn)
            .role_session_name("long")
            .web_identity_token(&token)
            .duration_seconds(7200)
            .send()
            .await,
    );
    assert_code(&err, "ValidationError", 400);
    assume(&s, &fine.arn, &token)
        .await
        .expect("a trusting role");
}

#[tokio::test]
async fn sts_refuses_expired_tokens() {
    let clock = Arc::new(idpool_core::clock::OffsetClock::default());
    let s = TestServer::start_with_clock(clock.clone()).await;
    let pool = developer_pool(&s, true).await;
    let roles = standard_roles(&s, &pool).await;
    let guest = guest_identity(&s, &pool).await;
    let token = open_id_token(&s, &guest, None).await;
    // AssumeRoleWithWebIdentity is unsigned: only the token ages, past its ten minutes and
    // any clock leeway.
    clock.set_offset_ms(720_000);
    let err = expect_err(assume(&s, &roles.guest.arn, &token).await);
    assert_code(&err, "ExpiredTokenException", 400);
    assert!(err.into_service_error().is_expired_token_exception());
    clock.set_offset_ms(0);
    assume(&s, &roles.guest.arn, &token)
        .await
        .expect("still valid by the real clock");
}

#[tokio::test]
async fn rotated_keys_sign_new_tokens_while_old_ones_still_verify() {
    let mut s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let roles = standard_roles(&s, &pool).await;
    let (id, old_token) = developer_token(&s, &pool, "zack").await;
    assert_eq!(jwt(&old_token).0["kid"], "us-east-1-1");
    let guest = guest_identity(&s, &pool).await;
    let c = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&guest)
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let old_keys = (
        c.access_key_id.unwrap(),
        c.secret_key.unwrap(),
        c.session_token.unwrap(),
    );

    let kids = idpool_server::rotate_keys(&s.settings())
        .await
        .expect("rotate_keys");
    assert!(
        kids.iter().any(|k| k == "us-east-1-1") && kids.iter().any(|k| k == "us-east-1-2"),
        "{kids:?}"
    );
    s.restart().await;

    let keys = served_keys(&s).await;
    let served: Vec<&str> = keys.iter().filter_map(|k| k["kid"].as_str()).collect();
    assert!(
        served.contains(&"us-east-1-1") && served.contains(&"us-east-1-2"),
        "old and new keys are both served: {served:?}"
    );
    let (same, new_token) = developer_token(&s, &pool, "zack").await;
    assert_eq!(same, id);
    assert_eq!(
        jwt(&new_token).0["kid"],
        "us-east-1-2",
        "new tokens use the new key"
    );
    assert!(signature_verifies(&new_token, &keys));
    assert!(signature_verifies(&old_token, &keys));

    for token in [&old_token, &new_token] {
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(COGNITO, token)
            .send()
            .await
            .expect("tokens of either key are accepted");
        assume(&s, &roles.authenticated.arn, token)
            .await
            .expect("STS accepts tokens of either key");
    }
    let (key, secret, token) = &old_keys;
    let sts = aws_sdk_sts::Client::new(&s.config_as(Some((key, secret, Some(token)))).await);
    sts.get_caller_identity()
        .send()
        .await
        .expect("credentials sealed with the old key still work");
}
