//! Pool resource tags: TagResource, UntagResource, ListTagsForResource on the pool ARN (spec §4.14, §3.1).

use crate::helpers::{
    TestServer, assert_code, assert_failure, expect_err, map, pool_arn, sorted, unique,
};

async fn tagged_pool(s: &TestServer) -> String {
    s.cognito
        .create_identity_pool()
        .identity_pool_name(unique("tagged"))
        .allow_unauthenticated_identities(false)
        .identity_pool_tags("team", "identity")
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id
}

#[tokio::test]
async fn tags_are_added_overwritten_listed_and_removed() {
    let s = TestServer::start().await;
    let id = tagged_pool(&s).await;
    let arn = pool_arn(&id);

    let listed = s
        .cognito
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(listed.tags.as_ref()),
        Some(map(&[("team", "identity")]))
    );

    s.cognito
        .tag_resource()
        .resource_arn(&arn)
        .tags("team", "platform")
        .tags("cost-center", "42")
        .tags("note", "a b_c.d:e/f=g+h-i@j")
        .send()
        .await
        .expect("TagResource");
    let want = map(&[
        ("team", "platform"),
        ("cost-center", "42"),
        ("note", "a b_c.d:e/f=g+h-i@j"),
    ]);
    let listed = s
        .cognito
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(sorted(listed.tags.as_ref()), Some(want.clone()));
    let described = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(sorted(described.identity_pool_tags.as_ref()), Some(want));

    s.cognito
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .tag_keys("never-there")
        .tag_keys("NOTE")
        .send()
        .await
        .expect("UntagResource: absent keys are ignored");
    let listed = s
        .cognito
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(listed.tags.as_ref()),
        Some(map(&[
            ("cost-center", "42"),
            ("note", "a b_c.d:e/f=g+h-i@j")
        ])),
        "keys are case-sensitive"
    );

    s.cognito
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("cost-center")
        .tag_keys("note")
        .send()
        .await
        .unwrap();
    let listed = s
        .cognito
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tags.unwrap_or_default().len(), 0);
}

#[tokio::test]
async fn tags_of_unknown_pools_are_not_found() {
    let s = TestServer::start().await;
    let id = "us-east-1:00000000-0000-4000-8000-0000000000ff";
    let arn = pool_arn(id);
    let gone = format!("IdentityPool '{id}' not found.");

    let err = expect_err(
        s.cognito
            .tag_resource()
            .resource_arn(&arn)
            .tags("a", "b")
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());

    let err = expect_err(
        s.cognito
            .untag_resource()
            .resource_arn(&arn)
            .tag_keys("a")
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());

    let err = expect_err(
        s.cognito
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn a_pool_in_another_account_is_not_found() {
    let s = TestServer::start().await;
    let id = tagged_pool(&s).await;
    let foreign = format!("arn:aws:cognito-identity:us-east-1:123456789012:identitypool/{id}");
    let err = expect_err(
        s.cognito
            .list_tags_for_resource()
            .resource_arn(&foreign)
            .send()
            .await,
    );
    assert_code(&err, "ResourceNotFoundException", 400);
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = expect_err(
        s.cognito
            .tag_resource()
            .resource_arn(&foreign)
            .tags("a", "b")
            .send()
            .await,
    );
    assert_code(&err, "ResourceNotFoundException", 400);
}

#[tokio::test]
async fn reserved_prefixes_and_too_many_tags_are_refused() {
    let s = TestServer::start().await;
    let id = tagged_pool(&s).await;
    let arn = pool_arn(&id);

    let err = expect_err(
        s.cognito
            .tag_resource()
            .resource_arn(&arn)
            .tags("aws:owner", "me")
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);
    assert!(err.into_service_error().is_invalid_parameter_exception());

    // 1 existing + 49 new = 50, the quota.
    let mut call = s.cognito.tag_resource().resource_arn(&arn);
    for i in 0..49 {
        call = call.tags(format!("k{i:02}"), "v");
    }
    call.send().await.expect("50 tags are allowed");
    let err = expect_err(
        s.cognito
            .tag_resource()
            .resource_arn(&arn)
            .tags("one-more", "v")
            .send()
            .await,
    );
    // The model lists no LimitExceededException for TagResource, so the SDK cannot name it;
    // the code still reaches the caller.
    assert_code(&err, "LimitExceededException", 400);
    // Overwriting an existing key does not add one.
    s.cognito
        .tag_resource()
        .resource_arn(&arn)
        .tags("team", "other")
        .send()
        .await
        .expect("overwrite at the quota");

    let listed = s
        .cognito
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let tags = sorted(listed.tags.as_ref()).unwrap();
    assert_eq!(tags.len(), 50);
    assert_eq!(tags.get("team").map(String::as_str), Some("other"));
    assert!(!tags.contains_key("aws:owner") && !tags.contains_key("one-more"));
}

#[tokio::test]
async fn tags_with_characters_aws_does_not_allow_are_refused() {
    let s = TestServer::start().await;
    let id = tagged_pool(&s).await;
    let arn = pool_arn(&id);
    for (k, v) in [("a#b", "v"), ("ok", "semi;colon"), ("tab\tkey", "v")] {
        let err = expect_err(
            s.cognito
                .tag_resource()
                .resource_arn(&arn)
                .tags(k, v)
                .send()
                .await,
        );
        assert_code(&err, "InvalidParameterException", 400);
    }
    // Letters of any script, numbers, spaces and the listed punctuation are fine.
    s.cognito
        .tag_resource()
        .resource_arn(&arn)
        .tags("Équipe 2/ops:main", "a+b=c-d_e.f@g")
        .send()
        .await
        .expect("allowed characters");
    let err = expect_err(
        s.cognito
            .create_identity_pool()
            .identity_pool_name(unique("badtag"))
            .allow_unauthenticated_identities(false)
            .identity_pool_tags("owner", "x|y")
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);
}
