//! Facebook and Login with Amazon logins through the SDK, their tokens introspected over HTTP at a stand-in provider on loopback (spec §3.3, §4.2, §4.11).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fixtures::{check_credentials, jwt, now_s, standard_roles};
use crate::helpers::{TestServer, assert_code, assert_failure, expect_err, unique};

const FACEBOOK: &str = "graph.facebook.com";
const AMAZON: &str = "www.amazon.com";
const FB_APP: &str = "1234567890";
const AMAZON_CLIENT: &str = "amzn1.application-oa2-client.test";

/// The stand-in Graph API and Amazon token API: answers by path and token, counts requests.
struct FakeProvider {
    base: String,
    requests: Arc<AtomicUsize>,
}

fn answer(path: &str, token: &str) -> (u16, String) {
    match (path, token) {
        ("/app", "fb-ann" | "fb-ann-2") => (200, format!(r#"{{"id":"{FB_APP}","name":"Demo"}}"#)),
        ("/me", "fb-ann" | "fb-ann-2") => (200, r#"{"id":"10150000001","name":"Ann"}"#.into()),
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
    fn start() -> FakeProvider {
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

    fn settings(&self) -> String {
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
