//! Google and Sign in with Apple as OpenID Connect providers with fixed issuers and key set URLs (spec §3.3).

use super::oidc::OidcVerifier;
use super::{Idp, KeySource};

pub const GOOGLE: &str = "accounts.google.com";
pub const APPLE: &str = "appleid.apple.com";

const GOOGLE_JWKS: &str = "https://www.googleapis.com/oauth2/v3/certs";
const APPLE_JWKS: &str = "https://appleid.apple.com/auth/keys";

/// The verifier for a `SupportedLoginProviders` entry of Google or Apple; `None` for other
/// names. The configured value may list several client ids separated by commas.
pub fn verifier(idp: &Idp, provider: &str, configured: &str) -> Option<OidcVerifier> {
    let (issuers, jwks) = match provider {
        // Google issues both forms of its issuer.
        GOOGLE => (
            vec![format!("https://{GOOGLE}"), GOOGLE.to_string()],
            GOOGLE_JWKS,
        ),
        APPLE => (vec![format!("https://{APPLE}")], APPLE_JWKS),
        _ => return None,
    };
    let client_ids = configured
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let over = idp.override_for(provider);
    let issuers = match over.and_then(|o| o.issuer.clone()) {
        Some(i) => vec![i.trim_end_matches('/').to_string()],
        None => issuers,
    };
    let keys = match (
        over.and_then(|o| o.jwks_url.clone()),
        over.and_then(|o| o.discovery_url.clone()),
    ) {
        (Some(url), _) => KeySource::Jwks(url),
        (None, Some(url)) => KeySource::Discovery {
            url,
            issuer: issuers.first().cloned().unwrap_or_default(),
        },
        (None, None) => KeySource::Jwks(jwks.to_string()),
    };
    Some(OidcVerifier {
        issuers,
        client_ids,
        keys,
        allow_http: over.is_some_and(|o| o.allow_http),
    })
}
