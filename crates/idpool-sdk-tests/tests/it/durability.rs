//! What was stored survives a restart on the same data directory, unchanged (design.md "Storage").

use aws_sdk_cognitoidentity::types::{
    AmbiguousRoleResolutionType, CognitoIdentityProvider, RoleMapping, RoleMappingType,
};
use aws_sdk_iam::types::Tag;

use crate::helpers::{ACCOUNT, TestServer, pool_arn, pool_view, sorted};
use crate::iam_providers::saml_metadata;
use crate::iam_roles::{POLICY, TRUST};

const USER_POOL: &str = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123";

/// (Url, ClientIDList, ThumbprintList, CreateDate) of an OIDC provider.
type OidcView = (
    Option<String>,
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<aws_smithy_types::DateTime>,
);

/// Everything one test stores, read back through the API.
#[derive(Debug, PartialEq)]
struct Snapshot {
    pool: crate::helpers::PoolView,
    roles: Option<std::collections::BTreeMap<String, String>>,
    mappings: Option<std::collections::BTreeMap<String, RoleMapping>>,
    principal_tags: (
        Option<bool>,
        Option<std::collections::BTreeMap<String, String>>,
    ),
    pool_tags: Option<std::collections::BTreeMap<String, String>>,
    listed_pools: Vec<String>,
    role: aws_sdk_iam::types::Role,
    policy: String,
    role_tags: Vec<Tag>,
    oidc: OidcView,
    saml: (
        Option<String>,
        Option<String>,
        Option<aws_smithy_types::DateTime>,
    ),
}

async fn snapshot(s: &TestServer, pool_id: &str, oidc_arn: &str, saml_arn: &str) -> Snapshot {
    let d = s
        .cognito
        .describe_identity_pool()
        .identity_pool_id(pool_id)
        .send()
        .await
        .expect("DescribeIdentityPool");
    let r = s
        .cognito
        .get_identity_pool_roles()
        .identity_pool_id(pool_id)
        .send()
        .await
        .expect("GetIdentityPoolRoles");
    let p = s
        .cognito
        .get_principal_tag_attribute_map()
        .identity_pool_id(pool_id)
        .identity_provider_name(USER_POOL)
        .send()
        .await
        .expect("GetPrincipalTagAttributeMap");
    let t = s
        .cognito
        .list_tags_for_resource()
        .resource_arn(pool_arn(pool_id))
        .send()
        .await
        .expect("ListTags");
    let l = s
        .cognito
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListIdentityPools");
    let role = s
        .iam
        .get_role()
        .role_name("durable")
        .send()
        .await
        .expect("GetRole")
        .role
        .expect("Role");
    let policy = s
        .iam
        .get_role_policy()
        .role_name("durable")
        .policy_name("inline")
        .send()
        .await
        .expect("GetRolePolicy");
    let role_tags = s
        .iam
        .list_role_tags()
        .role_name("durable")
        .send()
        .await
        .expect("ListRoleTags");
    let o = s
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(oidc_arn)
        .send()
        .await
        .expect("GetOIDC");
    let m = s
        .iam
        .get_saml_provider()
        .saml_provider_arn(saml_arn)
        .send()
        .await
        .expect("GetSAMLProvider");
    Snapshot {
        pool: pool_view!(d),
        roles: sorted(r.roles.as_ref()),
        mappings: r.role_mappings.map(|m| m.into_iter().collect()),
        principal_tags: (p.use_defaults, sorted(p.principal_tags.as_ref())),
        pool_tags: sorted(t.tags.as_ref()),
        listed_pools: l
            .identity_pools()
            .iter()
            .filter_map(|p| p.identity_pool_id.clone())
            .collect(),
        role,
        policy: policy.policy_document,
        role_tags: role_tags.tags,
        oidc: (o.url, o.client_id_list, o.thumbprint_list, o.create_date),
        saml: (
            m.saml_provider_uuid,
            m.saml_metadata_document,
            m.valid_until,
        ),
    }
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let mut s = TestServer::start().await;
    let pool_id = s
        .cognito
        .create_identity_pool()
        .identity_pool_name("durable pool")
        .allow_unauthenticated_identities(true)
        .allow_classic_flow(false)
        .supported_login_providers("accounts.google.com", "client-123")
        .developer_provider_name("login.durable.app")
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(USER_POOL)
                .client_id("app1client")
                .build(),
        )
        .identity_pool_tags("team", "identity")
        .send()
        .await
        .unwrap()
        .identity_pool_id;
    s.cognito
        .set_identity_pool_roles()
        .identity_pool_id(&pool_id)
        .roles(
            "authenticated",
            format!("arn:aws:iam::{ACCOUNT}:role/durable"),
        )
        .role_mappings(
            format!("{USER_POOL}:app1client"),
            RoleMapping::builder()
                .r#type(RoleMappingType::Token)
                .ambiguous_role_resolution(AmbiguousRoleResolutionType::Deny)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s.cognito
        .set_principal_tag_attribute_map()
        .identity_pool_id(&pool_id)
        .identity_provider_name(USER_POOL)
        .use_defaults(false)
        .principal_tags("dept", "custom:dept")
        .send()
        .await
        .unwrap();
    s.cognito
        .tag_resource()
        .resource_arn(pool_arn(&pool_id))
        .tags("env", "prod")
        .send()
        .await
        .unwrap();

    s.iam
        .create_role()
        .role_name("durable")
        .path("/app/")
        .assume_role_policy_document(TRUST)
        .description("kept across restarts")
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    s.iam
        .put_role_policy()
        .role_name("durable")
        .policy_name("inline")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap();
    let tag = Tag::builder().key("owner").value("ops").build().unwrap();
    s.iam
        .tag_role()
        .role_name("durable")
        .tags(tag)
        .send()
        .await
        .unwrap();
    let oidc_arn = s
        .iam
        .create_open_id_connect_provider()
        .url("https://issuer.durable.example")
        .client_id_list("durable-client")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_arn
        .unwrap();
    let saml_arn = s
        .iam
        .create_saml_provider()
        .name("DurableIdP")
        .saml_metadata_document(saml_metadata(Some("2030-01-01T00:00:00Z")))
        .send()
        .await
        .unwrap()
        .saml_provider_arn
        .unwrap();

    let before = snapshot(&s, &pool_id, &oidc_arn, &saml_arn).await;
    s.restart().await;
    let after = snapshot(&s, &pool_id, &oidc_arn, &saml_arn).await;
    assert_eq!(after, before);
    assert_eq!(after.listed_pools, std::slice::from_ref(&pool_id));
    assert_eq!(after.pool_tags.as_ref().map(|t| t.len()), Some(2));
    assert_eq!(
        after.role.description.as_deref(),
        Some("kept across restarts")
    );

    // And the restarted server keeps accepting writes.
    s.cognito
        .untag_resource()
        .resource_arn(pool_arn(&pool_id))
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    s.restart().await;
    let again = snapshot(&s, &pool_id, &oidc_arn, &saml_arn).await;
    assert_eq!(again.pool_tags.map(|t| t.len()), Some(1));
}
