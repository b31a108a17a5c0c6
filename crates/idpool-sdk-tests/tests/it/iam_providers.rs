//! IAM OpenID Connect and SAML providers through the SDK: create, read, list, change, delete and their errors (spec §5.1, §3.1 provider ARNs).

use aws_sdk_iam::types::Tag;

use crate::helpers::{ACCOUNT, TestServer, assert_code, assert_failure, expect_err, failure};

const THUMB_A: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
const THUMB_B: &str = "0123456789abcdef0123456789abcdef01234567";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("complete tag")
}

/// IdP metadata of well over IAM's 1,000-character minimum, with a signing certificate.
/// The certificate body only has to look like base64; nothing verifies it as X.509.
pub fn saml_metadata(valid_until: Option<&str>) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let certificate: Vec<String> = (0..16)
        .map(|i| ALPHABET[i..].chars().chain(ALPHABET[..i].chars()).collect())
        .collect();
    let until = valid_until
        .map(|v| format!(" validUntil=\"{v}\""))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         entityID=\"https://sso.example.org/idp?tenant=a&amp;b\"{until}>\n  \
         <IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n    \
         <KeyDescriptor use=\"signing\">\n      \
         <KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>\n{}\n\
         </X509Certificate></X509Data></KeyInfo>\n    </KeyDescriptor>\n    \
         <SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         Location=\"https://sso.example.org/idp/post\"/>\n  </IDPSSODescriptor>\n</EntityDescriptor>\n",
        certificate.join("\n")
    )
}

fn oidc_arn(resource: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{resource}")
}

#[tokio::test]
async fn oidc_providers_are_created_changed_and_deleted() {
    let s = TestServer::start().await;
    let created = s
        .iam
        .create_open_id_connect_provider()
        .url("https://login.example.com/tenant/")
        .client_id_list("web-app")
        .client_id_list("web-app")
        .client_id_list("mobile-app")
        .thumbprint_list(THUMB_A)
        .tags(tag("env", "dev"))
        .send()
        .await
        .expect("CreateOpenIDConnectProvider");
    let arn = oidc_arn("login.example.com/tenant");
    assert_eq!(
        created.open_id_connect_provider_arn.as_deref(),
        Some(arn.as_str())
    );
    assert_eq!(created.tags.unwrap_or_default(), vec![tag("env", "dev")]);

    let got = s
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect("GetOpenIDConnectProvider");
    assert_eq!(got.url.as_deref(), Some("login.example.com/tenant"));
    assert_eq!(
        got.client_id_list.clone().unwrap_or_default(),
        ["web-app", "mobile-app"],
        "duplicates dropped"
    );
    assert_eq!(got.thumbprint_list.clone().unwrap_or_default(), [THUMB_A]);
    assert_eq!(
        got.tags.clone().unwrap_or_default(),
        vec![tag("env", "dev")]
    );
    let created_at = got.create_date.expect("CreateDate");

    let local = s
        .iam
        .create_open_id_connect_provider()
        .url("http://127.0.0.1:9229/us-east-1_abc")
        .send()
        .await
        .expect("plain HTTP to a loopback issuer is allowed");
    let local_arn = oidc_arn("127.0.0.1:9229/us-east-1_abc");
    assert_eq!(
        local.open_id_connect_provider_arn.as_deref(),
        Some(local_arn.as_str())
    );

    let listed = s
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .expect("ListOpenIDConnectProviders");
    let mut arns: Vec<String> = listed
        .open_id_connect_provider_list
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.arn)
        .collect();
    arns.sort();
    let mut want = vec![arn.clone(), local_arn.clone()];
    want.sort();
    assert_eq!(arns, want);

    let add = |id: &'static str| {
        s.iam
            .add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id(id)
            .send()
    };
    add("cli")
        .await
        .expect("AddClientIDToOpenIDConnectProvider");
    add("cli").await.expect("adding again changes nothing");
    s.iam
        .remove_client_id_from_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("web-app")
        .send()
        .await
        .expect("RemoveClientIDFromOpenIDConnectProvider");
    s.iam
        .remove_client_id_from_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("never-added")
        .send()
        .await
        .expect("removing an absent client id changes nothing");
    s.iam
        .update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&arn)
        .thumbprint_list(THUMB_B)
        .thumbprint_list(THUMB_A)
        .send()
        .await
        .expect("UpdateOpenIDConnectProviderThumbprint");
    let got = s
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.client_id_list.unwrap_or_default(),
        ["mobile-app", "cli"]
    );
    assert_eq!(got.thumbprint_list.unwrap_or_default(), [THUMB_B, THUMB_A]);
    assert_eq!(got.create_date, Some(created_at));

    s.iam
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect("DeleteOpenIDConnectProvider");
    let err = expect_err(
        s.iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "NoSuchEntity",
        &format!("OpenIDConnect Provider not found for arn {arn}"),
        404,
    );
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    assert_code(&err, "NoSuchEntity", 404);
    assert!(err.into_service_error().is_no_such_entity_exception());
    let listed = s.iam.list_open_id_connect_providers().send().await.unwrap();
    let arns: Vec<String> = listed
        .open_id_connect_provider_list
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.arn)
        .collect();
    assert_eq!(arns, [local_arn]);
}

#[tokio::test]
async fn oidc_provider_errors() {
    let s = TestServer::start().await;
    let url = "https://issuer.example.net";
    s.iam
        .create_open_id_connect_provider()
        .url(url)
        .client_id_list("a")
        .send()
        .await
        .unwrap();
    let err = expect_err(
        s.iam
            .create_open_id_connect_provider()
            .url(url)
            .client_id_list("b")
            .send()
            .await,
    );
    assert_failure(
        &err,
        "EntityAlreadyExists",
        &format!("Provider with url {url} already exists."),
        409,
    );
    assert!(
        err.into_service_error()
            .is_entity_already_exists_exception()
    );

    for bad in [
        "http://login.example.com",
        "ftp://login.example.com",
        "https://login.example.com?x=1",
    ] {
        let err = expect_err(
            s.iam
                .create_open_id_connect_provider()
                .url(bad)
                .send()
                .await,
        );
        let f = failure(&err);
        assert!(
            f.is_service_error && f.status == Some(400),
            "{bad}: {err:?}"
        );
        assert!(
            matches!(f.code.as_deref(), Some("ValidationError" | "InvalidInput")),
            "{bad}: {f:?}"
        );
        assert_eq!(
            f.message.as_deref(),
            Some("Invalid Open ID Connect Provider URL"),
            "{bad}"
        );
    }

    let missing = oidc_arn("nobody.example.com");
    let gone = format!("OpenIDConnect Provider not found for arn {missing}");
    let err = expect_err(
        s.iam
            .add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(&missing)
            .client_id("x")
            .send()
            .await,
    );
    assert_failure(&err, "NoSuchEntity", &gone, 404);
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .remove_client_id_from_open_id_connect_provider()
            .open_id_connect_provider_arn(&missing)
            .client_id("x")
            .send()
            .await,
    );
    assert_failure(&err, "NoSuchEntity", &gone, 404);
    let err = expect_err(
        s.iam
            .update_open_id_connect_provider_thumbprint()
            .open_id_connect_provider_arn(&missing)
            .thumbprint_list(THUMB_A)
            .send()
            .await,
    );
    assert_failure(&err, "NoSuchEntity", &gone, 404);
    assert!(err.into_service_error().is_no_such_entity_exception());

    let err = expect_err(
        s.iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn("not-an-arn-at-all")
            .send()
            .await,
    );
    let f = failure(&err);
    assert!(f.is_service_error && f.status == Some(400), "{err:?}");
}

#[tokio::test]
async fn saml_providers_are_created_updated_and_deleted() {
    let s = TestServer::start().await;
    let doc = saml_metadata(None);
    assert!(doc.len() > 1000, "IAM wants at least 1,000 characters");
    let created = s
        .iam
        .create_saml_provider()
        .name("Corp-SSO")
        .saml_metadata_document(&doc)
        .tags(tag("team", "identity"))
        .send()
        .await
        .expect("CreateSAMLProvider");
    let arn = format!("arn:aws:iam::{ACCOUNT}:saml-provider/Corp-SSO");
    assert_eq!(created.saml_provider_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(
        created.tags.unwrap_or_default(),
        vec![tag("team", "identity")]
    );

    let got = s
        .iam
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .expect("GetSAMLProvider");
    assert_eq!(
        got.saml_metadata_document.as_deref(),
        Some(doc.as_str()),
        "metadata comes back exactly"
    );
    let uuid = got.saml_provider_uuid.clone().expect("SAMLProviderUUID");
    assert!(!uuid.is_empty());
    assert_eq!(
        got.tags.clone().unwrap_or_default(),
        vec![tag("team", "identity")]
    );
    let created_at = got.create_date.expect("CreateDate");
    let until = got.valid_until.expect("ValidUntil");
    let years = (until.secs() - created_at.secs()) / (365 * 24 * 3600);
    assert!(
        (99..=100).contains(&years),
        "without validUntil the provider lasts a century: {years}"
    );

    let listed = s
        .iam
        .list_saml_providers()
        .send()
        .await
        .expect("ListSAMLProviders");
    let entries = listed.saml_provider_list.unwrap_or_default();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].arn.as_deref(), Some(arn.as_str()));
    assert_eq!(
        (entries[0].create_date, entries[0].valid_until),
        (Some(created_at), Some(until))
    );

    let newer = saml_metadata(Some("2031-05-01T00:00:00Z"));
    let updated = s
        .iam
        .update_saml_provider()
        .saml_provider_arn(&arn)
        .saml_metadata_document(&newer)
        .send()
        .await
        .expect("UpdateSAMLProvider");
    assert_eq!(updated.saml_provider_arn.as_deref(), Some(arn.as_str()));
    let got = s
        .iam
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.saml_metadata_document.as_deref(), Some(newer.as_str()));
    assert_eq!(got.saml_provider_uuid.as_deref(), Some(uuid.as_str()));
    assert_eq!(
        got.valid_until,
        Some(aws_smithy_types::DateTime::from_secs(1_935_360_000))
    );

    s.iam
        .delete_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .expect("DeleteSAMLProvider");
    let gone = format!("Manifest not found for arn {arn}");
    let err = expect_err(
        s.iam
            .get_saml_provider()
            .saml_provider_arn(&arn)
            .send()
            .await,
    );
    assert_failure(&err, "NoSuchEntity", &gone, 404);
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .delete_saml_provider()
            .saml_provider_arn(&arn)
            .send()
            .await,
    );
    assert_failure(&err, "NoSuchEntity", &gone, 404);
    assert!(err.into_service_error().is_no_such_entity_exception());
    let err = expect_err(
        s.iam
            .update_saml_provider()
            .saml_provider_arn(&arn)
            .saml_metadata_document(&doc)
            .send()
            .await,
    );
    assert_failure(&err, "NoSuchEntity", &gone, 404);
    assert!(err.into_service_error().is_no_such_entity_exception());
    assert!(
        s.iam
            .list_saml_providers()
            .send()
            .await
            .unwrap()
            .saml_provider_list
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn saml_provider_errors() {
    let s = TestServer::start().await;
    let doc = saml_metadata(None);
    s.iam
        .create_saml_provider()
        .name("Corp")
        .saml_metadata_document(&doc)
        .send()
        .await
        .unwrap();
    let err = expect_err(
        s.iam
            .create_saml_provider()
            .name("CORP")
            .saml_metadata_document(&doc)
            .send()
            .await,
    );
    assert_failure(
        &err,
        "EntityAlreadyExists",
        "Provider with name CORP already exists.",
        409,
    );
    assert!(
        err.into_service_error()
            .is_entity_already_exists_exception()
    );

    let no_certificate = doc.replace("X509Certificate", "KeyName");
    let err = expect_err(
        s.iam
            .create_saml_provider()
            .name("Other")
            .saml_metadata_document(no_certificate)
            .send()
            .await,
    );
    assert_failure(&err, "InvalidInput", "Could not parse metadata", 400);
    assert!(err.into_service_error().is_invalid_input_exception());

    let arn = format!("arn:aws:iam::{ACCOUNT}:saml-provider/Corp");
    let err = expect_err(
        s.iam
            .update_saml_provider()
            .saml_provider_arn(&arn)
            .saml_metadata_document(format!("{doc}<x/>"))
            .send()
            .await,
    );
    assert_failure(&err, "InvalidInput", "Could not parse metadata", 400);
    let got = s
        .iam
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.saml_metadata_document.as_deref(),
        Some(doc.as_str()),
        "a refused update changes nothing"
    );

    let short = "<EntityDescriptor/>";
    let err = expect_err(
        s.iam
            .create_saml_provider()
            .name("Short")
            .saml_metadata_document(short)
            .send()
            .await,
    );
    assert_code(&err, "ValidationError", 400);
    let listed = s
        .iam
        .list_saml_providers()
        .send()
        .await
        .unwrap()
        .saml_provider_list
        .unwrap_or_default();
    assert_eq!(listed.len(), 1);
}
