//! Identities through the SDK: GetId, DescribeIdentity, ListIdentities (paging, HideDisabled), DeleteIdentities, UnlinkIdentity and their errors (spec §2, §1.5.5, §4.3, §4.7).

use std::collections::BTreeSet;

use crate::fixtures::{DEVELOPER, developer_pool, developer_token, guest_identity, now_s};
use crate::helpers::{
    TestServer, assert_code, assert_failure, expect_err, failure, is_pool_id, unique,
};

const LOGINS_DONT_MATCH: &str = "Logins don't match. Please include at least one valid login for this identity or identity pool.";

/// Every identity of a pool, page by page (`max` per page), with the page sizes seen.
async fn list_all(
    s: &TestServer,
    pool_id: &str,
    max: i32,
    hide_disabled: Option<bool>,
) -> (Vec<String>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..100 {
        let out = s
            .cognito
            .list_identities()
            .identity_pool_id(pool_id)
            .max_results(max)
            .set_hide_disabled(hide_disabled)
            .set_next_token(next.clone())
            .send()
            .await
            .expect("ListIdentities");
        assert_eq!(out.identity_pool_id.as_deref(), Some(pool_id));
        pages.push(out.identities().len());
        ids.extend(
            out.identities()
                .iter()
                .map(|i| i.identity_id.clone().expect("IdentityId")),
        );
        next = out.next_token;
        if next.is_none() {
            return (ids, pages);
        }
    }
    panic!("ListIdentities never stopped paging");
}

pub async fn listed(
    s: &TestServer,
    pool_id: &str,
    hide_disabled: Option<bool>,
) -> BTreeSet<String> {
    let (ids, _) = list_all(s, pool_id, 60, hide_disabled).await;
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "no identity listed twice: {ids:?}");
    set
}

#[tokio::test]
async fn guests_get_a_new_identity_on_every_call_and_are_listed() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let before = now_s();
    let a = guest_identity(&s, &pool).await;
    let b = guest_identity(&s, &pool).await;
    assert!(is_pool_id(&a) && is_pool_id(&b), "{a} {b}");
    assert_ne!(a, b, "each unauthenticated GetId mints a new identity");
    assert_eq!(
        listed(&s, &pool, None).await,
        BTreeSet::from([a.clone(), b])
    );

    let described = s
        .cognito
        .describe_identity()
        .identity_id(&a)
        .send()
        .await
        .expect("DescribeIdentity");
    assert_eq!(described.identity_id.as_deref(), Some(a.as_str()));
    assert!(described.logins().is_empty(), "a guest has no logins");
    let created = described.creation_date.expect("CreationDate").secs();
    let modified = described
        .last_modified_date
        .expect("LastModifiedDate")
        .secs();
    assert!((before - 2..=now_s() + 2).contains(&created), "{created}");
    assert!(modified >= created);
}

#[tokio::test]
async fn get_id_refuses_logins_the_pool_does_not_accept() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let err = expect_err(
        s.unsigned
            .get_id()
            .identity_pool_id(&pool)
            .logins("graph.facebook.com", "EAAGm0PX4ZCpsBA")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Token is not from a supported provider of this identity pool.",
        400,
    );
    assert!(err.into_service_error().is_not_authorized_exception());

    // The developer provider only speaks through GetOpenIdTokenForDeveloperIdentity (spec §4.3).
    let err = expect_err(
        s.unsigned
            .get_id()
            .identity_pool_id(&pool)
            .logins(DEVELOPER, "user-1")
            .send()
            .await,
    );
    assert!(failure(&err).is_service_error, "{err:?}");
    assert!(
        listed(&s, &pool, None).await.is_empty(),
        "refused calls mint nothing"
    );
}

#[tokio::test]
async fn describe_identity_names_providers_never_users() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let user = unique("secret-user-");
    let (id, _) = developer_token(&s, &pool, &user).await;
    let out = s
        .cognito
        .describe_identity()
        .identity_id(&id)
        .send()
        .await
        .expect("DescribeIdentity");
    assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
    assert_eq!(out.logins(), [DEVELOPER.to_string()]);
    assert!(
        !format!("{out:?}").contains(&user),
        "developer user ids never leave the server"
    );

    let listed = s
        .cognito
        .list_identities()
        .identity_pool_id(&pool)
        .max_results(10)
        .send()
        .await
        .expect("ListIdentities");
    let only = &listed.identities()[0];
    assert_eq!(only.identity_id.as_deref(), Some(id.as_str()));
    assert_eq!(only.logins(), [DEVELOPER.to_string()]);
    assert!(only.creation_date.is_some() && only.last_modified_date.is_some());
}

#[tokio::test]
async fn list_identities_pages_every_identity_exactly_once() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let mut want = BTreeSet::new();
    for _ in 0..7 {
        want.insert(guest_identity(&s, &pool).await);
    }
    // Identities of another pool stay out of this one's listing.
    let other = developer_pool(&s, true).await;
    let stranger = guest_identity(&s, &other).await;

    let (ids, pages) = list_all(&s, &pool, 3, None).await;
    assert_eq!(pages, [3, 3, 1], "full pages, then the rest");
    let got: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(got.len(), ids.len(), "no duplicates: {ids:?}");
    assert_eq!(got, want);
    assert!(!got.contains(&stranger));

    let (ids, pages) = list_all(&s, &pool, 7, None).await;
    assert_eq!(
        (ids.len(), pages.len()),
        (7, 1),
        "an exact fit needs no NextToken"
    );

    let err = expect_err(
        s.cognito
            .list_identities()
            .identity_pool_id(&pool)
            .max_results(3)
            .next_token("not-a-token-this-server-gave")
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);
}

#[tokio::test]
async fn delete_identities_removes_them_everywhere_and_ignores_unknown_ids() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let keep = guest_identity(&s, &pool).await;
    let a = guest_identity(&s, &pool).await;
    let b = guest_identity(&s, &pool).await;
    let unknown = "us-east-1:12345678-1234-4234-8234-123456789abc";
    let out = s
        .cognito
        .delete_identities()
        .identity_ids_to_delete(&a)
        .identity_ids_to_delete(&b)
        .identity_ids_to_delete(unknown)
        .send()
        .await
        .expect("DeleteIdentities");
    assert!(out.unprocessed_identity_ids().is_empty(), "{out:?}");

    assert_eq!(
        listed(&s, &pool, None).await,
        BTreeSet::from([keep.clone()])
    );
    for gone in [&a, &b] {
        let msg = format!("Identity '{gone}' not found.");
        let err = expect_err(s.cognito.describe_identity().identity_id(gone).send().await);
        assert_failure(&err, "ResourceNotFoundException", &msg, 400);
        let err = expect_err(
            s.unsigned
                .get_credentials_for_identity()
                .identity_id(gone)
                .send()
                .await,
        );
        assert_failure(&err, "ResourceNotFoundException", &msg, 400);
        let err = expect_err(
            s.unsigned
                .get_open_id_token()
                .identity_id(gone)
                .send()
                .await,
        );
        assert_failure(&err, "ResourceNotFoundException", &msg, 400);
    }
    s.unsigned
        .get_open_id_token()
        .identity_id(&keep)
        .send()
        .await
        .expect("the identity kept still works");
}

#[tokio::test]
async fn deleting_the_pool_deletes_its_identities() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let guest = guest_identity(&s, &pool).await;
    let (dev, token) = developer_token(&s, &pool, "olivia").await;
    s.cognito
        .delete_identity_pool()
        .identity_pool_id(&pool)
        .send()
        .await
        .expect("DeleteIdentityPool");
    let gone = format!("Identity '{guest}' not found.");
    let err = expect_err(
        s.cognito
            .describe_identity()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    let err = expect_err(
        s.unsigned
            .get_open_id_token()
            .identity_id(&dev)
            .logins("cognito-identity.amazonaws.com", &token)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ResourceNotFoundException",
        &format!("Identity '{dev}' not found."),
        400,
    );
}

#[tokio::test]
async fn unlink_identity_needs_a_login_of_that_identity() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, false).await;
    let (mine, my_token) = developer_token(&s, &pool, "unlink-me").await;
    let (_, their_token) = developer_token(&s, &pool, "someone-else").await;

    let err = expect_err(
        s.unsigned
            .unlink_identity()
            .identity_id(&mine)
            .logins("cognito-identity.amazonaws.com", &their_token)
            .logins_to_remove("accounts.google.com")
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);
    assert!(err.into_service_error().is_not_authorized_exception());

    let err = expect_err(
        s.unsigned
            .unlink_identity()
            .identity_id(&mine)
            .logins("graph.facebook.com", "EAAGm0PX4ZCpsBA")
            .logins_to_remove("graph.facebook.com")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Token is not from a supported provider of this identity pool.",
        400,
    );

    // Proof of ownership and a provider that is not linked: nothing to do, nothing lost.
    s.unsigned
        .unlink_identity()
        .identity_id(&mine)
        .logins("cognito-identity.amazonaws.com", &my_token)
        .logins_to_remove("accounts.google.com")
        .send()
        .await
        .expect("UnlinkIdentity");
    let out = s
        .cognito
        .describe_identity()
        .identity_id(&mine)
        .send()
        .await
        .unwrap();
    assert_eq!(out.logins(), [DEVELOPER.to_string()]);
}

#[tokio::test]
async fn concurrent_guests_get_distinct_identities_all_listed() {
    let s = TestServer::start().await;
    let pool = developer_pool(&s, true).await;
    let calls = (0..16).map(|_| {
        let client = s.unsigned.clone();
        let pool = pool.clone();
        tokio::spawn(async move { client.get_id().identity_pool_id(pool).send().await })
    });
    let mut ids = BTreeSet::new();
    for call in calls.collect::<Vec<_>>() {
        let out = call.await.expect("task").expect("GetId");
        ids.insert(out.identity_id.expect("IdentityId"));
    }
    assert_eq!(ids.len(), 16, "every call minted its own identity");
    assert_eq!(listed(&s, &pool, None).await, ids);
}
