//! The identity-pool control plane: create, describe, update, delete, list, roles, tags and
//! principal-tag maps (spec §2, §3.1, §3.5, §4.13, §4.14).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::CognitoError;
use super::model::{CognitoProvider, Pool, PoolConfig, PrincipalTagMap, RoleMapping, string_map};
use crate::Core;

/// Tags per pool (spec §4.14).
const MAX_TAGS: usize = 50;
/// User-pool providers a pool may list: AWS's default quota (spec §3.4).
const MAX_USER_POOL_PROVIDERS: usize = 50;
/// Rules per role-mapping provider (spec §6).
const MAX_RULES: usize = 25;
/// How often a read-modify-write is retried when another writer got there first.
const UPDATE_ATTEMPTS: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateIdentityPoolInput {
    pub identity_pool_name: String,
    pub allow_unauthenticated_identities: bool,
    pub allow_classic_flow: Option<bool>,
    pub supported_login_providers: Option<BTreeMap<String, String>>,
    pub developer_provider_name: Option<String>,
    #[serde(rename = "OpenIdConnectProviderARNs")]
    pub open_id_connect_provider_arns: Option<Vec<String>>,
    pub cognito_identity_providers: Option<Vec<CognitoProvider>>,
    #[serde(rename = "SamlProviderARNs")]
    pub saml_provider_arns: Option<Vec<String>>,
    pub identity_pool_tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolIdInput {
    pub identity_pool_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateIdentityPoolInput {
    pub identity_pool_id: String,
    #[serde(flatten)]
    pub rest: CreateIdentityPoolInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListIdentityPoolsInput {
    pub max_results: u32,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetIdentityPoolRolesInput {
    pub identity_pool_id: String,
    pub roles: BTreeMap<String, String>,
    pub role_mappings: Option<BTreeMap<String, RoleMapping>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub resource_arn: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceArnInput {
    pub resource_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetPrincipalTagAttributeMapInput {
    pub identity_pool_id: String,
    pub identity_provider_name: String,
    pub use_defaults: Option<bool>,
    pub principal_tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPrincipalTagAttributeMapInput {
    pub identity_pool_id: String,
    pub identity_provider_name: String,
}

pub async fn create_identity_pool(
    core: &Core,
    input: CreateIdentityPoolInput,
) -> Result<Value, CognitoError> {
    let config = config_from_input(&input, None)?;
    let pool = Pool {
        id: format!("{}:{}", core.region, uuid::Uuid::new_v4()),
        name: input.identity_pool_name,
        version: 1,
        created_ms: core.clock.now_ms(),
        config,
    };
    match core
        .store
        .insert_pool(&pool.to_row(), core.limits.max_identity_pools)
        .await
    {
        Ok(()) => Ok(pool.to_wire()),
        Err(idpool_store::StoreError::LimitExceeded) => Err(CognitoError::LimitExceeded(format!(
            "Limit of {} identity pools per account reached.",
            core.limits.max_identity_pools
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn describe_identity_pool(
    core: &Core,
    input: PoolIdInput,
) -> Result<Value, CognitoError> {
    Ok(load_pool(core, &input.identity_pool_id).await?.to_wire())
}

pub async fn update_identity_pool(
    core: &Core,
    input: UpdateIdentityPoolInput,
) -> Result<Value, CognitoError> {
    let mut pool = load_pool_fresh(core, &input.identity_pool_id).await?;
    let mut config = config_from_input(&input.rest, Some(&pool.config))?;
    // Update replaces the pool's settings, but what other operations own stays.
    config.roles = pool.config.roles.take();
    config.role_mappings = pool.config.role_mappings.take();
    config.principal_tag_maps = std::mem::take(&mut pool.config.principal_tag_maps);
    if input.rest.identity_pool_tags.is_none() {
        config.tags = std::mem::take(&mut pool.config.tags);
    }
    if let Some(mappings) = &config.role_mappings {
        let probe = Pool {
            config: config.clone(),
            ..pool.clone()
        };
        check_mapping_keys(&probe, mappings)?;
    }
    pool.name = input.rest.identity_pool_name;
    pool.config = config;
    pool.version += 1;
    let result = core.store.update_pool(&pool.to_row()).await;
    core.caches.pools.remove(&pool.id);
    match result {
        Ok(()) => Ok(pool.to_wire()),
        Err(idpool_store::StoreError::NotFound) => {
            Err(CognitoError::pool_not_found(&input.identity_pool_id))
        }
        Err(idpool_store::StoreError::ConcurrentModification) => Err(concurrent()),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_identity_pool(core: &Core, input: PoolIdInput) -> Result<Value, CognitoError> {
    let deleted = core.store.delete_pool(&input.identity_pool_id).await;
    core.caches.pools.remove(&input.identity_pool_id);
    if deleted? {
        Ok(json!({}))
    } else {
        Err(CognitoError::pool_not_found(&input.identity_pool_id))
    }
}

pub async fn list_identity_pools(
    core: &Core,
    input: ListIdentityPoolsInput,
) -> Result<Value, CognitoError> {
    let after = match &input.next_token {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    let limit = input.max_results.clamp(1, 60);
    // One extra row tells whether another page exists without a second query.
    let mut rows = core.store.list_pools(after.as_deref(), limit + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let pools: Vec<Value> = rows
        .iter()
        .map(|p| json!({"IdentityPoolId": p.id, "IdentityPoolName": p.name}))
        .collect();
    let mut out = Map::new();
    if more && let Some(last) = rows.last() {
        out.insert("NextToken".into(), encode_token(&last.id).into());
    }
    out.insert("IdentityPools".into(), Value::Array(pools));
    Ok(Value::Object(out))
}

pub async fn set_identity_pool_roles(
    core: &Core,
    input: SetIdentityPoolRolesInput,
) -> Result<Value, CognitoError> {
    for arn in input.roles.values() {
        check_role_arn(arn)?;
    }
    if let Some(mappings) = &input.role_mappings {
        for mapping in mappings.values() {
            check_mapping(mapping)?;
        }
    }
    modify_pool(core, &input.identity_pool_id, |pool| {
        if let Some(mappings) = &input.role_mappings {
            check_mapping_keys(pool, mappings)?;
        }
        pool.config.roles = Some(input.roles.clone());
        pool.config.role_mappings = input.role_mappings.clone().filter(|m| !m.is_empty());
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn get_identity_pool_roles(
    core: &Core,
    input: PoolIdInput,
) -> Result<Value, CognitoError> {
    let pool = load_pool(core, &input.identity_pool_id).await?;
    let mut out = Map::new();
    out.insert("IdentityPoolId".into(), pool.id.clone().into());
    out.insert(
        "Roles".into(),
        string_map(&pool.config.roles.clone().unwrap_or_default()),
    );
    if let Some(m) = &pool.config.role_mappings {
        out.insert(
            "RoleMappings".into(),
            serde_json::to_value(m).unwrap_or_default(),
        );
    }
    Ok(Value::Object(out))
}

pub async fn tag_resource(core: &Core, input: TagResourceInput) -> Result<Value, CognitoError> {
    let id = pool_id_from_arn(core, &input.resource_arn)?;
    check_tags(&input.tags)?;
    modify_pool(core, &id, |pool| {
        let mut tags = pool.config.tags.clone();
        tags.extend(input.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if tags.len() > MAX_TAGS {
            return Err(CognitoError::LimitExceeded(format!(
                "An identity pool may carry at most {MAX_TAGS} tags."
            )));
        }
        pool.config.tags = tags;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn untag_resource(core: &Core, input: UntagResourceInput) -> Result<Value, CognitoError> {
    let id = pool_id_from_arn(core, &input.resource_arn)?;
    modify_pool(core, &id, |pool| {
        for k in &input.tag_keys {
            pool.config.tags.remove(k);
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn list_tags_for_resource(
    core: &Core,
    input: ResourceArnInput,
) -> Result<Value, CognitoError> {
    let id = pool_id_from_arn(core, &input.resource_arn)?;
    let pool = load_pool(core, &id).await?;
    Ok(json!({ "Tags": string_map(&pool.config.tags) }))
}

pub async fn set_principal_tag_attribute_map(
    core: &Core,
    input: SetPrincipalTagAttributeMapInput,
) -> Result<Value, CognitoError> {
    let entry = PrincipalTagMap {
        use_defaults: input.use_defaults,
        principal_tags: input.principal_tags.clone(),
    };
    let name = input.identity_provider_name.clone();
    modify_pool(core, &input.identity_pool_id, |pool| {
        check_provider_configured(pool, &name)?;
        pool.config
            .principal_tag_maps
            .insert(name.clone(), entry.clone());
        Ok(())
    })
    .await?;
    Ok(principal_tag_map_wire(
        &input.identity_pool_id,
        &input.identity_provider_name,
        &entry,
    ))
}

pub async fn get_principal_tag_attribute_map(
    core: &Core,
    input: GetPrincipalTagAttributeMapInput,
) -> Result<Value, CognitoError> {
    let pool = load_pool(core, &input.identity_pool_id).await?;
    check_provider_configured(&pool, &input.identity_provider_name)?;
    let entry = pool
        .config
        .principal_tag_maps
        .get(&input.identity_provider_name)
        .cloned()
        .unwrap_or_default();
    Ok(principal_tag_map_wire(
        &pool.id,
        &input.identity_provider_name,
        &entry,
    ))
}

fn principal_tag_map_wire(pool_id: &str, provider: &str, entry: &PrincipalTagMap) -> Value {
    let mut out = Map::new();
    out.insert("IdentityPoolId".into(), pool_id.into());
    out.insert("IdentityProviderName".into(), provider.into());
    out.insert(
        "UseDefaults".into(),
        entry.use_defaults.unwrap_or(false).into(),
    );
    if let Some(tags) = &entry.principal_tags {
        out.insert("PrincipalTags".into(), string_map(tags));
    }
    Value::Object(out)
}

/// Reads a pool or answers the catalogue's not-found message. Served from a short-lived cache:
/// the credential path reads the pool on every request.
pub async fn load_pool(core: &Core, id: &str) -> Result<Arc<Pool>, CognitoError> {
    if let Some(hit) = core.caches.pools.get(&id.to_string()) {
        return Ok(hit);
    }
    let pool = Arc::new(load_pool_fresh(core, id).await?);
    core.caches.pools.insert(id.to_string(), pool.clone());
    Ok(pool)
}

/// Reads a pool from the store itself, for read-modify-write.
async fn load_pool_fresh(core: &Core, id: &str) -> Result<Pool, CognitoError> {
    let row = core
        .store
        .get_pool(id)
        .await?
        .ok_or_else(|| CognitoError::pool_not_found(id))?;
    Pool::from_row(row).map_err(CognitoError::internal)
}

/// Read-modify-write of one pool under optimistic concurrency, retried a few times so that
/// independent edits (two tag calls) both land instead of one failing.
async fn modify_pool(
    core: &Core,
    id: &str,
    edit: impl Fn(&mut Pool) -> Result<(), CognitoError>,
) -> Result<Pool, CognitoError> {
    for _ in 0..UPDATE_ATTEMPTS {
        let mut pool = load_pool_fresh(core, id).await?;
        edit(&mut pool)?;
        pool.version += 1;
        let result = core.store.update_pool(&pool.to_row()).await;
        core.caches.pools.remove(&id.to_string());
        match result {
            Ok(()) => return Ok(pool),
            Err(idpool_store::StoreError::ConcurrentModification) => continue,
            Err(idpool_store::StoreError::NotFound) => {
                return Err(CognitoError::pool_not_found(id));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(concurrent())
}

fn concurrent() -> CognitoError {
    CognitoError::ConcurrentModification(
        "The identity pool was modified by another request; retry.".into(),
    )
}

/// Builds the stored configuration from Create/Update input, applying the checks the model
/// cannot express. `previous` is the pool being updated, for the write-once developer name.
fn config_from_input(
    input: &CreateIdentityPoolInput,
    previous: Option<&PoolConfig>,
) -> Result<PoolConfig, CognitoError> {
    if let Some(list) = &input.cognito_identity_providers
        && list
            .iter()
            .any(|p| p.provider_name.as_deref().is_none_or(str::is_empty))
    {
        return Err(CognitoError::InvalidParameter(
            "Invalid Cognito Identity Provider".into(),
        ));
    }
    if input
        .cognito_identity_providers
        .as_ref()
        .is_some_and(|l| l.len() > MAX_USER_POOL_PROVIDERS)
    {
        return Err(CognitoError::LimitExceeded(format!(
            "An identity pool may list at most {MAX_USER_POOL_PROVIDERS} Cognito user pool providers."
        )));
    }
    let tags = input.identity_pool_tags.clone().unwrap_or_default();
    check_tags(&tags)?;
    if tags.len() > MAX_TAGS {
        return Err(CognitoError::LimitExceeded(format!(
            "An identity pool may carry at most {MAX_TAGS} tags."
        )));
    }
    let developer_provider_name = match (
        previous.and_then(|p| p.developer_provider_name.clone()),
        &input.developer_provider_name,
    ) {
        (Some(old), Some(new)) if &old != new => {
            return Err(CognitoError::InvalidParameter(
                "Cannot change DeveloperProviderName once it has been set.".into(),
            ));
        }
        (Some(old), _) => Some(old),
        (None, new) => new.clone(),
    };
    Ok(PoolConfig {
        allow_unauthenticated: input.allow_unauthenticated_identities,
        allow_classic_flow: input.allow_classic_flow,
        supported_login_providers: input.supported_login_providers.clone(),
        developer_provider_name,
        open_id_connect_provider_arns: input.open_id_connect_provider_arns.clone(),
        cognito_identity_providers: input.cognito_identity_providers.clone(),
        saml_provider_arns: input.saml_provider_arns.clone(),
        tags,
        roles: None,
        role_mappings: None,
        principal_tag_maps: BTreeMap::new(),
    })
}

/// Whether a character may appear in a tag key or value: letters, numbers, space separators
/// and `_ . : / = + - @`, the set AWS's tagging rules allow (spec §4.14).
fn tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || matches!(
            c,
            ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200a}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{202f}'
                    | '\u{205f}'
                    | '\u{3000}'
                    | '_'
                    | '.'
                    | ':'
                    | '/'
                    | '='
                    | '+'
                    | '-'
                    | '@'
        )
}

/// Tag keys may not use the reserved `aws:` prefix, and keys and values use only the
/// characters AWS's tagging rules allow (spec §4.14).
fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), CognitoError> {
    for (k, v) in tags {
        if !k.chars().all(tag_char) || !v.chars().all(tag_char) {
            return Err(CognitoError::InvalidParameter(format!(
                "Tag key '{k}' or its value uses a character outside letters, numbers, spaces and _ . : / = + - @."
            )));
        }
    }
    if let Some(k) = tags
        .keys()
        .find(|k| k.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(CognitoError::InvalidParameter(format!(
            "Tag key '{k}' uses the reserved prefix 'aws:'."
        )));
    }
    Ok(())
}

/// A role value must be a role ARN; anything else cannot be passed (spec §1.5.5).
fn check_role_arn(arn: &str) -> Result<(), CognitoError> {
    let forbidden = || CognitoError::NotAuthorized(format!("Access to Role '{arn}' is forbidden."));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
        return Err(forbidden());
    }
    let account_ok = parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit());
    let name = parts[5].strip_prefix("role/").unwrap_or("");
    if !account_ok || name.is_empty() || name.ends_with('/') {
        return Err(forbidden());
    }
    Ok(())
}

fn check_mapping(mapping: &RoleMapping) -> Result<(), CognitoError> {
    if mapping.ambiguous_role_resolution.is_none() {
        return Err(CognitoError::InvalidParameter(
            "AmbiguousRoleResolution must be specified for a role mapping.".into(),
        ));
    }
    match (mapping.kind.as_str(), &mapping.rules_configuration) {
        ("Rules", None) => Err(CognitoError::InvalidParameter(
            "RulesConfiguration must be specified for a role mapping of Type Rules.".into(),
        )),
        ("Rules", Some(rc)) if rc.rules.len() > MAX_RULES => Err(CognitoError::InvalidParameter(
            format!("A role mapping may have at most {MAX_RULES} rules."),
        )),
        ("Rules", Some(rc)) => rc
            .rules
            .iter()
            .try_for_each(|r| check_role_arn(&r.role_arn)),
        _ => Ok(()),
    }
}

/// Role-mapping keys must name a provider of the pool; user pools as `<provider>:<client id>`.
fn check_mapping_keys(
    pool: &Pool,
    mappings: &BTreeMap<String, RoleMapping>,
) -> Result<(), CognitoError> {
    let c = &pool.config;
    for key in mappings.keys() {
        let user_pool = c.cognito_identity_providers.iter().flatten().any(|p| {
            matches!((&p.provider_name, &p.client_id), (Some(n), Some(id)) if *key == format!("{n}:{id}"))
        });
        let other = c
            .supported_login_providers
            .as_ref()
            .is_some_and(|m| m.contains_key(key))
            || c.open_id_connect_provider_arns
                .iter()
                .flatten()
                .any(|a| a == key)
            || c.saml_provider_arns.iter().flatten().any(|a| a == key);
        if !user_pool && !other {
            return Err(CognitoError::InvalidParameter(format!(
                "{key} is not a valid RoleMapping ProviderName or is not a configured provider."
            )));
        }
    }
    Ok(())
}

fn check_provider_configured(pool: &Pool, name: &str) -> Result<(), CognitoError> {
    if pool.configured_providers().iter().any(|p| p == name) {
        Ok(())
    } else {
        Err(CognitoError::InvalidParameter(format!(
            "{name} is not a configured identity provider of identity pool {}.",
            pool.id
        )))
    }
}

/// `arn:<partition>:cognito-identity:<region>:<account>:identitypool/<pool id>` -> pool id.
fn pool_id_from_arn(core: &Core, arn: &str) -> Result<String, CognitoError> {
    let invalid = || CognitoError::InvalidParameter(format!("Invalid ARN: {arn}"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "cognito-identity" {
        return Err(invalid());
    }
    let id = parts[5].strip_prefix("identitypool/").ok_or_else(invalid)?;
    if parts[1] != crate::partition(&core.region)
        || parts[3] != core.region
        || parts[4] != core.account_id
    {
        return Err(CognitoError::ResourceNotFound(format!(
            "Resource {arn} not found."
        )));
    }
    Ok(id.to_string())
}

/// The ARN of a pool, as tagging APIs and tokens name it (spec §3.1).
pub fn pool_arn(core: &Core, pool_id: &str) -> String {
    format!(
        "arn:{}:cognito-identity:{}:{}:identitypool/{}",
        crate::partition(&core.region),
        core.region,
        core.account_id,
        pool_id
    )
}

/// Pagination tokens are opaque to clients; a versioned hex wrapper keeps them so.
pub(crate) fn encode_token(last_id: &str) -> String {
    format!("v1.{}", hex_encode(last_id.as_bytes()))
}

pub(crate) fn decode_token(token: &str) -> Result<String, CognitoError> {
    let invalid = || CognitoError::InvalidParameter("Invalid NextToken.".into());
    let hex = token.strip_prefix("v1.").ok_or_else(invalid)?;
    let bytes = hex_decode(hex).ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_checked() {
        assert!(check_role_arn("arn:aws:iam::123456789012:role/Cognito_Unauth").is_ok());
        assert!(check_role_arn("arn:aws:iam::123456789012:role/service-role/x").is_ok());
        let e = check_role_arn("Cognito_Unauth_Role").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Access to Role 'Cognito_Unauth_Role' is forbidden."
        );
        assert!(check_role_arn("arn:aws:iam::12345:role/x").is_err());
        assert!(check_role_arn("arn:aws:s3:::bucket/role/x").is_err());
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = encode_token("us-east-1:abc");
        assert_eq!(decode_token(&t).unwrap(), "us-east-1:abc");
        assert!(decode_token("nope").is_err());
        assert!(decode_token("v1.zz").is_err());
        assert!(decode_token("v1.abc").is_err());
    }
}
