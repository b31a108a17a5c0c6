//! The typed policy model the evaluator reads, and its JSON form (security-and-performance.md §4).

use std::fmt;

use serde_json::{Map, Value};

/// A parsed policy. Single-element forms (`"Statement": {...}`, `"Action": "s3:*"`) are
/// normalised to lists; the IAM operations keep the caller's original text for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `None` when absent; an empty `Sid` is kept as `Some("")` (IAM allows several of those).
    pub sid: Option<String>,
    pub effect: Effect,
    /// Always `Some` in a trust policy and `None` in an identity policy.
    pub principal: Option<PrincipalElement>,
    pub action: ActionElement,
    /// Always `Some` in an identity policy and `None` in a trust policy.
    pub resource: Option<ResourceElement>,
    /// Every block must hold (AND); see [`ConditionBlock`].
    pub conditions: Vec<ConditionBlock>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// `Principal` or its complement `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalElement {
    Principal(Principal),
    NotPrincipal(Principal),
}

impl PrincipalElement {
    pub fn is_negated(&self) -> bool {
        matches!(self, PrincipalElement::NotPrincipal(_))
    }

    pub fn principal(&self) -> &Principal {
        match self {
            PrincipalElement::Principal(p) | PrincipalElement::NotPrincipal(p) => p,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The bare string `"*"`: everyone, signed or anonymous.
    Any,
    Map(PrincipalMap),
}

/// The typed principal lists. An empty list means the type was absent: IAM refuses an empty
/// list, so absence is the only way one can be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalMap {
    pub aws: Vec<String>,
    pub federated: Vec<String>,
    pub service: Vec<String>,
    pub canonical_user: Vec<String>,
}

/// `Action` or its complement `NotAction`: patterns such as `s3:Get*`, matched without regard
/// to case by the evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionElement {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

impl ActionElement {
    pub fn is_negated(&self) -> bool {
        matches!(self, ActionElement::NotAction(_))
    }

    pub fn patterns(&self) -> &[String] {
        match self {
            ActionElement::Action(p) | ActionElement::NotAction(p) => p,
        }
    }
}

/// `Resource` or its complement `NotResource`: ARN patterns that may hold policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceElement {
    Resource(Vec<String>),
    NotResource(Vec<String>),
}

impl ResourceElement {
    pub fn is_negated(&self) -> bool {
        matches!(self, ResourceElement::NotResource(_))
    }

    pub fn patterns(&self) -> &[String] {
        match self {
            ResourceElement::Resource(p) | ResourceElement::NotResource(p) => p,
        }
    }
}

/// One operator of a `Condition` element with its keys. Keys are AND-ed; the values of one
/// key are OR-ed (NOR-ed for negated operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionBlock {
    pub operator: ConditionOperator,
    pub entries: Vec<ConditionEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    /// As written: the evaluator compares condition keys without regard to case.
    pub key: String,
    /// May be empty (`"key": []` is accepted by IAM).
    pub values: Vec<ConditionValue>,
}

/// A condition value, kept as text whatever its JSON type (`10`, `true` and `"10"` compare
/// alike); `kind` only lets the canonical form write it back as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionValue {
    pub text: String,
    pub kind: ValueKind,
}

impl ConditionValue {
    pub fn string(text: impl Into<String>) -> Self {
        ConditionValue {
            text: text.into(),
            kind: ValueKind::String,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    String,
    Number,
    Bool,
}

/// A condition operator name taken apart: `ForAnyValue:StringLikeIfExists` is
/// `{ qualifier: ForAnyValue, base: StringLike, if_exists: true }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    pub qualifier: Option<SetQualifier>,
    pub base: BaseOperator,
    pub if_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// True when any request value matches; false when the key is missing or empty.
    ForAnyValue,
    /// True when every request value matches; vacuously true when the key is missing or empty.
    ForAllValues,
}

impl SetQualifier {
    pub fn prefix(self) -> &'static str {
        match self {
            SetQualifier::ForAnyValue => "ForAnyValue:",
            SetQualifier::ForAllValues => "ForAllValues:",
        }
    }
}

/// What a base operator compares, which decides how its values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorFamily {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    IpAddress,
    Arn,
    Null,
}

macro_rules! base_operators {
    ($($variant:ident => $family:ident, $negated:expr;)*) => {
        /// The IAM condition operators without qualifier or `IfExists`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BaseOperator {
            $($variant,)*
        }

        impl BaseOperator {
            pub const ALL: &'static [BaseOperator] = &[$(BaseOperator::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(BaseOperator::$variant => stringify!($variant),)*
                }
            }

            /// Exact, case-sensitive lookup, as IAM does.
            pub fn from_name(name: &str) -> Option<BaseOperator> {
                match name {
                    $(stringify!($variant) => Some(BaseOperator::$variant),)*
                    _ => None,
                }
            }

            pub fn family(self) -> OperatorFamily {
                match self {
                    $(BaseOperator::$variant => OperatorFamily::$family,)*
                }
            }

            /// True for the "not" forms, whose values combine as NOR instead of OR.
            pub fn is_negated(self) -> bool {
                match self {
                    $(BaseOperator::$variant => $negated,)*
                }
            }
        }
    };
}

base_operators! {
    StringEquals => String, false;
    StringNotEquals => String, true;
    StringEqualsIgnoreCase => String, false;
    StringNotEqualsIgnoreCase => String, true;
    StringLike => String, false;
    StringNotLike => String, true;
    NumericEquals => Numeric, false;
    NumericNotEquals => Numeric, true;
    NumericLessThan => Numeric, false;
    NumericLessThanEquals => Numeric, false;
    NumericGreaterThan => Numeric, false;
    NumericGreaterThanEquals => Numeric, false;
    DateEquals => Date, false;
    DateNotEquals => Date, true;
    DateLessThan => Date, false;
    DateLessThanEquals => Date, false;
    DateGreaterThan => Date, false;
    DateGreaterThanEquals => Date, false;
    Bool => Bool, false;
    BinaryEquals => Binary, false;
    IpAddress => IpAddress, false;
    NotIpAddress => IpAddress, true;
    ArnEquals => Arn, false;
    ArnLike => Arn, false;
    ArnNotEquals => Arn, true;
    ArnNotLike => Arn, true;
    Null => Null, false;
}

impl ConditionOperator {
    /// Takes an operator name apart the way IAM does: at most one qualifier prefix, then at
    /// most one `IfExists` suffix, then an exact base name. `None` for anything else.
    pub fn parse(name: &str) -> Option<ConditionOperator> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let base = BaseOperator::from_name(base)?;
        Some(ConditionOperator {
            qualifier,
            base,
            if_exists,
        })
    }
}

impl fmt::Display for ConditionOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(q) = self.qualifier {
            f.write_str(q.prefix())?;
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

impl PolicyDocument {
    /// A canonical JSON rendering: lists are always arrays, members in the documented order.
    /// The IAM operations return the caller's original text, not this.
    pub fn to_json(&self) -> String {
        let mut doc = Map::new();
        if let Some(v) = &self.version {
            doc.insert("Version".into(), Value::String(v.clone()));
        }
        if let Some(id) = &self.id {
            doc.insert("Id".into(), Value::String(id.clone()));
        }
        let statements = self.statements.iter().map(Statement::to_value).collect();
        doc.insert("Statement".into(), Value::Array(statements));
        Value::Object(doc).to_string()
    }
}

impl Statement {
    fn to_value(&self) -> Value {
        let mut s = Map::new();
        if let Some(sid) = &self.sid {
            s.insert("Sid".into(), Value::String(sid.clone()));
        }
        s.insert("Effect".into(), Value::String(self.effect.as_str().into()));
        match &self.principal {
            Some(PrincipalElement::Principal(p)) => {
                s.insert("Principal".into(), principal_value(p));
            }
            Some(PrincipalElement::NotPrincipal(p)) => {
                s.insert("NotPrincipal".into(), principal_value(p));
            }
            None => {}
        }
        let (name, patterns) = match &self.action {
            ActionElement::Action(p) => ("Action", p),
            ActionElement::NotAction(p) => ("NotAction", p),
        };
        s.insert(name.into(), strings_value(patterns));
        match &self.resource {
            Some(ResourceElement::Resource(p)) => {
                s.insert("Resource".into(), strings_value(p));
            }
            Some(ResourceElement::NotResource(p)) => {
                s.insert("NotResource".into(), strings_value(p));
            }
            None => {}
        }
        if !self.conditions.is_empty() {
            let mut blocks = Map::new();
            for block in &self.conditions {
                let mut keys = Map::new();
                for entry in &block.entries {
                    let values = entry.values.iter().map(condition_value).collect();
                    keys.insert(entry.key.clone(), Value::Array(values));
                }
                blocks.insert(block.operator.to_string(), Value::Object(keys));
            }
            s.insert("Condition".into(), Value::Object(blocks));
        }
        Value::Object(s)
    }
}

fn strings_value(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

fn principal_value(p: &Principal) -> Value {
    match p {
        Principal::Any => Value::String("*".into()),
        Principal::Map(m) => {
            let mut out = Map::new();
            for (name, ids) in [
                ("AWS", &m.aws),
                ("Federated", &m.federated),
                ("Service", &m.service),
                ("CanonicalUser", &m.canonical_user),
            ] {
                if !ids.is_empty() {
                    out.insert(name.into(), strings_value(ids));
                }
            }
            Value::Object(out)
        }
    }
}

fn condition_value(v: &ConditionValue) -> Value {
    match v.kind {
        ValueKind::String => Value::String(v.text.clone()),
        ValueKind::Bool => Value::Bool(v.text == "true"),
        // The text came from a JSON number, so it reads back as one; the fallback only
        // guards a hand-built value.
        ValueKind::Number => match v.text.parse::<serde_json::Number>() {
            Ok(n) => Value::Number(n),
            Err(_) => Value::String(v.text.clone()),
        },
    }
}
