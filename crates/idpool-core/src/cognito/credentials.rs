//! Choosing the role, checking its trust policy as STS would, and issuing sealed credentials
//! and OpenID tokens (spec §4.4, §4.9-4.12).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::CognitoError;
use super::logins::COGNITO_PROVIDER;
use super::model::{MappingRule, Pool, RoleMapping};
use crate::Core;
use crate::policy::eval::{ContextKeys, Decision, Request, RequestPrincipal};
use crate::session::{IssuedCredentials, SessionClaims};

/// Lifetime of enhanced-flow credentials (spec §4.10: one hour, not configurable).
pub const ENHANCED_CREDENTIALS_MS: i64 = 3600 * 1000;
/// Lifetime of GetOpenIdToken tokens (spec §4.5).
pub const OPEN_ID_TOKEN_S: i64 = 600;
/// Session name AWS gives enhanced-flow sessions.
pub const ENHANCED_SESSION_NAME: &str = "CognitoIdentityCredentials";

pub const INVALID_POOL_CONFIGURATION: &str =
    "Invalid identity pool configuration. Check assigned IAM roles for this pool.";

/// The services a guest session may reach whatever its role says: the inline scope-down
/// policy and `AmazonCognitoUnAuthedIdentitiesSessionPolicy` together (spec §4.4 step 6).
const GUEST_ACTIONS: &[&str] = &[
    "appsync:*",
    "cloudwatch:*",
    "cognito-identity:*",
    "cognito-sync:*",
    "comprehend:*",
    "dynamodb:*",
    "firehose:*",
    "kinesis:*",
    "gamelift:*",
    "iot:*",
    "kms:*",
    "lambda:*",
    "lex:*",
    "machinelearning:*",
    "mobileanalytics:*",
    "mobiletargeting:*",
    "polly:*",
    "rekognition:*",
    "s3:*",
    "sdb:*",
    "ses:*",
    "sns:*",
    "sqs:*",
    "sumerian:*",
    "transcribe:*",
    "translate:*",
    "rum:PutRumEvents",
    "sagemaker:InvokeEndpoint",
    "personalize:*",
    "geo:GetMap*",
    "geo:SearchPlaceIndex*",
    "geo:CalculateRoute*",
];

/// The guest scope-down session policy as a policy document.
pub fn guest_session_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": GUEST_ACTIONS, "Resource": "*"}]
    })
    .to_string()
}

/// Who the credentials are for.
#[derive(Debug, Clone)]
pub struct Subject {
    pub identity_id: String,
    pub authenticated: bool,
    /// `amr` as the token carries it.
    pub amr: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// The outside logins of this request, in the order they were verified: role mappings
    /// and principal tags read their claims.
    pub logins: Vec<LoginClaims>,
}

/// The claims of one verified outside login and the names it is configured under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginClaims {
    /// Its `RoleMappings` key: `<user pool>:<client id>`, the OIDC provider ARN, or the
    /// social provider's name (spec §3.5).
    pub mapping_key: String,
    /// Its principal-tag provider name: the user pool, the OIDC ARN or the social name.
    pub tag_provider: String,
    /// The configured client id the token was issued to.
    pub client_id: String,
    pub claims: Map<String, Value>,
    /// For a SAML login, the roles its assertion offers for this provider (spec §4.9).
    pub assertion_roles: Option<Vec<String>>,
}

pub const AMBIGUOUS_DENIED: &str = "The ambiguous role mapping rules denied this request";

/// Principal tags the `UseDefaults` mapping produces: tag key and claim (spec §4.13: the
/// client id and the user's subject).
pub const DEFAULT_TAG_CLAIMS: [(&str, &str); 2] = [("client", "aud"), ("username", "sub")];
/// Session tags a request may carry (STS).
const MAX_SESSION_TAGS: usize = 50;
const MAX_TAG_VALUE_CHARS: usize = 256;

/// The `amr` claim for an identity: `unauthenticated`, or `authenticated` and its providers.
pub fn amr_for(authenticated: bool, providers: &[String]) -> Vec<String> {
    if authenticated {
        let mut v = vec!["authenticated".to_string()];
        v.extend(providers.iter().cloned());
        v
    } else {
        vec!["unauthenticated".to_string()]
    }
}

/// Picks the role for a subject (spec §4.9): the role mapping of the first presented login
/// that has one, else the pool's default role for the subject's kind.
pub fn choose_role(
    pool: &Pool,
    subject: &Subject,
    custom_role_arn: Option<&str>,
) -> Result<String, CognitoError> {
    if subject.authenticated
        && let Some(mappings) = &pool.config.role_mappings
        && let Some((mapping, login)) = subject
            .logins
            .iter()
            .find_map(|l| mappings.get(&l.mapping_key).map(|m| (m, l)))
    {
        return mapped_role(pool, mapping, login, custom_role_arn);
    }
    if subject.authenticated
        && let Some(roles) = subject
            .logins
            .iter()
            .find_map(|l| l.assertion_roles.as_ref())
    {
        return assertion_role(pool, roles, custom_role_arn);
    }
    default_role(pool, subject.authenticated, custom_role_arn)
}

pub const SEVERAL_ASSERTION_ROLES: &str =
    "The SAML assertion offers several roles; choose one with CustomRoleArn.";

/// A SAML login without a role mapping takes its role from the assertion (spec §4.9): the
/// one it offers, or the one of several that CustomRoleArn names. An assertion offering none
/// falls back to the pool's authenticated role.
fn assertion_role(
    pool: &Pool,
    roles: &[String],
    custom: Option<&str>,
) -> Result<String, CognitoError> {
    match (custom, roles) {
        (_, []) => default_role(pool, true, custom),
        (Some(c), _) if roles.iter().any(|r| r == c) => Ok(c.to_string()),
        (Some(c), _) => Err(forbidden_role(c)),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(CognitoError::NotAuthorized(SEVERAL_ASSERTION_ROLES.into())),
    }
}

fn default_role(
    pool: &Pool,
    authenticated: bool,
    custom_role_arn: Option<&str>,
) -> Result<String, CognitoError> {
    let key = if authenticated {
        "authenticated"
    } else {
        "unauthenticated"
    };
    let role = pool
        .config
        .roles
        .as_ref()
        .and_then(|r| r.get(key))
        .cloned()
        .ok_or_else(|| {
            CognitoError::InvalidIdentityPoolConfiguration(INVALID_POOL_CONFIGURATION.into())
        })?;
    match custom_role_arn {
        // Without a mapping that offers a choice, the only role an identity may ask for is the
        // one it would get anyway (spec §4.9.3).
        Some(custom) if custom != role => Err(forbidden_role(custom)),
        _ => Ok(role),
    }
}

fn forbidden_role(arn: &str) -> CognitoError {
    CognitoError::NotAuthorized(format!("Access to Role '{arn}' is forbidden."))
}

fn mapped_role(
    pool: &Pool,
    mapping: &RoleMapping,
    login: &LoginClaims,
    custom: Option<&str>,
) -> Result<String, CognitoError> {
    let claims = &login.claims;
    match mapping.kind.as_str() {
        "Token" => {
            // A SAML assertion's roles play the part of a user pool token's `cognito:roles`.
            let roles = match &login.assertion_roles {
                Some(r) => r.clone(),
                None => claim_strings(claims.get("cognito:roles")),
            };
            if let Some(custom) = custom {
                return if roles.iter().any(|r| r == custom) {
                    Ok(custom.to_string())
                } else {
                    Err(forbidden_role(custom))
                };
            }
            // A user pool's preferred role; a SAML assertion has none, whatever its attributes
            // are called, so its roles come only from the Role attribute.
            if login.assertion_roles.is_none()
                && let Some(preferred) =
                    claims.get("cognito:preferred_role").and_then(Value::as_str)
            {
                return Ok(preferred.to_string());
            }
            match roles.as_slice() {
                [only] => Ok(only.clone()),
                _ => ambiguous(pool, mapping, None),
            }
        }
        "Rules" => {
            let matching: Vec<&str> = mapping
                .rules_configuration
                .iter()
                .flat_map(|rc| rc.rules.iter())
                .filter(|r| rule_matches(r, claims))
                .map(|r| r.role_arn.as_str())
                .collect();
            match (custom, matching.first()) {
                // CustomRoleArn may pick any matching rule's role over the first one.
                (Some(c), Some(_)) if matching.contains(&c) => Ok(c.to_string()),
                (Some(c), Some(_)) => Err(forbidden_role(c)),
                (None, Some(first)) => Ok((*first).to_string()),
                (_, None) => ambiguous(pool, mapping, custom),
            }
        }
        _ => ambiguous(pool, mapping, custom),
    }
}

/// `AmbiguousRoleResolution`: the authenticated role, or a denial (also when unset, failing
/// closed).
fn ambiguous(
    pool: &Pool,
    mapping: &RoleMapping,
    custom: Option<&str>,
) -> Result<String, CognitoError> {
    match mapping.ambiguous_role_resolution.as_deref() {
        Some("AuthenticatedRole") => default_role(pool, true, custom),
        _ => Err(CognitoError::NotAuthorized(AMBIGUOUS_DENIED.into())),
    }
}

/// A claim as strings: a string, a number or boolean as JSON text, or the scalar elements of
/// an array (`cognito:groups`, `cognito:roles`).
fn claim_strings(v: Option<&Value>) -> Vec<String> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
            _ => None,
        }
    }
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
        Some(v) => scalar(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// One rule against the claims. An array claim matches when one of its elements does
/// (`NotEqual`: when none equals the value). A missing claim never matches, not even
/// `NotEqual` (spec §4.9).
pub fn rule_matches(rule: &MappingRule, claims: &Map<String, Value>) -> bool {
    let values = claim_strings(claims.get(&rule.claim));
    if values.is_empty() {
        return false;
    }
    let v = rule.value.as_str();
    match rule.match_type.as_str() {
        "Equals" => values.iter().any(|x| x == v),
        "Contains" => values.iter().any(|x| x.contains(v)),
        "StartsWith" => values.iter().any(|x| x.starts_with(v)),
        "NotEqual" => values.iter().all(|x| x != v),
        _ => false,
    }
}

/// Session tags from the pool's attribute maps (spec §4.13): for each presented login whose
/// provider has a map, `UseDefaults` adds the client id and subject, `PrincipalTags` maps tag
/// keys to claims. Claims that are missing, not scalar, or longer than a tag value may be
/// are skipped; the first login to set a key wins.
pub fn principal_tags(pool: &Pool, logins: &[LoginClaims]) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for login in logins {
        let Some(map) = pool.config.principal_tag_maps.get(&login.tag_provider) else {
            continue;
        };
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if map.use_defaults == Some(true) {
            pairs.extend(DEFAULT_TAG_CLAIMS);
        }
        if let Some(explicit) = &map.principal_tags {
            pairs.extend(explicit.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        for (tag, claim) in pairs {
            if tags.len() >= MAX_SESSION_TAGS || tags.contains_key(tag) {
                continue;
            }
            // `aud` may be an array; the tag is the client id the token was accepted for.
            let value = if claim == "aud" {
                Some(login.client_id.clone())
            } else {
                match login.claims.get(claim) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
                    _ => None,
                }
            };
            if let Some(value) = value.filter(|v| v.chars().count() <= MAX_TAG_VALUE_CHARS) {
                tags.insert(tag.to_string(), value);
            }
        }
    }
    tags
}

/// The context keys STS sees for a Cognito web identity (spec §4.12).
pub fn cognito_context(pool_id: &str, subject: &Subject) -> ContextKeys {
    context_for(pool_id, &subject.identity_id, &subject.amr, &subject.tags)
}

/// Context keys from a Cognito token's `aud`, `sub`, `amr` and principal tags.
pub fn context_for(
    aud: &str,
    sub: &str,
    amr: &[String],
    tags: &BTreeMap<String, String>,
) -> ContextKeys {
    let mut keys = ContextKeys::new();
    keys.insert_one("cognito-identity.amazonaws.com:aud", aud);
    keys.insert_one("cognito-identity.amazonaws.com:sub", sub);
    keys.insert("cognito-identity.amazonaws.com:amr", amr.to_vec());
    keys.insert_one("aws:FederatedProvider", COGNITO_PROVIDER);
    if !tags.is_empty() {
        keys.insert("aws:TagKeys", tags.keys().cloned().collect());
        for (k, v) in tags {
            keys.insert_one(&format!("aws:RequestTag/{k}"), v.clone());
        }
    }
    keys
}

/// The role as STS needs it: its id and whether its trust policy lets a Cognito identity in.
pub struct TrustedRole {
    pub arn: String,
    pub id: String,
}

/// Looks the role up in idpool's IAM and evaluates its trust policy for
/// `sts:AssumeRoleWithWebIdentity` (and `sts:TagSession` when tags travel). `None` means STS
/// would refuse.
pub async fn check_trust(
    core: &Core,
    role_arn: &str,
    context: &ContextKeys,
    with_tags: bool,
) -> Result<Option<TrustedRole>, CognitoError> {
    let entry = crate::cache::role_entry(core, role_arn)
        .await
        .map_err(|e| CognitoError::Internal(Box::new(std::io::Error::other(e.to_string()))))?;
    let Some(entry) = entry else { return Ok(None) };
    let Some(doc) = &entry.trust else {
        return Ok(None);
    };
    let role = &entry.role;
    let principal = RequestPrincipal::Federated(COGNITO_PROVIDER.to_string());
    let mut actions = vec!["sts:AssumeRoleWithWebIdentity"];
    if with_tags {
        actions.push("sts:TagSession");
    }
    for action in actions {
        let req = Request {
            action,
            resource: &role.arn,
            principal: Some(&principal),
            context,
        };
        if crate::policy::eval::evaluate(&[doc], &req) != Decision::Allowed {
            return Ok(None);
        }
    }
    Ok(Some(TrustedRole {
        arn: role.arn.clone(),
        id: role.id.clone(),
    }))
}

/// Issues enhanced-flow credentials: role chosen, trust checked, session sealed. Nothing is
/// written.
pub async fn issue_enhanced(
    core: &Core,
    pool: &Pool,
    subject: &Subject,
    custom_role_arn: Option<&str>,
    now_ms: i64,
) -> Result<IssuedCredentials, CognitoError> {
    let role_arn = choose_role(pool, subject, custom_role_arn)?;
    let context = cognito_context(&pool.id, subject);
    let trusted = check_trust(core, &role_arn, &context, !subject.tags.is_empty())
        .await?
        .ok_or_else(|| {
            CognitoError::InvalidIdentityPoolConfiguration(INVALID_POOL_CONFIGURATION.into())
        })?;
    let claims = SessionClaims {
        access_key_id: crate::session::new_access_key_id().map_err(CognitoError::internal)?,
        identity_id: Some(subject.identity_id.clone()),
        pool_id: Some(pool.id.clone()),
        role_arn: trusted.arn,
        role_id: trusted.id,
        session_name: ENHANCED_SESSION_NAME.into(),
        issued_ms: now_ms,
        expires_ms: now_ms + ENHANCED_CREDENTIALS_MS,
        tags: subject.tags.clone(),
        session_policies: if subject.authenticated {
            Vec::new()
        } else {
            vec![guest_session_policy()]
        },
        amr: subject.amr.clone(),
        provider: Some(COGNITO_PROVIDER.into()),
    };
    crate::session::issue(&core.keys.get(), &claims).map_err(CognitoError::internal)
}

/// Mints one of our OpenID tokens for a subject (spec §4.11).
pub fn mint_open_id_token(
    core: &Core,
    pool_id: &str,
    subject: &Subject,
    lifetime_s: i64,
    now_ms: i64,
) -> Result<String, CognitoError> {
    let iat = now_ms / 1000;
    let mut claims = Map::new();
    claims.insert("sub".into(), subject.identity_id.clone().into());
    claims.insert("aud".into(), pool_id.into());
    claims.insert(
        "https://cognito-identity.amazonaws.com/identity-pool-arn".into(),
        super::pools::pool_arn(core, pool_id).into(),
    );
    claims.insert("amr".into(), subject.amr.clone().into());
    claims.insert("iss".into(), core.issuer.clone().into());
    if !subject.tags.is_empty() {
        let tags: Map<String, Value> = subject
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), json!([v])))
            .collect();
        claims.insert(
            "https://aws.amazon.com/tags".into(),
            json!({ "principal_tags": tags }),
        );
    }
    claims.insert("exp".into(), (iat + lifetime_s).into());
    claims.insert("iat".into(), iat.into());
    crate::openid::mint(&core.keys.get(), &claims).map_err(CognitoError::internal)
}

/// The `Credentials` member of GetCredentialsForIdentity.
pub fn credentials_wire(c: &IssuedCredentials) -> Value {
    json!({
        "AccessKeyId": c.access_key_id,
        "SecretKey": c.secret_access_key,
        "SessionToken": c.session_token,
        "Expiration": idpool_wire::json::epoch_seconds(c.expires_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(claim: &str, match_type: &str, value: &str) -> MappingRule {
        MappingRule {
            claim: claim.into(),
            match_type: match_type.into(),
            value: value.into(),
            role_arn: "arn:aws:iam::123456789012:role/R".into(),
        }
    }

    #[test]
    fn rules_read_arrays_numbers_and_booleans() {
        let claims = json!({"cognito:groups": ["admins", "staff"], "level": 3, "isAdmin": true,
            "empty": [], "obj": {"a": "b"}});
        let claims = claims.as_object().unwrap();
        assert!(rule_matches(
            &rule("cognito:groups", "Equals", "staff"),
            claims
        ));
        assert!(rule_matches(
            &rule("cognito:groups", "StartsWith", "adm"),
            claims
        ));
        assert!(!rule_matches(
            &rule("cognito:groups", "NotEqual", "staff"),
            claims
        ));
        assert!(rule_matches(
            &rule("cognito:groups", "NotEqual", "guests"),
            claims
        ));
        assert!(rule_matches(&rule("level", "Equals", "3"), claims));
        assert!(rule_matches(&rule("isAdmin", "Equals", "true"), claims));
        assert!(!rule_matches(&rule("empty", "NotEqual", "x"), claims));
        assert!(!rule_matches(&rule("obj", "Contains", "a"), claims));
        assert!(!rule_matches(&rule("missing", "NotEqual", "x"), claims));
        assert!(!rule_matches(&rule("level", "GreaterThan", "1"), claims));
    }

    #[test]
    fn tags_skip_missing_and_oversized_values_and_first_login_wins() {
        let mut pool = Pool {
            id: "us-east-1:p".into(),
            name: "p".into(),
            version: 1,
            created_ms: 0,
            config: Default::default(),
        };
        pool.config.principal_tag_maps.insert(
            "a".into(),
            super::super::model::PrincipalTagMap {
                use_defaults: Some(true),
                principal_tags: Some(
                    [
                        ("long".to_string(), "long".to_string()),
                        ("none".to_string(), "missing".to_string()),
                    ]
                    .into(),
                ),
            },
        );
        pool.config.principal_tag_maps.insert(
            "b".into(),
            super::super::model::PrincipalTagMap {
                use_defaults: None,
                principal_tags: Some([("username".to_string(), "sub".to_string())].into()),
            },
        );
        let login = |provider: &str, sub: &str| LoginClaims {
            mapping_key: provider.into(),
            tag_provider: provider.into(),
            client_id: format!("client-{provider}"),
            claims: json!({"sub": sub, "aud": ["x", "y"], "long": "v".repeat(257)})
                .as_object()
                .unwrap()
                .clone(),
            assertion_roles: None,
        };
        let tags = principal_tags(&pool, &[login("a", "alice"), login("b", "bob")]);
        let expected: BTreeMap<String, String> = [
            ("client".to_string(), "client-a".to_string()),
            ("username".to_string(), "alice".to_string()),
        ]
        .into();
        assert_eq!(tags, expected);
        assert!(principal_tags(&pool, &[login("c", "carol")]).is_empty());
    }

    #[test]
    fn saml_roles_come_from_the_assertion_and_custom_role_arn_chooses() {
        let mut pool = Pool {
            id: "us-east-1:p".into(),
            name: "p".into(),
            version: 1,
            created_ms: 0,
            config: Default::default(),
        };
        let (a, b) = (
            "arn:aws:iam::000000000000:role/a",
            "arn:aws:iam::000000000000:role/b",
        );
        let subject = |roles: &[&str]| Subject {
            identity_id: "us-east-1:i".into(),
            authenticated: true,
            amr: vec![],
            tags: BTreeMap::new(),
            logins: vec![LoginClaims {
                mapping_key: "arn:aws:iam::000000000000:saml-provider/x".into(),
                tag_provider: "arn:aws:iam::000000000000:saml-provider/x".into(),
                client_id: "https://signin.aws.amazon.com/saml".into(),
                claims: Map::new(),
                assertion_roles: Some(roles.iter().map(|r| r.to_string()).collect()),
            }],
        };
        assert_eq!(choose_role(&pool, &subject(&[a]), None).unwrap(), a);
        assert_eq!(choose_role(&pool, &subject(&[a, b]), Some(b)).unwrap(), b);
        assert_eq!(
            choose_role(&pool, &subject(&[a, b]), None)
                .unwrap_err()
                .to_string(),
            SEVERAL_ASSERTION_ROLES
        );
        assert_eq!(
            choose_role(&pool, &subject(&[a]), Some(b))
                .unwrap_err()
                .to_string(),
            format!("Access to Role '{b}' is forbidden.")
        );
        // No role offered and no authenticated role: the pool is misconfigured.
        assert!(matches!(
            choose_role(&pool, &subject(&[]), None),
            Err(CognitoError::InvalidIdentityPoolConfiguration(_))
        ));
        pool.config.roles = Some([("authenticated".to_string(), a.to_string())].into());
        assert_eq!(choose_role(&pool, &subject(&[]), None).unwrap(), a);
    }

    #[test]
    fn a_token_mapping_for_saml_ignores_a_preferred_role_attribute() {
        let saml = "arn:aws:iam::000000000000:saml-provider/x";
        let (a, b) = (
            "arn:aws:iam::000000000000:role/a",
            "arn:aws:iam::000000000000:role/b",
        );
        let mut pool = Pool {
            id: "us-east-1:p".into(),
            name: "p".into(),
            version: 1,
            created_ms: 0,
            config: Default::default(),
        };
        pool.config.role_mappings = Some(
            [(
                saml.to_string(),
                RoleMapping {
                    kind: "Token".into(),
                    ambiguous_role_resolution: Some("Deny".into()),
                    rules_configuration: None,
                },
            )]
            .into(),
        );
        let subject = Subject {
            identity_id: "us-east-1:i".into(),
            authenticated: true,
            amr: vec![],
            tags: BTreeMap::new(),
            logins: vec![LoginClaims {
                mapping_key: saml.into(),
                tag_provider: saml.into(),
                client_id: "https://signin.aws.amazon.com/saml".into(),
                claims: json!({"cognito:preferred_role": b})
                    .as_object()
                    .unwrap()
                    .clone(),
                assertion_roles: Some(vec![a.to_string()]),
            }],
        };
        assert_eq!(choose_role(&pool, &subject, None).unwrap(), a);
        assert_eq!(
            choose_role(&pool, &subject, Some(b))
                .unwrap_err()
                .to_string(),
            format!("Access to Role '{b}' is forbidden.")
        );
    }
}
