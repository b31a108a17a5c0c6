//! The IAM subset (roles, inline role policies, OIDC and SAML providers) over awsQuery: dispatch, parameters, paging, tags (design.md "One binary, three AWS services"; spec §5.1 wire shape).

// `handle` serves the wire; the typed functions re-exported below serve declarative start-up,
// Cognito's role checks and STS.

mod error;
pub(crate) mod metadata;
mod providers;
mod roles;
mod xml;

pub use error::IamError;
pub use metadata::{MetadataError, SamlMetadata, read_saml_metadata};
pub use providers::{
    OidcProvider, SamlProvider, create_oidc_provider, get_oidc_provider, get_saml_provider,
    oidc_provider_arn,
};
pub use roles::{
    CreateRoleInput, Role, create_role, find_role_by_arn, get_role, list_role_policy_documents,
    put_role_policy,
};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use idpool_wire::WireError;
use idpool_wire::query::{IAM_VERSION, QueryParams};

use crate::Core;

/// The actions this server answers, as named in the IAM API.
const ACTIONS: &[&str] = &[
    "CreateRole",
    "GetRole",
    "ListRoles",
    "UpdateRole",
    "UpdateAssumeRolePolicy",
    "DeleteRole",
    "PutRolePolicy",
    "GetRolePolicy",
    "ListRolePolicies",
    "DeleteRolePolicy",
    "TagRole",
    "UntagRole",
    "ListRoleTags",
    "CreateOpenIDConnectProvider",
    "GetOpenIDConnectProvider",
    "ListOpenIDConnectProviders",
    "DeleteOpenIDConnectProvider",
    "AddClientIDToOpenIDConnectProvider",
    "RemoveClientIDFromOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint",
    "CreateSAMLProvider",
    "GetSAMLProvider",
    "ListSAMLProviders",
    "UpdateSAMLProvider",
    "DeleteSAMLProvider",
];

pub fn is_iam_action(action: &str) -> bool {
    ACTIONS.contains(&action)
}

/// Runs one IAM action and renders the whole XML response body
/// `<XResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><XResult>...</XResult><ResponseMetadata>...`
/// (actions with no result element, such as DeleteRole, carry only `ResponseMetadata`).
pub async fn handle(
    core: &Core,
    action: &str,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, WireError> {
    // Any change to roles or their policies invalidates what credential issuing cached.
    if !(action.starts_with("Get") || action.starts_with("List")) {
        core.caches.roles.clear();
    }
    let outcome = match action {
        "CreateRole" => roles::create_role_action(core, params, request_id).await,
        "GetRole" => roles::get_role_action(core, params, request_id).await,
        "ListRoles" => roles::list_roles_action(core, params, request_id).await,
        "UpdateRole" => roles::update_role_action(core, params, request_id).await,
        "UpdateAssumeRolePolicy" => roles::update_trust_action(core, params, request_id).await,
        "DeleteRole" => roles::delete_role_action(core, params, request_id).await,
        "PutRolePolicy" => roles::put_role_policy_action(core, params, request_id).await,
        "GetRolePolicy" => roles::get_role_policy_action(core, params, request_id).await,
        "ListRolePolicies" => roles::list_role_policies_action(core, params, request_id).await,
        "DeleteRolePolicy" => roles::delete_role_policy_action(core, params, request_id).await,
        "TagRole" => roles::tag_role_action(core, params, request_id).await,
        "UntagRole" => roles::untag_role_action(core, params, request_id).await,
        "ListRoleTags" => roles::list_role_tags_action(core, params, request_id).await,
        "CreateOpenIDConnectProvider" => {
            providers::create_oidc_action(core, params, request_id).await
        }
        "GetOpenIDConnectProvider" => providers::get_oidc_action(core, params, request_id).await,
        "ListOpenIDConnectProviders" => providers::list_oidc_action(core, request_id).await,
        "DeleteOpenIDConnectProvider" => {
            providers::delete_oidc_action(core, params, request_id).await
        }
        "AddClientIDToOpenIDConnectProvider" => {
            providers::add_client_id_action(core, params, request_id).await
        }
        "RemoveClientIDFromOpenIDConnectProvider" => {
            providers::remove_client_id_action(core, params, request_id).await
        }
        "UpdateOpenIDConnectProviderThumbprint" => {
            providers::update_thumbprints_action(core, params, request_id).await
        }
        "CreateSAMLProvider" => providers::create_saml_action(core, params, request_id).await,
        "GetSAMLProvider" => providers::get_saml_action(core, params, request_id).await,
        "ListSAMLProviders" => providers::list_saml_action(core, request_id).await,
        "UpdateSAMLProvider" => providers::update_saml_action(core, params, request_id).await,
        "DeleteSAMLProvider" => providers::delete_saml_action(core, params, request_id).await,
        other => {
            return Err(WireError::client(
                "InvalidAction",
                format!("Could not find operation {other} for version {IAM_VERSION}"),
            ));
        }
    };
    outcome.map_err(|e| {
        if let IamError::Store(cause) = &e {
            tracing::error!(action, request_id, error = %cause, "IAM storage failure");
        }
        e.to_wire()
    })
}

/// A parameter the action cannot run without.
pub(crate) fn required<'a>(params: &'a QueryParams, name: &str) -> Result<&'a str, IamError> {
    params.get(name).ok_or_else(|| IamError::missing(name))
}

/// An integer parameter, if present.
pub(crate) fn optional_u32(params: &QueryParams, name: &str) -> Result<Option<u32>, IamError> {
    match params.get(name) {
        None => Ok(None),
        Some(text) => text.trim().parse().map(Some).map_err(|_| {
            IamError::Validation(format!(
                "1 validation error detected: Value '{text}' at '{}' failed to satisfy \
                 constraint: Member must be a number",
                error::member_name(name)
            ))
        }),
    }
}

/// `MaxItems`: 1 to 1,000, 100 when absent, as in every IAM list action.
pub(crate) fn max_items(params: &QueryParams) -> Result<usize, IamError> {
    let n = optional_u32(params, "MaxItems")?.unwrap_or(100);
    if !(1..=1000).contains(&n) {
        let bound = if n < 1 {
            "greater than or equal to 1"
        } else {
            "less than or equal to 1000"
        };
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy \
             constraint: Member must have value {bound}"
        )));
    }
    Ok(usize::try_from(n).unwrap_or(1000))
}

/// Items from just after `marker`, at most `max`, and the marker of the next page if any.
/// `items` must be in ascending `key` order and keys unique; a marker is the hex of the last
/// key returned, so a page boundary survives items being added or deleted in between.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), IamError> {
    let after = marker.map(decode_marker).transpose()?;
    let mut rest = items
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|a| key(item) > *a))
        .peekable();
    let page: Vec<T> = rest.by_ref().take(max).collect();
    let next = match (rest.peek(), page.last()) {
        (Some(_), Some(last)) => Some(encode_marker(&key(last))),
        _ => None,
    };
    Ok((page, next))
}

fn encode_marker(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_marker(marker: &str) -> Result<String, IamError> {
    let invalid = || IamError::Validation("Invalid Marker.".into());
    if !marker.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..marker.len())
        .step_by(2)
        .map(|i| {
            marker
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// Tags a resource may carry (IAM quota).
pub(crate) const MAX_TAGS: usize = 50;

/// The `Tags.member.N.Key/Value` list of a request; empty when absent.
pub(crate) fn tags_param(params: &QueryParams) -> Result<Vec<(String, String)>, IamError> {
    let Some(entries) = params.struct_list("Tags") else {
        return Ok(Vec::new());
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(i, mut fields)| {
            let n = i + 1;
            let mut take = |field: &str| {
                fields.remove(field).ok_or_else(|| {
                    IamError::Validation(format!(
                        "1 validation error detected: Value null at 'tags.{n}.member.{}' \
                         failed to satisfy constraint: Member must not be null",
                        field.to_ascii_lowercase()
                    ))
                })
            };
            Ok((take("Key")?, take("Value")?))
        })
        .collect()
}

/// Tags given in one request: at most 50, keys unique without regard to case.
pub(crate) fn check_new_tags(tags: &[(String, String)]) -> Result<(), IamError> {
    if tags.len() > MAX_TAGS {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: \
             Member must have length less than or equal to {MAX_TAGS}"
        )));
    }
    for (i, (key, _)) in tags.iter().enumerate() {
        if tags[..i].iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
    }
    Ok(())
}

/// Adds or overwrites tags (keys compare without case; the newest spelling wins).
pub(crate) fn merge_tags(
    existing: &mut Vec<(String, String)>,
    incoming: Vec<(String, String)>,
) -> Result<(), IamError> {
    check_new_tags(&incoming)?;
    for (key, value) in incoming {
        match existing
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        {
            Some(slot) => *slot = (key, value),
            None => existing.push((key, value)),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(IamError::LimitExceeded(
            "The number of tags has reached the maximum limit.".into(),
        ));
    }
    Ok(())
}

pub(crate) fn remove_tags(existing: &mut Vec<(String, String)>, keys: &[String]) {
    existing.retain(|(k, _)| !keys.iter().any(|gone| gone.eq_ignore_ascii_case(k)));
}

/// Tags as they travel inside a stored JSON document.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredTag {
    key: String,
    value: String,
}

pub(crate) fn store_tags(tags: &[(String, String)]) -> Vec<StoredTag> {
    tags.iter()
        .map(|(key, value)| StoredTag {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

pub(crate) fn load_tags(tags: Vec<StoredTag>) -> Vec<(String, String)> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

/// `n` random characters from `A-Z0-9`, without modulo bias.
pub(crate) fn random_id(n: usize) -> Result<String, IamError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    // The largest multiple of 36 that fits in a byte: bytes at or above it are redrawn.
    const LIMIT: u8 = 252;
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 32];
    while out.len() < n {
        rng.fill(&mut buf).map_err(|_| IamError::Random)?;
        for b in buf.iter().copied().filter(|b| *b < LIMIT) {
            if out.len() == n {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 36)]));
        }
    }
    Ok(out)
}

/// Characters IAM counts against policy size quotas: white space is free.
pub(crate) fn policy_size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// The document stored for a row, or a store failure when it no longer reads.
pub(crate) fn decode_document<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, IamError> {
    serde_json::from_str(json).map_err(|e| IamError::Store(idpool_store::StoreError::backend(e)))
}

pub(crate) fn encode_document<T: serde::Serialize>(doc: &T) -> Result<String, IamError> {
    serde_json::to_string(doc).map_err(|e| IamError::Store(idpool_store::StoreError::backend(e)))
}

/// What the IAM tests share: a core over in-memory SQLite at a fixed time, and a loose
/// reading of XML replies.
#[cfg(test)]
pub(crate) mod testkit {
    use std::sync::Arc;

    use idpool_wire::query::QueryParams;

    use crate::Core;
    use crate::clock::FixedClock;

    /// 2026-11-26T09:17:41Z.
    pub(crate) const NOW_MS: i64 = 1_795_684_661_000;

    pub(crate) async fn core() -> Core {
        let store = idpool_store::sqlite::SqliteStore::open_in_memory()
            .await
            .expect("in-memory SQLite opens");
        let settings = crate::CoreSettings {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            limits: crate::Limits::default(),
            issuer: "http://127.0.0.1:9600".into(),
            idp: crate::idp::IdpSettings::default(),
        };
        Core::new(Arc::new(store), Arc::new(FixedClock(NOW_MS)), settings)
            .await
            .expect("core builds")
    }

    /// Form-encodes pairs into query parameters, as an SDK would send them.
    pub(crate) fn params(pairs: &[(&str, &str)]) -> QueryParams {
        let body: String = form_encode(pairs);
        QueryParams::parse(body.as_bytes())
    }

    fn form_encode(pairs: &[(&str, &str)]) -> String {
        const FORM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    percent_encoding::utf8_percent_encode(k, FORM),
                    percent_encoding::utf8_percent_encode(v, FORM)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Runs an action that must succeed.
    pub(crate) async fn ok(core: &Core, action: &str, pairs: &[(&str, &str)]) -> String {
        match super::handle(core, action, &params(pairs), "req-1").await {
            Ok(body) => body,
            Err(e) => panic!("{action} failed: {e}"),
        }
    }

    /// Runs an action that must fail, returning (code, status, message).
    pub(crate) async fn fails(
        core: &Core,
        action: &str,
        pairs: &[(&str, &str)],
    ) -> (String, u16, String) {
        match super::handle(core, action, &params(pairs), "req-1").await {
            Ok(body) => panic!("{action} succeeded: {body}"),
            Err(e) => (e.code, e.status, e.message),
        }
    }

    /// The text of the first `<tag>` element.
    pub(crate) fn text<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
        all(body, tag).into_iter().next()
    }

    /// The texts of every `<tag>` element, in order.
    pub(crate) fn all<'a>(body: &'a str, tag: &str) -> Vec<&'a str> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut out = Vec::new();
        let mut rest = body;
        while let Some(start) = rest.find(&open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(&close) else { break };
            out.push(&after[..end]);
            rest = &after[end + close.len()..];
        }
        out
    }

    /// Undoes XML escaping, for comparing texts with what was sent.
    pub(crate) fn unescape(text: &str) -> String {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&#xD;", "\r")
            .replace("&amp;", "&")
    }

    pub(crate) fn url_decode(text: &str) -> String {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .expect("UTF-8")
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    #[tokio::test]
    async fn unknown_actions_are_refused_as_aws_does() {
        let core = core().await;
        let (code, status, message) = fails(&core, "CreateUser", &[]).await;
        assert_eq!((code.as_str(), status), ("InvalidAction", 400));
        assert_eq!(
            message,
            "Could not find operation CreateUser for version 2010-05-08"
        );
        assert!(!is_iam_action("CreateUser"));
        assert!(ACTIONS.iter().all(|a| is_iam_action(a)));
    }

    #[tokio::test]
    async fn missing_parameters_are_validation_errors_not_panics() {
        let core = core().await;
        for action in ACTIONS {
            if action.starts_with("List") && !action.contains("Role") {
                continue;
            }
            if *action == "ListRoles" {
                continue;
            }
            let (code, status, _) = fails(&core, action, &[]).await;
            assert_eq!(
                (code.as_str(), status),
                ("ValidationError", 400),
                "{action}"
            );
        }
    }

    #[test]
    fn pages_cover_every_item_once_across_markers() {
        let items: Vec<u32> = (0..25).collect();
        let key = |n: &u32| format!("{n:03}");
        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let (page, next) = paginate(items.clone(), key, marker.as_deref(), 7).unwrap();
            assert!(page.len() <= 7);
            seen.extend(page);
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(matches!(
            paginate(items.clone(), key, Some("zz"), 7),
            Err(IamError::Validation(_))
        ));
        let (page, next) = paginate(items, key, None, 25).unwrap();
        assert_eq!((page.len(), next), (25, None));
    }

    #[test]
    fn ids_are_upper_case_alphanumerics() {
        let id = random_id(17).unwrap();
        assert_eq!(id.len(), 17);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_ne!(random_id(17).unwrap(), id);
    }

    #[test]
    fn tags_merge_without_regard_to_case_and_keep_to_the_quota() {
        let mut tags = vec![("Team".to_string(), "a".to_string())];
        merge_tags(
            &mut tags,
            vec![("team".into(), "b".into()), ("env".into(), "".into())],
        )
        .unwrap();
        assert_eq!(
            tags,
            [("team".into(), "b".into()), ("env".into(), String::new())]
        );
        assert!(matches!(
            merge_tags(
                &mut tags,
                vec![("x".into(), "1".into()), ("X".into(), "2".into())]
            ),
            Err(IamError::InvalidInput(_))
        ));
        let many: Vec<_> = (0..49).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(matches!(
            merge_tags(&mut tags, many),
            Err(IamError::LimitExceeded(_))
        ));
        remove_tags(&mut tags, &["TEAM".to_string()]);
        assert!(tags.iter().all(|(k, _)| k != "team"));
    }

    #[test]
    fn policy_size_ignores_white_space() {
        assert_eq!(policy_size("{ \"a\" :\n\t1 }"), 7);
    }
}
