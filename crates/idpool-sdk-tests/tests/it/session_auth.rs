//! Temporary credentials on idpool's own admin APIs: the role's policies decide, guests are further held to the scope-down policy, root is never refused (spec §4.4 step 6, §4.10; design.md "Who may call what").

use crate::fixtures::{
    Role, allow, create_role, developer_pool, developer_token, guest_identity, pool_trust,
    set_roles,
};
use crate::helpers::{ACCOUNT, TestServer, assert_code, expect_err, failure, pool_arn};

const COGNITO: &str = "cognito-identity.amazonaws.com";

/// Clients signing with one session's credentials.
struct Session {
    cognito: aws_sdk_cognitoidentity::Client,
    iam: aws_sdk_iam::Client,
}

async fn session(s: &TestServer, identity: &str, login: Option<&str>) -> Session {
    let mut call = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(identity);
    if let Some(token) = login {
        call = call.logins(COGNITO, token);
    }
    let c = call
        .send()
        .await
        .expect("GetCredentialsForIdentity")
        .credentials
        .expect("Credentials");
    let (key, secret, token) = (
        c.access_key_id.expect("AccessKeyId"),
        c.secret_key.expect("SecretKey"),
        c.session_token.expect("SessionToken"),
    );
    let config = s.config_as(Some((&key, &secret, Some(&token)))).await;
    Session {
        cognito: aws_sdk_cognitoidentity::Client::new(&config),
        iam: aws_sdk_iam::Client::new(&config),
    }
}

/// Checks an IAM-layer refusal names the assumed role of `role` and the action.
#[track_caller]
fn assert_denied<E>(
    err: &aws_sdk_cognitoidentity::error::SdkError<E>,
    code: &str,
    status: u16,
    role: &Role,
    action: &str,
) where
    E: aws_sdk_cognitoidentity::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    assert_code(err, code, status);
    let message = failure(err).message.unwrap_or_default();
    let who = format!("User: arn:aws:sts::{ACCOUNT}:assumed-role/");
    assert!(message.starts_with(&who), "{message}");
    assert!(
        message.contains(&format!(
            "assumed-role/{}/CognitoIdentityCredentials",
            role.name
        )),
        "{message}"
    );
    assert!(message.contains(action), "{message}");
}

/// A pool whose authenticated and guest roles both allow DescribeIdentityPool on the pool
/// and iam:GetRole everywhere. Returns (pool, authenticated role, guest role, other pool).
async fn setup(s: &TestServer) -> (String, Role, Role, String) {
    let pool = developer_pool(s, true).await;
    let other = developer_pool(s, true).await;
    let auth = create_role(s, "Auth", &pool_trust(&pool, "authenticated")).await;
    let guest = create_role(s, "Guest", &pool_trust(&pool, "unauthenticated")).await;
    for role in [&auth, &guest] {
        allow(
            s,
            role,
            &["cognito-identity:DescribeIdentityPool"],
            &pool_arn(&pool),
        )
        .await;
        allow(s, role, &["iam:GetRole"], "*").await;
    }
    set_roles(s, &pool, Some(&auth.arn), Some(&guest.arn)).await;
    (pool, auth, guest, other)
}

#[tokio::test]
async fn an_authenticated_session_may_do_what_its_role_allows_and_no_more() {
    let s = TestServer::start().await;
    let (pool, auth, _, other) = setup(&s).await;
    let (id, token) = developer_token(&s, &pool, "ada").await;
    let me = session(&s, &id, Some(&token)).await;

    let out = me
        .cognito
        .describe_identity_pool()
        .identity_pool_id(&pool)
        .send()
        .await
        .expect("DescribeIdentityPool is allowed on this pool");
    assert_eq!(out.identity_pool_id, pool);

    let err = expect_err(
        me.cognito
            .describe_identity_pool()
            .identity_pool_id(&other)
            .send()
            .await,
    );
    assert_denied(
        &err,
        "AccessDeniedException",
        400,
        &auth,
        "cognito-identity:DescribeIdentityPool",
    );

    let err = expect_err(
        me.cognito
            .list_identity_pools()
            .max_results(10)
            .send()
            .await,
    );
    assert_denied(
        &err,
        "AccessDeniedException",
        400,
        &auth,
        "cognito-identity:ListIdentityPools",
    );

    let err = expect_err(me.iam.list_roles().send().await);
    assert_denied(&err, "AccessDenied", 403, &auth, "iam:ListRoles");

    let role = me
        .iam
        .get_role()
        .role_name(&auth.name)
        .send()
        .await
        .expect("iam:GetRole is allowed")
        .role
        .expect("Role");
    assert_eq!(role.arn, auth.arn);
}

#[tokio::test]
async fn a_guest_session_is_also_held_to_the_scope_down_policy() {
    let s = TestServer::start().await;
    let (pool, _, guest_role, _) = setup(&s).await;
    let guest = guest_identity(&s, &pool).await;
    let me = session(&s, &guest, None).await;

    // Cognito Identity is among the services the scope-down policy keeps.
    me.cognito
        .describe_identity_pool()
        .identity_pool_id(&pool)
        .send()
        .await
        .expect("DescribeIdentityPool as a guest");

    // IAM is not, whatever the role says.
    let err = expect_err(me.iam.get_role().role_name(&guest_role.name).send().await);
    assert_denied(&err, "AccessDenied", 403, &guest_role, "iam:GetRole");

    let err = expect_err(
        me.cognito
            .list_identity_pools()
            .max_results(10)
            .send()
            .await,
    );
    assert_denied(
        &err,
        "AccessDeniedException",
        400,
        &guest_role,
        "cognito-identity:ListIdentityPools",
    );
}

#[tokio::test]
async fn root_is_never_refused() {
    let s = TestServer::start().await;
    let (pool, auth, _, other) = setup(&s).await;
    let pools = s
        .cognito
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListIdentityPools");
    assert_eq!(pools.identity_pools().len(), 2);
    for id in [&pool, &other] {
        s.cognito
            .describe_identity_pool()
            .identity_pool_id(id)
            .send()
            .await
            .expect("DescribeIdentityPool");
    }
    s.iam.list_roles().send().await.expect("ListRoles");
    s.iam
        .get_role()
        .role_name(&auth.name)
        .send()
        .await
        .expect("GetRole");
}
