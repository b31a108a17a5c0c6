//! What both grammars share: decoding, list and condition readers (security-and-performance.md §4).

use std::borrow::Cow;
use std::collections::HashSet;

use super::PolicyError;
use super::json::Json;
use super::model::{ConditionBlock, ConditionEntry, ConditionOperator, ConditionValue, ValueKind};

/// The versions IAM knows. A document without `Version` is also accepted.
pub(crate) const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// Undoes the URL encoding CloudFormation applies to policy documents, and trims the white
/// space IAM ignores. `None` when the escapes do not decode to UTF-8.
pub(crate) fn decode(text: &str) -> Option<Cow<'_, str>> {
    let text = text.trim();
    let encoded = text
        .get(..3)
        .is_some_and(|head| head.eq_ignore_ascii_case("%7B"));
    if !encoded {
        return Some(Cow::Borrowed(text));
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?;
    Some(Cow::Owned(decoded.trim().to_owned()))
}

/// A string, or a list of strings (possibly empty). `None` for any other shape.
pub(crate) fn string_list(value: &Json) -> Option<Vec<String>> {
    match value {
        Json::String(s) => Some(vec![s.clone()]),
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A `Condition` element as written: operator names not yet interpreted.
pub(crate) struct RawBlock {
    pub(crate) name: String,
    pub(crate) entries: Vec<ConditionEntry>,
}

/// Reads `{"Operator": {"key": value-or-values}}`. Values may be strings, numbers or booleans,
/// alone or in a list. `None` for any other shape.
pub(crate) fn raw_conditions(value: &Json) -> Option<Vec<RawBlock>> {
    let Json::Object(blocks) = value else {
        return None;
    };
    blocks
        .iter()
        .map(|(name, block)| {
            let Json::Object(keys) = block else {
                return None;
            };
            let entries = keys
                .iter()
                .map(|(key, values)| {
                    let values = match values {
                        Json::Array(items) => items.iter().map(scalar).collect::<Option<_>>()?,
                        single => vec![scalar(single)?],
                    };
                    Some(ConditionEntry {
                        key: key.clone(),
                        values,
                    })
                })
                .collect::<Option<_>>()?;
            Some(RawBlock {
                name: name.clone(),
                entries,
            })
        })
        .collect()
}

fn scalar(value: &Json) -> Option<ConditionValue> {
    match value {
        Json::String(s) => Some(ConditionValue {
            text: s.clone(),
            kind: ValueKind::String,
        }),
        Json::Number(n) => Some(ConditionValue {
            text: n.to_string(),
            kind: ValueKind::Number,
        }),
        Json::Bool(b) => Some(ConditionValue {
            text: b.to_string(),
            kind: ValueKind::Bool,
        }),
        _ => None,
    }
}

/// Types the operators. IAM accepts an unknown operator only when it names no keys; such a
/// block constrains nothing and is dropped. Otherwise the unknown name is returned.
pub(crate) fn type_conditions(raw: Vec<RawBlock>) -> Result<Vec<ConditionBlock>, String> {
    let mut blocks = Vec::with_capacity(raw.len());
    for RawBlock { name, entries } in raw {
        match ConditionOperator::parse(&name) {
            Some(operator) => blocks.push(ConditionBlock { operator, entries }),
            None if entries.is_empty() => {}
            None => return Err(name),
        }
    }
    Ok(blocks)
}

/// IAM's Sid rule: non-empty Sids must differ; empty ones may repeat.
pub(crate) fn sids_unique<'a>(
    sids: impl Iterator<Item = Option<&'a str>>,
) -> Result<(), PolicyError> {
    let mut seen = HashSet::new();
    for sid in sids.flatten().filter(|s| !s.is_empty()) {
        if !seen.insert(sid) {
            return Err(PolicyError::new(
                "Statement IDs (SID) in a single policy must be unique.",
            ));
        }
    }
    Ok(())
}
