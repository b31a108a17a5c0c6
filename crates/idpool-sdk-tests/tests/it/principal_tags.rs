//! Principal-tag attribute maps per (pool, provider): SetPrincipalTagAttributeMap / GetPrincipalTagAttributeMap (spec §2, §4.13).

use aws_sdk_cognitoidentity::types::CognitoIdentityProvider;

use crate::helpers::{TestServer, assert_code, assert_failure, expect_err, map, sorted, unique};

const GOOGLE: &str = "accounts.google.com";
const USER_POOL: &str = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123";

async fn pool(s: &TestServer) -> String {
    s.cognito
        .create_identity_pool()
        .identity_pool_name(unique("abac"))
        .allow_unauthenticated_identities(false)
        .supported_login_providers(GOOGLE, "client-123")
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(USER_POOL)
                .client_id("app1client")
                .build(),
        )
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id
}

#[tokio::test]
async fn attribute_maps_round_trip_per_provider() {
    let s = TestServer::start().await;
    let id = pool(&s).await;

    let set = s
        .cognito
        .set_principal_tag_attribute_map()
        .identity_pool_id(&id)
        .identity_provider_name(USER_POOL)
        .use_defaults(false)
        .principal_tags("department", "custom:dept")
        .principal_tags("user", "sub")
        .send()
        .await
        .expect("SetPrincipalTagAttributeMap");
    let want = map(&[("department", "custom:dept"), ("user", "sub")]);
    assert_eq!(set.identity_pool_id.as_deref(), Some(id.as_str()));
    assert_eq!(set.identity_provider_name.as_deref(), Some(USER_POOL));
    assert_eq!(set.use_defaults, Some(false));
    assert_eq!(sorted(set.principal_tags.as_ref()), Some(want.clone()));

    s.cognito
        .set_principal_tag_attribute_map()
        .identity_pool_id(&id)
        .identity_provider_name(GOOGLE)
        .use_defaults(true)
        .send()
        .await
        .expect("defaults for Google");

    let got = s
        .cognito
        .get_principal_tag_attribute_map()
        .identity_pool_id(&id)
        .identity_provider_name(USER_POOL)
        .send()
        .await
        .expect("GetPrincipalTagAttributeMap");
    assert_eq!(got.identity_pool_id.as_deref(), Some(id.as_str()));
    assert_eq!(got.identity_provider_name.as_deref(), Some(USER_POOL));
    assert_eq!(got.use_defaults, Some(false));
    assert_eq!(sorted(got.principal_tags.as_ref()), Some(want));

    let google = s
        .cognito
        .get_principal_tag_attribute_map()
        .identity_pool_id(&id)
        .identity_provider_name(GOOGLE)
        .send()
        .await
        .unwrap();
    assert_eq!(google.use_defaults, Some(true));
    assert!(google.principal_tags.unwrap_or_default().is_empty());

    // A second Set replaces the first.
    s.cognito
        .set_principal_tag_attribute_map()
        .identity_pool_id(&id)
        .identity_provider_name(USER_POOL)
        .use_defaults(false)
        .principal_tags("email", "email")
        .send()
        .await
        .unwrap();
    let got = s
        .cognito
        .get_principal_tag_attribute_map()
        .identity_pool_id(&id)
        .identity_provider_name(USER_POOL)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(got.principal_tags.as_ref()),
        Some(map(&[("email", "email")]))
    );
}

#[tokio::test]
async fn a_configured_provider_never_set_has_no_tags() {
    let s = TestServer::start().await;
    let id = pool(&s).await;
    let got = s
        .cognito
        .get_principal_tag_attribute_map()
        .identity_pool_id(&id)
        .identity_provider_name(GOOGLE)
        .send()
        .await
        .expect("GetPrincipalTagAttributeMap of a configured provider");
    assert_ne!(got.use_defaults, Some(true));
    assert!(got.principal_tags.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn unconfigured_providers_and_unknown_pools_are_refused() {
    let s = TestServer::start().await;
    let id = pool(&s).await;
    let err = expect_err(
        s.cognito
            .set_principal_tag_attribute_map()
            .identity_pool_id(&id)
            .identity_provider_name("graph.facebook.com")
            .principal_tags("user", "sub")
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);
    assert!(err.into_service_error().is_invalid_parameter_exception());
    let err = expect_err(
        s.cognito
            .get_principal_tag_attribute_map()
            .identity_pool_id(&id)
            .identity_provider_name("graph.facebook.com")
            .send()
            .await,
    );
    assert_code(&err, "InvalidParameterException", 400);

    let unknown = "us-east-1:00000000-0000-4000-8000-0000000000aa";
    let gone = format!("IdentityPool '{unknown}' not found.");
    let err = expect_err(
        s.cognito
            .set_principal_tag_attribute_map()
            .identity_pool_id(unknown)
            .identity_provider_name(GOOGLE)
            .use_defaults(true)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = expect_err(
        s.cognito
            .get_principal_tag_attribute_map()
            .identity_pool_id(unknown)
            .identity_provider_name(GOOGLE)
            .send()
            .await,
    );
    assert_failure(&err, "ResourceNotFoundException", &gone, 400);
    assert!(err.into_service_error().is_resource_not_found_exception());
}
