//! IAM roles through the SDK: role CRUD, trust and inline policies, tags, paging and every error IAM gives for them (spec §5.1, design.md "One binary").

use std::collections::BTreeSet;

use aws_sdk_iam::types::{PermissionsBoundaryAttachmentType, Tag};

use crate::helpers::{
    ACCOUNT, TestServer, assert_code, assert_failure, expect_err, percent_decode,
};

/// A trust policy as people write them: indented, several lines, conditions.
pub const TRUST: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \
    \"Effect\": \"Allow\",\n      \"Principal\": {\"Federated\": \"cognito-identity.amazonaws.com\"},\n      \
    \"Action\": \"sts:AssumeRoleWithWebIdentity\",\n      \"Condition\": {\n        \
    \"StringEquals\": {\"cognito-identity.amazonaws.com:aud\": \"us-east-1:00000000-0000-4000-8000-000000000000\"},\n        \
    \"ForAnyValue:StringLike\": {\"cognito-identity.amazonaws.com:amr\": \"authenticated\"}\n      }\n    }\n  ]\n}";

/// An identity policy with every character class that encoding could damage: `%`, `+`, `&`,
/// `<`, quotes, tabs, CR LF and a non-ASCII letter.
pub const POLICY: &str = "{\r\n\t\"Version\": \"2012-10-17\",\r\n\t\"Statement\": [{\r\n\t\t\"Sid\": \"ReadOwn\",\r\n\t\t\
    \"Effect\": \"Allow\",\r\n\t\t\"Action\": [\"s3:GetObject\", \"s3:ListBucket\"],\r\n\t\t\
    \"Resource\": \"arn:aws:s3:::bucket-a+b/caf\u{e9} %20 & <x>/${cognito-identity.amazonaws.com:sub}/*\",\r\n\t\t\
    \"Condition\": {\"StringLike\": {\"s3:prefix\": [\"a&b\", \"c'd\", \"e\\\"f\"]}}\r\n\t}]\r\n}";

const OTHER_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("complete tag")
}

pub async fn create_role(s: &TestServer, name: &str) -> aws_sdk_iam::types::Role {
    s.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("CreateRole")
        .role
        .expect("Role")
}

fn is_role_id(id: &str) -> bool {
    id.len() == 21
        && id.starts_with("AROA")
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn roles_are_created_and_read_back_exactly() {
    let s = TestServer::start().await;
    let created = s
        .iam
        .create_role()
        .role_name("Cognito_Auth")
        .path("/service-role/")
        .assume_role_policy_document(TRUST)
        .description("for <signed-in> users & friends")
        .max_session_duration(7200)
        .tags(tag("team", "identity"))
        .tags(tag("empty", ""))
        .send()
        .await
        .expect("CreateRole")
        .role
        .expect("Role");
    assert_eq!(created.role_name, "Cognito_Auth");
    assert_eq!(created.path, "/service-role/");
    assert_eq!(
        created.arn,
        format!("arn:aws:iam::{ACCOUNT}:role/service-role/Cognito_Auth")
    );
    assert!(is_role_id(&created.role_id), "{}", created.role_id);
    assert_eq!(
        created
            .assume_role_policy_document
            .as_deref()
            .map(percent_decode)
            .as_deref(),
        Some(TRUST)
    );

    let got = s
        .iam
        .get_role()
        .role_name("Cognito_Auth")
        .send()
        .await
        .expect("GetRole")
        .role
        .unwrap();
    assert_eq!(
        (
            &got.role_name,
            &got.role_id,
            &got.arn,
            &got.path,
            got.create_date
        ),
        (
            &created.role_name,
            &created.role_id,
            &created.arn,
            &created.path,
            created.create_date
        )
    );
    let trust = percent_decode(
        got.assume_role_policy_document
            .as_deref()
            .expect("trust policy"),
    );
    assert_eq!(trust, TRUST, "the trust policy comes back byte for byte");
    assert_eq!(
        got.description.as_deref(),
        Some("for <signed-in> users & friends")
    );
    assert_eq!(got.max_session_duration, Some(7200));
    assert_eq!(
        got.tags.unwrap_or_default(),
        vec![tag("team", "identity"), tag("empty", "")]
    );
    let age = aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs()
        - got.create_date.secs();
    assert!(
        (0..300).contains(&age),
        "CreateDate is about now: {:?}",
        got.create_date
    );
}

#[tokio::test]
async fn permissions_boundaries_are_recorded_and_shown() {
    let s = TestServer::start().await;
    let boundary = format!("arn:aws:iam::{ACCOUNT}:policy/boundary");
    let created = s
        .iam
        .create_role()
        .role_name("bounded")
        .assume_role_policy_document(TRUST)
        .permissions_boundary(&boundary)
        .send()
        .await
        .expect("CreateRole")
        .role
        .expect("Role");
    let got = s
        .iam
        .get_role()
        .role_name("bounded")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    for role in [created, got] {
        let pb = role.permissions_boundary.expect("PermissionsBoundary");
        assert_eq!(
            pb.permissions_boundary_arn.as_deref(),
            Some(boundary.as_str())
        );
        // The model's only value is `PermissionsBoundaryPolicy`.
        assert_eq!(
            pb.permissions_boundary_type,
            Some(PermissionsBoundaryAttachmentType::Policy)
        );
    }
}

#[tokio::test]
async fn defaults_apply_when_members_are_left_out() {
    let s = TestServer::start().await;
    let created = create_role(&s, "plain").await;
    assert_eq!(created.path, "/");
    assert_eq!(created.arn, format!("arn:aws:iam::{ACCOUNT}:role/plain"));
    let got = s
        .iam
        .get_role()
        .role_name("plain")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(got.max_session_duration, Some(3600));
    assert_eq!(got.description, None);
    assert!(got.permissions_boundary.is_none());
    assert!(got.tags.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn role_names_are_unique_without_regard_to_case() {
    let s = TestServer::start().await;
    create_role(&s, "Admin").await;
    let err = expect_err(
        s.iam
            .create_role()
            .role_name("ADMIN")
            .assume_role_policy_document(TRUST)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "EntityAlreadyExists",
        "Role with name ADMIN already exists.",
        409,
    );
    assert!(
        err.into_service_error()
            .is_entity_already_exists_exception()
    );
}

#[tokio::test]
async fn bad_role_input_is_refused_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let err = expect_err(
        s.iam
            .create_role()
            .role_name("broken")
            .assume_role_policy_document("{nope")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "MalformedPolicyDocument",
        "This policy contains invalid Json",
        400,
    );
    assert!(
        err.into_service_error()
            .is_malformed_policy_document_exception()
    );

    // A trust policy must name a principal.
    let no_principal =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
    let err = expect_err(
        s.iam
            .create_role()
            .role_name("broken")
            .assume_role_policy_document(no_principal)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "MalformedPolicyDocument",
        "Missing required field Principal",
        400,
    );

    let err = expect_err(
        s.iam
            .create_role()
            .role_name("bad name")
            .assume_role_policy_document(TRUST)
            .send()
            .await,
    );
    assert_code(&err, "ValidationError", 400);

    let err = expect_err(
        s.iam
            .create_role()
            .role_name("broken")
            .assume_role_policy_document(TRUST)
            .max_session_duration(100)
            .send()
            .await,
    );
    assert_code(&err, "ValidationError", 400);

    let err = expect_err(
        s.iam
            .create_role()
            .role_name("broken")
            .assume_role_policy_document(TRUST)
            .tags(tag("a", "1"))
            .tags(tag("A", "2"))
            .send()
            .await,
    );
    assert_code(&err, "InvalidInput", 400);
    assert!(err.into_service_error().is_invalid_input_exception());

    let err = expect_err(s.iam.get_role().role_name("broken").send().await);
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name broken cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let listed = s.iam.list_roles().send().await.unwrap();
    assert!(listed.roles.is_empty(), "{:?}", listed.roles);
}

#[tokio::test]
async fn list_roles_pages_through_every_role_once() {
    let s = TestServer::start().await;
    let mut names: BTreeSet<String> = ["lr-a", "lr-b", "LR-c", "lr-d", "lr-e"]
        .map(String::from)
        .into();
    for name in &names {
        create_role(&s, name).await;
    }
    s.iam
        .create_role()
        .role_name("in-team")
        .path("/team/")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    names.insert("in-team".into());

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s
            .iam
            .list_roles()
            .max_items(2)
            .set_marker(marker.take())
            .send()
            .await
            .expect("ListRoles");
        pages += 1;
        assert!(page.roles.len() <= 2);
        seen.extend(page.roles.iter().map(|r| r.role_name.clone()));
        for r in &page.roles {
            // List entries carry the trust policy too, encoded as everywhere else.
            assert_eq!(
                r.assume_role_policy_document
                    .as_deref()
                    .map(percent_decode)
                    .as_deref(),
                Some(TRUST)
            );
        }
        assert_eq!(
            page.is_truncated,
            page.marker.is_some(),
            "IsTruncated and Marker agree"
        );
        match page.marker {
            Some(m) => marker = Some(m),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6, "no role twice: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), names);

    let items = s
        .iam
        .list_roles()
        .into_paginator()
        .page_size(4)
        .items()
        .send()
        .try_collect()
        .await
        .unwrap();
    let by_paginator: Vec<String> = items.into_iter().map(|r| r.role_name).collect();
    assert_eq!(by_paginator.len(), 6);
    assert_eq!(by_paginator.into_iter().collect::<BTreeSet<_>>(), names);

    let team = s
        .iam
        .list_roles()
        .path_prefix("/team/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        team.roles
            .iter()
            .map(|r| r.role_name.as_str())
            .collect::<Vec<_>>(),
        ["in-team"]
    );
    assert!(!team.is_truncated);
}

#[tokio::test]
async fn roles_are_updated() {
    let s = TestServer::start().await;
    create_role(&s, "changing").await;
    s.iam
        .update_role()
        .role_name("changing")
        .description("now described")
        .max_session_duration(43200)
        .send()
        .await
        .expect("UpdateRole");
    let got = s
        .iam
        .get_role()
        .role_name("changing")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(got.description.as_deref(), Some("now described"));
    assert_eq!(got.max_session_duration, Some(43200));

    let err = expect_err(
        s.iam
            .update_role()
            .role_name("changing")
            .max_session_duration(43201)
            .send()
            .await,
    );
    assert_code(&err, "ValidationError", 400);
    let err = expect_err(
        s.iam
            .update_role()
            .role_name("nobody")
            .description("x")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());

    s.iam
        .update_assume_role_policy()
        .role_name("changing")
        .policy_document(TRUST.replace("authenticated", "unauthenticated"))
        .send()
        .await
        .expect("UpdateAssumeRolePolicy");
    let got = s
        .iam
        .get_role()
        .role_name("changing")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(
        percent_decode(got.assume_role_policy_document.as_deref().unwrap()),
        TRUST.replace("authenticated", "unauthenticated")
    );

    let err = expect_err(
        s.iam
            .update_assume_role_policy()
            .role_name("changing")
            .policy_document("[]")
            .send()
            .await,
    );
    assert_code(&err, "MalformedPolicyDocument", 400);
    assert!(
        err.into_service_error()
            .is_malformed_policy_document_exception()
    );
    let err = expect_err(
        s.iam
            .update_assume_role_policy()
            .role_name("nobody")
            .policy_document(TRUST)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let got = s
        .iam
        .get_role()
        .role_name("changing")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert!(
        percent_decode(got.assume_role_policy_document.as_deref().unwrap())
            .contains("unauthenticated")
    );
}

#[tokio::test]
async fn inline_policies_round_trip_and_block_role_deletion() {
    let s = TestServer::start().await;
    create_role(&s, "holder").await;
    s.iam
        .put_role_policy()
        .role_name("holder")
        .policy_name("read-own")
        .policy_document(POLICY)
        .send()
        .await
        .expect("PutRolePolicy");
    s.iam
        .put_role_policy()
        .role_name("holder")
        .policy_name("deny-all")
        .policy_document(OTHER_POLICY)
        .send()
        .await
        .unwrap();

    let got = s
        .iam
        .get_role_policy()
        .role_name("holder")
        .policy_name("read-own")
        .send()
        .await
        .expect("GetRolePolicy");
    assert_eq!(
        (got.role_name.as_str(), got.policy_name.as_str()),
        ("holder", "read-own")
    );
    assert_eq!(
        percent_decode(&got.policy_document),
        POLICY,
        "the policy comes back byte for byte"
    );

    let names = s
        .iam
        .list_role_policies()
        .role_name("holder")
        .send()
        .await
        .expect("ListRolePolicies");
    assert_eq!(names.policy_names, ["deny-all", "read-own"]);
    assert!(!names.is_truncated);
    let first = s
        .iam
        .list_role_policies()
        .role_name("holder")
        .max_items(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.policy_names, ["deny-all"]);
    assert!(first.is_truncated);
    let second = s
        .iam
        .list_role_policies()
        .role_name("holder")
        .max_items(1)
        .set_marker(first.marker)
        .send()
        .await
        .unwrap();
    assert_eq!(second.policy_names, ["read-own"]);
    assert!(!second.is_truncated && second.marker.is_none());

    // Putting under an existing name replaces the document.
    s.iam
        .put_role_policy()
        .role_name("holder")
        .policy_name("read-own")
        .policy_document(OTHER_POLICY)
        .send()
        .await
        .unwrap();
    let got = s
        .iam
        .get_role_policy()
        .role_name("holder")
        .policy_name("read-own")
        .send()
        .await
        .unwrap();
    assert_eq!(percent_decode(&got.policy_document), OTHER_POLICY);

    let err = expect_err(s.iam.delete_role().role_name("holder").send().await);
    assert_failure(
        &err,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
        409,
    );
    assert!(err.into_service_error().is_delete_conflict_exception());

    s.iam
        .delete_role_policy()
        .role_name("holder")
        .policy_name("read-own")
        .send()
        .await
        .expect("DeleteRolePolicy");
    let err = expect_err(
        s.iam
            .get_role_policy()
            .role_name("holder")
            .policy_name("read-own")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role policy with name read-own cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .delete_role_policy()
            .role_name("holder")
            .policy_name("read-own")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role policy with name read-own cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());

    let err = expect_err(s.iam.delete_role().role_name("holder").send().await);
    assert_code(&err, "DeleteConflict", 409);
    s.iam
        .delete_role_policy()
        .role_name("holder")
        .policy_name("deny-all")
        .send()
        .await
        .unwrap();
    s.iam
        .delete_role()
        .role_name("holder")
        .send()
        .await
        .expect("DeleteRole");

    let err = expect_err(s.iam.get_role().role_name("holder").send().await);
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name holder cannot be found.",
        404,
    );
    let err = expect_err(s.iam.delete_role().role_name("holder").send().await);
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name holder cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
}

#[tokio::test]
async fn inline_policy_errors() {
    let s = TestServer::start().await;
    create_role(&s, "strict").await;
    let no_resource =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}"#;
    let err = expect_err(
        s.iam
            .put_role_policy()
            .role_name("strict")
            .policy_name("p")
            .policy_document(no_resource)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "MalformedPolicyDocument",
        "Policy statement must contain resources.",
        400,
    );
    assert!(
        err.into_service_error()
            .is_malformed_policy_document_exception()
    );

    let err = expect_err(
        s.iam
            .put_role_policy()
            .role_name("strict")
            .policy_name("p")
            .policy_document("not json")
            .send()
            .await,
    );
    assert_code(&err, "MalformedPolicyDocument", 400);

    let err = expect_err(
        s.iam
            .put_role_policy()
            .role_name("nobody")
            .policy_name("p")
            .policy_document(OTHER_POLICY)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .get_role_policy()
            .role_name("nobody")
            .policy_name("p")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    let err = expect_err(s.iam.list_role_policies().role_name("nobody").send().await);
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .delete_role_policy()
            .role_name("nobody")
            .policy_name("p")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );

    let names = s
        .iam
        .list_role_policies()
        .role_name("strict")
        .send()
        .await
        .unwrap();
    assert!(
        names.policy_names.is_empty(),
        "refused policies were not stored"
    );
}

#[tokio::test]
async fn role_tags_are_added_listed_and_removed() {
    let s = TestServer::start().await;
    create_role(&s, "tagged").await;
    s.iam
        .tag_role()
        .role_name("tagged")
        .tags(tag("team", "identity"))
        .tags(tag("env", "dev"))
        .send()
        .await
        .expect("TagRole");
    s.iam
        .tag_role()
        .role_name("tagged")
        .tags(tag("Team", "platform"))
        .send()
        .await
        .unwrap();

    let listed = s
        .iam
        .list_role_tags()
        .role_name("tagged")
        .send()
        .await
        .expect("ListRoleTags");
    let mut tags: Vec<(String, String)> =
        listed.tags.into_iter().map(|t| (t.key, t.value)).collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("Team".to_string(), "platform".to_string()),
            ("env".into(), "dev".into())
        ]
    );
    assert!(!listed.is_truncated);

    s.iam
        .untag_role()
        .role_name("tagged")
        .tag_keys("TEAM")
        .tag_keys("absent")
        .send()
        .await
        .expect("UntagRole");
    let listed = s
        .iam
        .list_role_tags()
        .role_name("tagged")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tags, vec![tag("env", "dev")]);
    let got = s
        .iam
        .get_role()
        .role_name("tagged")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(got.tags.unwrap_or_default(), vec![tag("env", "dev")]);

    let err = expect_err(
        s.iam
            .tag_role()
            .role_name("tagged")
            .tags(tag("x", "1"))
            .tags(tag("X", "2"))
            .send()
            .await,
    );
    assert_code(&err, "InvalidInput", 400);
    assert!(err.into_service_error().is_invalid_input_exception());

    let err = expect_err(
        s.iam
            .tag_role()
            .role_name("nobody")
            .tags(tag("a", "b"))
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .untag_role()
            .role_name("nobody")
            .tag_keys("a")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(s.iam.list_role_tags().role_name("nobody").send().await);
    assert_failure(
        &err,
        "NoSuchEntity",
        "The role with name nobody cannot be found.",
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
}
