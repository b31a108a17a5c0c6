//! Guest upgrades, implicit merges, one-user-per-provider conflicts, the 20-login cap and user-pool token errors with outside logins through the SDK (spec §4.4, §4.6, §4.7, §7.12, §1.5.5).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use aws_sdk_cognitoidentity::error::SdkError;
use aws_sdk_cognitoidentity::operation::get_credentials_for_identity::GetCredentialsForIdentityError;
use aws_sdk_cognitoidentity::operation::get_id::GetIdError;
use aws_sdk_cognitoidentity::operation::get_open_id_token_for_developer_identity::GetOpenIdTokenForDeveloperIdentityError;
use aws_sdk_cognitoidentity::types::CognitoIdentityProvider;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::fixtures::{DEVELOPER, check_credentials, guest_identity, jwt, now_s, standard_roles};
use crate::helpers::{TestServer, assert_failure, expect_err, failure, unique};
use crate::identities::listed;
use crate::social_logins::{AMAZON, AMAZON_CLIENT, FACEBOOK, FB_APP, FakeProvider};

const LOGINS_DONT_MATCH: &str = "Logins don't match. Please include at least one valid login for this identity or identity pool.";
const USER_POOL: &str = "cognito-idp.us-east-1.amazonaws.com/us-east-1_LinkTest";
const USER_POOL_CLIENT: &str = "linkingclient";
const KID: &str = "link-ec-1";

/// The user pool's key set on loopback, with the key that signs its tokens: one P-256 key
/// served for any GET, requests counted.
struct UserPoolKeys {
    pair: EcdsaKeyPair,
    url: String,
    requests: Arc<AtomicUsize>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl UserPoolKeys {
    fn start() -> UserPoolKeys {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
        let point = pair.public_key().as_ref().to_vec();
        let body = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": KID, "use": "sig",
            "alg": "ES256", "x": b64(&point[1..33]), "y": b64(&point[33..])}]})
        .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().expect("addr")
        );
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                // The request line and headers; a GET has no body.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        UserPoolKeys {
            pair,
            url,
            requests,
        }
    }

    /// A compact ES256 JWS of `claims`, signed with the served key.
    fn token(&self, claims: &Value) -> String {
        let header = json!({"kid": KID, "alg": "ES256"}).to_string();
        let input = format!(
            "{}.{}",
            b64(header.as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("signature");
        format!("{input}.{}", b64(signature.as_ref()))
    }

    fn settings(&self) -> String {
        format!(
            "[[idp_override]]\nprovider = \"{USER_POOL}\"\njwks_url = \"{}\"\n",
            self.url
        )
    }
}

/// The claims of a user-pool ID token for `sub`, valid for an hour from now.
fn id_claims(sub: &str) -> Value {
    let now = now_s();
    json!({"iss": format!("https://{USER_POOL}"), "aud": USER_POOL_CLIENT, "token_use": "id",
        "sub": sub, "cognito:username": sub, "iat": now, "exp": now + 3600})
}

/// A server that knows the stand-in Facebook and Amazon and the loopback user pool.
async fn server(fb: &FakeProvider, keys: Option<&UserPoolKeys>) -> TestServer {
    let mut settings = fb.settings();
    if let Some(k) = keys {
        settings.push('\n');
        settings.push_str(&k.settings());
    }
    TestServer::start_with_settings(&settings).await
}

/// A pool admitting guests, Facebook, Amazon, the user pool and the developer provider.
async fn linking_pool(s: &TestServer) -> String {
    let pool = s
        .cognito
        .create_identity_pool()
        .identity_pool_name(unique("linking"))
        .allow_unauthenticated_identities(true)
        .supported_login_providers(FACEBOOK, FB_APP)
        .supported_login_providers(AMAZON, AMAZON_CLIENT)
        .developer_provider_name(DEVELOPER)
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(USER_POOL)
                .client_id(USER_POOL_CLIENT)
                .build(),
        )
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id;
    standard_roles(s, &pool).await;
    pool
}

async fn get_id(
    s: &TestServer,
    pool: &str,
    logins: &[(&str, &str)],
) -> Result<String, SdkError<GetIdError>> {
    let mut call = s.unsigned.get_id().identity_pool_id(pool);
    for (k, v) in logins {
        call = call.logins(*k, *v);
    }
    call.send()
        .await
        .map(|o| o.identity_id.expect("IdentityId"))
}

/// GetCredentialsForIdentity: the identity id answered, its credentials checked.
async fn credentials(
    s: &TestServer,
    id: &str,
    logins: &[(&str, &str)],
) -> Result<String, SdkError<GetCredentialsForIdentityError>> {
    let mut call = s.unsigned.get_credentials_for_identity().identity_id(id);
    for (k, v) in logins {
        call = call.logins(*k, *v);
    }
    let issued = now_s();
    let out = call.send().await?;
    check_credentials(out.credentials.as_ref().expect("Credentials"), issued);
    Ok(out.identity_id.expect("IdentityId"))
}

/// GetOpenIdTokenForDeveloperIdentity naming `id`, for developer user `user` plus `logins`.
async fn developer_link(
    s: &TestServer,
    pool: &str,
    id: &str,
    user: &str,
    logins: &[(&str, &str)],
) -> Result<String, SdkError<GetOpenIdTokenForDeveloperIdentityError>> {
    let mut call = s
        .cognito
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(pool)
        .identity_id(id)
        .logins(DEVELOPER, user);
    for (k, v) in logins {
        call = call.logins(*k, *v);
    }
    call.send()
        .await
        .map(|o| o.identity_id.expect("IdentityId"))
}

/// The provider names DescribeIdentity lists for `id`.
async fn logins_of(s: &TestServer, id: &str) -> Vec<String> {
    s.cognito
        .describe_identity()
        .identity_id(id)
        .send()
        .await
        .expect("DescribeIdentity")
        .logins()
        .to_vec()
}

/// The developer users LookupDeveloperIdentity lists for `id` (fewer than a page of 60).
async fn developer_users(s: &TestServer, pool: &str, id: &str) -> BTreeSet<String> {
    let out = s
        .cognito
        .lookup_developer_identity()
        .identity_pool_id(pool)
        .identity_id(id)
        .send()
        .await
        .expect("LookupDeveloperIdentity");
    assert!(out.next_token.is_none());
    out.developer_user_identifier_list()
        .iter()
        .cloned()
        .collect()
}

/// Checks "Invalid login token. Token expired: <now> >= <exp>", `<now>` being the server's
/// clock in seconds when it answered, somewhere between `before` and `after`.
#[track_caller]
fn assert_expired<E>(err: &SdkError<E>, before: i64, after: i64, exp: i64)
where
    E: aws_sdk_cognitoidentity::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = failure(err).message.unwrap_or_default();
    let now: i64 = message
        .strip_prefix("Invalid login token. Token expired: ")
        .and_then(|rest| rest.strip_suffix(&format!(" >= {exp}")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected message: {message:?}"));
    assert!(
        (before..=after).contains(&now),
        "{now} not in {before}..={after}"
    );
    assert_failure(err, "NotAuthorizedException", &message, 400);
}

fn forbidden(id: &str) -> String {
    format!("Access to Identity '{id}' is forbidden.")
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_guest_presenting_a_new_login_keeps_its_id_and_becomes_authenticated() {
    let fb = FakeProvider::start();
    let s = server(&fb, None).await;
    let pool = linking_pool(&s).await;
    let guest = guest_identity(&s, &pool).await;
    assert_eq!(credentials(&s, &guest, &[]).await.expect("guest"), guest);
    assert!(logins_of(&s, &guest).await.is_empty());

    let upgraded = credentials(&s, &guest, &[(FACEBOOK, "fb-ann")])
        .await
        .expect("GetCredentialsForIdentity with a new login");
    assert_eq!(upgraded, guest, "the guest keeps its id");
    assert_eq!(logins_of(&s, &guest).await, names(&[FACEBOOK]));

    // Authenticated now: the id alone no longer gets credentials, the login does.
    let err = expect_err(credentials(&s, &guest, &[]).await);
    assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);
    assert_eq!(
        credentials(&s, &guest, &[(FACEBOOK, "fb-ann-2")])
            .await
            .expect("another token of the same user"),
        guest
    );
    assert_eq!(
        get_id(&s, &pool, &[(FACEBOOK, "fb-ann")]).await.unwrap(),
        guest
    );

    // The basic flow upgrades the same way, and the token says so.
    let other = guest_identity(&s, &pool).await;
    let out = s
        .unsigned
        .get_open_id_token()
        .identity_id(&other)
        .logins(AMAZON, "amzn-bob")
        .send()
        .await
        .expect("GetOpenIdToken with a new login");
    assert_eq!(out.identity_id.as_deref(), Some(other.as_str()));
    let (_, claims) = jwt(out.token.as_deref().expect("Token"));
    assert_eq!(claims["sub"], json!(other));
    assert_eq!(claims["amr"][0], json!("authenticated"));
    assert_eq!(claims["amr"][1], json!(AMAZON));
    assert_eq!(logins_of(&s, &other).await, names(&[AMAZON]));
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([guest, other]),
        "upgraded guests stay enabled"
    );
}

#[tokio::test]
async fn a_guest_presenting_a_known_login_merges_into_its_owner_and_is_disabled() {
    let fb = FakeProvider::start();
    let s = server(&fb, None).await;
    let pool = linking_pool(&s).await;
    let owner = get_id(&s, &pool, &[(FACEBOOK, "fb-ann")]).await.unwrap();
    let guest = guest_identity(&s, &pool).await;
    assert_ne!(owner, guest);

    // Ann is known, Bob is new: the owner of Ann's login answers and takes Bob's too.
    let answered = credentials(&s, &guest, &[(FACEBOOK, "fb-ann"), (AMAZON, "amzn-bob")])
        .await
        .expect("GetCredentialsForIdentity for the guest with a known login");
    assert_eq!(answered, owner);
    assert_eq!(logins_of(&s, &owner).await, names(&[FACEBOOK, AMAZON]));
    assert!(logins_of(&s, &guest).await.is_empty());
    assert_eq!(
        get_id(&s, &pool, &[(AMAZON, "amzn-bob")]).await.unwrap(),
        owner
    );

    // The guest is disabled: with or without logins, in either flow.
    let err = expect_err(credentials(&s, &guest, &[]).await);
    assert_failure(&err, "NotAuthorizedException", &forbidden(&guest), 400);
    let err = expect_err(credentials(&s, &guest, &[(FACEBOOK, "fb-ann")]).await);
    assert_failure(&err, "NotAuthorizedException", &forbidden(&guest), 400);
    let err = expect_err(
        s.unsigned
            .get_open_id_token()
            .identity_id(&guest)
            .send()
            .await,
    );
    assert_failure(&err, "NotAuthorizedException", &forbidden(&guest), 400);
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([owner.clone()])
    );
    assert_eq!(
        listed(&s, &pool, None).await,
        BTreeSet::from([owner.clone(), guest])
    );
    assert_eq!(
        credentials(&s, &owner, &[(AMAZON, "amzn-bob")])
            .await
            .unwrap(),
        owner
    );
}

#[tokio::test]
async fn two_users_of_one_provider_never_end_on_one_identity() {
    let fb = FakeProvider::start();
    let s = server(&fb, None).await;
    let pool = linking_pool(&s).await;
    let ann = get_id(&s, &pool, &[(FACEBOOK, "fb-ann")]).await.unwrap();
    let carl = get_id(&s, &pool, &[(FACEBOOK, "fb-carl"), (AMAZON, "amzn-bob")])
        .await
        .unwrap();
    let guest = guest_identity(&s, &pool).await;
    assert_ne!(ann, carl);
    let conflict = format!("An identity cannot hold two different logins of provider {FACEBOOK}.");

    // Merging Ann's identity with Carl's would give one identity two Facebook users, whichever
    // call asks for it.
    let both = [(FACEBOOK, "fb-ann"), (AMAZON, "amzn-bob")];
    let err = expect_err(get_id(&s, &pool, &both).await);
    assert_failure(&err, "ResourceConflictException", &conflict, 400);
    let err = expect_err(credentials(&s, &carl, &both).await);
    assert_failure(&err, "ResourceConflictException", &conflict, 400);
    let err = expect_err(credentials(&s, &guest, &both).await);
    assert_failure(&err, "ResourceConflictException", &conflict, 400);

    // Nothing moved and nobody was disabled.
    assert_eq!(logins_of(&s, &ann).await, names(&[FACEBOOK]));
    assert_eq!(logins_of(&s, &carl).await, names(&[FACEBOOK, AMAZON]));
    assert!(logins_of(&s, &guest).await.is_empty());
    assert_eq!(
        get_id(&s, &pool, &[(FACEBOOK, "fb-ann")]).await.unwrap(),
        ann
    );
    assert_eq!(
        get_id(&s, &pool, &[(FACEBOOK, "fb-carl")]).await.unwrap(),
        carl
    );
    assert_eq!(
        get_id(&s, &pool, &[(AMAZON, "amzn-bob")]).await.unwrap(),
        carl
    );
    assert_eq!(
        credentials(&s, &ann, &[(FACEBOOK, "fb-ann")])
            .await
            .unwrap(),
        ann
    );
    assert_eq!(credentials(&s, &guest, &[]).await.unwrap(), guest);
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([ann, carl, guest])
    );
}

#[tokio::test]
async fn an_identity_holds_at_most_twenty_logins_and_a_refused_link_changes_nothing() {
    let fb = FakeProvider::start();
    let s = server(&fb, None).await;
    let pool = linking_pool(&s).await;
    let id = get_id(&s, &pool, &[(FACEBOOK, "fb-ann")]).await.unwrap();
    let ann = [(FACEBOOK, "fb-ann")];

    // Developer users are the cheapest logins: one call each, Ann's login proving the identity.
    let users: Vec<String> = (1..=20).map(|i| format!("user-{i:02}")).collect();
    for user in &users[..19] {
        assert_eq!(
            developer_link(&s, &pool, &id, user, &ann).await.unwrap(),
            id
        );
    }
    let nineteen: BTreeSet<String> = users[..19].iter().cloned().collect();
    assert_eq!(developer_users(&s, &pool, &id).await, nineteen);
    // At 20, presenting a user it already holds adds nothing and still succeeds.
    assert_eq!(
        developer_link(&s, &pool, &id, &users[4], &ann)
            .await
            .unwrap(),
        id
    );

    let cap = "An identity can be linked to at most 20 logins.";
    let err = expect_err(developer_link(&s, &pool, &id, &users[19], &ann).await);
    assert_failure(&err, "ResourceConflictException", cap, 400);
    let err = expect_err(credentials(&s, &id, &[(FACEBOOK, "fb-ann"), (AMAZON, "amzn-bob")]).await);
    assert_failure(&err, "ResourceConflictException", cap, 400);

    // MergeDeveloperIdentities applies the same cap, with its own error.
    let (outsider, _) = crate::fixtures::developer_token(&s, &pool, "outsider").await;
    let err = expect_err(
        s.cognito
            .merge_developer_identities()
            .identity_pool_id(&pool)
            .developer_provider_name(DEVELOPER)
            .source_user_identifier("outsider")
            .destination_user_identifier(&users[0])
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ResourceConflictException",
        "A merged identity can be linked to at most 20 logins.",
        400,
    );

    // None of the three refused calls linked, moved or disabled anything.
    assert_eq!(developer_users(&s, &pool, &id).await, nineteen);
    assert_eq!(logins_of(&s, &id).await, names(&[FACEBOOK, DEVELOPER]));
    let err = expect_err(
        s.cognito
            .lookup_developer_identity()
            .identity_pool_id(&pool)
            .developer_user_identifier(&users[19])
            .send()
            .await,
    );
    assert_failure(
        &err,
        "ResourceNotFoundException",
        "The developer user identifier was not found in this identity pool.",
        400,
    );
    assert_eq!(
        developer_users(&s, &pool, &outsider).await,
        BTreeSet::from(["outsider".to_string()])
    );
    let bob = get_id(&s, &pool, &[(AMAZON, "amzn-bob")]).await.unwrap();
    assert!(![&id, &outsider].contains(&&bob), "Bob was never linked");
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([id.clone(), outsider, bob])
    );
    assert_eq!(credentials(&s, &id, &ann).await.unwrap(), id);
}

#[tokio::test]
async fn an_authenticated_identity_needs_one_of_its_own_logins() {
    let fb = FakeProvider::start();
    let s = server(&fb, None).await;
    let pool = linking_pool(&s).await;
    let ann = get_id(&s, &pool, &[(FACEBOOK, "fb-ann")]).await.unwrap();
    let dan = get_id(&s, &pool, &[(AMAZON, "amzn-dan")]).await.unwrap();

    // A login nobody holds, and one another identity holds, prove nothing about Ann's.
    for token in ["amzn-bob", "amzn-dan"] {
        let err = expect_err(credentials(&s, &ann, &[(AMAZON, token)]).await);
        assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);
        let err = expect_err(
            s.unsigned
                .get_open_id_token()
                .identity_id(&ann)
                .logins(AMAZON, token)
                .send()
                .await,
        );
        assert_failure(&err, "NotAuthorizedException", LOGINS_DONT_MATCH, 400);
    }

    // Neither refusal linked or merged anything.
    assert_eq!(logins_of(&s, &ann).await, names(&[FACEBOOK]));
    assert_eq!(
        credentials(&s, &dan, &[(AMAZON, "amzn-dan")])
            .await
            .unwrap(),
        dan
    );
    let bob = get_id(&s, &pool, &[(AMAZON, "amzn-bob")]).await.unwrap();
    assert!(![&ann, &dan].contains(&&bob), "Bob was never linked");
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([ann, dan, bob])
    );
}

#[tokio::test]
async fn user_pool_token_errors_read_as_aws_words_them() {
    let fb = FakeProvider::start();
    let keys = UserPoolKeys::start();
    let s = server(&fb, Some(&keys)).await;
    let pool = linking_pool(&s).await;

    // The issuer is compared before the keys are fetched.
    let mut claims = id_claims("u-erin");
    claims["iss"] = json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other");
    let err = expect_err(get_id(&s, &pool, &[(USER_POOL, &keys.token(&claims))]).await);
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Invalid login token. Issuer doesn't match providerName",
        400,
    );
    assert_eq!(keys.requests.load(Ordering::SeqCst), 0);

    // A genuine ID token is accepted, so the refusals below are about the claims alone.
    let erin = get_id(&s, &pool, &[(USER_POOL, &keys.token(&id_claims("u-erin")))])
        .await
        .expect("GetId with a user-pool ID token");
    assert!(keys.requests.load(Ordering::SeqCst) >= 1);
    assert_eq!(logins_of(&s, &erin).await, names(&[USER_POOL]));

    // An access token names its client in `client_id` and has no `aud`.
    let mut access = id_claims("u-erin");
    let access_map = access.as_object_mut().expect("claims object");
    access_map.remove("aud");
    access_map.insert("client_id".into(), json!(USER_POOL_CLIENT));
    access_map.insert("token_use".into(), json!("access"));
    let err = expect_err(get_id(&s, &pool, &[(USER_POOL, &keys.token(&access))]).await);
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Invalid login token. Missing a required claim: aud",
        400,
    );

    // Expired an hour ago, well past the clock leeway; `<now>` is the server's clock.
    let mut expired = id_claims("u-erin");
    let exp = now_s() - 3600;
    expired["exp"] = json!(exp);
    expired["iat"] = json!(exp - 3600);
    let expired = keys.token(&expired);
    let before = now_s();
    let err = expect_err(credentials(&s, &erin, &[(USER_POOL, &expired)]).await);
    assert_expired(&err, before, now_s(), exp);

    // One bad token fails the whole call: a guest presenting it beside a good Facebook login
    // is not upgraded.
    let guest = guest_identity(&s, &pool).await;
    let before = now_s();
    let err =
        expect_err(credentials(&s, &guest, &[(FACEBOOK, "fb-ann"), (USER_POOL, &expired)]).await);
    assert_expired(&err, before, now_s(), exp);
    assert!(logins_of(&s, &guest).await.is_empty());
    assert_eq!(credentials(&s, &guest, &[]).await.unwrap(), guest);
}

/// Spec §8 leaves open which of two authenticated identities survives an implicit merge;
/// linking.rs keeps the identity the request names when it holds a presented login, and
/// otherwise the owner of the first presented login in `Logins` key order. Pinned here so a
/// change of rule is a deliberate one.
#[tokio::test]
async fn merging_two_authenticated_identities_keeps_the_named_one_or_the_first_keys_owner() {
    let fb = FakeProvider::start();
    let s = server(&fb, None).await;
    let pool = linking_pool(&s).await;

    // GetId names no identity: `graph.facebook.com` sorts before `www.amazon.com`, so Ann's
    // identity survives although Bob's is older.
    let bob = get_id(&s, &pool, &[(AMAZON, "amzn-bob")]).await.unwrap();
    let ann = get_id(&s, &pool, &[(FACEBOOK, "fb-ann")]).await.unwrap();
    let merged = get_id(&s, &pool, &[(AMAZON, "amzn-bob"), (FACEBOOK, "fb-ann")])
        .await
        .unwrap();
    assert_eq!(merged, ann);
    assert_eq!(logins_of(&s, &ann).await, names(&[FACEBOOK, AMAZON]));
    let err = expect_err(credentials(&s, &bob, &[(AMAZON, "amzn-bob")]).await);
    assert_failure(&err, "NotAuthorizedException", &forbidden(&bob), 400);
    assert_eq!(
        credentials(&s, &ann, &[(AMAZON, "amzn-bob")])
            .await
            .unwrap(),
        ann
    );

    // GetCredentialsForIdentity names Dan's identity, which holds one of the logins: it
    // survives although Carl's owns the first key.
    let dan = get_id(&s, &pool, &[(AMAZON, "amzn-dan")]).await.unwrap();
    let carl = get_id(&s, &pool, &[(FACEBOOK, "fb-carl")]).await.unwrap();
    let merged = credentials(&s, &dan, &[(FACEBOOK, "fb-carl"), (AMAZON, "amzn-dan")])
        .await
        .unwrap();
    assert_eq!(merged, dan);
    assert_eq!(logins_of(&s, &dan).await, names(&[FACEBOOK, AMAZON]));
    let err = expect_err(credentials(&s, &carl, &[(FACEBOOK, "fb-carl")]).await);
    assert_failure(&err, "NotAuthorizedException", &forbidden(&carl), 400);
    assert_eq!(
        listed(&s, &pool, Some(true)).await,
        BTreeSet::from([ann, dan])
    );
}
