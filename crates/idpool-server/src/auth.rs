//! Who may sign: the account's root key pair, from settings or generated once (design.md "Who may call what").

use std::io::Write;
use std::path::Path;

use idpool_wire::sigv4::{CredentialError, SecretKey, SecretLookup};

use idpool_core::sts::Caller;

use crate::config::RootCredentials;

/// The keys signed requests are checked against: root's, and every session idpool sealed.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub root: RootCredentials,
}

/// One request's view of [`Credentials`]: it remembers which caller the signature turned out
/// to be, so the session is opened only once.
pub struct RequestCredentials<'a> {
    pub credentials: &'a Credentials,
    sessions: idpool_core::session::SessionLookup,
    root: std::sync::atomic::AtomicBool,
}

impl<'a> RequestCredentials<'a> {
    pub fn new(
        credentials: &'a Credentials,
        ring: std::sync::Arc<idpool_core::keys::KeyRing>,
        now_ms: i64,
    ) -> Self {
        RequestCredentials {
            credentials,
            sessions: idpool_core::session::SessionLookup::new(ring, now_ms),
            root: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The caller, once `verify` accepted the signature.
    pub fn take_caller(&self) -> Option<Caller> {
        if self.root.swap(false, std::sync::atomic::Ordering::Relaxed) {
            return Some(Caller::Root);
        }
        self.sessions
            .take_claims()
            .map(|claims| Caller::Session(Box::new(claims)))
    }
}

impl SecretLookup for RequestCredentials<'_> {
    fn secret_for(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<SecretKey, CredentialError> {
        // Root keys are long-term: a session token alongside them is a forged pair, which the
        // session lookup refuses since no sealed token names root's key id.
        if session_token.is_none() && access_key_id == self.credentials.root.access_key_id {
            self.root.store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(SecretKey::new(
                self.credentials.root.secret_access_key.as_str(),
            ));
        }
        self.sessions.secret_for(access_key_id, session_token)
    }
}

const ROOT_FILE: &str = "root-credentials.json";

/// Root credentials from settings, else from the data directory, else new ones saved there
/// with mode 0600. The bool says whether they were just generated (and so must be shown once).
pub fn load_or_create_root(
    configured: Option<RootCredentials>,
    data_dir: &Path,
) -> std::io::Result<(RootCredentials, bool)> {
    if let Some(c) = configured {
        return Ok((c, false));
    }
    let path = data_dir.join(ROOT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            let id = v["AccessKeyId"].as_str().unwrap_or_default().to_string();
            let secret = v["SecretAccessKey"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if id.is_empty() || secret.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is incomplete", path.display()),
                ));
            }
            Ok((
                RootCredentials {
                    access_key_id: id,
                    secret_access_key: secret.into(),
                },
                false,
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let creds = RootCredentials {
                access_key_id: format!(
                    "AKIA{}",
                    random_chars(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                ),
                secret_access_key: random_chars(
                    40,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                )
                .into(),
            };
            let text = serde_json::json!({
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key.as_str(),
            })
            .to_string();
            write_private(&path, text.as_bytes())?;
            Ok((creds, true))
        }
        Err(e) => Err(e),
    }
}

/// Writes a file only its owner can read, created that way so no other user ever sees it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn random_chars(n: usize, alphabet: &[u8]) -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut buf = vec![0u8; n];
    // The system RNG only fails when the OS has no entropy source; nothing sensible continues then.
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("system random number generator");
    buf.iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_then_reused_with_private_mode() {
        let dir = std::env::temp_dir().join(format!("idpool-root-{}", uuid::Uuid::new_v4()));
        let (a, fresh) = load_or_create_root(None, &dir).unwrap();
        assert!(fresh);
        assert!(a.access_key_id.starts_with("AKIA") && a.access_key_id.len() == 20);
        assert_eq!(a.secret_access_key.len(), 40);
        let mode = std::fs::metadata(dir.join(ROOT_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (b, fresh) = load_or_create_root(None, &dir).unwrap();
        assert!(!fresh);
        assert_eq!(a.access_key_id, b.access_key_id);
        assert_eq!(a.secret_access_key.as_str(), b.secret_access_key.as_str());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn lookup_accepts_root_and_sealed_sessions_only() {
        let c = Credentials {
            root: RootCredentials {
                access_key_id: "AKIDROOT".into(),
                secret_access_key: "s".to_string().into(),
            },
        };
        let row = idpool_store::KeyRow {
            kind: idpool_core::keys::KIND_SESSION.into(),
            id: 1,
            created_ms: 0,
            material: vec![3u8; 64],
        };
        let ring = idpool_core::keys::KeyRing::from_rows(&[row], "us-east-1").unwrap();
        let ring = std::sync::Arc::new(ring);
        let rc = RequestCredentials::new(&c, ring.clone(), 1_000);
        assert!(rc.secret_for("AKIDROOT", None).is_ok());
        assert!(matches!(rc.take_caller(), Some(Caller::Root)));
        assert!(matches!(
            rc.secret_for("AKIDOTHER", None),
            Err(CredentialError::UnknownAccessKey)
        ));
        assert!(matches!(
            rc.secret_for("AKIDROOT", Some("t")),
            Err(CredentialError::InvalidSessionToken)
        ));
        let akid = idpool_core::session::new_access_key_id().unwrap();
        let claims = idpool_core::session::SessionClaims {
            access_key_id: akid.clone(),
            identity_id: None,
            pool_id: None,
            role_arn: "arn:aws:iam::000000000000:role/R".into(),
            role_id: "AROAX".into(),
            session_name: "s".into(),
            issued_ms: 0,
            expires_ms: 2_000,
            tags: Default::default(),
            session_policies: vec![],
            amr: vec![],
            provider: None,
        };
        let issued = idpool_core::session::issue(&ring, &claims).unwrap();
        let secret = rc.secret_for(&akid, Some(&issued.session_token)).unwrap();
        assert_eq!(secret.expose_secret(), issued.secret_access_key);
        assert!(matches!(rc.take_caller(), Some(Caller::Session(_))));
        let late = RequestCredentials::new(&c, ring, 2_000);
        assert!(matches!(
            late.secret_for(&akid, Some(&issued.session_token)),
            Err(CredentialError::ExpiredSessionToken)
        ));
    }
}
