//! Several idpool instances on one PostgreSQL database: identities, tokens and credentials of one are good on the other, across a key rotation (design.md "Tests", spec §4.11, §4.12).

use crate::fixtures::{developer_pool, developer_token, guest_identity, jwt, standard_roles};
use crate::helpers::TestServer;

const COGNITO: &str = "cognito-identity.amazonaws.com";

/// Temporary credentials: (AccessKeyId, SecretKey, SessionToken).
type Keys = (String, String, String);

/// GetCredentialsForIdentity on `s`, with a developer token as the login when given.
async fn credentials(s: &TestServer, identity: &str, token: Option<&str>) -> Keys {
    let mut call = s
        .unsigned
        .get_credentials_for_identity()
        .identity_id(identity);
    if let Some(token) = token {
        call = call.logins(COGNITO, token);
    }
    let c = call
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetCredentialsForIdentity on {}: {e:?}", s.addr))
        .credentials
        .expect("Credentials");
    (
        c.access_key_id.expect("AccessKeyId"),
        c.secret_key.expect("SecretKey"),
        c.session_token.expect("SessionToken"),
    )
}

/// The ARN GetCallerIdentity on `s` reports for a caller signing with `keys`.
async fn caller(s: &TestServer, keys: &Keys) -> String {
    let (id, secret, token) = keys;
    let sts = aws_sdk_sts::Client::new(&s.config_as(Some((id, secret, Some(token)))).await);
    sts.get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetCallerIdentity on {}: {e:?}", s.addr))
        .arn
        .expect("Arn")
}

#[tokio::test]
async fn two_instances_share_identities_tokens_credentials_and_key_rotation() {
    let a = TestServer::start().await;
    let Some(b) = a.second_instance().await else {
        eprintln!(
            "note: skipping the two-instance test: it needs the PostgreSQL engine \
             (IDPOOL_TEST_ENGINE=postgres with IDPOOL_TEST_POSTGRES_URL)"
        );
        return;
    };
    let pool = developer_pool(&a, true).await;
    let roles = standard_roles(&a, &pool).await;

    // An identity made through A is known to B.
    let guest = guest_identity(&a, &pool).await;
    let guest_keys = credentials(&b, &guest, None).await;
    assert!(caller(&a, &guest_keys).await.contains(&roles.guest.name));

    // A's developer token is a valid login on B, and A's credentials sign requests to B.
    let (ann, old_token) = developer_token(&a, &pool, "ann").await;
    let from_b = credentials(&b, &ann, Some(&old_token)).await;
    let old_keys = credentials(&a, &ann, Some(&old_token)).await;
    for s in [&a, &b] {
        assert!(
            caller(s, &old_keys)
                .await
                .contains(&roles.authenticated.name)
        );
        assert!(caller(s, &from_b).await.contains(&roles.authenticated.name));
    }
    let old_kid = jwt(&old_token).0["kid"].clone();

    let kids = idpool_server::rotate_keys(&a.settings())
        .await
        .expect("rotate_keys while both instances run");
    assert!(kids.len() >= 2, "{kids:?}");
    // What both issued before the rotation is still good on both, reloaded or not.
    for s in [&a, &b] {
        credentials(s, &ann, Some(&old_token)).await;
        caller(s, &old_keys).await;
    }
    a.reload_keys().await;

    let (same, new_token) = developer_token(&a, &pool, "ann").await;
    assert_eq!(same, ann);
    assert_ne!(
        jwt(&new_token).0["kid"],
        old_kid,
        "A signs with the new key"
    );
    // B has not reloaded yet, but a token or credentials made with a key it lacks make it
    // look in the store at once instead of failing until its periodic reload.
    let new_keys = credentials(&a, &ann, Some(&new_token)).await;
    credentials(&b, &ann, Some(&new_token)).await;
    caller(&b, &new_keys).await;
    let (_, token_of_b) = developer_token(&b, &pool, "ann").await;
    assert_eq!(jwt(&token_of_b).0["kid"], jwt(&new_token).0["kid"]);
    let new_keys_of_b = credentials(&b, &ann, Some(&token_of_b)).await;
    for s in [&a, &b] {
        for token in [&old_token, &new_token, &token_of_b] {
            credentials(s, &ann, Some(token)).await;
        }
        for keys in [&old_keys, &new_keys, &new_keys_of_b, &guest_keys] {
            caller(s, keys).await;
        }
    }
}
