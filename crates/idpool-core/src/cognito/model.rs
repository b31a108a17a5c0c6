//! The identity pool as stored, and its wire rendering (spec §2 "IdentityPool", §4.1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One user-pool provider entry (`CognitoIdentityProviders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CognitoProvider {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub provider_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_side_token_check: Option<bool>,
}

/// One rule of a `Rules` role mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MappingRule {
    pub claim: String,
    pub match_type: String,
    pub value: String,
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RulesConfiguration {
    pub rules: Vec<MappingRule>,
}

/// How a provider's logins choose their role (spec §4.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleMapping {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ambiguous_role_resolution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rules_configuration: Option<RulesConfiguration>,
}

/// The attribute map of one provider (SetPrincipalTagAttributeMap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PrincipalTagMap {
    pub use_defaults: Option<bool>,
    pub principal_tags: Option<BTreeMap<String, String>>,
}

/// Everything a pool holds besides its id and name. Options keep "never set" apart from
/// "set to empty", because Describe omits what was never set (spec §2 CreateIdentityPool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PoolConfig {
    pub allow_unauthenticated: bool,
    /// Tri-state: unset behaves as enabled for GetOpenIdToken (spec §4.5).
    pub allow_classic_flow: Option<bool>,
    pub supported_login_providers: Option<BTreeMap<String, String>>,
    pub developer_provider_name: Option<String>,
    pub open_id_connect_provider_arns: Option<Vec<String>>,
    pub cognito_identity_providers: Option<Vec<CognitoProvider>>,
    pub saml_provider_arns: Option<Vec<String>>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub roles: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub role_mappings: Option<BTreeMap<String, RoleMapping>>,
    #[serde(default)]
    pub principal_tag_maps: BTreeMap<String, PrincipalTagMap>,
}

/// A pool read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub version: i64,
    pub created_ms: i64,
    pub config: PoolConfig,
}

impl Pool {
    pub fn from_row(row: idpool_store::PoolRow) -> Result<Pool, serde_json::Error> {
        Ok(Pool {
            config: serde_json::from_str(&row.document)?,
            id: row.id,
            name: row.name,
            version: row.version,
            created_ms: row.created_ms,
        })
    }

    pub fn to_row(&self) -> idpool_store::PoolRow {
        idpool_store::PoolRow {
            id: self.id.clone(),
            name: self.name.clone(),
            version: self.version,
            created_ms: self.created_ms,
            // Serialising plain maps, strings and bools cannot fail.
            document: serde_json::to_string(&self.config).unwrap_or_default(),
        }
    }

    /// The `IdentityPool` output shape. Tags are always present, as the real service does.
    pub fn to_wire(&self) -> Value {
        let c = &self.config;
        let mut m = Map::new();
        m.insert("IdentityPoolId".into(), self.id.clone().into());
        m.insert("IdentityPoolName".into(), self.name.clone().into());
        m.insert(
            "AllowUnauthenticatedIdentities".into(),
            c.allow_unauthenticated.into(),
        );
        if let Some(v) = c.allow_classic_flow {
            m.insert("AllowClassicFlow".into(), v.into());
        }
        if let Some(v) = &c.supported_login_providers {
            m.insert("SupportedLoginProviders".into(), string_map(v));
        }
        if let Some(v) = &c.developer_provider_name {
            m.insert("DeveloperProviderName".into(), v.clone().into());
        }
        if let Some(v) = &c.open_id_connect_provider_arns {
            m.insert("OpenIdConnectProviderARNs".into(), v.clone().into());
        }
        if let Some(v) = &c.cognito_identity_providers {
            let list = v
                .iter()
                .map(|p| {
                    let mut v = serde_json::to_value(p).unwrap_or_default();
                    // The model defaults ServerSideTokenCheck to false and AWS shows it so.
                    if let Some(o) = v.as_object_mut() {
                        o.entry("ServerSideTokenCheck")
                            .or_insert(Value::Bool(false));
                    }
                    v
                })
                .collect();
            m.insert("CognitoIdentityProviders".into(), Value::Array(list));
        }
        if let Some(v) = &c.saml_provider_arns {
            m.insert("SamlProviderARNs".into(), v.clone().into());
        }
        m.insert("IdentityPoolTags".into(), string_map(&c.tags));
        Value::Object(m)
    }

    /// Every provider name a login, role mapping or attribute map may name on this pool.
    pub fn configured_providers(&self) -> Vec<String> {
        let c = &self.config;
        let mut out = Vec::new();
        if let Some(m) = &c.supported_login_providers {
            out.extend(m.keys().cloned());
        }
        if let Some(v) = &c.cognito_identity_providers {
            out.extend(v.iter().filter_map(|p| p.provider_name.clone()));
        }
        out.extend(c.open_id_connect_provider_arns.iter().flatten().cloned());
        out.extend(c.saml_provider_arns.iter().flatten().cloned());
        out
    }
}

pub fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}
