//! Facebook and Login with Amazon access tokens, proven by asking the provider's own API over HTTPS (spec §3.3, §4.2.2).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::jwks::{FetchError, check_url};
use super::{Idp, TokenError, TokenVerifier, VerifiedToken};

pub const FACEBOOK: &str = "graph.facebook.com";
pub const AMAZON: &str = "www.amazon.com";
pub const TWITTER: &str = "api.twitter.com";

const FACEBOOK_API: &str = "https://graph.facebook.com";
const AMAZON_API: &str = "https://api.amazon.com";

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
}

/// Verifies an opaque access token with its provider's introspection API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionVerifier {
    pub api: Api,
    pub provider: &'static str,
    /// The provider API's base URL, without trailing slash.
    pub base_url: String,
    /// The application ids the pool accepts (the `SupportedLoginProviders` value, comma-separated).
    pub app_ids: Vec<String>,
    pub allow_http: bool,
}

/// The verifier for a `SupportedLoginProviders` entry of Facebook or Amazon; `None` for other
/// names (Twitter's OAuth 1.0a signing is not implemented, so its tokens stay refused).
pub fn verifier(idp: &Idp, provider: &str, configured: &str) -> Option<IntrospectionVerifier> {
    let (api, provider, default_base) = match provider {
        FACEBOOK => (Api::Facebook, FACEBOOK, FACEBOOK_API),
        AMAZON => (Api::Amazon, AMAZON, AMAZON_API),
        _ => return None,
    };
    let over = idp.override_for(provider);
    let base_url = over
        .and_then(|o| o.introspection_url.clone())
        .unwrap_or_else(|| default_base.to_string())
        .trim_end_matches('/')
        .to_string();
    Some(IntrospectionVerifier {
        api,
        provider,
        base_url,
        app_ids: configured
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
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

    /// One GET of the provider's API as a JSON object. The URL carries the token, so neither
    /// it nor a transport message that might quote it is logged.
    async fn ask(
        &self,
        idp: &Idp,
        path: &str,
        token: &str,
    ) -> Result<Map<String, Value>, TokenError> {
        let unavailable = |why: &str| {
            tracing::warn!(
                provider = self.provider,
                path,
                why,
                "token introspection failed"
            );
            TokenError::External(PROVIDER_UNAVAILABLE.into())
        };
        let url = self.url(path, token);
        check_url(&url, self.allow_http).map_err(|_| unavailable("URL refused"))?;
        let fetched = {
            let _slot = idp
                .introspection
                .acquire()
                .await
                .map_err(|_| unavailable("closed"))?;
            idp.fetcher.get(&url).await
        };
        let body = match fetched {
            Ok(f) => f.body,
            // A 4xx is the provider's verdict on the token (bad, expired, revoked); 429 is not.
            Err(FetchError::Status(s)) if (400..500).contains(&s) && s != 429 => {
                return Err(TokenError::NotAuthorized(PROVIDER_REFUSED.into()));
            }
            Err(FetchError::Status(s)) => return Err(unavailable(&format!("HTTP status {s}"))),
            Err(FetchError::Transport(_)) => return Err(unavailable("transport")),
            Err(FetchError::TooLarge) => return Err(unavailable("answer too large")),
            Err(_) => return Err(unavailable("fetch failed")),
        };
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(unavailable("answer is not a JSON object")),
        }
    }

    fn accepts(&self, app_id: &str) -> bool {
        self.app_ids.iter().any(|a| a == app_id)
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
        _now_ms: i64,
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
        assert!(verifier(&idp, TWITTER, "k;s").is_none());
        assert!(verifier(&idp, "accounts.google.com", "x").is_none());
    }
}
