//! The token attack suite: every class of security-and-performance.md §1.1 (rows 1-13) built from keys and tokens made here, against the verifiers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::cognito_user_pool::UserPoolVerifier;
use super::jwks::{Answer, FetchError, Fetched, Fetcher, Request};
use super::oidc::OidcVerifier;
use super::*;

pub(crate) const NOW_MS: i64 = crate::iam::testkit::NOW_MS;
pub(crate) const NOW_S: i64 = NOW_MS / 1000;
pub(crate) const POOL_NAME: &str = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example";
pub(crate) const CLIENT: &str = "appclient1";

pub(crate) fn pool_issuer() -> String {
    format!("https://{POOL_NAME}")
}

pub(crate) fn pool_jwks_url() -> String {
    format!("https://{POOL_NAME}/.well-known/jwks.json")
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An identity provider's RSA signing key.
pub(crate) struct Signer {
    pair: RsaKeyPair,
    pub kid: String,
}

impl Signer {
    pub(crate) fn new(kid: &str) -> Signer {
        Signer {
            pair: RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            kid: kid.into(),
        }
    }

    pub(crate) fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero())})
    }

    /// The key as a JWK without `alg`, so several RSA algorithms may use it.
    pub(crate) fn jwk_any_alg(&self) -> Value {
        let mut k = self.jwk();
        k.as_object_mut().unwrap().remove("alg");
        k
    }

    /// Signs an arbitrary header and payload text with the algorithm the header names.
    pub(crate) fn sign_raw(&self, header: &str, payload: &str) -> String {
        let alg = serde_json::from_str::<Value>(header)
            .ok()
            .and_then(|h| h["alg"].as_str().map(str::to_string))
            .unwrap_or_else(|| "RS256".into());
        let padding: &'static dyn sig::RsaEncoding = match alg.as_str() {
            "RS384" => &sig::RSA_PKCS1_SHA384,
            "RS512" => &sig::RSA_PKCS1_SHA512,
            "PS256" => &sig::RSA_PSS_SHA256,
            "PS384" => &sig::RSA_PSS_SHA384,
            "PS512" => &sig::RSA_PSS_SHA512,
            _ => &sig::RSA_PKCS1_SHA256,
        };
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let mut out = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(padding, &SystemRandom::new(), input.as_bytes(), &mut out)
            .unwrap();
        format!("{input}.{}", b64(&out))
    }

    pub(crate) fn token_with_header(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    pub(crate) fn token(&self, claims: &Value) -> String {
        let header = json!({"kid": self.kid, "alg": "RS256", "typ": "JWT"});
        self.token_with_header(&header, claims)
    }

    pub(crate) fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }
}

pub(crate) fn key_set(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// Serves documents from memory and records every URL asked for.
#[derive(Default)]
pub(crate) struct FakeFetcher {
    docs: Mutex<HashMap<String, Result<String, FetchError>>>,
    log: Mutex<Vec<String>>,
    sent: Mutex<Vec<Request>>,
    responder: Mutex<Option<Responder>>,
}

/// Answers `send` calls in place of the served documents.
pub(crate) type Responder = Box<dyn Fn(&Request) -> Result<Answer, FetchError> + Send + Sync>;

impl FakeFetcher {
    pub(crate) fn serve(&self, url: &str, body: String) {
        self.docs.lock().unwrap().insert(url.into(), Ok(body));
    }

    pub(crate) fn fail(&self, url: &str, e: FetchError) {
        self.docs.lock().unwrap().insert(url.into(), Err(e));
    }

    /// Answers every later `send` with `f` (a provider that checks what it is sent).
    pub(crate) fn respond(
        &self,
        f: impl Fn(&Request) -> Result<Answer, FetchError> + Send + Sync + 'static,
    ) {
        *self.responder.lock().unwrap() = Some(Box::new(f));
    }

    pub(crate) fn count(&self, url: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|u| *u == url)
            .count()
    }

    pub(crate) fn total(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub(crate) fn urls(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The requests `send` was given, in order.
    pub(crate) fn sent(&self) -> Vec<Request> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Fetcher for FakeFetcher {
    async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        self.log.lock().unwrap().push(url.to_string());
        match self.docs.lock().unwrap().get(url) {
            Some(Ok(body)) => Ok(Fetched {
                body: body.clone().into_bytes(),
                max_age_s: None,
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Err(FetchError::Status(404)),
        }
    }

    /// The responder's answer when one is set; otherwise the served document (a failure
    /// status given to `fail` becomes an answer with that status and no body).
    async fn send(&self, request: &Request) -> Result<Answer, FetchError> {
        self.log.lock().unwrap().push(request.url.clone());
        self.sent.lock().unwrap().push(request.clone());
        if let Some(f) = self.responder.lock().unwrap().as_ref() {
            return f(request);
        }
        let answer = |status, body: &str| Answer {
            status,
            body: body.as_bytes().to_vec(),
        };
        match self.docs.lock().unwrap().get(&request.url) {
            Some(Ok(body)) => Ok(answer(200, body)),
            Some(Err(FetchError::Status(s))) => Ok(answer(*s, "")),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(answer(404, "")),
        }
    }
}

pub(crate) fn id_claims(sub: &str) -> Value {
    json!({"sub": sub, "aud": CLIENT, "iss": pool_issuer(), "token_use": "id",
        "cognito:username": sub, "auth_time": NOW_S - 20, "iat": NOW_S - 10,
        "exp": NOW_S + 3600, "email": format!("{sub}@example.com")})
}

struct Setup {
    fetcher: Arc<FakeFetcher>,
    idp: Idp,
    signer: Signer,
    verifier: UserPoolVerifier,
}

fn setup() -> Setup {
    let fetcher = Arc::new(FakeFetcher::default());
    let signer = Signer::new("key-1");
    fetcher.serve(&pool_jwks_url(), key_set(&[signer.jwk()]));
    let idp = Idp::with_fetcher(IdpSettings::default(), fetcher.clone());
    let verifier = UserPoolVerifier::new(&idp, POOL_NAME, vec![CLIENT.into()]);
    Setup {
        fetcher,
        idp,
        signer,
        verifier,
    }
}

impl Setup {
    async fn check(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        self.verifier.verify(&self.idp, token, NOW_MS).await
    }

    async fn check_at(&self, token: &str, now_ms: i64) -> Result<VerifiedToken, TokenError> {
        self.verifier.verify(&self.idp, token, now_ms).await
    }
}

fn refused(msg: &str) -> Result<VerifiedToken, TokenError> {
    Err(TokenError::NotAuthorized(msg.into()))
}

fn bad_signature() -> Result<VerifiedToken, TokenError> {
    refused(BAD_SIGNATURE)
}

#[tokio::test]
async fn a_genuine_user_pool_id_token_is_accepted() {
    let s = setup();
    let t = s.check(&s.signer.token(&id_claims("alice"))).await.unwrap();
    assert_eq!(t.subject, "alice");
    assert_eq!(t.client_id, CLIENT);
    assert_eq!(t.claims["email"], "alice@example.com");
    assert_eq!(s.fetcher.urls(), vec![pool_jwks_url()]);
    // Cached: a second token costs no fetch.
    s.check(&s.signer.token(&id_claims("bob"))).await.unwrap();
    assert_eq!(s.fetcher.total(), 1);
}

#[tokio::test]
async fn alg_none_and_stripped_signatures_are_refused() {
    let s = setup();
    let claims = id_claims("alice").to_string();
    for alg in ["none", "None", "NONE", ""] {
        let header = json!({"alg": alg, "kid": "key-1"}).to_string();
        let t = format!("{}.{}.", b64(header.as_bytes()), b64(claims.as_bytes()));
        assert_eq!(s.check(&t).await, bad_signature(), "alg {alg:?}");
        let t = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        assert_eq!(s.check(&t).await, bad_signature());
    }
    // A genuine token with its signature removed.
    let genuine = s.signer.token(&id_claims("alice"));
    let stripped = &genuine[..genuine.rfind('.').unwrap() + 1];
    assert_eq!(s.check(stripped).await, bad_signature());
    for shape in ["", ".", "..", "...", "a.b", "a.b.c.d", "a..c"] {
        assert_eq!(s.check(shape).await, bad_signature(), "{shape:?}");
    }
    assert_eq!(s.fetcher.total(), 0, "nothing here may cause a fetch");
}

#[tokio::test]
async fn hmac_with_the_public_key_as_secret_is_refused() {
    let s = setup();
    let claims = id_claims("mallory").to_string();
    let jwk = s.signer.jwk();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        s.signer.public_der(),
        n,
        jwk.to_string().into_bytes(),
        key_set(std::slice::from_ref(&jwk)).into_bytes(),
    ];
    for (alg, hmac_alg) in [
        ("HS256", aws_lc_rs::hmac::HMAC_SHA256),
        ("HS384", aws_lc_rs::hmac::HMAC_SHA384),
        ("HS512", aws_lc_rs::hmac::HMAC_SHA512),
    ] {
        for secret in &secrets {
            let header = json!({"alg": alg, "kid": "key-1"}).to_string();
            let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
            let key = aws_lc_rs::hmac::Key::new(hmac_alg, secret);
            let mac = aws_lc_rs::hmac::sign(&key, input.as_bytes());
            let t = format!("{input}.{}", b64(mac.as_ref()));
            assert_eq!(s.check(&t).await, bad_signature(), "{alg}");
        }
    }
    assert_eq!(
        s.fetcher.total(),
        0,
        "HMAC is refused before keys are looked at"
    );
}

#[tokio::test]
async fn the_algorithm_is_bound_to_the_key() {
    let s = setup();
    // The published key says RS256; a PS256 signature by the same key is refused.
    let header = json!({"alg": "PS256", "kid": "key-1"});
    let t = s.signer.token_with_header(&header, &id_claims("alice"));
    assert_eq!(s.check(&t).await, bad_signature());
    // Without `alg` on the key, PS256 and RS512 by the same key verify.
    s.fetcher
        .serve(&pool_jwks_url(), key_set(&[s.signer.jwk_any_alg()]));
    let s2 = Setup {
        idp: Idp::with_fetcher(IdpSettings::default(), s.fetcher.clone()),
        ..s
    };
    for alg in ["PS256", "RS512", "PS512", "RS384"] {
        let header = json!({"alg": alg, "kid": "key-1"});
        let t = s2.signer.token_with_header(&header, &id_claims("alice"));
        assert!(s2.check(&t).await.is_ok(), "{alg}");
    }
}

#[tokio::test]
async fn ec_tokens_verify_and_encodings_are_strict() {
    let fetcher = Arc::new(FakeFetcher::default());
    let pair = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig",
        "x": b64(&point[1..33]), "y": b64(&point[33..])});
    fetcher.serve(&pool_jwks_url(), key_set(&[jwk]));
    let idp = Idp::with_fetcher(IdpSettings::default(), fetcher.clone());
    let v = UserPoolVerifier::new(&idp, POOL_NAME, vec![CLIENT.into()]);
    let header = json!({"alg": "ES256", "kid": "ec-1"}).to_string();
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(id_claims("erin").to_string().as_bytes())
    );
    let rng = SystemRandom::new();
    let fixed = pair.sign(&rng, input.as_bytes()).unwrap();
    let ok = format!("{input}.{}", b64(fixed.as_ref()));
    assert_eq!(v.verify(&idp, &ok, NOW_MS).await.unwrap().subject, "erin");
    // The same signature in ASN.1 DER form is not a JWS signature.
    let der_pair = EcdsaKeyPair::from_pkcs8(
        &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        pair.to_pkcs8v1().unwrap().as_ref(),
    )
    .unwrap();
    let der = der_pair.sign(&rng, input.as_bytes()).unwrap();
    let t = format!("{input}.{}", b64(der.as_ref()));
    assert_eq!(v.verify(&idp, &t, NOW_MS).await, bad_signature());
    // r = s = 0 and all-ones signatures (the "psychic signature" class).
    for forged in [vec![0u8; 64], vec![0xff; 64], vec![0u8; 0]] {
        let t = format!("{input}.{}", b64(&forged));
        assert_eq!(v.verify(&idp, &t, NOW_MS).await, bad_signature());
    }
    // ES384 header against a P-256 key.
    let header = json!({"alg": "ES384", "kid": "ec-1"}).to_string();
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(id_claims("erin").to_string().as_bytes())
    );
    let t = format!("{input}.{}", b64(&[1u8; 96]));
    assert_eq!(v.verify(&idp, &t, NOW_MS).await, bad_signature());
}

#[tokio::test]
async fn embedded_key_headers_are_never_used_or_fetched() {
    let s = setup();
    let attacker = Signer::new("key-1");
    let jku = "http://127.0.0.1:9/attacker-jwks.json";
    fetcher_serves_attacker(&s.fetcher, jku, &attacker);
    for extra in [
        json!({"jwk": attacker.jwk()}),
        json!({"jku": jku}),
        json!({"x5u": jku}),
        json!({"x5c": ["MIIB"]}),
        json!({"jwk": attacker.jwk(), "jku": jku, "x5u": jku}),
    ] {
        let mut header = json!({"alg": "RS256", "kid": "key-1"});
        for (k, v) in extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        let t = attacker.token_with_header(&header, &id_claims("mallory"));
        assert_eq!(s.check(&t).await, bad_signature());
    }
    assert!(s.fetcher.urls().iter().all(|u| u == &pool_jwks_url()));
    assert_eq!(s.fetcher.count(jku), 0);
}

fn fetcher_serves_attacker(f: &FakeFetcher, url: &str, attacker: &Signer) {
    f.serve(url, key_set(&[attacker.jwk()]));
}

#[tokio::test]
async fn kid_is_only_an_exact_lookup_key_and_unknown_kids_refetch_once_per_cooldown() {
    let s = setup();
    s.check(&s.signer.token(&id_claims("alice"))).await.unwrap();
    assert_eq!(s.fetcher.total(), 1);
    for kid in [
        json!("../../dev/null"),
        json!("' OR 1=1 --"),
        json!(""),
        json!("KEY-1"),
        json!("key-1 "),
    ] {
        let header = json!({"alg": "RS256", "kid": kid});
        let t = s.signer.token_with_header(&header, &id_claims("alice"));
        assert_eq!(s.check(&t).await, bad_signature(), "{kid}");
    }
    // The first fetch started the cool-down: no refetch for any of them.
    assert_eq!(s.fetcher.total(), 1);
    // Past the cool-down one unknown kid refetches once; the next one inside it does not.
    for (at, kid) in [(31_000, "next-a"), (32_000, "next-b")] {
        let header = json!({"alg": "RS256", "kid": kid});
        let t = s.signer.token_with_header(&header, &id_claims("alice"));
        assert_eq!(s.check_at(&t, NOW_MS + at).await, bad_signature());
    }
    assert_eq!(s.fetcher.total(), 2);
    for kid in [json!(5), json!({"a": 1}), json!(["key-1"]), json!(null)] {
        let header = json!({"alg": "RS256", "kid": kid});
        let t = s.signer.token_with_header(&header, &id_claims("alice"));
        assert_eq!(s.check(&t).await, bad_signature(), "{kid}");
    }
    assert_eq!(s.fetcher.total(), 2, "a non-string kid causes no I/O");
    // A flood of random kids over 5 minutes: fetches bounded by duration / cool-down + 1.
    for i in 0..300 {
        let header = json!({"alg": "RS256", "kid": format!("random-{i}")});
        let t = s.signer.token_with_header(&header, &id_claims("alice"));
        let _ = s.check_at(&t, NOW_MS + 40_000 + i * 1_000).await;
    }
    let total = s.fetcher.total();
    assert!(
        (2 + 300 / 30 - 1..=2 + 300 / 30 + 1).contains(&total),
        "{total}"
    );
}

#[tokio::test]
async fn a_rotated_key_verifies_after_exactly_one_refetch() {
    let s = setup();
    s.check(&s.signer.token(&id_claims("alice"))).await.unwrap();
    let next = Signer::new("key-2");
    s.fetcher
        .serve(&pool_jwks_url(), key_set(&[s.signer.jwk(), next.jwk()]));
    let later = NOW_MS + 60_000;
    s.check_at(&next.token(&id_claims("alice")), later)
        .await
        .unwrap();
    s.check_at(&next.token(&id_claims("bob")), later)
        .await
        .unwrap();
    assert_eq!(s.fetcher.count(&pool_jwks_url()), 2);
}

#[tokio::test]
async fn duplicate_kids_are_ambiguous() {
    let s = setup();
    let twin = Signer::new("key-1");
    s.fetcher
        .serve(&pool_jwks_url(), key_set(&[s.signer.jwk(), twin.jwk()]));
    assert_eq!(
        s.check(&s.signer.token(&id_claims("alice"))).await,
        bad_signature()
    );
}

#[tokio::test]
async fn time_claims_have_the_five_minute_leeway_aws_documents() {
    let s = setup();
    let l = jwt::LEEWAY_S;
    assert_eq!(l, 300);
    let exp = NOW_S + 100;
    let mut c = id_claims("alice");
    c["exp"] = exp.into();
    let t = s.signer.token(&c);
    for now in [exp - 1, exp, exp + l - 1] {
        assert!(
            s.check_at(&t, now * 1000).await.is_ok(),
            "now = exp + {}",
            now - exp
        );
    }
    let now = exp + l;
    assert_eq!(
        s.check_at(&t, now * 1000).await,
        refused(&format!(
            "Invalid login token. Token expired: {now} >= {exp}"
        ))
    );
    let mut c = id_claims("alice");
    c["nbf"] = (NOW_S + l).into();
    assert!(s.check(&s.signer.token(&c)).await.is_ok());
    c["nbf"] = (NOW_S + l + 1).into();
    assert!(s.check(&s.signer.token(&c)).await.is_err());
    let mut c = id_claims("alice");
    c["iat"] = (NOW_S + l).into();
    assert!(s.check(&s.signer.token(&c)).await.is_ok());
    c["iat"] = (NOW_S + l + 1).into();
    assert!(s.check(&s.signer.token(&c)).await.is_err());
    let mut c = id_claims("alice");
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        s.check(&s.signer.token(&c)).await,
        refused("Invalid login token. Missing a required claim: exp")
    );
    // Type confusion: a string or boolean time is refused, not ignored.
    for (claim, bad) in [
        ("exp", json!("99999999999")),
        ("exp", json!(true)),
        ("nbf", json!("0")),
        ("iat", json!([1])),
    ] {
        let mut c = id_claims("alice");
        c[claim] = bad;
        assert_eq!(
            s.check(&s.signer.token(&c)).await,
            refused(&format!("Invalid login token. Invalid claim: {claim}"))
        );
    }
}

#[tokio::test]
async fn issuer_audience_and_token_use_are_checked() {
    let s = setup();
    let issuer_msg = "Invalid login token. Issuer doesn't match providerName";
    for iss in [
        json!(format!("{}/", pool_issuer())),
        json!(format!("http://{POOL_NAME}")),
        json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
        json!(POOL_NAME),
        json!(5),
        Value::Null,
    ] {
        let mut c = id_claims("alice");
        c["iss"] = iss.clone();
        assert_eq!(
            s.check(&s.signer.token(&c)).await,
            refused(issuer_msg),
            "{iss}"
        );
    }
    // An access token: no aud, a client_id and token_use access.
    let mut access = id_claims("alice");
    let o = access.as_object_mut().unwrap();
    o.remove("aud");
    o.insert("client_id".into(), CLIENT.into());
    o.insert("token_use".into(), "access".into());
    assert_eq!(
        s.check(&s.signer.token(&access)).await,
        refused("Invalid login token. Missing a required claim: aud")
    );
    let mut c = id_claims("alice");
    c["token_use"] = "access".into();
    assert_eq!(
        s.check(&s.signer.token(&c)).await,
        refused("Invalid login token. Invalid claim: token_use")
    );
    let mut c = id_claims("alice");
    c["aud"] = "another-client".into();
    assert_eq!(
        s.check(&s.signer.token(&c)).await,
        refused(UNSUPPORTED_PROVIDER)
    );
    for (aud, msg) in [
        (
            json!([]),
            "Invalid login token. Missing a required claim: aud",
        ),
        (json!([""]), "Invalid login token. Invalid claim: aud"),
        (json!(""), "Invalid login token. Invalid claim: aud"),
        (json!(7), "Invalid login token. Invalid claim: aud"),
    ] {
        let mut c = id_claims("alice");
        c["aud"] = aud;
        assert_eq!(s.check(&s.signer.token(&c)).await, refused(msg));
    }
    let mut c = id_claims("alice");
    c["aud"] = json!(["other", CLIENT]);
    assert_eq!(
        s.check(&s.signer.token(&c)).await.unwrap().client_id,
        CLIENT
    );
    let mut c = id_claims("alice");
    c.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        s.check(&s.signer.token(&c)).await,
        refused("Invalid login token. Missing a required claim: sub")
    );
}

#[tokio::test]
async fn tampering_and_foreign_signers_are_refused() {
    let s = setup();
    let genuine = s.signer.token(&id_claims("alice"));
    let parts: Vec<&str> = genuine.split('.').collect();
    let forged = b64(id_claims("mallory").to_string().as_bytes());
    let t = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(s.check(&t).await, bad_signature());
    let mut sig_bytes = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig_bytes[10] ^= 1;
    let t = format!("{}.{}.{}", parts[0], parts[1], b64(&sig_bytes));
    assert_eq!(s.check(&t).await, bad_signature());
    let stranger = Signer::new("key-1");
    assert_eq!(
        s.check(&stranger.token(&id_claims("alice"))).await,
        bad_signature()
    );
}

#[tokio::test]
async fn oversized_and_pathological_tokens_are_refused_without_io() {
    let s = setup();
    let big = format!("{}x", "a".repeat(jwt::MAX_TOKEN_BYTES));
    assert_eq!(s.check(&big).await, bad_signature());
    assert_eq!(
        s.check(&".".repeat(jwt::MAX_TOKEN_BYTES)).await,
        bad_signature()
    );
    let mut c = id_claims("alice");
    c["pad"] = "p".repeat(jwt::MAX_TOKEN_BYTES).into();
    assert_eq!(s.check(&s.signer.token(&c)).await, bad_signature());
    // Deep nesting in the claims is refused by the parser's depth limit, not by a crash.
    let deep = format!(
        "{{\"sub\":\"a\",\"x\":{}{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let header = json!({"alg": "RS256", "kid": "key-1"}).to_string();
    let t = s.signer.sign_raw(&header, &deep);
    assert_eq!(s.check(&t).await, bad_signature());
    // A huge header.
    let header = json!({"alg": "RS256", "kid": "k".repeat(10_000)}).to_string();
    let t = s.signer.sign_raw(&header, &id_claims("alice").to_string());
    assert_eq!(s.check(&t).await, bad_signature());
    // JWE (five segments) and JSON serialization.
    assert_eq!(
        s.check("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d").await,
        bad_signature()
    );
    let json_form =
        json!({"payload": "e30", "signatures": [{"protected": "e30", "signature": "AA"}]});
    assert_eq!(s.check(&json_form.to_string()).await, bad_signature());
    assert_eq!(s.fetcher.total(), 0);
}

#[tokio::test]
async fn crit_b64_zip_duplicates_and_bad_encodings_are_refused() {
    let s = setup();
    let claims = id_claims("alice").to_string();
    for header in [
        json!({"alg": "RS256", "kid": "key-1", "crit": ["exp"], "exp": 1}).to_string(),
        json!({"alg": "RS256", "kid": "key-1", "b64": false, "crit": ["b64"]}).to_string(),
        json!({"alg": "RS256", "kid": "key-1", "zip": "DEF"}).to_string(),
        json!({"alg": "RS256", "kid": "key-1", "enc": "A256GCM"}).to_string(),
        r#"{"alg":"RS256","alg":"none","kid":"key-1"}"#.to_string(),
        r#"{"alg":"RS256","kid":"key-1","kid":"key-2"}"#.to_string(),
        r#"["RS256"]"#.to_string(),
        r#"{"alg":"RS256","kid":"key-1"} trailing"#.to_string(),
    ] {
        let t = s.signer.sign_raw(&header, &claims);
        assert_eq!(s.check(&t).await, bad_signature(), "{header}");
    }
    let header = json!({"alg": "RS256", "kid": "key-1"}).to_string();
    let aud = format!("\"aud\":\"{CLIENT}\"");
    for payload in [
        format!(
            r#"{{"sub":"alice","sub":"mallory",{aud},"iss":"{}","token_use":"id","exp":{}}}"#,
            pool_issuer(),
            NOW_S + 60
        ),
        format!(
            r#"{{"sub":"alice",{aud},{aud},"iss":"{}","token_use":"id","exp":{}}}"#,
            pool_issuer(),
            NOW_S + 60
        ),
        "[1,2]".to_string(),
        "\"text\"".to_string(),
        String::new(),
        format!("{claims} {{}}"),
    ] {
        let t = s.signer.sign_raw(&header, &payload);
        assert_eq!(s.check(&t).await, bad_signature(), "{payload}");
    }
    // Invalid UTF-8 in the claims.
    let input = format!("{}.{}", b64(header.as_bytes()), b64(b"{\"sub\":\"\xff\"}"));
    let t = format!("{input}.{}", b64(&[0u8; 256]));
    assert_eq!(s.check(&t).await, bad_signature());
    // Non-canonical base64url: padding, the standard alphabet, whitespace, unused bits.
    let genuine = s.signer.token(&id_claims("alice"));
    let (head, rest) = genuine.split_once('.').unwrap();
    for variant in [
        format!("{head}=.{rest}"),
        format!("{}.{rest}", head.replace('_', "/").replace('-', "+") + "+"),
        format!(" {head}.{rest}"),
        format!("{head}.{rest}\n"),
    ] {
        assert_eq!(s.check(&variant).await, bad_signature(), "{variant:.40}");
    }
    // "e30" is "{}"; "e31" decodes to the same bytes with an unused bit set.
    let payload = jwt::parse("eyJhbGciOiJSUzI1NiJ9.e30.AA").unwrap().payload;
    assert_eq!(payload, b"{}");
    assert!(jwt::parse("eyJhbGciOiJSUzI1NiJ9.e31.AA").is_err());
}

#[tokio::test]
async fn fetch_failures_are_external_errors_and_last_good_keys_keep_working() {
    let s = setup();
    s.fetcher.fail(
        &pool_jwks_url(),
        FetchError::Transport("connection refused".into()),
    );
    let t = s.signer.token(&id_claims("alice"));
    assert_eq!(
        s.check(&t).await,
        Err(TokenError::External(KEYS_UNAVAILABLE.into()))
    );
    // Within the cool-down the failure is not retried.
    assert_eq!(
        s.check(&t).await,
        Err(TokenError::External(KEYS_UNAVAILABLE.into()))
    );
    assert_eq!(s.fetcher.total(), 1);
    s.fetcher
        .serve(&pool_jwks_url(), key_set(&[s.signer.jwk()]));
    let later = NOW_MS + 31_000;
    s.check_at(&t, later).await.unwrap();
    // The provider goes down after the TTL: known keys still verify, an unknown kid fails.
    s.fetcher.fail(&pool_jwks_url(), FetchError::Status(503));
    let much_later = later + 3_600_000;
    let mut c = id_claims("alice");
    c["exp"] = (much_later / 1000 + 60).into();
    s.check_at(&s.signer.token(&c), much_later).await.unwrap();
    let header = json!({"alg": "RS256", "kid": "unknown"});
    let t = s.signer.token_with_header(&header, &c);
    assert_eq!(s.check_at(&t, much_later + 40_000).await, bad_signature());
}

#[tokio::test]
async fn overrides_point_a_user_pool_at_a_self_hosted_issuer() {
    let fetcher = Arc::new(FakeFetcher::default());
    let signer = Signer::new("local-1");
    let local_issuer = "http://localhost:9229/us-east-1_Example";
    fetcher.serve(
        &format!("{local_issuer}/.well-known/jwks.json"),
        key_set(&[signer.jwk()]),
    );
    let settings = IdpSettings {
        overrides: vec![IdpOverride {
            provider: POOL_NAME.into(),
            issuer: Some(local_issuer.into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let idp = Idp::with_fetcher(settings, fetcher.clone());
    let v = UserPoolVerifier::new(&idp, POOL_NAME, vec![CLIENT.into()]);
    let mut c = id_claims("carol");
    c["iss"] = local_issuer.into();
    assert_eq!(
        v.verify(&idp, &signer.token(&c), NOW_MS)
            .await
            .unwrap()
            .subject,
        "carol"
    );
    // The AWS issuer is now the wrong one.
    assert_eq!(
        v.verify(&idp, &signer.token(&id_claims("carol")), NOW_MS)
            .await,
        refused(ISSUER_MISMATCH)
    );
    // A provider name on this machine is its own issuer, over plain HTTP.
    let v = UserPoolVerifier::new(&idp, "127.0.0.1:9229/us-east-1_Local", vec![CLIENT.into()]);
    assert_eq!(v.issuer, "http://127.0.0.1:9229/us-east-1_Local");
    assert_eq!(
        v.keys,
        KeySource::Jwks("http://127.0.0.1:9229/us-east-1_Local/.well-known/jwks.json".into())
    );
    // A non-loopback http key URL is refused without a fetch.
    let settings = IdpSettings {
        overrides: vec![IdpOverride {
            provider: POOL_NAME.into(),
            jwks_url: Some("http://keys.internal/jwks.json".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let idp = Idp::with_fetcher(settings, fetcher.clone());
    let v = UserPoolVerifier::new(&idp, POOL_NAME, vec![CLIENT.into()]);
    let before = fetcher.total();
    assert_eq!(
        v.verify(&idp, &signer.token(&id_claims("carol")), NOW_MS)
            .await,
        Err(TokenError::External(KEYS_UNAVAILABLE.into()))
    );
    assert_eq!(fetcher.total(), before);
}

const OIDC_ISSUER: &str = "https://login.example.com/tenant";

fn oidc_claims(sub: &str, aud: Value) -> Value {
    json!({"iss": OIDC_ISSUER, "sub": sub, "aud": aud, "iat": NOW_S, "exp": NOW_S + 600})
}

fn oidc_setup() -> (Arc<FakeFetcher>, Idp, Signer, OidcVerifier) {
    let fetcher = Arc::new(FakeFetcher::default());
    let signer = Signer::new("oidc-1");
    fetcher.serve(
        &format!("{OIDC_ISSUER}/.well-known/openid-configuration"),
        json!({"issuer": OIDC_ISSUER, "jwks_uri": "https://keys.example.com/tenant/jwks"})
            .to_string(),
    );
    fetcher.serve(
        "https://keys.example.com/tenant/jwks",
        key_set(&[signer.jwk()]),
    );
    let idp = Idp::with_fetcher(IdpSettings::default(), fetcher.clone());
    let v = OidcVerifier::for_iam_provider(&idp, OIDC_ISSUER, vec!["web".into(), "ios".into()]);
    (fetcher, idp, signer, v)
}

#[tokio::test]
async fn oidc_providers_use_discovery_and_check_azp_then_aud() {
    let (fetcher, idp, signer, v) = oidc_setup();
    let t = signer.token(&oidc_claims("u1", json!("web")));
    let got = v.verify(&idp, &t, NOW_MS).await.unwrap();
    assert_eq!(
        (got.subject.as_str(), got.client_id.as_str()),
        ("u1", "web")
    );
    assert_eq!(fetcher.total(), 2, "discovery, then keys");
    v.verify(&idp, &t, NOW_MS).await.unwrap();
    assert_eq!(fetcher.total(), 2, "both cached");
    let t = signer.token(&oidc_claims("u1", json!(["other", "ios"])));
    assert_eq!(v.verify(&idp, &t, NOW_MS).await.unwrap().client_id, "ios");
    let mut c = oidc_claims("u1", json!(["web", "other"]));
    c["azp"] = "other".into();
    assert_eq!(
        v.verify(&idp, &signer.token(&c), NOW_MS).await,
        refused(UNSUPPORTED_PROVIDER)
    );
    c["azp"] = "ios".into();
    assert_eq!(
        v.verify(&idp, &signer.token(&c), NOW_MS)
            .await
            .unwrap()
            .client_id,
        "ios"
    );
    let t = signer.token(&oidc_claims("u1", json!("nobody")));
    assert_eq!(
        v.verify(&idp, &t, NOW_MS).await,
        refused(UNSUPPORTED_PROVIDER)
    );
}

#[tokio::test]
async fn discovery_documents_must_name_their_issuer_and_a_safe_key_url() {
    for doc in [
        json!({"issuer": "https://evil.example.com", "jwks_uri": "https://keys.example.com/tenant/jwks"}),
        json!({"issuer": OIDC_ISSUER, "jwks_uri": "http://keys.example.com/jwks"}),
        json!({"issuer": OIDC_ISSUER, "jwks_uri": "file:///etc/passwd"}),
        json!({"issuer": OIDC_ISSUER}),
    ] {
        let (fetcher, idp, signer, v) = oidc_setup();
        fetcher.serve(
            &format!("{OIDC_ISSUER}/.well-known/openid-configuration"),
            doc.to_string(),
        );
        let t = signer.token(&oidc_claims("u1", json!("web")));
        assert_eq!(
            v.verify(&idp, &t, NOW_MS).await,
            Err(TokenError::External(KEYS_UNAVAILABLE.into())),
            "{doc}"
        );
        assert!(
            fetcher
                .urls()
                .iter()
                .all(|u| !u.contains("jwks") || u.starts_with("https://keys.example.com/tenant"))
        );
    }
}

#[tokio::test]
async fn google_and_apple_presets_know_their_issuers() {
    let fetcher = Arc::new(FakeFetcher::default());
    let signer = Signer::new("g1");
    fetcher.serve(
        "https://www.googleapis.com/oauth2/v3/certs",
        key_set(&[signer.jwk()]),
    );
    fetcher.serve(
        "https://appleid.apple.com/auth/keys",
        key_set(&[signer.jwk()]),
    );
    let idp = Idp::with_fetcher(IdpSettings::default(), fetcher.clone());
    let google = presets::verifier(&idp, presets::GOOGLE, "web.apps, android.apps").unwrap();
    for iss in ["https://accounts.google.com", "accounts.google.com"] {
        let c = json!({"iss": iss, "sub": "g-1", "aud": "web.apps", "azp": "android.apps",
            "iat": NOW_S, "exp": NOW_S + 600});
        let got = google
            .verify(&idp, &signer.token(&c), NOW_MS)
            .await
            .unwrap();
        assert_eq!(got.client_id, "android.apps");
    }
    let c = json!({"iss": "https://appleid.apple.com", "sub": "a-1", "aud": "web.apps",
        "iat": NOW_S, "exp": NOW_S + 600});
    assert!(
        google
            .verify(&idp, &signer.token(&c), NOW_MS)
            .await
            .is_err()
    );
    let apple = presets::verifier(&idp, presets::APPLE, "com.example.app").unwrap();
    let c = json!({"iss": "https://appleid.apple.com", "sub": "a-1", "aud": "com.example.app",
        "iat": NOW_S, "exp": NOW_S + 600});
    assert_eq!(
        apple
            .verify(&idp, &signer.token(&c), NOW_MS)
            .await
            .unwrap()
            .subject,
        "a-1"
    );
    assert!(presets::verifier(&idp, "graph.facebook.com", "123").is_none());
}

/// Serves one JSON document over plain HTTP on a loopback port and counts connections.
async fn loopback_server(body: String) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        // Bounded: the test makes a handful of requests at most.
        for _ in 0..16 {
            let Ok((mut sock, _)) = listener.accept().await else {
                break;
            };
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test]
async fn over_real_http_a_jku_header_causes_no_connection() {
    let signer = Signer::new("k1");
    let attacker = Signer::new("k1");
    let (legit, legit_hits) = loopback_server(key_set(&[signer.jwk()])).await;
    let (evil, evil_hits) = loopback_server(key_set(&[attacker.jwk()])).await;
    let pool = format!("{}/us-east-1_Loop", legit.trim_start_matches("http://"));
    let idp = Idp::new(IdpSettings::default());
    let v = UserPoolVerifier::new(&idp, &pool, vec![CLIENT.into()]);
    let claims = |sub: &str| {
        let mut c = id_claims(sub);
        c["iss"] = format!("{legit}/us-east-1_Loop").into();
        c
    };
    // Served at <issuer>/.well-known/jwks.json; the loopback server answers any path.
    assert_eq!(
        v.verify(&idp, &signer.token(&claims("alice")), NOW_MS)
            .await
            .unwrap()
            .subject,
        "alice"
    );
    let header = json!({"alg": "RS256", "kid": "k1", "jku": format!("{evil}/jwks"),
        "x5u": format!("{evil}/cert")});
    let t = attacker.token_with_header(&header, &claims("mallory"));
    assert_eq!(v.verify(&idp, &t, NOW_MS).await, bad_signature());
    assert_eq!(evil_hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(legit_hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// The user pool API's users for [`fake_user_pool`]: username → enabled.
pub(crate) type PoolUsers = Arc<Mutex<HashMap<String, bool>>>;

pub(crate) const POOL_ID: &str = "us-east-1_Example";
pub(crate) const USER_POOL_API: &str = "https://cognito-idp.us-east-1.amazonaws.com/";

/// A stand-in user pool API at `url`: it refuses a call whose SigV4 signature does not check
/// out (as AWS does, with a 400 naming the problem), then answers AdminGetUser from `users`.
pub(crate) fn fake_user_pool(
    url: &'static str,
    users: PoolUsers,
) -> impl Fn(&Request) -> Result<Answer, FetchError> + Send + Sync + 'static {
    move |r: &Request| {
        let answer = |status: u16, body: Value| {
            Ok(Answer {
                status,
                body: body.to_string().into_bytes(),
            })
        };
        assert_eq!(r.method, super::jwks::Method::Post);
        assert_eq!(r.url, url);
        assert_eq!(
            r.header_value("x-amz-target"),
            Some("AWSCognitoIdentityProviderService.AdminGetUser")
        );
        assert_eq!(
            r.header_value("content-type"),
            Some("application/x-amz-json-1.1")
        );
        if super::aws_sign::tests::verify_at(r, None, "us-east-1", NOW_MS).is_err() {
            return answer(
                400,
                json!({"__type": "InvalidSignatureException", "message": "Signature mismatch"}),
            );
        }
        let input: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(input["UserPoolId"], POOL_ID);
        let name = input["Username"].as_str().unwrap();
        match users.lock().unwrap().get(name) {
            Some(enabled) => answer(
                200,
                json!({"Username": name, "Enabled": enabled, "UserStatus": "CONFIRMED",
                    "UserAttributes": [{"Name": "sub", "Value": name}]}),
            ),
            None => answer(
                400,
                json!({"__type": "com.amazonaws.cognito#UserNotFoundException",
                    "message": "User does not exist."}),
            ),
        }
    }
}

struct CheckSetup {
    fetcher: Arc<FakeFetcher>,
    idp: Idp,
    signer: Signer,
    users: PoolUsers,
}

fn check_setup(creds: Option<super::aws_sign::AwsCredentials>) -> CheckSetup {
    let fetcher = Arc::new(FakeFetcher::default());
    let signer = Signer::new("key-1");
    fetcher.serve(&pool_jwks_url(), key_set(&[signer.jwk()]));
    let users: PoolUsers = Arc::new(Mutex::new(HashMap::from([
        ("alice".to_string(), true),
        ("bob".to_string(), true),
    ])));
    fetcher.respond(fake_user_pool(USER_POOL_API, users.clone()));
    let settings = IdpSettings {
        user_pool_credentials: creds,
        ..Default::default()
    };
    CheckSetup {
        idp: Idp::with_fetcher(settings, fetcher.clone()),
        fetcher,
        signer,
        users,
    }
}

impl CheckSetup {
    async fn check(&self, sub: &str, checked: &[&str]) -> Result<VerifiedToken, TokenError> {
        let v = UserPoolVerifier::new(&self.idp, POOL_NAME, vec![CLIENT.into(), "other".into()])
            .checking_users_of(checked.iter().map(|c| c.to_string()).collect());
        v.verify(&self.idp, &self.signer.token(&id_claims(sub)), NOW_MS)
            .await
    }

    fn calls(&self) -> usize {
        self.fetcher.count(USER_POOL_API)
    }
}

#[tokio::test]
async fn a_user_pool_outside_aws_is_never_asked_with_the_operators_aws_credentials() {
    // Whoever configures a pool could name any issuer; without an explicit user_pool_api_url
    // the check must not sign AdminGetUser to AWS on its behalf.
    let s = check_setup(Some(super::aws_sign::tests::creds(None)));
    for name in [
        "127.0.0.1:9229/us-east-1_abc",
        "attacker.example/us-east-1_Pool",
        "cognito-idp.us-east-1.amazonaws.com.evil.example/us-east-1_abc",
    ] {
        let v = UserPoolVerifier::new(&s.idp, name, vec![CLIENT.into()]);
        assert_eq!(v.api_url, None, "{name}");
    }
    let v = UserPoolVerifier::new(
        &s.idp,
        "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
        vec![CLIENT.into()],
    );
    assert_eq!(
        v.api_url.as_deref(),
        Some("https://cognito-idp.eu-west-1.amazonaws.com/")
    );
}

#[tokio::test]
async fn server_side_check_asks_the_user_pool_with_a_signed_admin_get_user() {
    let s = check_setup(Some(super::aws_sign::tests::creds(None)));
    let v = UserPoolVerifier::new(&s.idp, POOL_NAME, vec![CLIENT.into()]);
    assert_eq!(
        (v.pool_id.as_str(), v.region.as_str()),
        (POOL_ID, "us-east-1")
    );
    assert_eq!(v.api_url.as_deref(), Some(USER_POOL_API));

    // Off for this client (the check belongs to another entry): no call.
    assert_eq!(s.check("alice", &["other"]).await.unwrap().subject, "alice");
    assert_eq!(s.calls(), 0);
    assert_eq!(s.check("alice", &[CLIENT]).await.unwrap().subject, "alice");
    assert_eq!(s.calls(), 1);
    let sent = s.fetcher.sent();
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body, json!({"UserPoolId": POOL_ID, "Username": "alice"}));
    let auth = sent[0].header_value("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDUSERPOOLCHECK001/"),
        "{auth}"
    );
    assert!(
        auth.contains("/us-east-1/cognito-idp/aws4_request"),
        "{auth}"
    );
}

#[tokio::test]
async fn deleted_and_disabled_users_are_refused() {
    let s = check_setup(Some(super::aws_sign::tests::creds(None)));
    let gone = Err(TokenError::NotAuthorized(
        super::cognito_user_pool::USER_GONE.into(),
    ));
    s.users.lock().unwrap().remove("alice");
    assert_eq!(s.check("alice", &[CLIENT]).await, gone);
    s.users.lock().unwrap().insert("bob".into(), false);
    assert_eq!(s.check("bob", &[CLIENT]).await, gone);
    s.users.lock().unwrap().insert("bob".into(), true);
    assert!(s.check("bob", &[CLIENT]).await.is_ok());
    // The same genuine token is still fine where the pool does not ask for the check.
    assert!(s.check("alice", &[]).await.is_ok());

    // A token without `cognito:username` cannot be checked.
    let mut claims = id_claims("carol");
    claims.as_object_mut().unwrap().remove("cognito:username");
    let v = UserPoolVerifier::new(&s.idp, POOL_NAME, vec![CLIENT.into()])
        .checking_users_of(vec![CLIENT.into()]);
    assert_eq!(
        v.verify(&s.idp, &s.signer.token(&claims), NOW_MS).await,
        refused("Invalid login token. Missing a required claim: cognito:username")
    );
}

/// User pools let a deleted user's name be taken again: the newcomer is another user (another
/// `sub`), and the deleted user's still-live token must not pass as theirs.
#[tokio::test]
async fn a_recreated_username_does_not_revive_the_deleted_users_token() {
    let s = check_setup(Some(super::aws_sign::tests::creds(None)));
    let answer_with_sub = |sub: &'static str| {
        move |_: &Request| {
            Ok(Answer {
                status: 200,
                body: json!({"Username": "alice", "Enabled": true, "UserStatus": "CONFIRMED",
                    "UserAttributes": [{"Name": "email", "Value": "a@example.com"},
                                       {"Name": "sub", "Value": sub}]})
                .to_string()
                .into_bytes(),
            })
        }
    };
    s.fetcher.respond(answer_with_sub("alice-again"));
    assert_eq!(
        s.check("alice", &[CLIENT]).await,
        Err(TokenError::NotAuthorized(
            super::cognito_user_pool::USER_GONE.into()
        ))
    );
    s.fetcher.respond(answer_with_sub("alice"));
    assert!(s.check("alice", &[CLIENT]).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_or_refusing_user_pool_is_an_external_failure() {
    let down = Err(TokenError::External(
        super::cognito_user_pool::USER_POOL_UNAVAILABLE.into(),
    ));
    // No credentials configured: nothing is sent.
    let s = check_setup(None);
    assert_eq!(s.check("alice", &[CLIENT]).await, down);
    assert_eq!(s.calls(), 0);

    // Credentials the user pool does not accept (here: a session token it never issued).
    let s = check_setup(Some(super::aws_sign::tests::creds(Some("forged"))));
    assert_eq!(s.check("alice", &[CLIENT]).await, down);
    assert_eq!(s.calls(), 1);

    let s = check_setup(Some(super::aws_sign::tests::creds(None)));
    for outcome in [
        Ok((500, r#"{"__type":"InternalErrorException"}"#)),
        Ok((400, r#"{"__type":"TooManyRequestsException"}"#)),
        Ok((400, r#"{"__type":"ResourceNotFoundException"}"#)),
        Ok((200, "not json")),
        Err(FetchError::Transport("operation timed out".into())),
        Err(FetchError::TooLarge),
    ] {
        let o = outcome.clone();
        s.fetcher.respond(move |_| {
            o.clone().map(|(status, body)| Answer {
                status,
                body: body.as_bytes().to_vec(),
            })
        });
        assert_eq!(s.check("alice", &[CLIENT]).await, down, "{outcome:?}");
    }
}

#[tokio::test]
async fn the_user_pool_api_can_be_moved() {
    let fetcher = Arc::new(FakeFetcher::default());
    let signer = Signer::new("key-1");
    fetcher.serve(&pool_jwks_url(), key_set(&[signer.jwk()]));
    let users: PoolUsers = Arc::new(Mutex::new(HashMap::from([("alice".to_string(), true)])));
    fetcher.respond(fake_user_pool("http://127.0.0.1:9229/", users));
    let settings = IdpSettings {
        overrides: vec![IdpOverride {
            provider: POOL_NAME.into(),
            user_pool_api_url: Some("http://127.0.0.1:9229/".into()),
            ..Default::default()
        }],
        user_pool_credentials: Some(super::aws_sign::tests::creds(None)),
        ..Default::default()
    };
    let idp = Idp::with_fetcher(settings, fetcher.clone());
    let v = UserPoolVerifier::new(&idp, POOL_NAME, vec![CLIENT.into()])
        .checking_users_of(vec![CLIENT.into()]);
    let token = signer.token(&id_claims("alice"));
    assert_eq!(
        v.verify(&idp, &token, NOW_MS).await.unwrap().subject,
        "alice"
    );
    assert_eq!(fetcher.count("http://127.0.0.1:9229/"), 1);

    // Plain HTTP off this machine needs the operator's consent.
    let settings = IdpSettings {
        overrides: vec![IdpOverride {
            provider: POOL_NAME.into(),
            user_pool_api_url: Some("http://user-pool.internal/".into()),
            ..Default::default()
        }],
        user_pool_credentials: Some(super::aws_sign::tests::creds(None)),
        ..Default::default()
    };
    let idp = Idp::with_fetcher(settings, fetcher.clone());
    let v = UserPoolVerifier::new(&idp, POOL_NAME, vec![CLIENT.into()])
        .checking_users_of(vec![CLIENT.into()]);
    assert_eq!(
        v.verify(&idp, &token, NOW_MS).await,
        Err(TokenError::External(
            super::cognito_user_pool::USER_POOL_UNAVAILABLE.into()
        ))
    );
}
