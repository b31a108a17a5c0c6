//! IAM identity providers: OpenID Connect providers by issuer URL, SAML providers by metadata (spec §3.1 provider ARNs, §3.3).

use idpool_store::{OidcProviderRow, SamlProviderRow, StoreError, iam_name_key};
use idpool_wire::query::QueryParams;
use serde::{Deserialize, Serialize};

use super::xml::{iso_date, string_list, tag_list, with_result, without_result};
use super::{IamError, StoredTag};
use crate::Core;

/// Client ids (audiences) an OIDC provider may list (IAM quota).
const MAX_CLIENT_IDS: usize = 100;
/// Server certificate thumbprints an OIDC provider may list.
const MAX_THUMBPRINTS: usize = 5;

/// An OpenID Connect provider as the rest of idpool sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub arn: String,
    /// The issuer URL as registered, scheme included (`http://` only for loopback hosts).
    pub url: String,
    /// The audiences its tokens may be for.
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created_ms: i64,
    pub tags: Vec<(String, String)>,
}

/// The JSON `document` of a stored OIDC provider.
#[derive(Debug, Serialize, Deserialize)]
struct OidcDocument {
    url: String,
    #[serde(default)]
    client_ids: Vec<String>,
    #[serde(default)]
    thumbprints: Vec<String>,
    #[serde(default)]
    tags: Vec<StoredTag>,
}

impl OidcProvider {
    fn from_row(row: OidcProviderRow) -> Result<Self, IamError> {
        let doc: OidcDocument = super::decode_document(&row.document)?;
        Ok(OidcProvider {
            arn: row.arn,
            url: doc.url,
            client_ids: doc.client_ids,
            thumbprints: doc.thumbprints,
            created_ms: row.created_ms,
            tags: super::load_tags(doc.tags),
        })
    }

    fn to_row(&self) -> Result<OidcProviderRow, IamError> {
        let doc = OidcDocument {
            url: self.url.clone(),
            client_ids: self.client_ids.clone(),
            thumbprints: self.thumbprints.clone(),
            tags: super::store_tags(&self.tags),
        };
        Ok(OidcProviderRow {
            arn: self.arn.clone(),
            created_ms: self.created_ms,
            document: super::encode_document(&doc)?,
        })
    }

    /// The URL without its scheme: what IAM shows as `Url` and puts in the ARN.
    pub fn resource(&self) -> &str {
        strip_scheme(&self.url).trim_end_matches('/')
    }
}

/// A SAML provider as the rest of idpool sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlProvider {
    pub arn: String,
    pub name: String,
    /// `SAMLProviderUUID`.
    pub uuid: String,
    /// The metadata document, exactly as it was sent.
    pub metadata: String,
    pub created_ms: i64,
    pub valid_until_ms: i64,
    pub tags: Vec<(String, String)>,
}

/// The JSON `document` of a stored SAML provider.
#[derive(Debug, Serialize, Deserialize)]
struct SamlDocument {
    name: String,
    uuid: String,
    metadata: String,
    valid_until_ms: i64,
    #[serde(default)]
    tags: Vec<StoredTag>,
}

impl SamlProvider {
    fn from_row(row: SamlProviderRow) -> Result<Self, IamError> {
        let doc: SamlDocument = super::decode_document(&row.document)?;
        Ok(SamlProvider {
            arn: row.arn,
            name: doc.name,
            uuid: doc.uuid,
            metadata: doc.metadata,
            created_ms: row.created_ms,
            valid_until_ms: doc.valid_until_ms,
            tags: super::load_tags(doc.tags),
        })
    }

    fn to_row(&self) -> Result<SamlProviderRow, IamError> {
        let doc = SamlDocument {
            name: self.name.clone(),
            uuid: self.uuid.clone(),
            metadata: self.metadata.clone(),
            valid_until_ms: self.valid_until_ms,
            tags: super::store_tags(&self.tags),
        };
        Ok(SamlProviderRow {
            arn: self.arn.clone(),
            created_ms: self.created_ms,
            document: super::encode_document(&doc)?,
        })
    }
}

fn strip_scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

fn invalid_url() -> IamError {
    IamError::Validation("Invalid Open ID Connect Provider URL".into())
}

/// Whether a URL's host (port allowed) is the local machine, where plain HTTP is acceptable.
fn is_loopback_host(authority: &str) -> bool {
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The ARN an OIDC issuer URL has (or would have) in this account: the URL without scheme
/// and trailing slash. Refuses what IAM refuses: no `https://` (or `http://` to a loopback
/// host, for self-hosted IdPs), a query, a fragment, credentials or an empty host.
pub fn oidc_provider_arn(core: &Core, url: &str) -> Result<String, IamError> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(invalid_url());
    };
    let resource = rest.trim_end_matches('/');
    let authority = resource.split('/').next().unwrap_or_default();
    if authority.is_empty()
        || resource.contains(['?', '#', '@'])
        || resource.contains(|c: char| c.is_whitespace() || c.is_control())
    {
        return Err(invalid_url());
    }
    if lower.starts_with("http://") && !is_loopback_host(authority) {
        return Err(invalid_url());
    }
    Ok(format!(
        "arn:{}:iam::{}:oidc-provider/{resource}",
        crate::partition(&core.region),
        core.account_id
    ))
}

fn check_client_ids(ids: &[String]) -> Result<(), IamError> {
    if ids.len() > MAX_CLIENT_IDS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
        )));
    }
    Ok(())
}

fn check_thumbprints(thumbprints: &[String]) -> Result<(), IamError> {
    if thumbprints.len() > MAX_THUMBPRINTS {
        return Err(IamError::InvalidInput(format!(
            "Thumbprint list must contain fewer than {MAX_THUMBPRINTS} entries."
        )));
    }
    Ok(())
}

/// Keeps the first of each repeated value, in order.
fn dedup(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Registers an OIDC provider and returns its ARN.
pub async fn create_oidc_provider(
    core: &Core,
    url: &str,
    client_ids: Vec<String>,
    thumbprints: Vec<String>,
) -> Result<String, IamError> {
    create_oidc(core, url, client_ids, thumbprints, Vec::new())
        .await
        .map(|p| p.arn)
}

async fn create_oidc(
    core: &Core,
    url: &str,
    client_ids: Vec<String>,
    thumbprints: Vec<String>,
    tags: Vec<(String, String)>,
) -> Result<OidcProvider, IamError> {
    let arn = oidc_provider_arn(core, url)?;
    let client_ids = dedup(client_ids);
    check_client_ids(&client_ids)?;
    check_thumbprints(&thumbprints)?;
    super::check_new_tags(&tags)?;
    let provider = OidcProvider {
        arn,
        url: url.to_string(),
        client_ids,
        thumbprints,
        created_ms: core.clock.now_ms(),
        tags,
    };
    match core.store.insert_oidc_provider(&provider.to_row()?).await {
        Ok(()) => Ok(provider),
        Err(StoreError::Conflict) => Err(IamError::EntityAlreadyExists(format!(
            "Provider with url {url} already exists."
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The OIDC provider with that ARN, if any.
pub async fn get_oidc_provider(core: &Core, arn: &str) -> Result<Option<OidcProvider>, IamError> {
    core.store
        .get_oidc_provider(arn)
        .await?
        .map(OidcProvider::from_row)
        .transpose()
}

/// The SAML provider with that ARN, if any.
pub async fn get_saml_provider(core: &Core, arn: &str) -> Result<Option<SamlProvider>, IamError> {
    core.store
        .get_saml_provider(arn)
        .await?
        .map(SamlProvider::from_row)
        .transpose()
}

/// An ARN parameter that at least looks like an ARN; anything else is not worth a lookup.
fn arn_param<'a>(params: &'a QueryParams, name: &str) -> Result<&'a str, IamError> {
    let arn = super::required(params, name)?;
    if !arn.starts_with("arn:") || arn.split(':').count() < 6 {
        return Err(IamError::Validation(format!("ARN {arn} is not valid.")));
    }
    Ok(arn)
}

fn oidc_not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

async fn existing_oidc(core: &Core, arn: &str) -> Result<OidcProvider, IamError> {
    get_oidc_provider(core, arn)
        .await?
        .ok_or_else(|| oidc_not_found(arn))
}

async fn save_oidc(core: &Core, provider: &OidcProvider) -> Result<(), IamError> {
    match core.store.update_oidc_provider(&provider.to_row()?).await {
        Err(StoreError::NotFound) => Err(oidc_not_found(&provider.arn)),
        other => Ok(other?),
    }
}

pub(super) async fn create_oidc_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let url = super::required(params, "Url")?;
    let provider = create_oidc(
        core,
        url,
        params.list("ClientIDList").unwrap_or_default(),
        params.list("ThumbprintList").unwrap_or_default(),
        super::tags_param(params)?,
    )
    .await?;
    Ok(with_result(
        "CreateOpenIDConnectProvider",
        request_id,
        |w| {
            w.leaf("OpenIDConnectProviderArn", &provider.arn);
            if !provider.tags.is_empty() {
                tag_list(w, &provider.tags);
            }
        },
    ))
}

pub(super) async fn get_oidc_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "OpenIDConnectProviderArn")?;
    let provider = existing_oidc(core, arn).await?;
    Ok(with_result("GetOpenIDConnectProvider", request_id, |w| {
        w.leaf("Url", provider.resource());
        string_list(w, "ClientIDList", &provider.client_ids);
        string_list(w, "ThumbprintList", &provider.thumbprints);
        w.leaf("CreateDate", &iso_date(provider.created_ms));
        tag_list(w, &provider.tags);
    }))
}

pub(super) async fn list_oidc_action(core: &Core, request_id: &str) -> Result<String, IamError> {
    let rows = core.store.list_oidc_providers().await?;
    Ok(with_result("ListOpenIDConnectProviders", request_id, |w| {
        w.open("OpenIDConnectProviderList");
        for row in &rows {
            w.open("member");
            w.leaf("Arn", &row.arn);
            w.close("member");
        }
        w.close("OpenIDConnectProviderList");
    }))
}

pub(super) async fn delete_oidc_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "OpenIDConnectProviderArn")?;
    match core.store.delete_oidc_provider(arn).await {
        Ok(()) => Ok(without_result("DeleteOpenIDConnectProvider", request_id)),
        // Despite the API reference calling it idempotent, IAM refuses a second delete.
        Err(StoreError::NotFound) => Err(IamError::NoSuchEntity(format!(
            "OpenId connect Provider {arn} cannot be found."
        ))),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn add_client_id_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "OpenIDConnectProviderArn")?;
    let client_id = super::required(params, "ClientID")?;
    let mut provider = existing_oidc(core, arn).await?;
    if !provider.client_ids.iter().any(|c| c == client_id) {
        provider.client_ids.push(client_id.to_string());
        check_client_ids(&provider.client_ids)?;
        save_oidc(core, &provider).await?;
    }
    Ok(without_result(
        "AddClientIDToOpenIDConnectProvider",
        request_id,
    ))
}

pub(super) async fn remove_client_id_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "OpenIDConnectProviderArn")?;
    let client_id = super::required(params, "ClientID")?;
    let mut provider = existing_oidc(core, arn).await?;
    let before = provider.client_ids.len();
    provider.client_ids.retain(|c| c != client_id);
    if provider.client_ids.len() != before {
        save_oidc(core, &provider).await?;
    }
    Ok(without_result(
        "RemoveClientIDFromOpenIDConnectProvider",
        request_id,
    ))
}

pub(super) async fn update_thumbprints_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "OpenIDConnectProviderArn")?;
    let thumbprints = params
        .list("ThumbprintList")
        .ok_or_else(|| IamError::missing("ThumbprintList"))?;
    check_thumbprints(&thumbprints)?;
    let mut provider = existing_oidc(core, arn).await?;
    provider.thumbprints = thumbprints;
    save_oidc(core, &provider).await?;
    Ok(without_result(
        "UpdateOpenIDConnectProviderThumbprint",
        request_id,
    ))
}

fn saml_not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Manifest not found for arn {arn}"))
}

fn unreadable_metadata() -> IamError {
    IamError::InvalidInput("Could not parse metadata".into())
}

/// The provider's expiry: the metadata's `validUntil`, else a hundred years after `created_ms`.
fn valid_until_ms(metadata: &str, created_ms: i64) -> Result<i64, IamError> {
    use time::format_description::well_known::Rfc3339;

    let read = super::read_saml_metadata(metadata).map_err(|_| unreadable_metadata())?;
    let Some(text) = read.valid_until else {
        return Ok(hundred_years_after(created_ms));
    };
    let text = text.trim();
    // xs:dateTime may leave the zone out; SAML means UTC then.
    let at = time::OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .map_err(|_| unreadable_metadata())?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| unreadable_metadata())
}

fn hundred_years_after(ms: i64) -> i64 {
    let nanos = i128::from(ms) * 1_000_000;
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return ms;
    };
    let year = at.year() + 100;
    // 29 February a hundred years on may not exist.
    let later = at
        .replace_year(year)
        .or_else(|_| at.replace_day(28).and_then(|d| d.replace_year(year)));
    later
        .ok()
        .and_then(|d| i64::try_from(d.unix_timestamp_nanos() / 1_000_000).ok())
        .unwrap_or(ms)
}

/// Private keys for encrypted assertions are not kept by this server; saying so beats
/// silently dropping a key the caller expects to be used.
fn refuse_assertion_keys(params: &QueryParams) -> Result<(), IamError> {
    let wants_encryption = params.get("AssertionEncryptionMode") == Some("Required");
    if params.get("AddPrivateKey").is_some()
        || params.get("RemovePrivateKey").is_some()
        || wants_encryption
    {
        return Err(IamError::InvalidInput(
            "Encrypted SAML assertions are not supported by this server: private keys and \
             AssertionEncryptionMode=Required are refused."
                .into(),
        ));
    }
    Ok(())
}

/// The name ends up in the ARN, so it is checked here even though the server validates input.
fn check_saml_name(name: &str) -> Result<(), IamError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if name.is_empty() || name.len() > 128 || !name.chars().all(allowed) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [\\w._-]+"
        )));
    }
    Ok(())
}

async fn existing_saml(core: &Core, arn: &str) -> Result<SamlProvider, IamError> {
    get_saml_provider(core, arn)
        .await?
        .ok_or_else(|| saml_not_found(arn))
}

pub(super) async fn create_saml_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let metadata = super::required(params, "SAMLMetadataDocument")?;
    let name = super::required(params, "Name")?;
    check_saml_name(name)?;
    refuse_assertion_keys(params)?;
    let tags = super::tags_param(params)?;
    super::check_new_tags(&tags)?;
    let created_ms = core.clock.now_ms();
    let valid_until_ms = valid_until_ms(metadata, created_ms)?;
    let taken =
        || IamError::EntityAlreadyExists(format!("Provider with name {name} already exists."));
    // Names are unique without regard to case, as IAM names are; the store keys by exact ARN.
    for row in core.store.list_saml_providers().await? {
        if iam_name_key(&SamlProvider::from_row(row)?.name) == iam_name_key(name) {
            return Err(taken());
        }
    }
    let provider = SamlProvider {
        arn: format!(
            "arn:{}:iam::{}:saml-provider/{name}",
            crate::partition(&core.region),
            core.account_id
        ),
        name: name.to_string(),
        uuid: super::random_id(22)?,
        metadata: metadata.to_string(),
        created_ms,
        valid_until_ms,
        tags,
    };
    match core.store.insert_saml_provider(&provider.to_row()?).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(taken()),
        Err(e) => return Err(e.into()),
    }
    Ok(with_result("CreateSAMLProvider", request_id, |w| {
        w.leaf("SAMLProviderArn", &provider.arn);
        if !provider.tags.is_empty() {
            tag_list(w, &provider.tags);
        }
    }))
}

pub(super) async fn get_saml_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "SAMLProviderArn")?;
    let provider = existing_saml(core, arn).await?;
    Ok(with_result("GetSAMLProvider", request_id, |w| {
        w.leaf("SAMLProviderUUID", &provider.uuid);
        w.leaf("SAMLMetadataDocument", &provider.metadata);
        w.leaf("CreateDate", &iso_date(provider.created_ms));
        w.leaf("ValidUntil", &iso_date(provider.valid_until_ms));
        tag_list(w, &provider.tags);
        w.leaf("AssertionEncryptionMode", "Allowed");
        w.open("PrivateKeyList");
        w.close("PrivateKeyList");
    }))
}

pub(super) async fn list_saml_action(core: &Core, request_id: &str) -> Result<String, IamError> {
    let providers = core
        .store
        .list_saml_providers()
        .await?
        .into_iter()
        .map(SamlProvider::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(with_result("ListSAMLProviders", request_id, |w| {
        w.open("SAMLProviderList");
        for p in &providers {
            w.open("member");
            w.leaf("Arn", &p.arn);
            w.leaf("ValidUntil", &iso_date(p.valid_until_ms));
            w.leaf("CreateDate", &iso_date(p.created_ms));
            w.close("member");
        }
        w.close("SAMLProviderList");
    }))
}

pub(super) async fn update_saml_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "SAMLProviderArn")?;
    refuse_assertion_keys(params)?;
    let mut provider = existing_saml(core, arn).await?;
    let Some(metadata) = params.get("SAMLMetadataDocument") else {
        if params.get("AssertionEncryptionMode").is_some() {
            // `Allowed` is the only mode this server has, so asking for it changes nothing.
            return Ok(saml_arn_reply(&provider.arn, request_id));
        }
        return Err(IamError::InvalidInput("No updates are defined.".into()));
    };
    provider.valid_until_ms = valid_until_ms(metadata, core.clock.now_ms())?;
    provider.metadata = metadata.to_string();
    match core.store.update_saml_provider(&provider.to_row()?).await {
        Ok(()) => Ok(saml_arn_reply(&provider.arn, request_id)),
        Err(StoreError::NotFound) => Err(saml_not_found(arn)),
        Err(e) => Err(e.into()),
    }
}

fn saml_arn_reply(arn: &str, request_id: &str) -> String {
    with_result("UpdateSAMLProvider", request_id, |w| {
        w.leaf("SAMLProviderArn", arn)
    })
}

pub(super) async fn delete_saml_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let arn = arn_param(params, "SAMLProviderArn")?;
    match core.store.delete_saml_provider(arn).await {
        Ok(()) => Ok(without_result("DeleteSAMLProvider", request_id)),
        Err(StoreError::NotFound) => Err(saml_not_found(arn)),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::metadata::tests::document;
    use super::super::testkit::*;
    use super::*;

    const THUMB_A: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
    const THUMB_B: &str = "0123456789abcdef0123456789abcdef01234567";

    #[tokio::test]
    async fn oidc_providers_are_created_shown_and_listed() {
        let core = core().await;
        let body = ok(
            &core,
            "CreateOpenIDConnectProvider",
            &[
                ("Url", "https://login.example.com/tenant/"),
                ("ClientIDList.member.1", "app"),
                ("ClientIDList.member.2", "app"),
                ("ClientIDList.member.3", "web"),
                ("ThumbprintList.member.1", THUMB_A),
                ("Tags.member.1.Key", "env"),
                ("Tags.member.1.Value", "dev"),
            ],
        )
        .await;
        let arn = "arn:aws:iam::123456789012:oidc-provider/login.example.com/tenant";
        assert_eq!(text(&body, "OpenIDConnectProviderArn"), Some(arn));
        assert!(body.contains("<Tags><member><Key>env</Key><Value>dev</Value></member></Tags>"));

        let body = ok(
            &core,
            "GetOpenIDConnectProvider",
            &[("OpenIDConnectProviderArn", arn)],
        )
        .await;
        assert!(
            body.contains(
                "<GetOpenIDConnectProviderResult><Url>login.example.com/tenant</Url>\
             <ClientIDList><member>app</member><member>web</member></ClientIDList>\
             <ThumbprintList><member>9e99a48a9960b14926bb7f3b02e22da2b0ab7280</member>\
             </ThumbprintList><CreateDate>2026-11-26T09:17:41Z</CreateDate><Tags>"
            ),
            "{body}"
        );

        let arn2 =
            create_oidc_provider(&core, "http://127.0.0.1:9229/us-east-1_abc", vec![], vec![])
                .await
                .unwrap();
        assert_eq!(
            arn2,
            "arn:aws:iam::123456789012:oidc-provider/127.0.0.1:9229/us-east-1_abc"
        );
        let body = ok(
            &core,
            "GetOpenIDConnectProvider",
            &[("OpenIDConnectProviderArn", &arn2)],
        )
        .await;
        assert!(body.contains("<ClientIDList></ClientIDList><ThumbprintList></ThumbprintList>"));
        assert!(body.contains("<Tags></Tags>"));
        let typed = get_oidc_provider(&core, &arn2).await.unwrap().unwrap();
        assert_eq!(typed.url, "http://127.0.0.1:9229/us-east-1_abc");

        let body = ok(&core, "ListOpenIDConnectProviders", &[]).await;
        let mut listed = all(&body, "Arn");
        listed.sort_unstable();
        assert_eq!(listed, [arn2.as_str(), arn]);
    }

    #[tokio::test]
    async fn oidc_urls_must_be_https_except_to_loopback() {
        let core = core().await;
        for url in [
            "https://accounts.example.com",
            "http://localhost:8080/realms/dev",
            "http://LOCALHOST",
            "http://127.0.0.1",
            "http://127.8.9.10:1234",
            "http://[::1]:5556/dex",
        ] {
            oidc_provider_arn(&core, url).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        for url in [
            "example.org",
            "http://example.org",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "http://[::2]",
            "https://",
            "https:///path",
            "https://idp.example.com?x=1",
            "https://idp.example.com/#frag",
            "https://user@idp.example.com",
            "ftp://idp.example.com",
            "https://idp .example.com",
        ] {
            let (code, status, message) =
                fails(&core, "CreateOpenIDConnectProvider", &[("Url", url)]).await;
            assert_eq!(
                (code.as_str(), status, message.as_str()),
                (
                    "ValidationError",
                    400,
                    "Invalid Open ID Connect Provider URL"
                ),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn oidc_providers_refuse_duplicates_and_keep_to_quotas() {
        let core = core().await;
        ok(
            &core,
            "CreateOpenIDConnectProvider",
            &[("Url", "https://idp.example.com")],
        )
        .await;
        let (code, status, message) = fails(
            &core,
            "CreateOpenIDConnectProvider",
            &[("Url", "https://idp.example.com/")],
        )
        .await;
        assert_eq!((code.as_str(), status), ("EntityAlreadyExists", 409));
        assert_eq!(
            message,
            "Provider with url https://idp.example.com/ already exists."
        );

        let thumbs: Vec<String> = (1..=6)
            .map(|i| format!("ThumbprintList.member.{i}"))
            .collect();
        let mut pairs = vec![("Url", "https://other.example.com")];
        pairs.extend(thumbs.iter().map(|k| (k.as_str(), THUMB_A)));
        let (code, status, message) = fails(&core, "CreateOpenIDConnectProvider", &pairs).await;
        assert_eq!((code.as_str(), status), ("InvalidInput", 400));
        assert_eq!(
            message,
            "Thumbprint list must contain fewer than 5 entries."
        );

        let ids: Vec<String> = (0..101).map(|i| format!("client-{i}")).collect();
        let err = create_oidc_provider(&core, "https://other.example.com", ids, vec![])
            .await
            .unwrap_err();
        assert_eq!(err.to_wire().status, 409);
        assert_eq!(
            err.to_string(),
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"
        );
    }

    #[tokio::test]
    async fn oidc_client_ids_and_thumbprints_change_idempotently() {
        let core = core().await;
        let arn = create_oidc_provider(&core, "https://idp.example.com", vec!["a".into()], vec![])
            .await
            .unwrap();
        let on = ("OpenIDConnectProviderArn", arn.as_str());
        for _ in 0..2 {
            let body = ok(
                &core,
                "AddClientIDToOpenIDConnectProvider",
                &[on, ("ClientID", "b")],
            )
            .await;
            assert!(body.starts_with("<AddClientIDToOpenIDConnectProviderResponse"));
        }
        assert_eq!(
            get_oidc_provider(&core, &arn)
                .await
                .unwrap()
                .unwrap()
                .client_ids,
            ["a", "b"]
        );
        for _ in 0..2 {
            ok(
                &core,
                "RemoveClientIDFromOpenIDConnectProvider",
                &[on, ("ClientID", "a")],
            )
            .await;
        }
        assert_eq!(
            get_oidc_provider(&core, &arn)
                .await
                .unwrap()
                .unwrap()
                .client_ids,
            ["b"]
        );

        ok(
            &core,
            "UpdateOpenIDConnectProviderThumbprint",
            &[
                on,
                ("ThumbprintList.member.1", THUMB_A),
                ("ThumbprintList.member.2", THUMB_B),
            ],
        )
        .await;
        let provider = get_oidc_provider(&core, &arn).await.unwrap().unwrap();
        assert_eq!(provider.thumbprints, [THUMB_A, THUMB_B]);
        assert_eq!(provider.created_ms, NOW_MS);
        let (code, ..) = fails(&core, "UpdateOpenIDConnectProviderThumbprint", &[on]).await;
        assert_eq!(code, "ValidationError");

        let missing = "arn:aws:iam::123456789012:oidc-provider/nope.example.com";
        for (action, extra) in [
            ("GetOpenIDConnectProvider", None),
            (
                "AddClientIDToOpenIDConnectProvider",
                Some(("ClientID", "x")),
            ),
            (
                "RemoveClientIDFromOpenIDConnectProvider",
                Some(("ClientID", "x")),
            ),
            (
                "UpdateOpenIDConnectProviderThumbprint",
                Some(("ThumbprintList.member.1", THUMB_A)),
            ),
        ] {
            let mut pairs = vec![("OpenIDConnectProviderArn", missing)];
            pairs.extend(extra);
            let (code, status, message) = fails(&core, action, &pairs).await;
            assert_eq!((code.as_str(), status), ("NoSuchEntity", 404), "{action}");
            assert_eq!(
                message,
                format!("OpenIDConnect Provider not found for arn {missing}")
            );
        }
        let (code, _, message) = fails(
            &core,
            "GetOpenIDConnectProvider",
            &[("OpenIDConnectProviderArn", "nope")],
        )
        .await;
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("ValidationError", "ARN nope is not valid.")
        );
    }

    #[tokio::test]
    async fn oidc_providers_are_deleted_once() {
        let core = core().await;
        let arn = create_oidc_provider(&core, "https://idp.example.com", vec![], vec![])
            .await
            .unwrap();
        let body = ok(
            &core,
            "DeleteOpenIDConnectProvider",
            &[("OpenIDConnectProviderArn", &arn)],
        )
        .await;
        assert!(
            body.starts_with("<DeleteOpenIDConnectProviderResponse") && !body.contains("Result")
        );
        let (code, status, message) = fails(
            &core,
            "DeleteOpenIDConnectProvider",
            &[("OpenIDConnectProviderArn", &arn)],
        )
        .await;
        assert_eq!((code.as_str(), status), ("NoSuchEntity", 404));
        assert_eq!(
            message,
            format!("OpenId connect Provider {arn} cannot be found.")
        );
        assert!(get_oidc_provider(&core, &arn).await.unwrap().is_none());
        let body = ok(&core, "ListOpenIDConnectProviders", &[]).await;
        assert!(body.contains("<OpenIDConnectProviderList></OpenIDConnectProviderList>"));
    }

    #[tokio::test]
    async fn saml_providers_are_created_shown_updated_and_deleted() {
        let core = core().await;
        let doc = document(None);
        let body = ok(
            &core,
            "CreateSAMLProvider",
            &[
                ("Name", "Okta"),
                ("SAMLMetadataDocument", &doc),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "a"),
            ],
        )
        .await;
        let arn = "arn:aws:iam::123456789012:saml-provider/Okta";
        assert!(
            body.contains(&format!(
                "<CreateSAMLProviderResult><SAMLProviderArn>{arn}</SAMLProviderArn><Tags><member>\
             <Key>team</Key><Value>a</Value></member></Tags></CreateSAMLProviderResult>"
            )),
            "{body}"
        );

        let body = ok(&core, "GetSAMLProvider", &[("SAMLProviderArn", arn)]).await;
        let uuid = text(&body, "SAMLProviderUUID").unwrap();
        assert_eq!(uuid.len(), 22);
        assert_eq!(unescape(text(&body, "SAMLMetadataDocument").unwrap()), doc);
        assert_eq!(text(&body, "CreateDate"), Some("2026-11-26T09:17:41Z"));
        assert_eq!(
            text(&body, "ValidUntil"),
            Some("2126-11-26T09:17:41Z"),
            "a hundred years"
        );
        assert_eq!(text(&body, "AssertionEncryptionMode"), Some("Allowed"));

        let body = ok(&core, "ListSAMLProviders", &[]).await;
        assert!(
            body.contains(&format!(
                "<SAMLProviderList><member><Arn>{arn}</Arn><ValidUntil>2126-11-26T09:17:41Z\
             </ValidUntil><CreateDate>2026-11-26T09:17:41Z</CreateDate></member></SAMLProviderList>"
            )),
            "{body}"
        );

        let newer = document(Some("2031-05-01T12:00:00.5+02:00"));
        let body = ok(
            &core,
            "UpdateSAMLProvider",
            &[("SAMLProviderArn", arn), ("SAMLMetadataDocument", &newer)],
        )
        .await;
        assert_eq!(text(&body, "SAMLProviderArn"), Some(arn));
        let provider = get_saml_provider(&core, arn).await.unwrap().unwrap();
        assert_eq!(provider.metadata, newer);
        assert_eq!(provider.uuid, uuid);
        assert_eq!(
            super::super::xml::iso_date(provider.valid_until_ms),
            "2031-05-01T10:00:00Z"
        );
        let (code, _, message) =
            fails(&core, "UpdateSAMLProvider", &[("SAMLProviderArn", arn)]).await;
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("InvalidInput", "No updates are defined.")
        );

        let body = ok(&core, "DeleteSAMLProvider", &[("SAMLProviderArn", arn)]).await;
        assert!(body.starts_with("<DeleteSAMLProviderResponse") && !body.contains("Result"));
        for action in [
            "GetSAMLProvider",
            "DeleteSAMLProvider",
            "UpdateSAMLProvider",
        ] {
            let (code, status, message) = fails(
                &core,
                action,
                &[("SAMLProviderArn", arn), ("SAMLMetadataDocument", &doc)],
            )
            .await;
            assert_eq!((code.as_str(), status), ("NoSuchEntity", 404), "{action}");
            assert_eq!(message, format!("Manifest not found for arn {arn}"));
        }
    }

    #[tokio::test]
    async fn saml_providers_refuse_bad_metadata_duplicates_and_keys() {
        let core = core().await;
        let doc = document(None);
        let bad_docs = [
            format!("<a>{}</a>", "x".repeat(1000)),
            doc.replace("X509Certificate", "KeyName"),
            document(Some("next tuesday")),
        ];
        for bad in &bad_docs {
            let (code, status, message) = fails(
                &core,
                "CreateSAMLProvider",
                &[("Name", "p"), ("SAMLMetadataDocument", bad)],
            )
            .await;
            assert_eq!((code.as_str(), status), ("InvalidInput", 400));
            assert_eq!(message, "Could not parse metadata");
        }
        ok(
            &core,
            "CreateSAMLProvider",
            &[("Name", "Corp"), ("SAMLMetadataDocument", &doc)],
        )
        .await;
        let (code, status, message) = fails(
            &core,
            "CreateSAMLProvider",
            &[("Name", "CORP"), ("SAMLMetadataDocument", &doc)],
        )
        .await;
        assert_eq!((code.as_str(), status), ("EntityAlreadyExists", 409));
        assert_eq!(message, "Provider with name CORP already exists.");
        let (code, ..) = fails(
            &core,
            "CreateSAMLProvider",
            &[
                ("Name", "k"),
                ("SAMLMetadataDocument", &doc),
                ("AddPrivateKey", "-----BEGIN"),
            ],
        )
        .await;
        assert_eq!(code, "InvalidInput");
        for name in ["a/b", "a:b", "has space", ""] {
            let (code, ..) = fails(
                &core,
                "CreateSAMLProvider",
                &[("Name", name), ("SAMLMetadataDocument", &doc)],
            )
            .await;
            assert_eq!(code, "ValidationError", "{name}");
        }
        let body = ok(&core, "ListSAMLProviders", &[]).await;
        assert_eq!(
            all(&body, "Arn"),
            ["arn:aws:iam::123456789012:saml-provider/Corp"]
        );
    }
}
