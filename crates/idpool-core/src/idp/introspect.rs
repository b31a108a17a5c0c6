//! Opaque social tokens proven by asking the provider's own API over HTTPS: Facebook and Login with Amazon access tokens, and Twitter's OAuth 1.0a token pairs (spec §3.3, §4.2.2; security-and-performance.md §1.1 row 14).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::jwks::{Answer, FetchError, Request, check_url};
use super::oauth1;
use super::{Idp, Secret, TokenError, TokenVerifier, VerifiedToken};

pub const FACEBOOK: &str = "graph.facebook.com";
pub const AMAZON: &str = "www.amazon.com";
pub const TWITTER: &str = "api.twitter.com";

const FACEBOOK_API: &str = "https://graph.facebook.com";
const AMAZON_API: &str = "https://api.amazon.com";
const TWITTER_API: &str = "https://api.twitter.com";
/// Twitter's "who am I" call: 200 with the user for a live token pair signed by our consumer.
pub const TWITTER_VERIFY_PATH: &str = "/1.1/account/verify_credentials.json";

/// Outbound introspection calls in flight at once; further callers wait for a slot.
pub const MAX_CONCURRENT_INTROSPECTIONS: usize = 32;

/// What the client is told when the provider does not vouch for the token.
pub const PROVIDER_REFUSED: &str = "Invalid login token. The identity provider refused the token.";
/// What the client is told when the token belongs to another application at the provider.
pub const WRONG_APP: &str =
    "Invalid login token. The token was not issued to this identity pool's application.";
/// What ExternalServiceException says when the provider cannot answer; the cause is logged.
pub const PROVIDER_UNAVAILABLE: &str =
    "The identity provider could not be reached to verify the token. Try again later.";

/// RFC 3986 unreserved characters stay; everything else in a token is escaped.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Graph API: `/app` names the token's application, `/me` its user.
    Facebook,
    /// `/auth/o2/tokeninfo` names the token's client (`aud`) and user (`user_id`).
    Amazon,
    /// `verify_credentials`, signed with OAuth 1.0a by the consumer and the user's token:
    /// only a token pair issued to our consumer can produce a signature Twitter accepts.
    Twitter,
}

/// Verifies an opaque access token with its provider's introspection API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionVerifier {
    pub api: Api,
    pub provider: &'static str,
    /// The provider API's base URL, without trailing slash.
    pub base_url: String,
    /// The application ids the pool accepts (the `SupportedLoginProviders` value,
    /// comma-separated); for Twitter the one consumer key, empty when the value is malformed.
    pub app_ids: Vec<String>,
    /// Twitter's consumer secret, the other half of the configured `<key>;<secret>`.
    pub consumer_secret: Option<Secret>,
    pub allow_http: bool,
}

/// Splits `<a>;<b>` with both halves present (a Twitter consumer or token pair).
fn pair(value: &str) -> Option<(&str, &str)> {
    let (a, b) = value.split_once(';')?;
    (!a.is_empty() && !b.is_empty() && !b.contains(';')).then_some((a, b))
}

/// The verifier for a `SupportedLoginProviders` entry of Facebook, Amazon or Twitter; `None`
/// for other names.
pub fn verifier(idp: &Idp, provider: &str, configured: &str) -> Option<IntrospectionVerifier> {
    let (api, provider, default_base) = match provider {
        FACEBOOK => (Api::Facebook, FACEBOOK, FACEBOOK_API),
        AMAZON => (Api::Amazon, AMAZON, AMAZON_API),
        TWITTER => (Api::Twitter, TWITTER, TWITTER_API),
        _ => return None,
    };
    let over = idp.override_for(provider);
    let base_url = over
        .and_then(|o| o.introspection_url.clone())
        .unwrap_or_else(|| default_base.to_string())
        .trim_end_matches('/')
        .to_string();
    let (app_ids, consumer_secret) = match api {
        Api::Twitter => match pair(configured) {
            Some((key, secret)) => (vec![key.to_string()], Some(Secret::new(secret))),
            None => (Vec::new(), None),
        },
        Api::Facebook | Api::Amazon => (
            configured
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None,
        ),
    };
    Some(IntrospectionVerifier {
        api,
        provider,
        base_url,
        app_ids,
        consumer_secret,
        allow_http: over.is_some_and(|o| o.allow_http),
    })
}

impl IntrospectionVerifier {
    fn url(&self, path: &str, token: &str) -> String {
        format!(
            "{}{path}?access_token={}",
            self.base_url,
            utf8_percent_encode(token, QUERY_VALUE)
        )
    }

    fn unavailable(&self, why: &str) -> TokenError {
        tracing::warn!(provider = self.provider, why, "token introspection failed");
        TokenError::External(PROVIDER_UNAVAILABLE.into())
    }

    /// One call of the provider's API, answered by a JSON object. The request may carry the
    /// token (in the URL or a signed header), so neither it nor a transport message that
    /// might quote it is logged.
    async fn call(&self, idp: &Idp, request: Request) -> Result<Map<String, Value>, TokenError> {
        check_url(&request.url, self.allow_http).map_err(|_| self.unavailable("URL refused"))?;
        let sent = {
            let _slot = idp
                .introspection
                .acquire()
                .await
                .map_err(|_| self.unavailable("closed"))?;
            idp.fetcher.send(&request).await
        };
        let body = match sent {
            Ok(Answer { status, body }) if (200..300).contains(&status) => body,
            // A 4xx is the provider's verdict on the token (bad, expired, revoked, signed by
            // another consumer); 429 is not.
            Ok(Answer { status, .. }) if (400..500).contains(&status) && status != 429 => {
                return Err(TokenError::NotAuthorized(PROVIDER_REFUSED.into()));
            }
            Ok(Answer { status, .. }) => {
                return Err(self.unavailable(&format!("HTTP status {status}")));
            }
            Err(FetchError::Transport(_)) => return Err(self.unavailable("transport")),
            Err(FetchError::TooLarge) => return Err(self.unavailable("answer too large")),
            Err(_) => return Err(self.unavailable("fetch failed")),
        };
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(self.unavailable("answer is not a JSON object")),
        }
    }

    /// A GET with the token in the query (Graph API, Amazon's tokeninfo).
    async fn ask(
        &self,
        idp: &Idp,
        path: &str,
        token: &str,
    ) -> Result<Map<String, Value>, TokenError> {
        self.call(idp, Request::get(self.url(path, token))).await
    }

    fn accepts(&self, app_id: &str) -> bool {
        self.app_ids.iter().any(|a| a == app_id)
    }

    /// `token` is `<access token>;<access token secret>`; the call is signed with it and
    /// the pool's consumer pair, at `now_ms`.
    async fn verify_twitter(
        &self,
        idp: &Idp,
        token: &str,
        now_ms: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let (Some(consumer_key), Some(consumer_secret)) =
            (self.app_ids.first(), self.consumer_secret.as_ref())
        else {
            tracing::warn!(
                provider = self.provider,
                "the pool's SupportedLoginProviders value for Twitter is not <consumer key>;<consumer secret>"
            );
            return Err(TokenError::bad_signature());
        };
        let (access_token, token_secret) = pair(token).ok_or_else(TokenError::bad_signature)?;
        let url = format!("{}{TWITTER_VERIFY_PATH}", self.base_url);
        let nonce = oauth1::nonce().ok_or_else(|| self.unavailable("no random nonce"))?;
        let creds = oauth1::Credentials {
            consumer_key,
            consumer_secret: consumer_secret.expose(),
            token: access_token,
            token_secret,
        };
        let header =
            oauth1::authorization("GET", &url, &creds, &nonce, now_ms.div_euclid(1000), &[])
                .map_err(|_| self.unavailable("URL refused"))?;
        let mut user = self
            .call(idp, Request::get(url).header("authorization", header))
            .await?;
        let id = match user.get("id_str") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(self.unavailable("answer lacks id_str")),
        };
        // The default mappings read `aud` and `sub` (spec §4.13); the rest is the user as
        // Twitter describes them.
        user.insert("aud".into(), consumer_key.clone().into());
        user.insert("sub".into(), id.clone().into());
        Ok(VerifiedToken {
            subject: id,
            client_id: consumer_key.clone(),
            claims: user,
        })
    }
}

/// A JSON string, or a number as its decimal text (Graph API ids are strings, but be lenient).
fn id_field(m: &Map<String, Value>, name: &str) -> Option<String> {
    match m.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait::async_trait]
impl TokenVerifier for IntrospectionVerifier {
    async fn verify(
        &self,
        idp: &Idp,
        token: &str,
        now_ms: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let missing = |what: &str| {
            tracing::warn!(
                provider = self.provider,
                what,
                "introspection answer lacks a member"
            );
            TokenError::External(PROVIDER_UNAVAILABLE.into())
        };
        match self.api {
            Api::Facebook => {
                // The application is checked first: a token of another app never reaches /me.
                let app = self.ask(idp, "/app", token).await?;
                let app_id = id_field(&app, "id").ok_or_else(|| missing("app id"))?;
                if !self.accepts(&app_id) {
                    return Err(TokenError::NotAuthorized(WRONG_APP.into()));
                }
                let me = self.ask(idp, "/me", token).await?;
                let user_id = id_field(&me, "id").ok_or_else(|| missing("user id"))?;
                let mut claims = Map::new();
                claims.insert("aud".into(), app_id.clone().into());
                claims.insert("sub".into(), user_id.clone().into());
                Ok(VerifiedToken {
                    subject: user_id,
                    client_id: app_id,
                    claims,
                })
            }
            Api::Amazon => {
                let info = self.ask(idp, "/auth/o2/tokeninfo", token).await?;
                let aud = id_field(&info, "aud").ok_or_else(|| missing("aud"))?;
                if !self.accepts(&aud) {
                    return Err(TokenError::NotAuthorized(WRONG_APP.into()));
                }
                let user_id = id_field(&info, "user_id").ok_or_else(|| missing("user_id"))?;
                // Only the members role mappings and principal tags may read are kept.
                let mut claims = Map::new();
                for name in ["aud", "user_id", "app_id", "iss"] {
                    if let Some(v) = id_field(&info, name) {
                        claims.insert(name.into(), v.into());
                    }
                }
                claims.insert("sub".into(), user_id.clone().into());
                Ok(VerifiedToken {
                    subject: user_id,
                    client_id: aud,
                    claims,
                })
            }
            Api::Twitter => self.verify_twitter(idp, token, now_ms).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::idp::tests::FakeFetcher;
    use crate::idp::{IdpOverride, IdpSettings};

    const TOKEN: &str = "EAAB x/y+z";
    const ENCODED: &str = "EAAB%20x%2Fy%2Bz";

    fn idp_with(fetcher: &Arc<FakeFetcher>, overrides: Vec<IdpOverride>) -> Idp {
        let settings = IdpSettings {
            overrides,
            ..Default::default()
        };
        Idp::with_fetcher(settings, fetcher.clone())
    }

    fn fb(path: &str) -> String {
        format!("https://graph.facebook.com{path}?access_token={ENCODED}")
    }

    #[tokio::test]
    async fn facebook_checks_the_app_then_names_the_user() {
        let f = Arc::new(FakeFetcher::default());
        f.serve(&fb("/app"), r#"{"id":"1234","name":"Demo"}"#.into());
        f.serve(&fb("/me"), r#"{"id":"10001","name":"Ann"}"#.into());
        let idp = idp_with(&f, vec![]);
        let v = verifier(&idp, FACEBOOK, "999, 1234").unwrap();
        let t = v.verify(&idp, TOKEN, 0).await.unwrap();
        assert_eq!(t.subject, "10001");
        assert_eq!(t.client_id, "1234");
        assert_eq!(t.claims["aud"], "1234");
        assert_eq!(t.claims["sub"], "10001");
        assert_eq!(f.urls(), vec![fb("/app"), fb("/me")]);

        // Another app's token is refused before the user is looked up.
        let v = verifier(&idp, FACEBOOK, "999").unwrap();
        assert_eq!(
            v.verify(&idp, TOKEN, 0).await,
            Err(TokenError::NotAuthorized(WRONG_APP.into()))
        );
        assert_eq!(f.count(&fb("/me")), 1);
    }

    #[tokio::test]
    async fn provider_verdicts_and_outages_map_to_the_right_errors() {
        let f = Arc::new(FakeFetcher::default());
        let idp = idp_with(&f, vec![]);
        let v = verifier(&idp, FACEBOOK, "1234").unwrap();
        let refused = Err(TokenError::NotAuthorized(PROVIDER_REFUSED.into()));
        let down = Err(TokenError::External(PROVIDER_UNAVAILABLE.into()));
        for (e, want) in [
            (FetchError::Status(400), &refused),
            (FetchError::Status(401), &refused),
            (FetchError::Status(429), &down),
            (FetchError::Status(500), &down),
            (FetchError::Status(503), &down),
            (FetchError::Transport("timed out".into()), &down),
            (FetchError::TooLarge, &down),
        ] {
            f.fail(&fb("/app"), e.clone());
            assert_eq!(&v.verify(&idp, TOKEN, 0).await, want, "{e:?}");
        }
        for body in ["not json", "[1]", r#"{"name":"no id"}"#] {
            f.serve(&fb("/app"), body.into());
            assert_eq!(v.verify(&idp, TOKEN, 0).await, down, "{body}");
        }
    }

    #[tokio::test]
    async fn amazon_tokeninfo_names_client_and_user() {
        let f = Arc::new(FakeFetcher::default());
        let url = format!("https://api.amazon.com/auth/o2/tokeninfo?access_token={ENCODED}");
        f.serve(
            &url,
            r#"{"aud":"amzn1.application-oa2-client.abc","user_id":"amzn1.account.XYZ","app_id":"amzn1.application.q","exp":3597,"iat":1}"#.into(),
        );
        let idp = idp_with(&f, vec![]);
        let v = verifier(&idp, AMAZON, "amzn1.application-oa2-client.abc").unwrap();
        let t = v.verify(&idp, TOKEN, 0).await.unwrap();
        assert_eq!(t.subject, "amzn1.account.XYZ");
        assert_eq!(t.client_id, "amzn1.application-oa2-client.abc");
        assert_eq!(t.claims["user_id"], "amzn1.account.XYZ");
        assert!(!t.claims.contains_key("exp"));
        let v = verifier(&idp, AMAZON, "amzn1.application-oa2-client.other").unwrap();
        assert_eq!(
            v.verify(&idp, TOKEN, 0).await,
            Err(TokenError::NotAuthorized(WRONG_APP.into()))
        );
        f.fail(&url, FetchError::Status(400));
        assert_eq!(
            v.verify(&idp, TOKEN, 0).await,
            Err(TokenError::NotAuthorized(PROVIDER_REFUSED.into()))
        );
    }

    #[tokio::test]
    async fn overrides_move_the_api_and_plain_http_needs_consent() {
        let f = Arc::new(FakeFetcher::default());
        let local = IdpOverride {
            provider: AMAZON.into(),
            introspection_url: Some("http://127.0.0.1:8085/".into()),
            ..Default::default()
        };
        let idp = idp_with(&f, vec![local]);
        let v = verifier(&idp, AMAZON, "c").unwrap();
        assert_eq!(v.base_url, "http://127.0.0.1:8085");
        f.serve(
            &format!("http://127.0.0.1:8085/auth/o2/tokeninfo?access_token={ENCODED}"),
            r#"{"aud":"c","user_id":"u"}"#.into(),
        );
        assert_eq!(v.verify(&idp, TOKEN, 0).await.unwrap().subject, "u");

        // Plain HTTP off this machine is refused without a request.
        let remote = IdpOverride {
            provider: FACEBOOK.into(),
            introspection_url: Some("http://graph.internal".into()),
            ..Default::default()
        };
        let idp = idp_with(&f, vec![remote]);
        let before = f.total();
        let v = verifier(&idp, FACEBOOK, "1").unwrap();
        assert_eq!(
            v.verify(&idp, TOKEN, 0).await,
            Err(TokenError::External(PROVIDER_UNAVAILABLE.into()))
        );
        assert_eq!(f.total(), before);
        assert!(verifier(&idp, "accounts.google.com", "x").is_none());
    }

    const CONSUMER_KEY: &str = "tw-consumer-1";
    /// Characters that must be escaped in the signing key.
    const CONSUMER_SECRET: &str = "cons/secret+&1";
    const ANN_TOKEN: &str = "1001-annToken";
    const ANN_SECRET: &str = "ann secret!";
    const ANN_ID: &str = "1001";
    const TWITTER_URL: &str = "https://api.twitter.com/1.1/account/verify_credentials.json";

    fn twitter_login() -> String {
        format!("{ANN_TOKEN};{ANN_SECRET}")
    }

    /// RFC 5849 §3.6 written out by hand, apart from the encoder under test.
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

    /// The test's own reading of RFC 5849 §3.4: base string from the method, the base URI and
    /// every parameter, then HMAC-SHA1 keyed by both secrets.
    fn oracle_signature(
        method: &str,
        base_uri: &str,
        params: &[(&str, &str)],
        consumer_secret: &str,
        token_secret: &str,
    ) -> String {
        let mut encoded: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
            .collect();
        encoded.sort();
        let base = format!("{method}&{}&{}", pct(base_uri), pct(&encoded.join("&")));
        let key = format!("{}&{}", pct(consumer_secret), pct(token_secret));
        let key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            key.as_bytes(),
        );
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            aws_lc_rs::hmac::sign(&key, base.as_bytes()),
        )
    }

    /// The oracle itself reproduces Twitter's published example before it judges our calls.
    #[test]
    fn the_oracle_reproduces_the_published_example() {
        let sig = oracle_signature(
            "POST",
            "https://api.twitter.com/1.1/statuses/update.json",
            &[
                ("include_entities", "true"),
                (
                    "status",
                    "Hello Ladies + Gentlemen, a signed OAuth request!",
                ),
                ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
                ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "1318622958"),
                (
                    "oauth_token",
                    "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
                ),
                ("oauth_version", "1.0"),
            ],
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        );
        assert_eq!(sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
    }

    /// A stand-in `verify_credentials` at `url`: it reads the `Authorization` header, checks
    /// the protocol parameters and the signature with the oracle, and answers 401 as Twitter
    /// does for an unknown consumer, an unknown token or a bad signature.
    fn fake_twitter(
        url: &'static str,
        consumer: (&'static str, &'static str),
        users: Vec<(&'static str, &'static str, &'static str)>,
    ) -> impl Fn(&Request) -> Result<Answer, FetchError> + Send + Sync + 'static {
        move |r: &Request| {
            let refuse = || {
                Ok(Answer {
                    status: 401,
                    body: br#"{"errors":[{"code":32,"message":"Could not authenticate you."}]}"#
                        .to_vec(),
                })
            };
            assert_eq!(r.method, crate::idp::jwks::Method::Get);
            assert_eq!(r.url, url);
            let Some(fields) = r
                .header_value("authorization")
                .and_then(|h| h.strip_prefix("OAuth "))
            else {
                return refuse();
            };
            let mut p = std::collections::BTreeMap::new();
            for field in fields.split(", ") {
                let (k, v) = field.split_once('=').unwrap();
                let v = v.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
                let v = percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .unwrap();
                assert!(
                    p.insert(k.to_string(), v.to_string()).is_none(),
                    "{k} twice"
                );
            }
            assert_eq!(p["oauth_signature_method"], "HMAC-SHA1");
            assert_eq!(p["oauth_version"], "1.0");
            assert_eq!(p["oauth_timestamp"], (NOW_MS / 1000).to_string());
            assert!(p["oauth_nonce"].len() >= 16);
            if p["oauth_consumer_key"] != consumer.0 {
                return refuse();
            }
            let Some((_, token_secret, id)) = users.iter().find(|(t, _, _)| *t == p["oauth_token"])
            else {
                return refuse();
            };
            let signed: Vec<(&str, &str)> = p
                .iter()
                .filter(|(k, _)| *k != "oauth_signature")
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if oracle_signature("GET", url, &signed, consumer.1, token_secret)
                != p["oauth_signature"]
            {
                return refuse();
            }
            Ok(Answer {
                status: 200,
                body: format!(
                    r#"{{"id":{id},"id_str":"{id}","screen_name":"user{id}","verified":false,"status":{{"text":"hi"}}}}"#
                )
                .into_bytes(),
            })
        }
    }

    fn twitter_world(url: &'static str, overrides: Vec<IdpOverride>) -> (Arc<FakeFetcher>, Idp) {
        let f = Arc::new(FakeFetcher::default());
        f.respond(fake_twitter(
            url,
            (CONSUMER_KEY, CONSUMER_SECRET),
            vec![
                (ANN_TOKEN, ANN_SECRET, ANN_ID),
                ("2002-bob", "bobs", "2002"),
            ],
        ));
        let idp = idp_with(&f, overrides);
        (f, idp)
    }

    const NOW_MS: i64 = 1_700_000_000_123;

    #[tokio::test]
    async fn twitter_calls_are_signed_and_name_the_user() {
        let (f, idp) = twitter_world(TWITTER_URL, vec![]);
        let configured = format!("{CONSUMER_KEY};{CONSUMER_SECRET}");
        let v = verifier(&idp, TWITTER, &configured).unwrap();
        assert!(!format!("{v:?}").contains(CONSUMER_SECRET));
        let t = v.verify(&idp, &twitter_login(), NOW_MS).await.unwrap();
        assert_eq!(t.subject, ANN_ID);
        assert_eq!(t.client_id, CONSUMER_KEY);
        assert_eq!(t.claims["screen_name"], "user1001");
        assert_eq!(t.claims["aud"], CONSUMER_KEY);
        assert_eq!(t.claims["sub"], ANN_ID);
        let bob = v.verify(&idp, "2002-bob;bobs", NOW_MS).await.unwrap();
        assert_eq!(bob.subject, "2002");

        let sent = f.sent();
        assert_eq!(sent.len(), 2);
        let nonce = |r: &Request| {
            let h = r.header_value("authorization").unwrap().to_string();
            h.split("oauth_nonce=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        };
        assert_ne!(nonce(&sent[0]), nonce(&sent[1]), "a fresh nonce per call");
        let header = sent[0].header_value("authorization").unwrap();
        assert!(!header.contains("secret") && !header.contains(&pct(ANN_SECRET)));
        // What the logs could show of the request leaves the header out.
        assert!(!format!("{:?}", sent[0]).contains("oauth_signature"));
    }

    #[tokio::test]
    async fn malformed_twitter_values_are_refused_without_a_call() {
        let (f, idp) = twitter_world(TWITTER_URL, vec![]);
        let bad = Err(TokenError::NotAuthorized(crate::idp::BAD_SIGNATURE.into()));
        let v = verifier(&idp, TWITTER, &format!("{CONSUMER_KEY};{CONSUMER_SECRET}")).unwrap();
        for login in ["no-separator", ";secret", "token;", ";", "a;b;c"] {
            assert_eq!(v.verify(&idp, login, NOW_MS).await, bad, "{login}");
        }
        for configured in ["key-only", "key;", ";secret", "k;s;t", ""] {
            let v = verifier(&idp, TWITTER, configured).unwrap();
            assert!(v.consumer_secret.is_none() && v.app_ids.is_empty());
            assert_eq!(
                v.verify(&idp, &twitter_login(), NOW_MS).await,
                bad,
                "{configured}"
            );
        }
        assert_eq!(f.total(), 0);
    }

    #[tokio::test]
    async fn twitter_refusals_and_outages_map_to_the_right_errors() {
        let (f, idp) = twitter_world(TWITTER_URL, vec![]);
        let refused = Err(TokenError::NotAuthorized(PROVIDER_REFUSED.into()));
        let down = Err(TokenError::External(PROVIDER_UNAVAILABLE.into()));
        let ours = format!("{CONSUMER_KEY};{CONSUMER_SECRET}");
        let check = |configured: String, login: String| {
            let idp = &idp;
            async move {
                let v = verifier(idp, TWITTER, &configured).unwrap();
                v.verify(idp, &login, NOW_MS).await
            }
        };
        // Refused by the stand-in's own signature check: another app's consumer key, our key
        // with a wrong secret, an unknown token, a known token with a wrong secret.
        let cases = [
            (format!("other-app;{CONSUMER_SECRET}"), twitter_login()),
            (format!("{CONSUMER_KEY};wrong"), twitter_login()),
            (ours.clone(), format!("9999-nobody;{ANN_SECRET}")),
            (ours.clone(), format!("{ANN_TOKEN};not-it")),
        ];
        for (configured, login) in cases {
            assert_eq!(
                check(configured.clone(), login.clone()).await,
                refused,
                "{configured} {login}"
            );
        }
        assert!(check(ours.clone(), twitter_login()).await.is_ok());

        let answers = [
            (Ok(403), &refused),
            (Ok(404), &refused),
            (Ok(429), &down),
            (Ok(500), &down),
            (Ok(503), &down),
            (Ok(302), &down),
            (
                Err(FetchError::Transport("operation timed out".into())),
                &down,
            ),
            (Err(FetchError::TooLarge), &down),
        ];
        for (answer, want) in answers {
            let a = answer.clone();
            f.respond(move |_| {
                a.clone().map(|status| Answer {
                    status,
                    body: Vec::new(),
                })
            });
            assert_eq!(
                &check(ours.clone(), twitter_login()).await,
                want,
                "{answer:?}"
            );
        }
        for body in ["not json", "[1]", r#"{"id":5}"#, r#"{"id_str":""}"#] {
            let b = body.as_bytes().to_vec();
            f.respond(move |_| {
                Ok(Answer {
                    status: 200,
                    body: b.clone(),
                })
            });
            assert_eq!(check(ours.clone(), twitter_login()).await, down, "{body}");
        }
    }

    #[tokio::test]
    async fn the_twitter_api_can_be_moved_and_the_signature_follows() {
        let local = IdpOverride {
            provider: TWITTER.into(),
            introspection_url: Some("http://127.0.0.1:8086/".into()),
            ..Default::default()
        };
        let (f, idp) = twitter_world(
            "http://127.0.0.1:8086/1.1/account/verify_credentials.json",
            vec![local],
        );
        let v = verifier(&idp, TWITTER, &format!("{CONSUMER_KEY};{CONSUMER_SECRET}")).unwrap();
        assert_eq!(v.base_url, "http://127.0.0.1:8086");
        assert_eq!(
            v.verify(&idp, &twitter_login(), NOW_MS)
                .await
                .unwrap()
                .subject,
            ANN_ID
        );
        assert_eq!(f.total(), 1);
    }
}
