//! Outside logins through the Cognito operations: identity by (provider, subject), role mappings, principal tags, amr, and error types (spec §4.2-4.5, §4.9, §4.11, §4.13).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idpool_wire::json::CognitoOp;
use serde_json::{Value, json};

use super::tests::{
    CLIENT, FakeFetcher, NOW_MS, NOW_S, POOL_NAME, Signer, id_claims, key_set, pool_jwks_url,
};
use super::{Idp, IdpSettings, jwks::FetchError};
use crate::Core;
use crate::cognito::CognitoError;
use crate::session::SessionClaims;

struct World {
    core: Core,
    fetcher: Arc<FakeFetcher>,
    signer: Signer,
    pool_id: String,
}

async fn call(core: &Core, op: CognitoOp, input: Value) -> Result<Value, CognitoError> {
    crate::cognito::dispatch(core, op, input).await
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:role/{name}")
}

async fn make_role(core: &Core, name: &str, tag_session: bool) -> String {
    let actions = if tag_session {
        json!(["sts:AssumeRoleWithWebIdentity", "sts:TagSession"])
    } else {
        json!("sts:AssumeRoleWithWebIdentity")
    };
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "Action": actions,
        "Condition": {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}}]});
    crate::iam::create_role(
        core,
        crate::iam::CreateRoleInput {
            name: name.into(),
            path: None,
            assume_role_policy_document: trust.to_string(),
            description: None,
            max_session_duration: None,
            permissions_boundary: None,
            tags: Vec::new(),
        },
    )
    .await
    .unwrap()
    .arn
}

async fn world_with(pool: Value) -> World {
    let mut core = crate::iam::testkit::core().await;
    let fetcher = Arc::new(FakeFetcher::default());
    let signer = Signer::new("key-1");
    fetcher.serve(&pool_jwks_url(), key_set(&[signer.jwk()]));
    core.idp = Arc::new(Idp::with_fetcher(IdpSettings::default(), fetcher.clone()));
    let out = call(&core, CognitoOp::CreateIdentityPool, pool)
        .await
        .unwrap();
    let pool_id = out["IdentityPoolId"].as_str().unwrap().to_string();
    for name in [
        "AuthRole", "Admin", "Reader", "Eng", "Boss", "Example", "Paid",
    ] {
        make_role(&core, name, true).await;
    }
    make_role(&core, "NoTags", false).await;
    World {
        core,
        fetcher,
        signer,
        pool_id,
    }
}

async fn world() -> World {
    world_with(
        json!({"IdentityPoolName": "Flows", "AllowUnauthenticatedIdentities": false,
        "DeveloperProviderName": "login.dev",
        "CognitoIdentityProviders": [{"ProviderName": POOL_NAME, "ClientId": CLIENT}]}),
    )
    .await
}

impl World {
    fn token(&self, claims: &Value) -> String {
        self.signer.token(claims)
    }

    async fn get_id(&self, token: &str) -> Result<String, CognitoError> {
        let out = call(
            &self.core,
            CognitoOp::GetId,
            json!({"IdentityPoolId": self.pool_id, "Logins": {POOL_NAME: token}}),
        )
        .await?;
        Ok(out["IdentityId"].as_str().unwrap().to_string())
    }

    /// GetId then GetCredentialsForIdentity with one user-pool token; the sealed session.
    async fn credentials(
        &self,
        claims: &Value,
        custom_role: Option<&str>,
    ) -> Result<SessionClaims, CognitoError> {
        let token = self.token(claims);
        let id = self.get_id(&token).await?;
        let mut input = json!({"IdentityId": id, "Logins": {POOL_NAME: token}});
        if let Some(r) = custom_role {
            input["CustomRoleArn"] = r.into();
        }
        let out = call(&self.core, CognitoOp::GetCredentialsForIdentity, input).await?;
        let c = &out["Credentials"];
        let (claims, _) = crate::session::open(
            &self.core.keys.get(),
            c["AccessKeyId"].as_str().unwrap(),
            c["SessionToken"].as_str().unwrap(),
            NOW_MS,
        )
        .unwrap();
        Ok(claims)
    }

    async fn role_for(&self, claims: &Value, custom: Option<&str>) -> Result<String, CognitoError> {
        self.credentials(claims, custom).await.map(|s| s.role_arn)
    }

    async fn set_roles(&self, mappings: Value) {
        call(
            &self.core,
            CognitoOp::SetIdentityPoolRoles,
            json!({"IdentityPoolId": self.pool_id,
                "Roles": {"authenticated": role_arn("AuthRole")}, "RoleMappings": mappings}),
        )
        .await
        .unwrap();
    }

    async fn open_id_token_claims(&self, claims: &Value) -> Result<Value, CognitoError> {
        let token = self.token(claims);
        let id = self.get_id(&token).await?;
        let out = call(
            &self.core,
            CognitoOp::GetOpenIdToken,
            json!({"IdentityId": id, "Logins": {POOL_NAME: token}}),
        )
        .await?;
        let ours = out["Token"].as_str().unwrap();
        let payload = URL_SAFE_NO_PAD
            .decode(ours.split('.').nth(1).unwrap())
            .unwrap();
        Ok(serde_json::from_slice(&payload).unwrap())
    }
}

fn not_authorized(r: Result<impl std::fmt::Debug, CognitoError>) -> String {
    match r {
        Err(CognitoError::NotAuthorized(m)) => m,
        other => panic!("expected NotAuthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fresh_token_for_the_same_user_reaches_the_same_identity() {
    let w = world().await;
    let first = w.get_id(&w.token(&id_claims("alice"))).await.unwrap();
    let mut fresh = id_claims("alice");
    fresh["iat"] = (NOW_S - 1).into();
    fresh["exp"] = (NOW_S + 7200).into();
    fresh["jti"] = "another-token".into();
    assert_eq!(w.get_id(&w.token(&fresh)).await.unwrap(), first);
    let other = w.get_id(&w.token(&id_claims("bob"))).await.unwrap();
    assert_ne!(other, first);
    // Stored is the provider and subject, never the token.
    let row = w.core.store.get_identity(&first).await.unwrap().unwrap();
    assert_eq!(row.logins.len(), 1);
    assert_eq!(row.logins[0].provider, POOL_NAME);
    assert_eq!(row.logins[0].subject, "alice");
    let described = call(
        &w.core,
        CognitoOp::DescribeIdentity,
        json!({"IdentityId": first}),
    )
    .await
    .unwrap();
    assert_eq!(described["Logins"], json!([POOL_NAME]));
}

#[tokio::test]
async fn credentials_carry_the_amr_of_the_presented_login() {
    let w = world().await;
    w.set_roles(json!({})).await;
    let s = w.credentials(&id_claims("alice"), None).await.unwrap();
    assert_eq!(s.role_arn, role_arn("AuthRole"));
    assert_eq!(
        s.amr,
        vec![
            "authenticated".to_string(),
            POOL_NAME.to_string(),
            format!("{POOL_NAME}:CognitoSignIn:alice"),
        ]
    );
    assert!(s.tags.is_empty(), "no attribute map, no tags");
    let claims = w.open_id_token_claims(&id_claims("alice")).await.unwrap();
    assert_eq!(claims["amr"][2], format!("{POOL_NAME}:CognitoSignIn:alice"));
}

#[tokio::test]
async fn token_role_mappings_follow_the_role_claims() {
    let w = world().await;
    let key = format!("{POOL_NAME}:{CLIENT}");
    w.set_roles(json!({key.clone(): {"Type": "Token", "AmbiguousRoleResolution": "Deny"}}))
        .await;
    let mut c = id_claims("alice");
    c["cognito:roles"] = json!([role_arn("Admin"), role_arn("Reader")]);
    c["cognito:preferred_role"] = role_arn("Admin").into();
    assert_eq!(w.role_for(&c, None).await.unwrap(), role_arn("Admin"));
    // CustomRoleArn picks any role of cognito:roles, and only those.
    assert_eq!(
        w.role_for(&c, Some(&role_arn("Reader"))).await.unwrap(),
        role_arn("Reader")
    );
    assert_eq!(
        not_authorized(w.role_for(&c, Some(&role_arn("Eng"))).await),
        format!("Access to Role '{}' is forbidden.", role_arn("Eng"))
    );
    // Several roles and no preferred one is ambiguous; so is no role claim at all.
    c.as_object_mut().unwrap().remove("cognito:preferred_role");
    assert_eq!(
        not_authorized(w.role_for(&c, None).await),
        "The ambiguous role mapping rules denied this request"
    );
    assert_eq!(
        not_authorized(w.role_for(&id_claims("bob"), None).await),
        "The ambiguous role mapping rules denied this request"
    );
    w.set_roles(json!({key: {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}}))
        .await;
    assert_eq!(
        w.role_for(&id_claims("bob"), None).await.unwrap(),
        role_arn("AuthRole")
    );
    // The basic flow is refused for a pool with role mappings.
    match w.open_id_token_claims(&id_claims("bob")).await {
        Err(CognitoError::InvalidParameter(m)) => assert_eq!(
            m,
            "Basic (classic) flow is not supported with RoleMappings, please use enhanced flow."
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rules_are_tried_in_order_with_each_match_type() {
    let w = world().await;
    let rule = |claim: &str, m: &str, value: &str, role: &str| json!({"Claim": claim, "MatchType": m, "Value": value, "RoleARN": role_arn(role)});
    w.set_roles(json!({format!("{POOL_NAME}:{CLIENT}"): {"Type": "Rules",
    "AmbiguousRoleResolution": "Deny", "RulesConfiguration": {"Rules": [
        rule("custom:dept", "Equals", "eng", "Eng"),
        rule("email", "StartsWith", "boss", "Boss"),
        rule("email", "Contains", "@example.com", "Example"),
        rule("custom:tier", "NotEqual", "free", "Paid"),
    ]}}}))
    .await;
    let claims = |email: &str, extra: Value| {
        let mut c = id_claims("u");
        c["email"] = email.into();
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    // Equals wins over the later Contains that also matches.
    let eng = claims("dev@example.com", json!({"custom:dept": "eng"}));
    assert_eq!(w.role_for(&eng, None).await.unwrap(), role_arn("Eng"));
    // CustomRoleArn may choose another matching rule's role, not a non-matching one.
    assert_eq!(
        w.role_for(&eng, Some(&role_arn("Example"))).await.unwrap(),
        role_arn("Example")
    );
    assert!(w.role_for(&eng, Some(&role_arn("Paid"))).await.is_err());
    // Equals is exact.
    let engineering = claims("x@other.org", json!({"custom:dept": "engineering"}));
    assert!(w.role_for(&engineering, None).await.is_err());
    assert_eq!(
        w.role_for(&claims("boss@other.org", json!({})), None)
            .await
            .unwrap(),
        role_arn("Boss")
    );
    assert_eq!(
        w.role_for(&claims("x@example.com", json!({})), None)
            .await
            .unwrap(),
        role_arn("Example")
    );
    assert_eq!(
        w.role_for(&claims("x@other.org", json!({"custom:tier": "pro"})), None)
            .await
            .unwrap(),
        role_arn("Paid")
    );
    // NotEqual with the claim equal, and with the claim missing, matches nothing.
    for extra in [json!({"custom:tier": "free"}), json!({})] {
        assert_eq!(
            not_authorized(w.role_for(&claims("x@other.org", extra), None).await),
            "The ambiguous role mapping rules denied this request"
        );
    }
}

#[tokio::test]
async fn principal_tags_come_from_the_attribute_map() {
    let w = world().await;
    w.set_roles(json!({})).await;
    call(
        &w.core,
        CognitoOp::SetPrincipalTagAttributeMap,
        json!({"IdentityPoolId": w.pool_id, "IdentityProviderName": POOL_NAME, "UseDefaults": true}),
    )
    .await
    .unwrap();
    let s = w.credentials(&id_claims("alice"), None).await.unwrap();
    assert_eq!(s.tags.get("client").map(String::as_str), Some(CLIENT));
    assert_eq!(s.tags.get("username").map(String::as_str), Some("alice"));
    let ours = w.open_id_token_claims(&id_claims("alice")).await.unwrap();
    assert_eq!(
        ours["https://aws.amazon.com/tags"],
        json!({"principal_tags": {"client": [CLIENT], "username": ["alice"]}})
    );
    call(
        &w.core,
        CognitoOp::SetPrincipalTagAttributeMap,
        json!({"IdentityPoolId": w.pool_id, "IdentityProviderName": POOL_NAME,
            "UseDefaults": false, "PrincipalTags": {"dept": "custom:dept", "mail": "email",
            "absent": "custom:nothing", "groups": "cognito:groups"}}),
    )
    .await
    .unwrap();
    let mut c = id_claims("alice");
    c["custom:dept"] = "eng".into();
    c["cognito:groups"] = json!(["a", "b"]);
    let s = w.credentials(&c, None).await.unwrap();
    let expected: std::collections::BTreeMap<String, String> = [
        ("dept".to_string(), "eng".to_string()),
        ("mail".to_string(), "alice@example.com".to_string()),
    ]
    .into();
    assert_eq!(s.tags, expected);
    // The role must allow sts:TagSession when tags travel.
    call(
        &w.core,
        CognitoOp::SetIdentityPoolRoles,
        json!({"IdentityPoolId": w.pool_id, "Roles": {"authenticated": role_arn("NoTags")}}),
    )
    .await
    .unwrap();
    match w.credentials(&c, None).await {
        Err(CognitoError::InvalidIdentityPoolConfiguration(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn oidc_logins_use_the_iam_provider_and_its_arn() {
    let w = world().await;
    let issuer = "http://127.0.0.1:9400/realm";
    let arn = crate::iam::create_oidc_provider(&w.core, issuer, vec!["my-app".into()], vec![])
        .await
        .unwrap();
    w.fetcher.serve(
        &format!("{issuer}/.well-known/openid-configuration"),
        json!({"issuer": issuer, "jwks_uri": format!("{issuer}/certs")}).to_string(),
    );
    let oidc = Signer::new("realm-key");
    w.fetcher
        .serve(&format!("{issuer}/certs"), key_set(&[oidc.jwk()]));
    let out = call(
        &w.core,
        CognitoOp::CreateIdentityPool,
        json!({"IdentityPoolName": "Oidc", "AllowUnauthenticatedIdentities": false,
            "OpenIdConnectProviderARNs": [arn]}),
    )
    .await
    .unwrap();
    let pool = out["IdentityPoolId"].as_str().unwrap().to_string();
    let claims =
        json!({"iss": issuer, "sub": "user-7", "aud": "my-app", "iat": NOW_S, "exp": NOW_S + 300});
    let token = oidc.token(&claims);
    let key = "127.0.0.1:9400/realm";
    let id = call(
        &w.core,
        CognitoOp::GetId,
        json!({"IdentityPoolId": pool, "Logins": {key: token}}),
    )
    .await
    .unwrap()["IdentityId"]
        .clone();
    let out = call(
        &w.core,
        CognitoOp::GetOpenIdToken,
        json!({"IdentityId": id, "Logins": {key: token}}),
    )
    .await
    .unwrap();
    let payload = URL_SAFE_NO_PAD
        .decode(out["Token"].as_str().unwrap().split('.').nth(1).unwrap())
        .unwrap();
    let ours: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        ours["amr"],
        json!(["authenticated", key, format!("{arn}:OIDC:user-7")])
    );
    // The ARN is the role-mapping key, not a Logins key.
    let e = call(
        &w.core,
        CognitoOp::GetId,
        json!({"IdentityPoolId": pool, "Logins": {arn.clone(): token}}),
    )
    .await;
    assert_eq!(
        not_authorized(e),
        "Token is not from a supported provider of this identity pool."
    );
}

#[tokio::test]
async fn operation_errors_have_the_right_types() {
    let w = world().await;
    let unknown = call(
        &w.core,
        CognitoOp::GetId,
        json!({"IdentityPoolId": w.pool_id, "Logins": {"accounts.google.com": "x.y.z"}}),
    )
    .await;
    assert_eq!(
        not_authorized(unknown),
        "Token is not from a supported provider of this identity pool."
    );
    let eleven: serde_json::Map<String, Value> = (0..11)
        .map(|i| (format!("p{i}.example.com"), Value::from("t")))
        .collect();
    let e = call(
        &w.core,
        CognitoOp::GetId,
        json!({"IdentityPoolId": w.pool_id, "Logins": eleven}),
    )
    .await;
    assert!(matches!(e, Err(CognitoError::InvalidParameter(_))), "{e:?}");
    let huge = "a".repeat(50_001);
    assert_eq!(
        not_authorized(w.get_id(&huge).await),
        "Invalid login token. Couldn't verify signed token."
    );
    assert_eq!(w.fetcher.total(), 0, "refused before any fetch");
    w.fetcher
        .fail(&pool_jwks_url(), FetchError::Transport("timed out".into()));
    match w.get_id(&w.token(&id_claims("alice"))).await {
        Err(CognitoError::ExternalService(_)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        CognitoError::ExternalService("x".into()).to_wire().code,
        "ExternalServiceException"
    );
}

#[tokio::test]
async fn developer_flow_accepts_outside_logins_of_the_pool() {
    let w = world().await;
    let token = w.token(&id_claims("dana"));
    let out = call(
        &w.core,
        CognitoOp::GetOpenIdTokenForDeveloperIdentity,
        json!({"IdentityPoolId": w.pool_id, "Logins": {"login.dev": "dev-user-1", POOL_NAME: token}}),
    )
    .await
    .unwrap();
    let id = out["IdentityId"].as_str().unwrap();
    assert_eq!(w.get_id(&token).await.unwrap(), id, "the same identity");
}

#[tokio::test]
async fn server_side_token_check_refuses_a_user_the_pool_has_deleted() {
    let w = world_with(
        json!({"IdentityPoolName": "Checked", "AllowUnauthenticatedIdentities": false,
        "CognitoIdentityProviders": [
            {"ProviderName": POOL_NAME, "ClientId": CLIENT, "ServerSideTokenCheck": true}]}),
    )
    .await;
    let users: super::tests::PoolUsers = Arc::new(std::sync::Mutex::new(
        [("alice".to_string(), true)].into_iter().collect(),
    ));
    w.fetcher.respond(super::tests::fake_user_pool(
        super::tests::USER_POOL_API,
        users.clone(),
    ));
    let settings = IdpSettings {
        user_pool_credentials: Some(super::aws_sign::tests::creds(None)),
        ..Default::default()
    };
    let mut core = w.core.clone();
    core.idp = Arc::new(Idp::with_fetcher(settings, w.fetcher.clone()));
    let w = World { core, ..w };
    w.set_roles(json!({})).await;

    let token = w.token(&id_claims("alice"));
    let id = w.get_id(&token).await.unwrap();
    let input = json!({"IdentityId": id, "Logins": {POOL_NAME: token}});
    call(&w.core, CognitoOp::GetCredentialsForIdentity, input.clone())
        .await
        .unwrap();
    assert_eq!(w.fetcher.count(super::tests::USER_POOL_API), 2);

    // The same token, still within its lifetime, once the user is gone.
    users.lock().unwrap().remove("alice");
    let e = call(&w.core, CognitoOp::GetCredentialsForIdentity, input).await;
    let wire = e.as_ref().unwrap_err().to_wire();
    assert_eq!(
        (wire.code.as_str(), wire.status),
        ("NotAuthorizedException", 400)
    );
    assert_eq!(
        not_authorized(e),
        "Invalid login token. The user no longer exists or is disabled in the user pool."
    );
}

/// Our token proves the identity only when it was minted for a signed-in caller: a guest
/// token, still live after the identity's owner signed in, must not let its holder attach
/// their own login to that identity.
#[tokio::test]
async fn a_guest_token_does_not_prove_an_identity_that_has_since_signed_in() {
    let w = world_with(
        json!({"IdentityPoolName": "Guests", "AllowUnauthenticatedIdentities": true,
        "DeveloperProviderName": "login.dev",
        "CognitoIdentityProviders": [{"ProviderName": POOL_NAME, "ClientId": CLIENT}]}),
    )
    .await;
    w.set_roles(json!({})).await;
    let guest = call(
        &w.core,
        CognitoOp::GetId,
        json!({"IdentityPoolId": w.pool_id}),
    )
    .await
    .unwrap();
    let id = guest["IdentityId"].as_str().unwrap().to_string();
    let out = call(
        &w.core,
        CognitoOp::GetOpenIdToken,
        json!({"IdentityId": id}),
    )
    .await
    .unwrap();
    let guest_token = out["Token"].as_str().unwrap().to_string();

    // The owner signs in through the developer provider: the identity is now authenticated.
    let out = call(
        &w.core,
        CognitoOp::GetOpenIdTokenForDeveloperIdentity,
        json!({"IdentityPoolId": w.pool_id, "IdentityId": id, "Logins": {"login.dev": "owner"}}),
    )
    .await
    .unwrap();
    assert_eq!(out["IdentityId"], id.as_str());
    let owner_token = out["Token"].as_str().unwrap().to_string();

    let attach = |ours: String, login: &str| {
        let token = w.token(&id_claims(login));
        call(
            &w.core,
            CognitoOp::GetCredentialsForIdentity,
            json!({"IdentityId": id,
                "Logins": {crate::cognito::logins::COGNITO_PROVIDER: ours, POOL_NAME: token}}),
        )
    };
    assert_eq!(
        not_authorized(attach(guest_token.clone(), "mallory").await),
        crate::cognito::logins::LOGINS_DONT_MATCH
    );
    let row = w.core.store.get_identity(&id).await.unwrap().unwrap();
    assert!(
        row.logins.is_empty(),
        "nothing was linked: {:?}",
        row.logins
    );

    // Alone, the guest token no longer gets guest credentials for the signed-in identity:
    // like a request without logins, it must name one of the identity's logins.
    let alone = call(
        &w.core,
        CognitoOp::GetCredentialsForIdentity,
        json!({"IdentityId": id,
            "Logins": {crate::cognito::logins::COGNITO_PROVIDER: guest_token}}),
    )
    .await;
    assert_eq!(
        not_authorized(alone),
        crate::cognito::logins::LOGINS_DONT_MATCH
    );

    // The owner's own (authenticated) token does prove it.
    attach(owner_token, "owner-social").await.unwrap();
    let row = w.core.store.get_identity(&id).await.unwrap().unwrap();
    assert_eq!(row.logins.len(), 1);
    assert_eq!(row.logins[0].subject, "owner-social");
}
