//! The key ring: OpenID signing keys and session sealing keys, created on first start, kept in
//! the store, rotated without breaking what they already issued (design.md "Credentials are sealed").

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idpool_store::KeyRow;

/// Kind names as stored.
pub const KIND_OPENID: &str = "openid-rs512";
pub const KIND_SESSION: &str = "session-v1";

/// How long a superseded key keeps verifying: longer than anything it can have issued
/// (developer tokens live up to 24 h, basic-flow sessions up to 12 h).
pub const RETIRED_KEY_GRACE_MS: i64 = 25 * 3600 * 1000;

/// An RSA key that signs our OpenID tokens, held parsed because signing is the most expensive
/// thing the server does (design.md "Our OpenID tokens").
pub struct OpenIdKey {
    pub id: u32,
    /// `<region>-<id>`, as AWS names its keys.
    pub kid: String,
    pub created_ms: i64,
    pub pair: RsaKeyPair,
    /// Public key as (n, e) big-endian bytes without leading zeros.
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    /// The public half, parsed once for verification.
    pub verifier: aws_lc_rs::signature::ParsedPublicKey,
}

/// A sealing key for session tokens plus the key that derives secret keys from access key ids.
pub struct SessionKey {
    pub id: u32,
    pub created_ms: i64,
    pub seal: aws_lc_rs::aead::LessSafeKey,
    pub derive: aws_lc_rs::hmac::Key,
}

/// All keys, newest last in each list. Cheap to share: held in an `Arc`.
pub struct KeyRing {
    pub openid: Vec<OpenIdKey>,
    pub session: Vec<SessionKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field(
                "openid",
                &self.openid.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .field(
                "session",
                &self.session.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("store: {0}")]
    Store(#[from] idpool_store::StoreError),
    #[error("stored key {kind}/{id} cannot be used")]
    Corrupt { kind: String, id: u32 },
    #[error("key generation failed")]
    Generation,
}

impl KeyRing {
    /// The key new tokens are signed with.
    pub fn current_openid(&self) -> Option<&OpenIdKey> {
        self.openid.last()
    }

    pub fn openid_by_kid(&self, kid: &str) -> Option<&OpenIdKey> {
        self.openid.iter().find(|k| k.kid == kid)
    }

    pub fn current_session(&self) -> Option<&SessionKey> {
        self.session.last()
    }

    pub fn session_by_id(&self, id: u32) -> Option<&SessionKey> {
        self.session.iter().find(|k| k.id == id)
    }

    /// The JWKS document published at `/.well-known/jwks_uri`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .openid
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "RSA",
                    "alg": "RS512",
                    "use": "sig",
                    "kid": k.kid,
                    "n": URL_SAFE_NO_PAD.encode(&k.modulus),
                    "e": URL_SAFE_NO_PAD.encode(&k.exponent),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Builds the ring from stored rows; kinds from a newer version are skipped.
    pub fn from_rows(rows: &[KeyRow], region: &str) -> Result<KeyRing, KeyError> {
        let mut ring = KeyRing {
            openid: Vec::new(),
            session: Vec::new(),
        };
        let mut rows: Vec<&KeyRow> = rows.iter().collect();
        rows.sort_by_key(|r| (r.created_ms, r.id));
        for r in rows {
            let corrupt = || KeyError::Corrupt {
                kind: r.kind.clone(),
                id: r.id,
            };
            match r.kind.as_str() {
                KIND_OPENID => {
                    let pair = RsaKeyPair::from_pkcs8(&r.material).map_err(|_| corrupt())?;
                    let public = pair.public_key();
                    let modulus = public.modulus().big_endian_without_leading_zero().to_vec();
                    let exponent = public.exponent().big_endian_without_leading_zero().to_vec();
                    let verifier = aws_lc_rs::signature::ParsedPublicKey::new(
                        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA512,
                        public.as_ref(),
                    )
                    .map_err(|_| corrupt())?;
                    ring.openid.push(OpenIdKey {
                        id: r.id,
                        kid: format!("{region}-{}", r.id),
                        created_ms: r.created_ms,
                        pair,
                        modulus,
                        exponent,
                        verifier,
                    });
                }
                KIND_SESSION => {
                    if r.material.len() != 64 {
                        return Err(corrupt());
                    }
                    let unbound = aws_lc_rs::aead::UnboundKey::new(
                        &aws_lc_rs::aead::AES_256_GCM,
                        &r.material[..32],
                    )
                    .map_err(|_| corrupt())?;
                    ring.session.push(SessionKey {
                        id: r.id,
                        created_ms: r.created_ms,
                        seal: aws_lc_rs::aead::LessSafeKey::new(unbound),
                        derive: aws_lc_rs::hmac::Key::new(
                            aws_lc_rs::hmac::HMAC_SHA256,
                            &r.material[32..],
                        ),
                    });
                }
                // Kinds from a newer version are left for that version.
                _ => {}
            }
        }
        Ok(ring)
    }
}

fn new_openid_row(id: u32, now_ms: i64) -> Result<KeyRow, KeyError> {
    let pair =
        RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
    let der = pair.as_der().map_err(|_| KeyError::Generation)?;
    Ok(KeyRow {
        kind: KIND_OPENID.into(),
        id,
        created_ms: now_ms,
        material: der.as_ref().to_vec(),
    })
}

fn new_session_row(id: u32, now_ms: i64) -> Result<KeyRow, KeyError> {
    let mut material = vec![0u8; 64];
    SystemRandom::new()
        .fill(&mut material)
        .map_err(|_| KeyError::Generation)?;
    Ok(KeyRow {
        kind: KIND_SESSION.into(),
        id,
        created_ms: now_ms,
        material,
    })
}

fn next_id(rows: &[KeyRow], kind: &str) -> u32 {
    rows.iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.id)
        .max()
        .unwrap_or(0)
        + 1
}

/// Loads the ring, creating the first key of each kind when there is none. Two instances
/// starting together may race: the loser's insert conflicts and it reloads the winner's keys.
pub async fn load_or_init(
    store: &dyn idpool_store::Store,
    region: &str,
    now_ms: i64,
) -> Result<Arc<KeyRing>, KeyError> {
    let rows = store.list_keys().await?;
    let mut created = false;
    for kind in [KIND_OPENID, KIND_SESSION] {
        if !rows.iter().any(|r| r.kind == kind) {
            let row = if kind == KIND_OPENID {
                new_openid_row(1, now_ms)?
            } else {
                new_session_row(1, now_ms)?
            };
            match store.insert_key(&row).await {
                Ok(()) | Err(idpool_store::StoreError::Conflict) => created = true,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let rows = if created {
        store.list_keys().await?
    } else {
        rows
    };
    Ok(Arc::new(KeyRing::from_rows(&rows, region)?))
}

/// Adds a new key of each kind (new tokens use it at once) and drops keys superseded more than
/// [`RETIRED_KEY_GRACE_MS`] ago. Returns the reloaded ring.
pub async fn rotate(
    store: &dyn idpool_store::Store,
    region: &str,
    now_ms: i64,
) -> Result<Arc<KeyRing>, KeyError> {
    let rows = store.list_keys().await?;
    for kind in [KIND_OPENID, KIND_SESSION] {
        let id = next_id(&rows, kind);
        let row = if kind == KIND_OPENID {
            new_openid_row(id, now_ms)?
        } else {
            new_session_row(id, now_ms)?
        };
        store.insert_key(&row).await?;
        // A key stops being needed once its successor has been current for the grace period.
        let mut of_kind: Vec<&KeyRow> = rows.iter().filter(|r| r.kind == kind).collect();
        of_kind.sort_by_key(|r| (r.created_ms, r.id));
        for pair in of_kind.windows(2) {
            if now_ms - pair[1].created_ms > RETIRED_KEY_GRACE_MS {
                store.delete_key(kind, pair[0].id).await?;
            }
        }
    }
    let rows = store.list_keys().await?;
    Ok(Arc::new(KeyRing::from_rows(&rows, region)?))
}

/// Reloads the ring from the store (after another instance rotated).
pub async fn reload(
    store: &dyn idpool_store::Store,
    region: &str,
) -> Result<Arc<KeyRing>, KeyError> {
    let rows = store.list_keys().await?;
    Ok(Arc::new(KeyRing::from_rows(&rows, region)?))
}

/// A holder that lets request handlers read the ring without locking for long and lets a
/// reload swap it.
#[derive(Debug)]
pub struct SharedKeyRing(std::sync::RwLock<Arc<KeyRing>>);

impl SharedKeyRing {
    pub fn new(ring: Arc<KeyRing>) -> Self {
        SharedKeyRing(std::sync::RwLock::new(ring))
    }

    pub fn get(&self) -> Arc<KeyRing> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, ring: Arc<KeyRing>) {
        match self.0.write() {
            Ok(mut g) => *g = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
    }
}
