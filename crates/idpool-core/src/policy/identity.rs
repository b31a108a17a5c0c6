//! The identity-policy grammar, checked in IAM's order (security-and-performance.md §4).

use super::PolicyError;
use super::json::Json;
use super::model::{
    ActionElement, ConditionBlock, Effect, OperatorFamily, PolicyDocument, ResourceElement,
    Statement,
};
use super::parse::{VERSIONS, decode, raw_conditions, sids_unique, string_list, type_conditions};

const SYNTAX: &str = "Syntax errors in policy.";
const LEGACY: &str = "The policy failed legacy parsing";
const PRINCIPAL: &str = "Policy document should not specify a principal.";
const NO_ACTIONS: &str = "Policy statement must contain actions.";
const NO_RESOURCES: &str = "Policy statement must contain resources.";
const NO_VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
const TWO_COLONS: &str = "Actions/Condition can contain only one colon.";
const VENDOR_REGEX: &str = "Resource vendor must be fully qualified and cannot contain regexes.";

/// `Conditions` at the top is accepted (and ignored) by IAM; it is not a policy element.
const TOP_MEMBERS: [&str; 4] = ["Version", "Id", "Statement", "Conditions"];
const STATEMENT_MEMBERS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

const PARTITIONS: [&str; 9] = [
    "*",
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];
const IAM_PATH_PREFIXES: [&str; 13] = [
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];

/// A statement that passed the syntax check, before IAM's later checks.
struct Draft {
    sid: Option<String>,
    /// Any case of Allow/Deny passes the syntax check; legacy parsing then wants the exact case.
    effect: String,
    has_principal: bool,
    action: Option<ActionElement>,
    resource: Option<ResourceElement>,
    conditions: Vec<ConditionBlock>,
}

pub(crate) fn parse(text: &str) -> Result<PolicyDocument, PolicyError> {
    let syntax = || PolicyError::new(SYNTAX);
    let text = decode(text).ok_or_else(syntax)?;
    let root = Json::parse(&text).ok_or_else(syntax)?;
    let (version, id, drafts) = syntax_check(&root).ok_or_else(syntax)?;

    if drafts.iter().any(|d| d.has_principal) {
        return Err(PolicyError::new(PRINCIPAL));
    }
    let resource_error = legacy_check(&drafts)?;
    sids_unique(drafts.iter().map(|d| d.sid.as_deref()))?;
    if drafts
        .iter()
        .any(|d| d.action.as_ref().is_none_or(|a| a.patterns().is_empty()))
    {
        return Err(PolicyError::new(NO_ACTIONS));
    }
    if drafts
        .iter()
        .any(|d| d.resource.as_ref().is_none_or(|r| r.patterns().is_empty()))
    {
        return Err(PolicyError::new(NO_RESOURCES));
    }
    if let Some(message) = resource_error {
        return Err(PolicyError::new(message));
    }
    for negated in [false, true] {
        for d in &drafts {
            if let Some(action) = d.action.as_ref().filter(|a| a.is_negated() == negated) {
                action
                    .patterns()
                    .iter()
                    .try_for_each(|a| action_prefix_check(a))?;
            }
        }
    }

    let statements = drafts
        .into_iter()
        .filter_map(|d| {
            Some(Statement {
                sid: d.sid,
                effect: if d.effect == "Allow" {
                    Effect::Allow
                } else {
                    Effect::Deny
                },
                principal: None,
                action: d.action?,
                resource: d.resource,
                conditions: d.conditions,
            })
        })
        .collect();
    Ok(PolicyDocument {
        version,
        id,
        statements,
    })
}

type Parts = (Option<String>, Option<String>, Vec<Draft>);

/// Everything IAM reports as "Syntax errors in policy.": shape, member names and types.
fn syntax_check(root: &Json) -> Option<Parts> {
    if root.duplicate_name().is_some() {
        return None;
    }
    let Json::Object(members) = root else {
        return None;
    };
    if !members
        .iter()
        .all(|(name, _)| TOP_MEMBERS.contains(&name.as_str()))
    {
        return None;
    }
    let version = match root.get("Version") {
        None => None,
        Some(Json::String(v)) if VERSIONS.contains(&v.as_str()) => Some(v.clone()),
        Some(_) => return None,
    };
    let id = match root.get("Id") {
        None => None,
        Some(Json::String(id)) => Some(id.clone()),
        Some(_) => return None,
    };
    let statements: Vec<&Json> = match root.get("Statement")? {
        one @ Json::Object(_) => vec![one],
        Json::Array(items) if !items.is_empty() => items.iter().collect(),
        _ => return None,
    };
    let drafts = statements.into_iter().map(draft).collect::<Option<_>>()?;
    Some((version, id, drafts))
}

fn draft(statement: &Json) -> Option<Draft> {
    let Json::Object(members) = statement else {
        return None;
    };
    if !members
        .iter()
        .all(|(name, _)| STATEMENT_MEMBERS.contains(&name.as_str()))
    {
        return None;
    }
    let get = |name| statement.get(name);
    if get("Principal").is_some() && get("NotPrincipal").is_some()
        || get("Action").is_some() && get("NotAction").is_some()
        || get("Resource").is_some() && get("NotResource").is_some()
    {
        return None;
    }
    let effect = match get("Effect")? {
        Json::String(e) if e.eq_ignore_ascii_case("allow") || e.eq_ignore_ascii_case("deny") => e,
        _ => return None,
    };
    let action = match (get("Action"), get("NotAction")) {
        (Some(v), _) => Some(ActionElement::Action(string_list(v)?)),
        (_, Some(v)) => Some(ActionElement::NotAction(string_list(v)?)),
        _ => None,
    };
    let resource = match (get("Resource"), get("NotResource")) {
        (Some(v), _) => Some(ResourceElement::Resource(string_list(v)?)),
        (_, Some(v)) => Some(ResourceElement::NotResource(string_list(v)?)),
        _ => None,
    };
    let principal = get("Principal").or_else(|| get("NotPrincipal"));
    if principal.is_some_and(|p| !matches!(p, Json::String(_) | Json::Object(_))) {
        return None;
    }
    let sid = match get("Sid") {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return None,
    };
    let conditions = match get("Condition") {
        None => Vec::new(),
        Some(c) => type_conditions(raw_conditions(c)?).ok()?,
    };
    Some(Draft {
        sid,
        effect: effect.clone(),
        has_principal: principal.is_some(),
        action,
        resource,
        conditions,
    })
}

/// IAM's older parser still runs: exact-case effects, readable dates, ARN-shaped resources.
/// Returns the first resource-format complaint, which IAM reports later than the others.
fn legacy_check(drafts: &[Draft]) -> Result<Option<String>, PolicyError> {
    let legacy = || PolicyError::new(LEGACY);
    for d in drafts {
        if d.effect != "Allow" && d.effect != "Deny" {
            return Err(legacy());
        }
        let dates = d
            .conditions
            .iter()
            .filter(|b| b.operator.base.family() == OperatorFamily::Date);
        for block in dates {
            let values = block.entries.iter().flat_map(|e| &e.values);
            if !values.into_iter().all(|v| legacy_date_ok(&v.text)) {
                return Err(legacy());
            }
        }
    }
    // IAM looks at every Resource element before any NotResource element, and within an
    // element at the values in reverse sorted order, the last complaint winning.
    let mut resource_error = None;
    for negated in [false, true] {
        for d in drafts {
            let Some(resource) = d.resource.as_ref().filter(|r| r.is_negated() == negated) else {
                continue;
            };
            let mut sorted: Vec<&String> = resource.patterns().iter().collect();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            for r in sorted {
                if let Some(message) = resource_format_error(r) {
                    resource_error = Some(message);
                }
            }
            if resource_error.is_none()
                && !resource.patterns().iter().all(|r| legacy_resource_ok(r))
            {
                return Err(legacy());
            }
        }
    }
    Ok(resource_error)
}

fn legacy_resource_ok(resource: &str) -> bool {
    if resource == "*" {
        return true;
    }
    let colons = resource.matches(':').count();
    (colons >= 5 || !resource.contains("::"))
        && resource
            .split(':')
            .nth(2)
            .is_some_and(|service| !service.is_empty())
}

fn resource_format_error(resource: &str) -> Option<String> {
    if resource == "*" {
        return None;
    }
    let Some((_, rest)) = resource.split_once(':') else {
        return Some(format!(
            "Resource {resource} must be in ARN format or \"*\"."
        ));
    };
    let (partition, rest) = match rest.split_once(':') {
        Some((partition, rest)) => (partition, Some(rest)),
        None => (rest, None),
    };
    if !PARTITIONS.contains(&partition) {
        let parts: Vec<&str> = rest.unwrap_or("").split(':').collect();
        let arn1 = if !parts[0].is_empty() || parts.len() > 1 {
            parts[0]
        } else {
            "*"
        };
        let arn2 = parts.get(1).copied().unwrap_or("*");
        let arn3 = parts.get(2).copied().unwrap_or("*");
        let arn4 = if parts.len() > 3 {
            parts[3..].join(":")
        } else {
            "*".to_owned()
        };
        return Some(format!(
            "Partition \"{partition}\" is not valid for resource \
             \"arn:{partition}:{arn1}:{arn2}:{arn3}:{arn4}\"."
        ));
    }
    let Some(rest) = rest else {
        return Some(VENDOR_REGEX.to_owned());
    };
    let (service, after_service) = rest.split_once(':').unwrap_or((rest, ""));
    let after_region = after_service.split_once(':').map_or("", |(_, r)| r);
    let resource_id = after_region.split_once(':').map_or("", |(_, r)| r);
    let has_region = !after_service.starts_with(':');
    match service {
        "iam" if has_region => Some(format!(
            "IAM resource {resource} cannot contain region information."
        )),
        "s3" if has_region && !resource_id.starts_with("accesspoint/") => Some(format!(
            "Resource {resource} can not contain region information."
        )),
        "iam"
            if !(resource_id == "*"
                || resource_id == "root"
                || IAM_PATH_PREFIXES.iter().any(|p| resource_id.starts_with(p))) =>
        {
            Some(format!(
                "IAM resource path must either be \"*\", root, or start with {}.",
                IAM_PATH_PREFIXES.join(", ")
            ))
        }
        _ => None,
    }
}

fn action_prefix_check(action: &str) -> Result<(), PolicyError> {
    let parts: Vec<&str> = action.split(':').collect();
    if parts.len() == 1 && parts[0] != "*" {
        return Err(PolicyError::new(NO_VENDOR));
    }
    if parts.len() > 2 {
        return Err(PolicyError::new(TWO_COLONS));
    }
    let vendor = parts[0];
    let vendor_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if vendor != "*" && !vendor.chars().all(vendor_ok) {
        return Err(PolicyError::new(format!("Vendor {vendor} is not valid")));
    }
    Ok(())
}

/// The legacy parser's reading of a Date value: ISO 8601 when it has a `T` or a `-`, epoch
/// seconds otherwise.
fn legacy_date_ok(value: &str) -> bool {
    let lower = value.to_lowercase();
    if lower.contains('t') || value.contains('-') {
        iso_8601_ok(&lower)
    } else {
        int(value).is_some_and(|n| (0..=i128::from(i64::MAX)).contains(&n))
    }
}

fn iso_8601_ok(value: &str) -> bool {
    let (date, time) = value.split_once('t').unwrap_or((value, ""));
    let (negative, date) = match date.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date),
    };
    let date_parts: Vec<&str> = date.split('-').collect();
    let in_range =
        |text: &str, lo: i128, hi: i128| int(text).is_some_and(|n| (lo..=hi).contains(&n));
    let year = if negative {
        format!("-{}", date_parts[0])
    } else {
        date_parts[0].to_owned()
    };
    if !in_range(&year, -292_275_054, 292_278_993) || date_parts.len() > 3 {
        return false;
    }
    if date_parts.get(1).is_some_and(|m| !in_range(m, 1, 12))
        || date_parts.get(2).is_some_and(|d| !in_range(d, 1, 31))
    {
        return false;
    }
    let time_parts: Vec<&str> = time.split(':').collect();
    if !time_parts[0].is_empty() && !in_range(time_parts[0], 0, 23) {
        return false;
    }
    if time_parts.get(1).is_some_and(|m| !in_range(m, 0, 59)) {
        return false;
    }
    let Some(&last) = time_parts.get(2) else {
        return true;
    };
    let seconds = if let Some((seconds, after)) = last.split_once('z') {
        if !after.is_empty() {
            return false;
        }
        seconds
    } else if let Some((seconds, zone)) = last.split_once('+') {
        let (hours, minutes) = match zone.split_once(':') {
            Some((h, m)) => (h, Some(m)),
            None => (zone, None),
        };
        if hours.len() != 2 || !in_range(hours, 0, 23) {
            return false;
        }
        if minutes.is_some_and(|m| m.len() != 2 || !in_range(m, 0, 59)) {
            return false;
        }
        seconds
    } else {
        last
    };
    let (whole, fraction) = match seconds.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (seconds, None),
    };
    in_range(whole, 0, 59) && fraction.is_none_or(|f| in_range(f, 0, 999_999_999))
}

/// A decimal integer with optional sign and surrounding white space, as the legacy parser
/// reads numbers. Too many digits read as not a number rather than overflowing.
fn int(text: &str) -> Option<i128> {
    let text = text.trim();
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
