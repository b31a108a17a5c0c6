//! Calls that cannot be served (unknown identities and pools, operations this build lacks) answer AWS-shaped errors the SDK parses, never a made-up success (spec §1.5.5, §2 operations 13-23, §5).

use crate::helpers::{TestServer, assert_failure, expect_err};

/// Well-formed ids that name nothing on a fresh server.
const NO_IDENTITY: &str = "us-east-1:11111111-2222-4333-8444-555555555555";
const NO_POOL: &str = "us-east-1:99999999-8888-4777-8666-555555555555";
const DEVELOPER: &str = "login.later.app";

/// Checks the exact catalogued error and that the SDK mapped it to the modeled exception.
macro_rules! assert_not_found {
    ($call:expr, $message:expr) => {{
        let err = expect_err($call.send().await);
        assert_failure(&err, "ResourceNotFoundException", &$message, 400);
        assert!(err.into_service_error().is_resource_not_found_exception());
    }};
}

async fn pool(s: &TestServer, guests: bool) -> String {
    s.cognito
        .create_identity_pool()
        .identity_pool_name("data plane")
        .allow_unauthenticated_identities(guests)
        .developer_provider_name(DEVELOPER)
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id
}

#[tokio::test]
async fn unknown_identities_are_not_found_by_every_operation() {
    let s = TestServer::start().await;
    let id = pool(&s, true).await;
    let gone = format!("Identity '{NO_IDENTITY}' not found.");
    let public = &s.unsigned;
    assert_not_found!(
        public
            .get_credentials_for_identity()
            .identity_id(NO_IDENTITY),
        gone
    );
    assert_not_found!(public.get_open_id_token().identity_id(NO_IDENTITY), gone);
    assert_not_found!(
        public
            .unlink_identity()
            .identity_id(NO_IDENTITY)
            .logins("accounts.google.com", "token")
            .logins_to_remove("accounts.google.com"),
        gone
    );
    assert_not_found!(s.cognito.describe_identity().identity_id(NO_IDENTITY), gone);
    assert_not_found!(
        s.cognito
            .unlink_developer_identity()
            .identity_pool_id(&id)
            .identity_id(NO_IDENTITY)
            .developer_provider_name(DEVELOPER)
            .developer_user_identifier("user-1"),
        gone
    );
}

#[tokio::test]
async fn unknown_pools_are_not_found_by_every_operation() {
    let s = TestServer::start().await;
    let gone = format!("IdentityPool '{NO_POOL}' not found.");
    let c = &s.cognito;
    assert_not_found!(s.unsigned.get_id().identity_pool_id(NO_POOL), gone);
    assert_not_found!(
        c.list_identities()
            .identity_pool_id(NO_POOL)
            .max_results(10),
        gone
    );
    assert_not_found!(
        c.get_open_id_token_for_developer_identity()
            .identity_pool_id(NO_POOL)
            .logins(DEVELOPER, "user-1"),
        gone
    );
    assert_not_found!(
        c.lookup_developer_identity()
            .identity_pool_id(NO_POOL)
            .developer_user_identifier("user-1"),
        gone
    );
    assert_not_found!(
        c.merge_developer_identities()
            .identity_pool_id(NO_POOL)
            .developer_provider_name(DEVELOPER)
            .source_user_identifier("user-1")
            .destination_user_identifier("user-2"),
        gone
    );
}

#[tokio::test]
async fn guests_are_refused_where_the_pool_allows_none() {
    let s = TestServer::start().await;
    let id = pool(&s, false).await;
    let err = expect_err(s.unsigned.get_id().identity_pool_id(&id).send().await);
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Unauthenticated access is not supported for this identity pool.",
        400,
    );
    assert!(err.into_service_error().is_not_authorized_exception());
    let listed = s
        .cognito
        .list_identities()
        .identity_pool_id(&id)
        .max_results(60)
        .send()
        .await
        .expect("ListIdentities");
    assert!(listed.identities().is_empty(), "the refusal minted nothing");
}

#[tokio::test]
async fn sts_actions_this_build_lacks_are_invalid_actions() {
    let s = TestServer::start().await;
    let err = expect_err(
        s.sts
            .assume_role()
            .role_arn("arn:aws:iam::000000000000:role/later")
            .role_session_name("session")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidAction",
        "Could not find operation AssumeRole for version 2011-06-15",
        400,
    );
}
