//! Model-driven input validation with AWS's "N validation errors detected" messages (spec §1.5.3).

#[rustfmt::skip]
mod model;

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::WireError;
use crate::json::CognitoOp;
use crate::query::{QueryParams, QueryService};

/// The shape types the three models use for inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Boolean,
    Integer,
    Long,
    List,
    Map,
    Structure,
    #[allow(
        dead_code,
        reason = "no input of the current models has one; the generator can emit it"
    )]
    Timestamp,
}

impl Kind {
    fn is_scalar(self) -> bool {
        !matches!(self, Kind::List | Kind::Map | Kind::Structure)
    }

    fn java_name(self) -> &'static str {
        match self {
            Kind::String => "String",
            Kind::Boolean => "Boolean",
            Kind::Integer => "Integer",
            Kind::Long => "Long",
            Kind::List => "List",
            Kind::Map => "Map",
            Kind::Structure => "Structure",
            Kind::Timestamp => "Timestamp",
        }
    }
}

/// A model pattern: `model` is what error messages quote, `regex` its anchored translation.
struct Pattern {
    model: &'static str,
    regex: &'static str,
}

/// One shape of a service model. `min`/`max` bound the length of strings, lists and maps and
/// the value of numbers.
struct Shape {
    #[allow(dead_code, reason = "names the shape for tests and debugging")]
    name: &'static str,
    kind: Kind,
    min: Option<i64>,
    max: Option<i64>,
    /// Index into `model::PATTERNS`.
    pattern: Option<u16>,
    enum_values: &'static [&'static str],
    sensitive: bool,
    /// List member, or map value; meaningless for other kinds.
    item: u16,
    /// Map key; meaningless for other kinds.
    key: u16,
    members: &'static [Member],
}

struct Member {
    /// The member's name on the wire (JSON key or query parameter segment).
    wire: &'static str,
    /// The member's name in error messages: the model name with a lower-case first letter.
    path: &'static str,
    shape: u16,
    required: bool,
}

struct Service {
    #[allow(dead_code, reason = "names the table for tests and debugging")]
    name: &'static str,
    shapes: &'static [Shape],
    /// Operation name and its input shape (`None`: the operation takes no input).
    operations: &'static [(&'static str, Option<u16>)],
}

impl Service {
    fn shape(&self, index: u16) -> &Shape {
        &self.shapes[usize::from(index)]
    }

    fn input(&self, operation: &str) -> Option<&Shape> {
        let (_, input) = self
            .operations
            .iter()
            .find(|(name, _)| *name == operation)?;
        input.map(|i| self.shape(i))
    }
}

/// Compiled once; an entry is `None` only if a translation failed to compile, which a unit
/// test rules out. Such a pattern would be skipped rather than reject every request.
static REGEXES: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
    model::PATTERNS
        .iter()
        .map(|p| Regex::new(p.regex).ok())
        .collect()
});

/// Far deeper than any model nests; guards the recursion should a recursive shape appear.
const MAX_DEPTH: usize = 32;

/// Validates an awsJson1_1 input object against the cognito-identity model. Err is a ValidationException
/// (or SerializationException for a wrong JSON type) as a crate::WireError, status 400.
pub fn validate_cognito(op: CognitoOp, input: &Value) -> Result<(), WireError> {
    let service = &model::COGNITO;
    let Some(shape) = service.input(op.name()) else {
        return Ok(());
    };
    let node = json_node(service, shape, input, 0)?;
    match violations(service, shape, &node) {
        Some(message) => Err(WireError::client("ValidationException", message)),
        None => Ok(()),
    }
}

/// Validates awsQuery params for an IAM or STS action; Err is code "ValidationError" status 400, Fault Sender.
/// Actions outside the modelled subset pass: routing rejects those.
pub fn validate_query(
    service: QueryService,
    action: &str,
    params: &QueryParams,
) -> Result<(), WireError> {
    let service = match service {
        QueryService::Iam => &model::IAM,
        QueryService::Sts => &model::STS,
    };
    let Some(shape) = service.input(action) else {
        return Ok(());
    };
    let node = query_struct(service, shape, params, "", 0);
    match violations(service, shape, &node) {
        Some(message) => Err(WireError::client("ValidationError", message)),
        None => Ok(()),
    }
}

/// An input value after decoding, typed by its shape.
enum Node<'a> {
    Text(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    /// A query parameter that does not parse as its number or boolean type, with the
    /// constraint it breaks.
    Malformed(Cow<'a, str>, &'static str),
    List(Vec<Node<'a>>),
    Map(Vec<(Cow<'a, str>, Node<'a>)>),
    /// Aligned with the shape's members; `None` is an absent member.
    Struct(Vec<Option<Node<'a>>>),
}

// ---------------------------------------------------------------------------------------------
// awsJson1_1 decoding: a JSON type that does not fit the shape is a SerializationException,
// raised before any constraint is looked at, as AWS's deserializer runs first.

fn serialization(message: impl Into<String>) -> WireError {
    WireError::client("SerializationException", message)
}

fn wrong_json_type(found: &Value, expected: Kind) -> WireError {
    let found = match found {
        Value::Object(_) => {
            return serialization("Start of structure or map found where not expected.");
        }
        Value::Array(_) => return serialization("Start of list found where not expected"),
        Value::Null => "NULL_VALUE",
        Value::Bool(_) => "BOOLEAN_VALUE",
        Value::Number(_) => "NUMBER_VALUE",
        Value::String(_) => "STRING_VALUE",
    };
    serialization(format!(
        "{found} cannot be converted to {}",
        expected.java_name()
    ))
}

fn json_node<'a>(
    service: &Service,
    shape: &Shape,
    value: &'a Value,
    depth: usize,
) -> Result<Node<'a>, WireError> {
    if depth > MAX_DEPTH {
        return Err(serialization("Input nested too deeply"));
    }
    let mismatch = || wrong_json_type(value, shape.kind);
    match shape.kind {
        Kind::String => value
            .as_str()
            .map(|s| Node::Text(Cow::Borrowed(s)))
            .ok_or_else(mismatch),
        Kind::Timestamp => match value {
            Value::String(s) => Ok(Node::Text(Cow::Borrowed(s))),
            Value::Number(n) => Ok(Node::Text(Cow::Owned(n.to_string()))),
            _ => Err(mismatch()),
        },
        Kind::Boolean => value.as_bool().map(Node::Bool).ok_or_else(mismatch),
        Kind::Integer | Kind::Long => json_integer(value, shape.kind)
            .map(Node::Int)
            .ok_or_else(mismatch),
        Kind::List => {
            let items = value.as_array().ok_or_else(mismatch)?;
            let item = service.shape(shape.item);
            let nodes = items.iter().map(|v| json_node(service, item, v, depth + 1));
            Ok(Node::List(nodes.collect::<Result<_, _>>()?))
        }
        Kind::Map => {
            let entries = value.as_object().ok_or_else(mismatch)?;
            let item = service.shape(shape.item);
            let nodes = entries.iter().map(|(k, v)| {
                json_node(service, item, v, depth + 1).map(|n| (Cow::Borrowed(k.as_str()), n))
            });
            Ok(Node::Map(nodes.collect::<Result<_, _>>()?))
        }
        Kind::Structure => {
            let object = value.as_object().ok_or_else(mismatch)?;
            let mut fields = Vec::with_capacity(shape.members.len());
            for member in shape.members {
                fields.push(match object.get(member.wire) {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(json_node(
                        service,
                        service.shape(member.shape),
                        v,
                        depth + 1,
                    )?),
                });
            }
            Ok(Node::Struct(fields))
        }
    }
}

/// A JSON number as the Java integer type of the shape; fractions are truncated as AWS's
/// number handling does, values outside the type's range are a type error.
fn json_integer(value: &Value, kind: Kind) -> Option<i64> {
    let number = value.as_number()?;
    let n = match number.as_i64() {
        Some(n) => n,
        None => {
            let f = number.as_f64()?.trunc();
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
                return None;
            }
            f as i64
        }
    };
    fits(n, kind).then_some(n)
}

fn fits(n: i64, kind: Kind) -> bool {
    kind != Kind::Integer || i32::try_from(n).is_ok()
}

// ---------------------------------------------------------------------------------------------
// awsQuery decoding: everything arrives as text, so a bad number is a constraint violation
// (ValidationError), never a serialization fault.

fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn query_scalar<'a>(shape: &Shape, text: Cow<'a, str>) -> Node<'a> {
    match shape.kind {
        Kind::Integer | Kind::Long => match text.parse::<i64>() {
            Ok(n) if fits(n, shape.kind) => Node::Int(n),
            _ => Node::Malformed(text, "Member must be a number"),
        },
        Kind::Boolean if text.eq_ignore_ascii_case("true") => Node::Bool(true),
        Kind::Boolean if text.eq_ignore_ascii_case("false") => Node::Bool(false),
        Kind::Boolean => Node::Malformed(text, "Member must be a boolean"),
        _ => Node::Text(text),
    }
}

fn query_node<'a>(
    service: &Service,
    shape: &Shape,
    params: &'a QueryParams,
    key: &str,
    depth: usize,
) -> Option<Node<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    match shape.kind {
        Kind::List => {
            let item = service.shape(shape.item);
            if item.kind.is_scalar() {
                let values = params.list(key)?;
                let nodes = values
                    .into_iter()
                    .map(|v| query_scalar(item, Cow::Owned(v)));
                return Some(Node::List(nodes.collect()));
            }
            let count = match params.struct_list(key) {
                Some(entries) => entries.len(),
                None if params.get(key).is_some() => 0,
                None => return None,
            };
            // The generator allows only structures as non-scalar query list members, and
            // `struct_list` has already proved each entry present.
            let nodes = (1..=count).map(|i| {
                let entry = format!("{key}.member.{i}");
                query_struct(service, item, params, &entry, depth + 1)
            });
            Some(Node::List(nodes.collect()))
        }
        Kind::Map => {
            let item = service.shape(shape.item);
            let mut entries = Vec::new();
            for i in 1.. {
                let Some(k) = params.get(&format!("{key}.entry.{i}.key")) else {
                    break;
                };
                let value_key = format!("{key}.entry.{i}.value");
                if let Some(v) = query_node(service, item, params, &value_key, depth + 1) {
                    entries.push((Cow::Borrowed(k), v));
                }
            }
            (!entries.is_empty() || params.get(key).is_some()).then_some(Node::Map(entries))
        }
        Kind::Structure => {
            let head = format!("{key}.");
            params
                .iter()
                .any(|(k, _)| k.starts_with(&head))
                .then(|| query_struct(service, shape, params, key, depth))
        }
        _ => params
            .get(key)
            .map(|v| query_scalar(shape, Cow::Borrowed(v))),
    }
}

fn query_struct<'a>(
    service: &Service,
    shape: &Shape,
    params: &'a QueryParams,
    prefix: &str,
    depth: usize,
) -> Node<'a> {
    let fields = shape.members.iter().map(|member| {
        let key = join_key(prefix, member.wire);
        query_node(
            service,
            service.shape(member.shape),
            params,
            &key,
            depth + 1,
        )
    });
    Node::Struct(fields.collect())
}

// ---------------------------------------------------------------------------------------------
// Constraint checking, shared by both protocols. Violations are reported in model member order;
// a list or map of scalars gets one aggregate message naming all the element's constraints.

fn violations(service: &Service, shape: &Shape, node: &Node<'_>) -> Option<String> {
    let mut checker = Checker {
        service,
        found: Vec::new(),
    };
    checker.check(shape, node, "");
    match checker.found.len() {
        0 => None,
        1 => Some(format!("1 validation error detected: {}", checker.found[0])),
        n => Some(format!(
            "{n} validation errors detected: {}",
            checker.found.join("; ")
        )),
    }
}

struct Checker<'s> {
    service: &'s Service,
    found: Vec<String>,
}

impl Checker<'_> {
    fn check(&mut self, shape: &Shape, node: &Node<'_>, path: &str) {
        match node {
            Node::Struct(fields) => {
                for (member, field) in shape.members.iter().zip(fields) {
                    let member_path = join_key(path, member.path);
                    match field {
                        Some(value) => self.check(self.service.shape(member.shape), value, &member_path),
                        None if member.required => self.found.push(format!(
                            "Value null at '{member_path}' failed to satisfy constraint: Member must not be null"
                        )),
                        None => {}
                    }
                }
            }
            Node::List(items) => {
                self.check_count(shape, node, items.len(), path);
                let item = self.service.shape(shape.item);
                if item.kind.is_scalar() {
                    if items.iter().any(|n| !scalar_failures(item, n).is_empty()) {
                        let rule = format!("Member must satisfy constraint: [{}]", summary(item));
                        self.report(shape, node, path, &rule);
                    }
                } else {
                    for (i, value) in items.iter().enumerate() {
                        self.check(item, value, &format!("{path}.{}.member", i + 1));
                    }
                }
            }
            Node::Map(entries) => {
                self.check_count(shape, node, entries.len(), path);
                let key = self.service.shape(shape.key);
                let keys_fail = entries.iter().any(|(k, _)| {
                    !scalar_failures(key, &Node::Text(Cow::Borrowed(k.as_ref()))).is_empty()
                });
                if keys_fail {
                    let rule = format!("Map keys must satisfy constraint: [{}]", summary(key));
                    self.report(shape, node, path, &rule);
                }
                let item = self.service.shape(shape.item);
                if item.kind.is_scalar() {
                    if entries
                        .iter()
                        .any(|(_, n)| !scalar_failures(item, n).is_empty())
                    {
                        let rule =
                            format!("Map value must satisfy constraint: [{}]", summary(item));
                        self.report(shape, node, path, &rule);
                    }
                } else {
                    for (k, value) in entries {
                        self.check(item, value, &format!("{path}.{k}.member"));
                    }
                }
            }
            scalar => {
                for rule in scalar_failures(shape, scalar) {
                    self.report(shape, node, path, &rule);
                }
            }
        }
    }

    fn check_count(&mut self, shape: &Shape, node: &Node<'_>, count: usize, path: &str) {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        if let Some(max) = shape.max.filter(|max| count > *max) {
            let rule = format!("Member must have length less than or equal to {max}");
            self.report(shape, node, path, &rule);
        }
        if let Some(min) = shape.min.filter(|min| count < *min) {
            let rule = format!("Member must have length greater than or equal to {min}");
            self.report(shape, node, path, &rule);
        }
    }

    fn report(&mut self, shape: &Shape, node: &Node<'_>, path: &str, rule: &str) {
        self.found
            .push(if shape.sensitive && matches!(node, Node::Text(_)) {
                format!("Value at '{path}' failed to satisfy constraint: {rule}")
            } else {
                let shown = render(self.service, shape, node);
                format!("Value '{shown}' at '{path}' failed to satisfy constraint: {rule}")
            });
    }
}

/// The constraints a scalar value breaks, in the order AWS lists them.
fn scalar_failures(shape: &Shape, node: &Node<'_>) -> Vec<Cow<'static, str>> {
    let mut failed = Vec::new();
    match node {
        Node::Text(text) if shape.kind == Kind::String => {
            let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
            if let Some(max) = shape.max.filter(|max| length > *max) {
                failed.push(length_rule("less than or equal to", max));
            }
            if let Some(min) = shape.min.filter(|min| length < *min) {
                failed.push(length_rule("greater than or equal to", min));
            }
            if let Some(index) = shape.pattern {
                let regex = REGEXES.get(usize::from(index)).and_then(Option::as_ref);
                if regex.is_some_and(|r| !r.is_match(text)) {
                    failed.push(pattern_rule(index));
                }
            }
            if !shape.enum_values.is_empty() && !shape.enum_values.contains(&text.as_ref()) {
                failed.push(enum_rule(shape));
            }
        }
        Node::Int(n) => {
            if let Some(max) = shape.max.filter(|max| n > max) {
                failed.push(value_rule("less than or equal to", max));
            }
            if let Some(min) = shape.min.filter(|min| n < min) {
                failed.push(value_rule("greater than or equal to", min));
            }
        }
        Node::Malformed(_, rule) => failed.push(Cow::Borrowed(*rule)),
        _ => {}
    }
    failed
}

/// Every constraint a scalar shape declares, for the aggregate list and map messages.
fn summary(shape: &Shape) -> String {
    let mut rules = Vec::new();
    match shape.kind {
        Kind::String => {
            rules.extend(
                shape
                    .max
                    .map(|max| length_rule("less than or equal to", max)),
            );
            rules.extend(
                shape
                    .min
                    .map(|min| length_rule("greater than or equal to", min)),
            );
            rules.extend(shape.pattern.map(pattern_rule));
            if !shape.enum_values.is_empty() {
                rules.push(enum_rule(shape));
            }
        }
        Kind::Integer | Kind::Long => {
            rules.extend(
                shape
                    .max
                    .map(|max| value_rule("less than or equal to", max)),
            );
            rules.extend(
                shape
                    .min
                    .map(|min| value_rule("greater than or equal to", min)),
            );
            if rules.is_empty() {
                rules.push(Cow::Borrowed("Member must be a number"));
            }
        }
        Kind::Boolean => rules.push(Cow::Borrowed("Member must be a boolean")),
        _ => {}
    }
    rules.join(", ")
}

fn length_rule(relation: &str, bound: i64) -> Cow<'static, str> {
    Cow::Owned(format!("Member must have length {relation} {bound}"))
}

fn value_rule(relation: &str, bound: i64) -> Cow<'static, str> {
    Cow::Owned(format!("Member must have value {relation} {bound}"))
}

fn pattern_rule(index: u16) -> Cow<'static, str> {
    let model = model::PATTERNS
        .get(usize::from(index))
        .map_or("", |p| p.model);
    Cow::Owned(format!(
        "Member must satisfy regular expression pattern: {model}"
    ))
}

fn enum_rule(shape: &Shape) -> Cow<'static, str> {
    Cow::Owned(format!(
        "Member must satisfy enum value set: [{}]",
        shape.enum_values.join(", ")
    ))
}

/// Java-style rendering of a value for messages: `[a, b]`, `{k=v}`. Sensitive strings inside
/// a collection show as `***`; an empty one stays empty since it reveals nothing, which keeps
/// AWS's `{provider=}` message for an empty login token byte-exact.
fn render(service: &Service, shape: &Shape, node: &Node<'_>) -> String {
    match node {
        Node::Text(text) if shape.sensitive && !text.is_empty() => "***".to_string(),
        Node::Text(text) | Node::Malformed(text, _) => text.to_string(),
        Node::Bool(b) => b.to_string(),
        Node::Int(n) => n.to_string(),
        Node::List(items) => {
            let item = service.shape(shape.item);
            let shown: Vec<String> = items.iter().map(|n| render(service, item, n)).collect();
            format!("[{}]", shown.join(", "))
        }
        Node::Map(entries) => {
            let (key, item) = (service.shape(shape.key), service.shape(shape.item));
            let shown: Vec<String> = entries
                .iter()
                .map(|(k, v)| {
                    let k = render(service, key, &Node::Text(Cow::Borrowed(k.as_ref())));
                    format!("{k}={}", render(service, item, v))
                })
                .collect();
            format!("{{{}}}", shown.join(", "))
        }
        Node::Struct(fields) => {
            let shown: Vec<String> = shape
                .members
                .iter()
                .zip(fields)
                .filter_map(|(m, f)| {
                    let f = f.as_ref()?;
                    Some(format!(
                        "{}={}",
                        m.wire,
                        render(service, service.shape(m.shape), f)
                    ))
                })
                .collect();
            format!("{{{}}}", shown.join(", "))
        }
    }
}

#[cfg(test)]
mod tests;
