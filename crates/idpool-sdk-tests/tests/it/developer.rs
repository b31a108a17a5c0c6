//! Developer-authenticated identities through the SDK: GetOpenIdTokenForDeveloperIdentity, LookupDeveloperIdentity, MergeDeveloperIdentities, UnlinkDeveloperIdentity, guest linking and concurrency (spec §2, §4.6-4.8, §4.11).

use std::collections::BTreeSet;

use serde_json::json;

use crate::fixtures::{
    DEVELOPER, developer_pool, developer_token, guest_identity, jwt, standard_roles,
};
use crate::helpers::{
    TestServer, assert_code, assert_failure, expect_err, failure, pool_arn, unique,
};
use crate::identities::listed;

const LOGINS_DONT_MATCH: &str = "Logins don't match. Please include at least one valid login for this identity or identity pool.";
const UNSUPPORTED_DEVELOPER: &str =
    "This identity pool does not support the specified developer provider";
const COGNITO: &str = "cognito-identity.amazonaws.com";

/// The catalogued text for a developer provider the pool lacks (spec §1.5.5; its exception
/// type was never captured, so only the text and status are pinned).
#[track_caller]
fn assert_unsupported_developer<E>(err: &aws_sdk_cognitoidentity::error::SdkError<E>)
where
    E: aws_sdk_cognitoidentity::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let f = failure(err);
    assert!(f.is_service_error, "{err:?}");
    assert_eq!(
        (f.message.as_deref(), f.status),
        (Some(UNSUPPORTED_DEVELOPER), Some(400)),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_developer_user_is_one_identity_and_its_token_says_so() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let (id, token) = developer_token(&s, &pool, "alice").await;
    let (again, _) = developer_token(&s, &pool, "alice").await;
    let (bob, _) = developer_token(&s, &pool, "bob").await;
    assert_eq!(id, again, "the same developer user finds the same identity");
    assert_ne!(id, bob);

    let (header, claims) = jwt(&token);
    assert_eq!(header["alg"], "RS512");
    assert_eq!(header["kid"], "us-east-1-1");
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["aud"], pool.as_str());
    assert_eq!(
        claims["https://cognito-identity.amazonaws.com/identity-pool-arn"],
        pool_arn(&pool).as_str()
    );
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .expect("amr is an array")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(amr.first(), Some(&"authenticated"), "{amr:?}");
    assert!(amr.contains(&DEVELOPER), "{amr:?}");
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 900, "developer tokens last 15 minutes by default");
    assert!(
        claims.get("https://aws.amazon.com/tags").is_none(),
        "no tags asked for, none carried"
    );

    let out = s
        .cognito
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(&pool)
        .logins(DEVELOPER, "alice")
        .token_duration(3600)
        .principal_tags("department", "research")
        .send()
        .await
        .expect("with duration and tags");
    assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
    let (_, claims) = jwt(out.token.as_deref().expect("Token"));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(
        claims["https://aws.amazon.com/tags"],
        json!({"principal_tags": {"department": ["research"]}})
    );
}

#[tokio::test]
async fn only_the_pools_developer_provider_is_accepted() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let err = expect_err(
        s.cognito
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&pool)
            .logins("login.other.app", "alice")
            .send()
            .await,
    );
    assert_unsupported_developer(&err);

    let plain = s
        .cognito
        .create_identity_pool()
        .identity_pool_name("no developer")
        .allow_unauthenticated_identities(false)
        .send()
        .await
        .unwrap()
        .identity_pool_id;
    let err = expect_err(
        s.cognito
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&plain)
            .logins(DEVELOPER, "alice")
            .send()
            .await,
    );
    assert_unsupported_developer(&err);

    // TokenDuration is 1..86400 seconds in the model.
    let err = expect_err(
        s.cognito
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&pool)
            .logins(DEVELOPER, "alice")
            .token_duration(86_401)
            .send()
            .await,
    );
    assert_code(&err, "ValidationException", 400);
    assert!(listed(&s, &pool, None).await.is_empty());
    assert!(listed(&s, &plain, None).await.is_empty());
}

#[tokio::test]
async fn a_guest_linked_to_a_developer_user_keeps_its_id() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    standard_roles(&s, &pool).await;
    let guest = guest_identity(&s, &pool).await;
    let out = s
        .cognito
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&guest)
        .logins(DEVELOPER, "carol")
        .send()
        .await
        .expect("link the guest");
    assert_eq!(out.identity_id.as_deref(), Some(guest.as_str()));
    let described = s
        .cognito
        .describe_identity()
        .identity_id(&guest)
        .send()
        .await
        .unwrap();
    assert_eq!(described.logins(), [DEVELOPER.to_string()]);
    assert_eq!(
        listed(&s, &pool, None).await,
        BTreeSet::from([guest.clone()])
    );

    // Authenticated now: the bare id no longer gets guest credentials.
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);
    let (found, _) = developer_token(&s, &pool, "carol").await;
    assert_eq!(
        found, guest,
        "the developer user now resolves to the old guest id"
    );
}

#[tokio::test]
async fn an_explicit_identity_refuses_users_it_cannot_take() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let (dave, _) = developer_token(&s, &pool, "dave").await;
    let guest = guest_identity(&s, &pool).await;

    // dave already has an identity of his own.
    let err = expect_err(
        s.cognito
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&pool)
            .identity_id(&guest)
            .logins(DEVELOPER, "dave")
            .send()
            .await,
    );
    assert_code(&err, "DeveloperUserAlreadyRegisteredException", 400);
    assert!(
        err.into_service_error()
            .is_developer_user_already_registered_exception()
    );

    // Linking into an authenticated identity needs one of its logins in the same call.
    let err = expect_err(
        s.cognito
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&pool)
            .identity_id(&dave)
            .logins(DEVELOPER, "erin")
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);

    let unknown = "us-east-1:0fedcba9-8765-4432-8109-876543210fed";
    let err = expect_err(
        s.cognito
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&pool)
            .identity_id(unknown)
            .logins(DEVELOPER, "frank")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ResourceNotFoundException",
        &format!("Identity '{unknown}' not found."),
        400,
    );
    // None of the refusals linked anything.
    let still_guest = s
        .cognito
        .describe_identity()
        .identity_id(&guest)
        .send()
        .await
        .unwrap();
    assert!(still_guest.logins().is_empty());
    assert_eq!(listed(&s, &pool, None).await, BTreeSet::from([dave, guest]));
}

#[tokio::test]
async fn lookup_developer_identity_goes_both_ways() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let (gina, _) = developer_token(&s, &pool, "gina").await;
    let (hank, _) = developer_token(&s, &pool, "hank").await;

    let by_user = s
        .cognito
        .lookup_developer_identity()
        .identity_pool_id(&pool)
        .developer_user_identifier("gina")
        .send()
        .await
        .expect("by user");
    assert_eq!(by_user.identity_id(), Some(gina.as_str()));
    assert_eq!(
        by_user.developer_user_identifier_list(),
        ["gina".to_string()]
    );

    let by_id = s
        .cognito
        .lookup_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&hank)
        .max_results(10)
        .send()
        .await
        .expect("by identity");
    assert_eq!(by_id.identity_id(), Some(hank.as_str()));
    assert_eq!(by_id.developer_user_identifier_list(), ["hank".to_string()]);
    assert!(by_id.next_token().is_none());

    let both = s
        .cognito
        .lookup_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&gina)
        .developer_user_identifier("gina")
        .send()
        .await
        .expect("matching pair");
    assert_eq!(both.identity_id(), Some(gina.as_str()));

    let err = expect_err(
        s.cognito
            .lookup_developer_identity()
            .identity_pool_id(&pool)
            .identity_id(&gina)
            .developer_user_identifier("hank")
            .send()
            .await,
    );
    assert_code(&err, "ResourceConflictException", 400);
    assert!(err.into_service_error().is_resource_conflict_exception());

    let err = expect_err(
        s.cognito
            .lookup_developer_identity()
            .identity_pool_id(&pool)
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);

    let err = expect_err(
        s.cognito
            .lookup_developer_identity()
            .identity_pool_id(&pool)
            .developer_user_identifier("nobody")
            .send()
            .await,
    );
    assert_code(&err, "ResourceNotFoundException", 400);

    let unknown = "us-east-1:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    let err = expect_err(
        s.cognito
            .lookup_developer_identity()
            .identity_pool_id(&pool)
            .identity_id(unknown)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ResourceNotFoundException",
        &format!("Identity '{unknown}' not found."),
        400,
    );
}

/// Makes `users` developer users of one identity (the first user's) by merging, and returns it.
async fn identity_with_users(s: &TestServer, pool: &str, users: &[String]) -> String {
    let (dest, _) = developer_token(s, pool, &users[0]).await;
    for user in &users[1..] {
        developer_token(s, pool, user).await;
        let out = s
            .cognito
            .merge_developer_identities()
            .identity_pool_id(pool)
            .developer_provider_name(DEVELOPER)
            .source_user_identifier(user)
            .destination_user_identifier(&users[0])
            .send()
            .await
            .expect("MergeDeveloperIdentities");
        assert_eq!(out.identity_id.as_deref(), Some(dest.as_str()));
    }
    dest
}

#[tokio::test]
async fn lookup_pages_every_developer_user_exactly_once() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let users: Vec<String> = (0..7).map(|i| format!("user-{i}")).collect();
    let id = identity_with_users(&s, &pool, &users).await;

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..20 {
        let out = s
            .cognito
            .lookup_developer_identity()
            .identity_pool_id(&pool)
            .identity_id(&id)
            .max_results(3)
            .set_next_token(next.clone())
            .send()
            .await
            .expect("LookupDeveloperIdentity page");
        assert_eq!(out.identity_id(), Some(id.as_str()));
        pages.push(out.developer_user_identifier_list().len());
        seen.extend(out.developer_user_identifier_list().iter().cloned());
        next = out.next_token().map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(pages, [3, 3, 1]);
    let unique_seen: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique_seen.len(), seen.len(), "no user twice: {seen:?}");
    assert_eq!(unique_seen, users.iter().cloned().collect::<BTreeSet<_>>());
}

#[tokio::test]
async fn merging_moves_the_user_and_disables_the_source() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    standard_roles(&s, &pool).await;
    let (source, source_token) = developer_token(&s, &pool, "ivan").await;
    let (dest, _) = developer_token(&s, &pool, "judy").await;
    let out = s
        .cognito
        .merge_developer_identities()
        .identity_pool_id(&pool)
        .developer_provider_name(DEVELOPER)
        .source_user_identifier("ivan")
        .destination_user_identifier("judy")
        .send()
        .await
        .expect("MergeDeveloperIdentities");
    assert_eq!(out.identity_id.as_deref(), Some(dest.as_str()));

    assert_eq!(
        listed(&s, &pool, Some(false)).await,
        BTreeSet::from([source.clone(), dest.clone()]),
        "disabled identities are still listed by default"
    );
    assert_eq!(
        listed(&s, &pool, None).await,
        BTreeSet::from([source.clone(), dest.clone()])
    );
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([dest.clone()]),
        "HideDisabled drops the merged-away identity"
    );

    let (now_on, _) = developer_token(&s, &pool, "ivan").await;
    assert_eq!(
        now_on, dest,
        "the source user now belongs to the destination"
    );
    let looked = s
        .cognito
        .lookup_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&dest)
        .send()
        .await
        .unwrap();
    let users: BTreeSet<String> = looked
        .developer_user_identifier_list()
        .iter()
        .cloned()
        .collect();
    assert_eq!(
        users,
        BTreeSet::from(["ivan".to_string(), "judy".to_string()])
    );

    let forbidden = format!("Access to Identity '{source}' is forbidden.");
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&source)
            .logins(COGNITO, &source_token)
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", &forbidden, 400);
    let err = expect_err(
        s.unsigned
            .get_open_id_token()
            .identity_id(&source)
            .logins(COGNITO, &source_token)
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", &forbidden, 400);
    let err = expect_err(
        s.unsigned
            .unlink_identity()
            .identity_id(&source)
            .logins(COGNITO, &source_token)
            .logins_to_remove(DEVELOPER)
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", &forbidden, 400);

    // Merging a user into its own identity changes nothing.
    let out = s
        .cognito
        .merge_developer_identities()
        .identity_pool_id(&pool)
        .developer_provider_name(DEVELOPER)
        .source_user_identifier("ivan")
        .destination_user_identifier("judy")
        .send()
        .await
        .expect("merge again");
    assert_eq!(out.identity_id.as_deref(), Some(dest.as_str()));
}

#[tokio::test]
async fn merge_refuses_other_providers_and_unknown_users() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let (a, _) = developer_token(&s, &pool, "kate").await;
    let (b, _) = developer_token(&s, &pool, "liam").await;
    let err = expect_err(
        s.cognito
            .merge_developer_identities()
            .identity_pool_id(&pool)
            .developer_provider_name("login.other.app")
            .source_user_identifier("kate")
            .destination_user_identifier("liam")
            .send()
            .await,
    );
    assert_unsupported_developer(&err);
    for (source, dest) in [("nobody", "liam"), ("kate", "nobody")] {
        let err = expect_err(
            s.cognito
                .merge_developer_identities()
                .identity_pool_id(&pool)
                .developer_provider_name(DEVELOPER)
                .source_user_identifier(source)
                .destination_user_identifier(dest)
                .send()
                .await,
        );
        assert_code(&err, "ResourceNotFoundException", 400);
    }
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([a, b]),
        "nothing was merged"
    );
}

#[tokio::test]
async fn unlinking_a_developer_user_frees_it() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let (old, _) = developer_token(&s, &pool, "mona").await;

    let err = expect_err(
        s.cognito
            .unlink_developer_identity()
            .identity_pool_id(&pool)
            .identity_id(&old)
            .developer_provider_name("login.other.app")
            .developer_user_identifier("mona")
            .send()
            .await,
    );
    assert_unsupported_developer(&err);

    s.cognito
        .unlink_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&old)
        .developer_provider_name(DEVELOPER)
        .developer_user_identifier("mona")
        .send()
        .await
        .expect("UnlinkDeveloperIdentity");
    let described = s
        .cognito
        .describe_identity()
        .identity_id(&old)
        .send()
        .await
        .unwrap();
    assert!(described.logins().is_empty(), "{described:?}");
    let err = expect_err(
        s.cognito
            .lookup_developer_identity()
            .identity_pool_id(&pool)
            .developer_user_identifier("mona")
            .send()
            .await,
    );
    assert_code(&err, "ResourceNotFoundException", 400);

    // The user is new the next time it is seen.
    let (fresh, _) = developer_token(&s, &pool, "mona").await;
    assert_ne!(fresh, old);
}

#[tokio::test]
async fn an_identity_stripped_of_every_login_is_inaccessible() {
    let s = TestServer::start().await;
    // Guests allowed, with a guest role: the stripped identity must not pass for a guest.
    let pool = developer_pool(&s, true).await;
    standard_roles(&s, &pool).await;
    let (old, _) = developer_token(&s, &pool, "nina").await;
    s.cognito
        .unlink_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&old)
        .developer_provider_name(DEVELOPER)
        .developer_user_identifier("nina")
        .send()
        .await
        .expect("UnlinkDeveloperIdentity");
    let result = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&old)
        .send()
        .await;
    assert!(
        result.is_err(),
        "an identity whose every login was removed becomes inaccessible (spec §2 \
         UnlinkDeveloperIdentity), yet it got credentials: {result:?}"
    );
}

#[tokio::test]
async fn concurrent_calls_for_one_new_developer_user_end_on_one_identity() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let user = unique("racer-");
    let calls: Vec<_> = (0..32)
        .map(|_| {
            let client = s.cognito.clone();
            let (pool, user) = (pool.clone(), user.clone());
            tokio::spawn(async move {
                client
                    .get_open_id_token_for_developer_identity()
                    .identity_pool_id(pool)
                    .logins(DEVELOPER, user)
                    .send()
                    .await
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for call in calls {
        let out = call
            .await
            .expect("task")
            .expect("GetOpenIdTokenForDeveloperIdentity");
        ids.insert(out.identity_id.expect("IdentityId"));
    }
    assert_eq!(ids.len(), 1, "one user, one identity: {ids:?}");
    assert_eq!(listed(&s, &pool, None).await, ids);
}
