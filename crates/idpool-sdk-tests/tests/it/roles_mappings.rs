//! SetIdentityPoolRoles / GetIdentityPoolRoles: roles, Token and Rules mappings, and their refusals (spec §2, §3.5, §1.5.5).

use std::collections::BTreeMap;

use aws_sdk_cognitoidentity::types::{
    AmbiguousRoleResolutionType, CognitoIdentityProvider, MappingRule, MappingRuleMatchType,
    RoleMapping, RoleMappingType, RulesConfigurationType,
};

use crate::helpers::{
    ACCOUNT, TestServer, assert_code, assert_failure, expect_err, map, sorted, unique,
};

const GOOGLE: &str = "accounts.google.com";
const USER_POOL: &str = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123";
const CLIENT: &str = "app1client";

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn oidc_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/login.example.com")
}

/// A pool with a social provider, a user-pool client and an OIDC provider configured.
async fn pool_with_providers(s: &TestServer) -> String {
    s.cognito
        .create_identity_pool()
        .identity_pool_name(unique("mapped"))
        .allow_unauthenticated_identities(true)
        .supported_login_providers(GOOGLE, "client-123")
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(USER_POOL)
                .client_id(CLIENT)
                .build(),
        )
        .open_id_connect_provider_arns(oidc_arn())
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id
}

fn rule(claim: &str, kind: MappingRuleMatchType, value: &str, role: &str) -> MappingRule {
    MappingRule::builder()
        .claim(claim)
        .match_type(kind)
        .value(value)
        .role_arn(role_arn(role))
        .build()
        .expect("complete rule")
}

fn token_mapping() -> RoleMapping {
    RoleMapping::builder()
        .r#type(RoleMappingType::Token)
        .ambiguous_role_resolution(AmbiguousRoleResolutionType::AuthenticatedRole)
        .build()
        .expect("complete mapping")
}

fn rules_mapping(rules: Vec<MappingRule>) -> RoleMapping {
    RoleMapping::builder()
        .r#type(RoleMappingType::Rules)
        .ambiguous_role_resolution(AmbiguousRoleResolutionType::Deny)
        .rules_configuration(
            RulesConfigurationType::builder()
                .set_rules(Some(rules))
                .build()
                .expect("rules"),
        )
        .build()
        .expect("complete mapping")
}

fn many_rules(n: usize) -> Vec<MappingRule> {
    (0..n)
        .map(|i| {
            rule(
                "custom:dept",
                MappingRuleMatchType::Equals,
                &format!("d{i}"),
                "Dept",
            )
        })
        .collect()
}

#[tokio::test]
async fn roles_and_mappings_round_trip() {
    let s = TestServer::start().await;
    let id = pool_with_providers(&s).await;
    let user_pool_key = format!("{USER_POOL}:{CLIENT}");
    let rules = rules_mapping(vec![
        rule(
            "email",
            MappingRuleMatchType::Equals,
            "admin@example.com",
            "Admin",
        ),
        rule("hd", MappingRuleMatchType::Contains, "example", "Staff"),
        rule("sub", MappingRuleMatchType::StartsWith, "us-", "Regional"),
        rule(
            "custom:tier",
            MappingRuleMatchType::NotEqual,
            "free",
            "Paid",
        ),
    ]);
    let mut wanted = BTreeMap::new();
    wanted.insert(user_pool_key.clone(), token_mapping());
    wanted.insert(GOOGLE.to_string(), rules.clone());
    wanted.insert(oidc_arn(), token_mapping());

    s.cognito
        .set_identity_pool_roles()
        .identity_pool_id(&id)
        .roles("authenticated", role_arn("Auth"))
        .roles("unauthenticated", role_arn("service-role/Guest"))
        .set_role_mappings(Some(wanted.clone().into_iter().collect()))
        .send()
        .await
        .expect("SetIdentityPoolRoles");

    let got = s
        .cognito
        .get_identity_pool_roles()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.identity_pool_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        sorted(got.roles.as_ref()),
        Some(map(&[
            ("authenticated", &role_arn("Auth")),
            ("unauthenticated", &role_arn("service-role/Guest")),
        ]))
    );
    let mappings: BTreeMap<String, RoleMapping> = got
        .role_mappings
        .clone()
        .expect("RoleMappings")
        .into_iter()
        .collect();
    assert_eq!(mappings, wanted);

    // Updating the pool's settings leaves roles and mappings alone.
    s.cognito
        .update_identity_pool()
        .identity_pool_id(&id)
        .identity_pool_name("renamed")
        .allow_unauthenticated_identities(true)
        .supported_login_providers(GOOGLE, "client-123")
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(USER_POOL)
                .client_id(CLIENT)
                .build(),
        )
        .open_id_connect_provider_arns(oidc_arn())
        .send()
        .await
        .unwrap();
    let again = s
        .cognito
        .get_identity_pool_roles()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(sorted(again.roles.as_ref()), sorted(got.roles.as_ref()));
    assert_eq!(again.role_mappings, got.role_mappings);
}

#[tokio::test]
async fn roles_without_mappings_round_trip() {
    let s = TestServer::start().await;
    let id = pool_with_providers(&s).await;
    s.cognito
        .set_identity_pool_roles()
        .identity_pool_id(&id)
        .roles("authenticated", role_arn("OnlyAuth"))
        .send()
        .await
        .unwrap();
    let got = s
        .cognito
        .get_identity_pool_roles()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(got.roles.as_ref()),
        Some(map(&[("authenticated", &role_arn("OnlyAuth"))]))
    );
    assert_eq!(got.role_mappings, None);
}

#[tokio::test]
async fn a_mapping_key_must_be_a_configured_provider() {
    let s = TestServer::start().await;
    let id = pool_with_providers(&s).await;
    // The user pool without its client id, an unconfigured social provider, a URL form.
    for key in [
        USER_POOL.to_string(),
        "graph.facebook.com".into(),
        format!("https://{USER_POOL}:{CLIENT}"),
    ] {
        let err = expect_err(
            s.cognito
                .set_identity_pool_roles()
                .identity_pool_id(&id)
                .roles("authenticated", role_arn("Auth"))
                .role_mappings(&key, token_mapping())
                .send()
                .await,
        );
        assert_failure(
            &err,
            "InvalidParameterException",
            &format!(
                "{key} is not a valid RoleMapping ProviderName or is not a configured provider."
            ),
            400,
        );
        assert!(err.into_service_error().is_invalid_parameter_exception());
    }
    let got = s
        .cognito
        .get_identity_pool_roles()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert!(
        got.role_mappings.is_none() && got.roles.unwrap_or_default().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn a_role_must_be_a_role_arn() {
    let s = TestServer::start().await;
    let id = pool_with_providers(&s).await;
    s.cognito
        .set_identity_pool_roles()
        .identity_pool_id(&id)
        .roles("authenticated", role_arn("Before"))
        .send()
        .await
        .unwrap();
    // Role values are ARNString (20 to 2,048 characters) in the model: shorter ones never
    // reach the role check.
    let err = expect_err(
        s.cognito
            .set_identity_pool_roles()
            .identity_pool_id(&id)
            .roles("authenticated", "x")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ValidationException",
        "1 validation error detected: Value '{authenticated=x}' at 'roles' failed to satisfy \
         constraint: Map value must satisfy constraint: [Member must have length less than or \
         equal to 2048, Member must have length greater than or equal to 20]",
        400,
    );
    for bad in [
        "Cognito_MyPoolAuth_Role",
        "arn:aws:s3:::bucket/role/x",
        "arn:aws:iam::12345:role/short-account",
    ] {
        let err = expect_err(
            s.cognito
                .set_identity_pool_roles()
                .identity_pool_id(&id)
                .roles("authenticated", bad)
                .send()
                .await,
        );
        assert_failure(
            &err,
            "NotAuthorizedException",
            &format!("Access to Role '{bad}' is forbidden."),
            400,
        );
        assert!(err.into_service_error().is_not_authorized_exception());
    }
    // Rule roles are checked the same way.
    let bad_rule = MappingRule::builder()
        .claim("email")
        .match_type(MappingRuleMatchType::Equals)
        .value("a@example.com")
        .role_arn("Cognito_MyPoolAuth_Role")
        .build()
        .unwrap();
    let err = expect_err(
        s.cognito
            .set_identity_pool_roles()
            .identity_pool_id(&id)
            .roles("authenticated", role_arn("Auth"))
            .role_mappings(GOOGLE, rules_mapping(vec![bad_rule]))
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Access to Role 'Cognito_MyPoolAuth_Role' is forbidden.",
        400,
    );
    assert!(err.into_service_error().is_not_authorized_exception());

    let got = s
        .cognito
        .get_identity_pool_roles()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(got.roles.as_ref()),
        Some(map(&[("authenticated", &role_arn("Before"))]))
    );
}

#[tokio::test]
async fn rules_mappings_need_rules_and_at_most_25() {
    let s = TestServer::start().await;
    let id = pool_with_providers(&s).await;
    let no_rules = RoleMapping::builder()
        .r#type(RoleMappingType::Rules)
        .ambiguous_role_resolution(AmbiguousRoleResolutionType::Deny)
        .build()
        .unwrap();
    let err = expect_err(
        s.cognito
            .set_identity_pool_roles()
            .identity_pool_id(&id)
            .roles("authenticated", role_arn("Auth"))
            .role_mappings(GOOGLE, no_rules)
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);
    assert!(err.into_service_error().is_invalid_parameter_exception());

    let err = expect_err(
        s.cognito
            .set_identity_pool_roles()
            .identity_pool_id(&id)
            .roles("authenticated", role_arn("Auth"))
            .role_mappings(GOOGLE, rules_mapping(many_rules(26)))
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);
    assert!(err.into_service_error().is_invalid_parameter_exception());

    s.cognito
        .set_identity_pool_roles()
        .identity_pool_id(&id)
        .roles("authenticated", role_arn("Auth"))
        .role_mappings(GOOGLE, rules_mapping(many_rules(25)))
        .send()
        .await
        .expect("25 rules are allowed");
    let got = s
        .cognito
        .get_identity_pool_roles()
        .identity_pool_id(&id)
        .send()
        .await
        .unwrap();
    let stored = &got.role_mappings.expect("RoleMappings")[GOOGLE];
    assert_eq!(
        stored.rules_configuration.as_ref().map(|r| r.rules.len()),
        Some(25)
    );
    assert_eq!(stored, &rules_mapping(many_rules(25)), "rule order is kept");
}

#[tokio::test]
async fn roles_of_unknown_pools_are_not_found() {
    let s = TestServer::start().await;
    let id = "us-east-1:00000000-0000-4000-8000-00000000abcd";
    let gone = format!("IdentityPool '{id}' not found.");
    let err = expect_err(
        s.cognito
            .set_identity_pool_roles()
            .identity_pool_id(id)
            .roles("authenticated", role_arn("Auth"))
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = expect_err(
        s.cognito
            .get_identity_pool_roles()
            .identity_pool_id(id)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());
}
