//! What the identity and credential tests share: developer pools, roles that trust Cognito, developer tokens, token and credential inspection (spec §3.2, §4.8, §4.11, §4.12).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{ACCOUNT, TestServer, unique};

/// The developer provider name every pool of these tests carries.
pub const DEVELOPER: &str = "login.example.app";
/// What a role must allow Cognito for credentials with and without principal tags.
pub const WEB_IDENTITY_AND_TAGS: [&str; 2] = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"];

/// A pool with the developer provider, admitting guests or not, classic flow left unset.
pub async fn developer_pool(s: &TestServer, guests: bool) -> String {
    s.cognito
        .create_identity_pool()
        .identity_pool_name(unique("flow"))
        .allow_unauthenticated_identities(guests)
        .developer_provider_name(DEVELOPER)
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id
}

/// A trust policy letting Cognito identities take the role for `actions` under `condition`.
pub fn trust(actions: &[&str], condition: Value) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": actions,
            "Condition": condition,
        }]
    })
    .to_string()
}

/// The trust policy of the developer guide: identities of this pool whose `amr` has `amr`.
pub fn pool_trust(pool_id: &str, amr: &str) -> String {
    trust(
        &WEB_IDENTITY_AND_TAGS,
        json!({
            "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
            "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
        }),
    )
}

/// An IAM role as the tests use it.
#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub id: String,
}

/// The ARN a role named `name` (without path) has in this account.
pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// Creates a role with a fresh name starting with `prefix`.
pub async fn create_role(s: &TestServer, prefix: &str, trust_policy: &str) -> Role {
    let role = s
        .iam
        .create_role()
        .role_name(unique(prefix))
        .assume_role_policy_document(trust_policy)
        .send()
        .await
        .expect("CreateRole")
        .role
        .expect("Role");
    Role {
        name: role.role_name,
        arn: role.arn,
        id: role.role_id,
    }
}

/// Gives a role an inline policy allowing `actions` on `resource`.
pub async fn allow(s: &TestServer, role: &Role, actions: &[&str], resource: &str) {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]
    });
    s.iam
        .put_role_policy()
        .role_name(&role.name)
        .policy_name(unique("inline"))
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("PutRolePolicy");
}

/// Sets a pool's default roles; `None` leaves that kind without one.
pub async fn set_roles(s: &TestServer, pool_id: &str, auth: Option<&str>, guest: Option<&str>) {
    let mut call = s
        .cognito
        .set_identity_pool_roles()
        .identity_pool_id(pool_id);
    if let Some(arn) = auth {
        call = call.roles("authenticated", arn);
    }
    if let Some(arn) = guest {
        call = call.roles("unauthenticated", arn);
    }
    call.send().await.expect("SetIdentityPoolRoles");
}

/// The two roles of the developer guide for one pool.
#[derive(Debug, Clone)]
pub struct Roles {
    pub authenticated: Role,
    pub guest: Role,
}

/// Creates the authenticated and guest roles trusting `pool_id` and assigns them.
pub async fn standard_roles(s: &TestServer, pool_id: &str) -> Roles {
    let authenticated = create_role(s, "Auth", &pool_trust(pool_id, "authenticated")).await;
    let guest = create_role(s, "Guest", &pool_trust(pool_id, "unauthenticated")).await;
    set_roles(s, pool_id, Some(&authenticated.arn), Some(&guest.arn)).await;
    Roles {
        authenticated,
        guest,
    }
}

/// GetOpenIdTokenForDeveloperIdentity for `user`: (IdentityId, Token).
pub async fn developer_token(s: &TestServer, pool_id: &str, user: &str) -> (String, String) {
    let out = s
        .cognito
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(pool_id)
        .logins(DEVELOPER, user)
        .send()
        .await
        .expect("GetOpenIdTokenForDeveloperIdentity");
    (
        out.identity_id.expect("IdentityId"),
        out.token.expect("Token"),
    )
}

/// A new guest identity, through the unsigned GetId.
pub async fn guest_identity(s: &TestServer, pool_id: &str) -> String {
    s.unsigned
        .get_id()
        .identity_pool_id(pool_id)
        .send()
        .await
        .expect("GetId")
        .identity_id
        .expect("IdentityId")
}

/// A JWT's header and claims, decoded without any check.
pub fn jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS has three parts");
    let decode = |part: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    (decode(parts[0]), decode(parts[1]))
}

/// The same string with the character at `index` swapped for another of the same alphabet
/// (base64url and base64 both hold `A` and `B`).
pub fn alter_char(text: &str, index: usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    chars[index] = if chars[index] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

pub fn now_s() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_secs()).expect("seconds fit")
}

/// `ASIA` and 16 base32 characters, as STS's temporary key ids (spec §3.2).
pub fn is_temporary_key_id(id: &str) -> bool {
    id.len() == 20
        && id.starts_with("ASIA")
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// Checks the `Credentials` of GetCredentialsForIdentity: shapes and a one-hour lifetime
/// counted from `issued_s` (spec §3.2, §4.10). Returns (key id, secret, token).
#[track_caller]
pub fn check_credentials(
    c: &aws_sdk_cognitoidentity::types::Credentials,
    issued_s: i64,
) -> (String, String, String) {
    let key = c.access_key_id().expect("AccessKeyId").to_string();
    let secret = c.secret_key().expect("SecretKey").to_string();
    let token = c.session_token().expect("SessionToken").to_string();
    assert!(is_temporary_key_id(&key), "{key}");
    assert_eq!(secret.len(), 40, "secret keys are 40 characters");
    assert!(token.len() > 40, "session token present");
    let expires = c.expiration().expect("Expiration").secs();
    assert!(
        (issued_s + 3600 - 5..=issued_s + 3600 + 5).contains(&expires),
        "expires one hour after issue: {expires} vs {issued_s}"
    );
    (key, secret, token)
}
