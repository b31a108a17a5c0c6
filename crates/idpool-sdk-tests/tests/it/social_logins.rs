//! Facebook, Login with Amazon and Twitter logins through the SDK, their tokens checked over HTTP at stand-in providers on loopback (spec §3.3, §4.2, §4.11).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::fixtures::{check_credentials, jwt, now_s, standard_roles};
use crate::helpers::{TestServer, assert_code, assert_failure, expect_err, unique};

pub(crate) const FACEBOOK: &str = "graph.facebook.com";
pub(crate) const AMAZON: &str = "www.amazon.com";
pub(crate) const FB_APP: &str = "1234567890";
pub(crate) const AMAZON_CLIENT: &str = "amzn1.application-oa2-client.test";

/// The stand-in Graph API and Amazon token API: answers by path and token, counts requests.
pub(crate) struct FakeProvider {
    base: String,
    requests: Arc<AtomicUsize>,
}

fn answer(path: &str, token: &str) -> (u16, String) {
    match (path, token) {
        ("/app", "fb-ann" | "fb-ann-2") => (200, format!(r#"{{"id":"{FB_APP}","name":"Demo"}}"#)),
        ("/me", "fb-ann" | "fb-ann-2") => (200, r#"{"id":"10150000001","name":"Ann"}"#.into()),
        // Two more users, for the linking tests (linking.rs).
        ("/app", "fb-carl") => (200, format!(r#"{{"id":"{FB_APP}","name":"Demo"}}"#)),
        ("/me", "fb-carl") => (200, r#"{"id":"10150000003","name":"Carl"}"#.into()),
        ("/auth/o2/tokeninfo", "amzn-dan") => (
            200,
            format!(r#"{{"aud":"{AMAZON_CLIENT}","user_id":"amzn1.account.DAN","exp":3600}}"#),
        ),
        ("/app", "fb-other-app") => (200, r#"{"id":"999"}"#.into()),
        ("/app", "fb-crash") => (500, r#"{"error":"oops"}"#.into()),
        ("/auth/o2/tokeninfo", "amzn-bob") => (
            200,
            format!(r#"{{"aud":"{AMAZON_CLIENT}","user_id":"amzn1.account.BOB","exp":3600}}"#),
        ),
        _ => (400, r#"{"error":"invalid_token"}"#.into()),
    }
}

impl FakeProvider {
    pub(crate) fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // Skip the headers; GET has no body.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let target = line.split(' ').nth(1).unwrap_or_default();
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let token = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("access_token="))
                    .unwrap_or_default();
                let (status, body) = answer(path, token);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeProvider { base, requests }
    }

    pub(crate) fn settings(&self) -> String {
        format!(
            "[[idp_override]]\nprovider = \"{FACEBOOK}\"\nintrospection_url = \"{}\"\n\n\
             [[idp_override]]\nprovider = \"{AMAZON}\"\nintrospection_url = \"{}/\"\n",
            self.base, self.base
        )
    }
}

async fn social_pool(s: &TestServer) -> String {
    let pool = s
        .cognito
        .create_identity_pool()
        .identity_pool_name(unique("social"))
        .allow_unauthenticated_identities(false)
        .supported_login_providers(FACEBOOK, FB_APP)
        .supported_login_providers(AMAZON, AMAZON_CLIENT)
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id;
    standard_roles(s, &pool).await;
    pool
}

async fn get_id(s: &TestServer, pool: &str, provider: &str, token: &str) -> String {
    s.unsigned
        .get_id()
        .identity_pool_id(pool)
        .logins(provider, token)
        .send()
        .await
        .expect("GetId")
        .identity_id
        .expect("IdentityId")
}

#[tokio::test]
async fn facebook_users_keep_one_identity_and_get_credentials() {
    let fb = FakeProvider::start();
    let s = TestServer::start_with_settings(&fb.settings()).await;
    let pool = social_pool(&s).await;

    let id = get_id(&s, &pool, FACEBOOK, "fb-ann").await;
    // Another token of the same user finds the same identity.
    assert_eq!(get_id(&s, &pool, FACEBOOK, "fb-ann-2").await, id);

    let issued = now_s();
    let out = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(FACEBOOK, "fb-ann")
        .send()
        .await
        .expect("GetCredentialsForIdentity");
    check_credentials(out.credentials.as_ref().expect("Credentials"), issued);

    let token = s
        .unsigned
        .get_open_id_token()
        .identity_id(&id)
        .logins(FACEBOOK, "fb-ann")
        .send()
        .await
        .expect("GetOpenIdToken")
        .token
        .expect("Token");
    let (_, claims) = jwt(&token);
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        amr.contains(&"graph.facebook.com:1234567890:10150000001"),
        "{amr:?}"
    );
    assert!(fb.requests.load(Ordering::SeqCst) >= 8);
}

#[tokio::test]
async fn refused_and_unreachable_facebook_tokens_fail_as_aws_does() {
    let fb = FakeProvider::start();
    let s = TestServer::start_with_settings(&fb.settings()).await;
    let pool = social_pool(&s).await;
    let id = get_id(&s, &pool, FACEBOOK, "fb-ann").await;

    let err = expect_err(
        s.unsigned
            .get_id()
            .identity_pool_id(&pool)
            .logins(FACEBOOK, "fb-other-app")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Invalid login token. The token was not issued to this identity pool's application.",
        400,
    );
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(FACEBOOK, "fb-revoked")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Invalid login token. The identity provider refused the token.",
        400,
    );
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(FACEBOOK, "fb-crash")
            .send()
            .await,
    );
    assert_code(&err, "ExternalServiceException", 400);
}

#[tokio::test]
async fn amazon_users_are_known_by_user_id() {
    let fb = FakeProvider::start();
    let s = TestServer::start_with_settings(&fb.settings()).await;
    let pool = social_pool(&s).await;
    let id = get_id(&s, &pool, AMAZON, "amzn-bob").await;
    assert_eq!(get_id(&s, &pool, AMAZON, "amzn-bob").await, id);
    let issued = now_s();
    let out = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(AMAZON, "amzn-bob")
        .send()
        .await
        .expect("GetCredentialsForIdentity");
    check_credentials(out.credentials.as_ref().expect("Credentials"), issued);
    // A Facebook user is another identity.
    assert_ne!(get_id(&s, &pool, FACEBOOK, "fb-ann").await, id);
}

const TWITTER: &str = "api.twitter.com";
const TW_CONSUMER_KEY: &str = "e2eConsumerKey";
/// Its `/` must be escaped in the signing key.
const TW_CONSUMER_SECRET: &str = "e2e/consumer.secret_1";

/// A stand-in Twitter API that, like Twitter, trusts nothing it is not signed: it checks each
/// call's OAuth 1.0a signature (RFC 5849) with its own implementation before answering
/// `verify_credentials`, refuses a timestamp off by more than five minutes or a nonce seen
/// before, and counts what it accepted and refused.
struct FakeTwitter {
    base: String,
    accepted: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

/// RFC 5849 §3.6 encoding, written out here apart from idpool's.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn pct_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The users the stand-in knows: access token → (token secret, user id). Two tokens of one
/// user stand for two sign-ins.
fn twitter_users() -> BTreeMap<&'static str, (&'static str, &'static str)> {
    BTreeMap::from([
        ("7001-annFirst", ("ann-secret-1", "7001")),
        ("7001-annSecond", ("ann secret 2!", "7001")),
        ("7002-bob", ("bob-secret", "7002")),
    ])
}

/// Whether an `Authorization` header signs `GET <base_uri>` as RFC 5849 says, with the known
/// consumer and one of the known tokens; the user id when it does.
fn check_oauth(
    header: &str,
    base_uri: &str,
    nonces: &Mutex<HashSet<String>>,
) -> Result<&'static str, &'static str> {
    let fields = header.strip_prefix("OAuth ").ok_or("not OAuth")?;
    let mut p = BTreeMap::new();
    for field in fields.split(',') {
        let (k, v) = field.trim().split_once('=').ok_or("bad field")?;
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or("unquoted")?;
        p.insert(k.to_string(), pct_decode(v).ok_or("bad escape")?);
    }
    let get = |k: &str| p.get(k).map(String::as_str).ok_or("missing parameter");
    if get("oauth_signature_method")? != "HMAC-SHA1" || get("oauth_version")? != "1.0" {
        return Err("method or version");
    }
    if get("oauth_consumer_key")? != TW_CONSUMER_KEY {
        return Err("unknown consumer");
    }
    let users = twitter_users();
    let (token_secret, user) = users.get(get("oauth_token")?).ok_or("unknown token")?;
    let ts: i64 = get("oauth_timestamp")?.parse().map_err(|_| "timestamp")?;
    if (ts - now_s()).abs() > 300 {
        return Err("stale timestamp");
    }
    let mut params: Vec<String> = p
        .iter()
        .filter(|(k, _)| *k != "oauth_signature")
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect();
    params.sort();
    let base = format!("GET&{}&{}", pct(base_uri), pct(&params.join("&")));
    let key = format!("{}&{}", pct(TW_CONSUMER_SECRET), pct(token_secret));
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        key.as_bytes(),
    );
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        aws_lc_rs::hmac::sign(&key, base.as_bytes()),
    );
    if expected != get("oauth_signature")? {
        return Err("signature mismatch");
    }
    if !nonces
        .lock()
        .expect("nonces")
        .insert(get("oauth_nonce")?.to_string())
    {
        return Err("nonce replayed");
    }
    Ok(user)
}

impl FakeTwitter {
    fn start() -> FakeTwitter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (ok, no) = (accepted.clone(), refused.clone());
        std::thread::spawn(move || {
            let nonces = Mutex::new(HashSet::new());
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let (mut host, mut authorization) = (String::new(), String::new());
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    if let Some((name, value)) = header.trim_end().split_once(':') {
                        match name.to_ascii_lowercase().as_str() {
                            "host" => host = value.trim().to_string(),
                            "authorization" => authorization = value.trim().to_string(),
                            _ => {}
                        }
                    }
                    header.clear();
                }
                let mut parts = line.split(' ');
                let (method, target) = (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                );
                let verdict = if method != "GET" || target != "/1.1/account/verify_credentials.json"
                {
                    Err("unknown call")
                } else {
                    check_oauth(&authorization, &format!("http://{host}{target}"), &nonces)
                };
                let (status, body) = match verdict {
                    Ok(user) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        (
                            200,
                            format!(
                                r#"{{"id":{user},"id_str":"{user}","screen_name":"user{user}"}}"#
                            ),
                        )
                    }
                    Err(why) => {
                        no.fetch_add(1, Ordering::SeqCst);
                        (
                            401,
                            format!(
                                r#"{{"errors":[{{"code":32,"message":"Could not authenticate you: {why}."}}]}}"#
                            ),
                        )
                    }
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeTwitter {
            base,
            accepted,
            refused,
        }
    }

    fn settings(&self) -> String {
        format!(
            "[[idp_override]]\nprovider = \"{TWITTER}\"\nintrospection_url = \"{}\"\n",
            self.base
        )
    }
}

async fn twitter_pool(s: &TestServer, consumer: &str) -> String {
    let pool = s
        .cognito
        .create_identity_pool()
        .identity_pool_name(unique("twitter"))
        .allow_unauthenticated_identities(false)
        .supported_login_providers(TWITTER, consumer)
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id;
    standard_roles(s, &pool).await;
    pool
}

#[tokio::test]
async fn twitter_users_sign_in_with_signed_calls_and_keep_one_identity() {
    let tw = FakeTwitter::start();
    let s = TestServer::start_with_settings(&tw.settings()).await;
    let pool = twitter_pool(&s, &format!("{TW_CONSUMER_KEY};{TW_CONSUMER_SECRET}")).await;

    let id = get_id(&s, &pool, TWITTER, "7001-annFirst;ann-secret-1").await;
    // Another sign-in of the same user (another token pair) finds the same identity.
    assert_eq!(
        get_id(&s, &pool, TWITTER, "7001-annSecond;ann secret 2!").await,
        id
    );
    assert_ne!(get_id(&s, &pool, TWITTER, "7002-bob;bob-secret").await, id);

    let issued = now_s();
    let out = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(TWITTER, "7001-annSecond;ann secret 2!")
        .send()
        .await
        .expect("GetCredentialsForIdentity");
    check_credentials(out.credentials.as_ref().expect("Credentials"), issued);

    let token = s
        .unsigned
        .get_open_id_token()
        .identity_id(&id)
        .logins(TWITTER, "7001-annFirst;ann-secret-1")
        .send()
        .await
        .expect("GetOpenIdToken")
        .token
        .expect("Token");
    let (_, claims) = jwt(&token);
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        amr.contains(&"api.twitter.com:e2eConsumerKey:7001"),
        "{amr:?}"
    );
    // Every call was signed as the stand-in requires, each with a fresh nonce.
    assert_eq!(tw.accepted.load(Ordering::SeqCst), 5);
    assert_eq!(tw.refused.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn badly_signed_and_malformed_twitter_logins_are_refused() {
    let tw = FakeTwitter::start();
    let s = TestServer::start_with_settings(&tw.settings()).await;
    let pool = twitter_pool(&s, &format!("{TW_CONSUMER_KEY};{TW_CONSUMER_SECRET}")).await;
    let id = get_id(&s, &pool, TWITTER, "7001-annFirst;ann-secret-1").await;

    // A wrong token secret makes a signature the stand-in does not accept.
    let err = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(TWITTER, "7001-annFirst;stolen-token-wrong-secret")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Invalid login token. The identity provider refused the token.",
        400,
    );
    assert_eq!(tw.refused.load(Ordering::SeqCst), 1);

    // So does a pool holding another app's consumer secret.
    let other = twitter_pool(&s, &format!("{TW_CONSUMER_KEY};not-the-secret")).await;
    let err = expect_err(
        s.unsigned
            .get_id()
            .identity_pool_id(&other)
            .logins(TWITTER, "7001-annFirst;ann-secret-1")
            .send()
            .await,
    );
    assert_code(&err, "NotAuthorizedException", 400);
    assert_eq!(tw.refused.load(Ordering::SeqCst), 2);

    // A value that is not `<token>;<secret>` is refused before any call.
    let err = expect_err(
        s.unsigned
            .get_id()
            .identity_pool_id(&pool)
            .logins(TWITTER, "just-a-token")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NotAuthorizedException",
        "Invalid login token. Couldn't verify signed token.",
        400,
    );
    assert_eq!(
        tw.accepted.load(Ordering::SeqCst) + tw.refused.load(Ordering::SeqCst),
        3
    );
}

/// A developer identity links a Facebook login from the client: our own token for the
/// identity proves who is asking, so the new login needs no earlier link (spec §4.4 step 4).
#[tokio::test]
async fn our_token_lets_a_developer_identity_link_a_public_login() {
    let fb = FakeProvider::start();
    let s = TestServer::start_with_settings(&fb.settings()).await;
    let pool = s
        .cognito
        .create_identity_pool()
        .identity_pool_name(unique("dev-and-fb"))
        .allow_unauthenticated_identities(false)
        .developer_provider_name(crate::fixtures::DEVELOPER)
        .supported_login_providers(FACEBOOK, FB_APP)
        .send()
        .await
        .expect("CreateIdentityPool")
        .identity_pool_id;
    standard_roles(&s, &pool).await;
    let (id, token) = crate::fixtures::developer_token(&s, &pool, "dev-ann").await;

    // The Facebook login alone does not match the developer identity.
    let e = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(FACEBOOK, "fb-ann")
            .send()
            .await,
    );
    assert_failure(
        &e,
        "NotAuthorizedException",
        "Logins don't match. Please include at least one valid login for this identity or identity pool.",
        400,
    );

    // With our token beside it, it is linked to that identity.
    s.unsigned
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins("cognito-identity.amazonaws.com", &token)
        .logins(FACEBOOK, "fb-ann")
        .send()
        .await
        .expect("GetCredentialsForIdentity with our token and a new login");
    assert_eq!(get_id(&s, &pool, FACEBOOK, "fb-ann-2").await, id);
    let described = s
        .cognito
        .describe_identity()
        .identity_id(&id)
        .send()
        .await
        .expect("DescribeIdentity");
    assert!(
        described.logins().iter().any(|l| l == FACEBOOK),
        "{:?}",
        described.logins()
    );

    // A token for another identity proves nothing about this one.
    let (other, other_token) = crate::fixtures::developer_token(&s, &pool, "dev-bob").await;
    assert_ne!(other, id);
    let e = expect_err(
        s.unsigned
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins("cognito-identity.amazonaws.com", &other_token)
            .logins(FACEBOOK, "fb-ann")
            .send()
            .await,
    );
    assert_failure(
        &e,
        "NotAuthorizedException",
        "Logins don't match. Please include at least one valid login for this identity or identity pool.",
        400,
    );
}
