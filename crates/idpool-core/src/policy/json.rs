//! A JSON tree that keeps duplicate members, for the policy parsers (security-and-performance.md §4).

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// One JSON value. Objects are member lists, not maps: `serde_json::Value` would let a second
/// `"Effect"` silently replace the first, and two readers of one policy must never disagree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn parse(text: &str) -> Option<Json> {
        serde_json::from_str(text).ok()
    }

    /// The value of the first member called `name`, if this is an object that has one.
    pub(crate) fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first object member name that appears twice in one object, anywhere in the tree.
    pub(crate) fn duplicate_name(&self) -> Option<&str> {
        match self {
            Json::Array(items) => items.iter().find_map(Json::duplicate_name),
            Json::Object(members) => {
                let mut seen = HashSet::with_capacity(members.len());
                for (name, value) in members {
                    if !seen.insert(name.as_str()) {
                        return Some(name);
                    }
                    if let Some(dup) = value.duplicate_name() {
                        return Some(dup);
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => serde_json::Value::Number(n.clone()),
            Json::String(s) => serde_json::Value::String(s.clone()),
            Json::Array(items) => {
                serde_json::Value::Array(items.iter().map(Json::to_value).collect())
            }
            Json::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// Compact JSON text, as IAM quotes a non-string value back in an error message.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, Json>()? {
            members.push((name, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn policy_json_keeps_duplicate_members() {
        let doc = Json::parse(r#"{"a":1,"b":{"c":true,"c":false}}"#).unwrap();
        assert_eq!(doc.duplicate_name(), Some("c"));
        let doc = Json::parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(doc.duplicate_name(), Some("a"));
        assert_eq!(
            Json::parse(r#"[{"a":1},{"a":2}]"#)
                .unwrap()
                .duplicate_name(),
            None
        );
    }

    #[test]
    fn policy_json_refuses_bad_text_and_deep_nesting() {
        assert!(Json::parse("{").is_none());
        assert!(Json::parse("{} x").is_none());
        assert!(Json::parse(&"[".repeat(5000)).is_none());
        assert_eq!(Json::parse(" 12.5 ").unwrap().to_string(), "12.5");
    }
}
