//! Identity-pool CRUD and listing through the SDK: Create, Describe, Update, Delete, List, quota and validation errors (spec §2, §1.5.3, §1.5.5).

use std::collections::BTreeSet;

use aws_sdk_cognitoidentity::types::CognitoIdentityProvider;

use crate::helpers::{
    ACCOUNT, PoolView, TestServer, assert_code, assert_failure, expect_err, failure, is_pool_id,
    map, pool_view, unique,
};

const GOOGLE: &str = "accounts.google.com";
const USER_POOL: &str = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123";

fn oidc_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/login.example.com")
}

fn saml_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:saml-provider/Corp")
}

fn user_pool_provider(client_id: &str, check: Option<bool>) -> CognitoIdentityProvider {
    CognitoIdentityProvider::builder()
        .provider_name(USER_POOL)
        .client_id(client_id)
        .set_server_side_token_check(check)
        .build()
}

/// Creates a pool with only the required members.
pub async fn create_minimal(s: &TestServer) -> String {
    s.cognito
        .create_identity_pool()
        .identity_pool_name(unique("pool "))
        .allow_unauthenticated_identities(false)
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id
}

#[tokio::test]
async fn create_returns_every_member_and_describe_agrees() {
    let s = TestServer::start().await;
    let name = unique("full pool +=,.@-_");
    let out = s
        .cognito
        .create_identity_pool()
        .identity_pool_name(&name)
        .allow_unauthenticated_identities(true)
        .allow_classic_flow(false)
        .supported_login_providers(GOOGLE, "client-123.apps.googleusercontent.com")
        .supported_login_providers("graph.facebook.com", "1234567890")
        .developer_provider_name("login.example.app")
        .open_id_connect_provider_arns(oidc_arn())
        .cognito_identity_providers(user_pool_provider("app1client", Some(true)))
        .cognito_identity_providers(user_pool_provider("app2client", None))
        .saml_provider_arns(saml_arn())
        .identity_pool_tags("team", "identity")
        .identity_pool_tags("empty", "")
        .send()
        .await
        .expect("CreateIdentityPool");
    let created = pool_view!(out);
    assert!(is_pool_id(&created.id), "pool id format: {}", created.id);
    let want = PoolView {
        id: created.id.clone(),
        name,
        allow_unauthenticated: true,
        allow_classic_flow: Some(false),
        supported_login_providers: Some(map(&[
            (GOOGLE, "client-123.apps.googleusercontent.com"),
            ("graph.facebook.com", "1234567890"),
        ])),
        developer_provider_name: Some("login.example.app".into()),
        open_id_connect_provider_arns: Some(vec![oidc_arn()]),
        cognito_identity_providers: Some(vec![
            (
                Some(USER_POOL.into()),
                Some("app1client".into()),
                Some(true),
            ),
            // Not given, shown as the model's default, as AWS does.
            (
                Some(USER_POOL.into()),
                Some("app2client".into()),
                Some(false),
            ),
        ]),
        saml_provider_arns: Some(vec![saml_arn()]),
        tags: Some(map(&[("team", "identity"), ("empty", "")])),
    };
    assert_eq!(created, want);

    let described = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&created.id)
        .send()
        .await
        .expect("DescribeIdentityPool");
    assert_eq!(pool_view!(described), want);
}

#[tokio::test]
async fn unset_members_are_absent_but_tags_are_an_empty_map() {
    let s = TestServer::start().await;
    let id = create_minimal(&s).await;
    let d = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    let v = pool_view!(d);
    assert!(!v.allow_unauthenticated);
    assert_eq!(
        v.allow_classic_flow, None,
        "AllowClassicFlow never sent must stay absent"
    );
    assert_eq!(v.supported_login_providers, None);
    assert_eq!(v.developer_provider_name, None);
    assert_eq!(v.open_id_connect_provider_arns, None);
    assert_eq!(v.cognito_identity_providers, None);
    assert_eq!(v.saml_provider_arns, None);
    assert_eq!(
        v.tags,
        Some(std::collections::BTreeMap::new()),
        "IdentityPoolTags is {{}} even when never set"
    );
}

#[tokio::test]
async fn pool_ids_are_distinct_and_names_need_not_be() {
    let s = TestServer::start().await;
    let mut ids = BTreeSet::new();
    for _ in 0..3 {
        let out = s
            .cognito
            .create_identity_pool()
            .identity_pool_name("same name")
            .allow_unauthenticated_identities(false)
            .send()
            .await
            .expect("a repeated name is allowed");
        assert!(is_pool_id(&out.identity_pool_id));
        ids.insert(out.identity_pool_id);
    }
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn update_replaces_settings_and_keeps_the_developer_name_and_tags() {
    let s = TestServer::start().await;
    let out = s
        .cognito
        .create_identity_pool()
        .identity_pool_name(unique("before"))
        .allow_unauthenticated_identities(false)
        .allow_classic_flow(true)
        .supported_login_providers(GOOGLE, "client-a")
        .developer_provider_name("login.example.app")
        .open_id_connect_provider_arns(oidc_arn())
        .cognito_identity_providers(user_pool_provider("app1client", None))
        .saml_provider_arns(saml_arn())
        .identity_pool_tags("team", "identity")
        .send()
        .await
        .unwrap();
    let id = out.identity_pool_id;

    let new_name = unique("after");
    let updated = s
        .cognito
        .update_identity_pool()
        .identity_pool_id(&id)
        .identity_pool_name(&new_name)
        .allow_unauthenticated_identities(true)
        .supported_login_providers("www.amazon.com", "amzn1.application.x")
        .send()
        .await
        .expect("UpdateIdentityPool");
    let want = PoolView {
        id: id.clone(),
        name: new_name,
        allow_unauthenticated: true,
        // Replace semantics: what the update left out goes back to unset...
        allow_classic_flow: None,
        supported_login_providers: Some(map(&[("www.amazon.com", "amzn1.application.x")])),
        // ...except the write-once developer provider name...
        developer_provider_name: Some("login.example.app".into()),
        open_id_connect_provider_arns: None,
        cognito_identity_providers: None,
        saml_provider_arns: None,
        // ...and the tags, which have their own operations.
        tags: Some(map(&[("team", "identity")])),
    };
    assert_eq!(pool_view!(updated), want);
    let described = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(pool_view!(described), want);
}

#[tokio::test]
async fn developer_provider_name_is_write_once() {
    let s = TestServer::start().await;
    let id = create_minimal(&s).await;
    let update = |dev: Option<&str>| {
        s.cognito
            .update_identity_pool()
            .identity_pool_id(&id)
            .identity_pool_name("renamed")
            .allow_unauthenticated_identities(false)
            .set_developer_provider_name(dev.map(str::to_string))
            .send()
    };
    // Unset so far: the first value is accepted.
    let out = update(Some("login.first.app"))
        .await
        .expect("first developer name");
    assert_eq!(
        out.developer_provider_name.as_deref(),
        Some("login.first.app")
    );
    // Resending the same value is fine.
    update(Some("login.first.app"))
        .await
        .expect("same developer name");
    // Leaving it out keeps it.
    let out = update(None).await.expect("developer name left out");
    assert_eq!(
        out.developer_provider_name.as_deref(),
        Some("login.first.app")
    );

    let err = expect_err(update(Some("login.other.app")).await);
    assert_code(&err, "InvalidParameterException", 400);
    assert!(err.into_service_error().is_invalid_parameter_exception());
    let d = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.developer_provider_name.as_deref(),
        Some("login.first.app")
    );
}

#[tokio::test]
async fn deleted_pools_are_gone() {
    let s = TestServer::start().await;
    let id = create_minimal(&s).await;
    let keep = create_minimal(&s).await;
    s.cognito
        .delete_identity_pool()
        .identity_pool_id(&id)
        .send()
        .await
        .expect("DeleteIdentityPool");
    let gone = format!("IdentityPool '{id}' not found.");

    let err = expect_err(
        s.cognito
            .describe_identity_pool()
            .identity_pool_id(&id)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());

    let err = expect_err(
        s.cognito
            .delete_identity_pool()
            .identity_pool_id(&id)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());

    let err = expect_err(
        s.cognito
            .update_identity_pool()
            .identity_pool_id(&id)
            .identity_pool_name("x")
            .allow_unauthenticated_identities(false)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());

    let listed = s
        .cognito
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = listed
        .identity_pools()
        .iter()
        .filter_map(|p| p.identity_pool_id())
        .collect();
    assert_eq!(ids, [keep.as_str()]);
}

#[tokio::test]
async fn unknown_pools_are_not_found() {
    let s = TestServer::start().await;
    let id = "us-east-1:00000000-0000-4000-8000-000000000000";
    let err = expect_err(
        s.cognito
            .describe_identity_pool()
            .identity_pool_id(id)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ResourceNotFoundException",
        &format!("IdentityPool '{id}' not found."),
        400,
    );
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn list_pages_return_every_pool_exactly_once() {
    let s = TestServer::start().await;
    let mut created = BTreeSet::new();
    for i in 0..7 {
        let name = format!("listed {i}");
        let out = s
            .cognito
            .create_identity_pool()
            .identity_pool_name(&name)
            .allow_unauthenticated_identities(i % 2 == 0)
            .send()
            .await
            .unwrap();
        created.insert((out.identity_pool_id, name));
    }

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s
            .cognito
            .list_identity_pools()
            .max_results(2)
            .set_next_token(token.take())
            .send()
            .await
            .expect("ListIdentityPools");
        pages += 1;
        assert!(page.identity_pools().len() <= 2, "page {pages} too long");
        for p in page.identity_pools() {
            let id = p.identity_pool_id().expect("IdentityPoolId").to_string();
            let name = p
                .identity_pool_name()
                .expect("IdentityPoolName")
                .to_string();
            seen.push((id, name));
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 4, "7 pools in pages of 2");
    assert_eq!(seen.len(), 7, "no pool twice: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), created);

    let items = s
        .cognito
        .list_identity_pools()
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("paginator");
    let by_paginator: Vec<(String, String)> = items
        .into_iter()
        .map(|p| {
            (
                p.identity_pool_id.unwrap_or_default(),
                p.identity_pool_name.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(by_paginator.len(), 7);
    assert_eq!(by_paginator.into_iter().collect::<BTreeSet<_>>(), created);

    let all = s
        .cognito
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    assert_eq!(all.identity_pools().len(), 7);
    assert_eq!(all.next_token, None, "no token after the last page");
}

#[tokio::test]
async fn list_refuses_a_forged_token() {
    let s = TestServer::start().await;
    create_minimal(&s).await;
    let err = expect_err(
        s.cognito
            .list_identity_pools()
            .max_results(2)
            .next_token("not-a-token")
            .send()
            .await,
    );
    let f = failure(&err);
    assert!(
        f.is_service_error && f.status == Some(400) && f.code.is_some(),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_pool_quota_is_enforced() {
    let s = TestServer::start_with_settings("max_identity_pools = 3\n").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create_minimal(&s).await);
    }
    let err = expect_err(
        s.cognito
            .create_identity_pool()
            .identity_pool_name("one too many")
            .allow_unauthenticated_identities(false)
            .send()
            .await,
    );
    assert_code(&err, "LimitExceededException", 400);
    assert!(err.into_service_error().is_limit_exceeded_exception());
    let listed = s
        .cognito
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.identity_pools().len(),
        3,
        "the refused pool was not stored"
    );

    s.cognito
        .delete_identity_pool()
        .identity_pool_id(&ids[0])
        .send()
        .await
        .unwrap();
    create_minimal(&s).await;
}

#[tokio::test]
async fn a_bad_pool_name_is_a_validation_error() {
    let s = TestServer::start().await;
    let err = expect_err(
        s.cognito
            .create_identity_pool()
            .identity_pool_name("bad!name")
            .allow_unauthenticated_identities(false)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ValidationException",
        "1 validation error detected: Value 'bad!name' at 'identityPoolName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+",
        400,
    );
    // Not a modeled exception: the SDK reports it as unhandled, with the code kept.
    assert!(err.into_service_error().meta().code() == Some("ValidationException"));
    let listed = s
        .cognito
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    assert!(listed.identity_pools().is_empty());
}

#[tokio::test]
async fn a_user_pool_id_is_not_an_identity_pool_id() {
    let s = TestServer::start().await;
    let err = expect_err(
        s.cognito
            .describe_identity_pool()
            .identity_pool_id("us-east-1_AbC123")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ValidationException",
        "1 validation error detected: Value 'us-east-1_AbC123' at 'identityPoolId' failed to \
         satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
        400,
    );
}

#[tokio::test]
async fn user_pool_providers_need_a_provider_name() {
    let s = TestServer::start().await;
    let nameless = CognitoIdentityProvider::builder()
        .client_id("app1client")
        .build();
    let err = expect_err(
        s.cognito
            .create_identity_pool()
            .identity_pool_name(unique("nameless"))
            .allow_unauthenticated_identities(false)
            .cognito_identity_providers(nameless.clone())
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidParameterException",
        "Invalid Cognito Identity Provider",
        400,
    );
    assert!(err.into_service_error().is_invalid_parameter_exception());

    let id = create_minimal(&s).await;
    let err = expect_err(
        s.cognito
            .update_identity_pool()
            .identity_pool_id(&id)
            .identity_pool_name("renamed")
            .allow_unauthenticated_identities(false)
            .cognito_identity_providers(nameless)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "InvalidParameterException",
        "Invalid Cognito Identity Provider",
        400,
    );
    assert!(err.into_service_error().is_invalid_parameter_exception());
    let d = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.cognito_identity_providers, None,
        "the refused update changed nothing"
    );
}

#[tokio::test]
async fn more_than_fifty_user_pool_providers_exceed_the_quota() {
    let s = TestServer::start().await;
    let create = |n: usize| {
        let mut call = s
            .cognito
            .create_identity_pool()
            .identity_pool_name(unique("many user pools"))
            .allow_unauthenticated_identities(false);
        for i in 0..n {
            call = call.cognito_identity_providers(user_pool_provider(&format!("client{i}"), None));
        }
        call.send()
    };
    let id = create(50)
        .await
        .expect("50 providers, the quota")
        .identity_pool_id;
    let err = expect_err(create(51).await);
    assert_code(&err, "LimitExceededException", 400);
    assert!(err.into_service_error().is_limit_exceeded_exception());
    // Update is held to the same quota and leaves the pool as it was.
    let mut update = s
        .cognito
        .update_identity_pool()
        .identity_pool_id(&id)
        .identity_pool_name(unique("many user pools"))
        .allow_unauthenticated_identities(false);
    for i in 0..51 {
        update = update.cognito_identity_providers(user_pool_provider(&format!("client{i}"), None));
    }
    let err = expect_err(update.send().await);
    assert_code(&err, "LimitExceededException", 400);
    let described = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&id)
        .send()
        .await
        .expect("DescribeIdentityPool");
    assert_eq!(described.cognito_identity_providers().len(), 50);
}
