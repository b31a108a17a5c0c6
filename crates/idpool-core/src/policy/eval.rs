//! The IAM policy evaluator: Allow, explicit Deny or implicit deny for one request (security-and-performance.md §4, cognito-identity.md §4.10-4.13).

use std::cmp::Ordering;
use std::net::IpAddr;

use base64::Engine as _;

use super::model::{
    ActionElement, BaseOperator, ConditionBlock, ConditionEntry, Effect, OperatorFamily,
    PolicyDocument, Principal, PrincipalElement, ResourceElement, SetQualifier, Statement,
};

/// Policy variables are only read in documents of this version; older ones keep `${...}` as
/// plain text, as IAM does.
const VARIABLES_VERSION: &str = "2012-10-17";

/// Request context keys, compared without regard to case; multi-valued.
#[derive(Debug, Clone, Default)]
pub struct ContextKeys {
    entries: Vec<(String, Vec<String>)>,
}

impl ContextKeys {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `values`, replacing whatever the key (in any case) held before. An empty
    /// list reads as an absent key.
    pub fn insert(&mut self, key: &str, values: Vec<String>) {
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(entry) => *entry = (key.to_owned(), values),
            None => self.entries.push((key.to_owned(), values)),
        }
    }

    /// Sets `key` to the single `value`, replacing what it held before.
    pub fn insert_one(&mut self, key: &str, value: impl Into<String>) {
        self.insert(key, vec![value.into()]);
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        // A request carries a handful of keys: a scan beats hashing a lowered copy of the name.
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, values)| values.as_slice())
    }

    /// The key's values, or `None` when it is absent or holds no value.
    fn present(&self, key: &str) -> Option<&[String]> {
        self.get(key).filter(|values| !values.is_empty())
    }
}

/// Who is asking, for statements that name a `Principal` (trust policies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPrincipal {
    /// A web identity or SAML provider, e.g. `cognito-identity.amazonaws.com`.
    Federated(String),
    /// An account id or the ARN of an account root, user, role or session.
    Aws(String),
    /// A service principal such as `lambda.amazonaws.com`.
    Service(String),
    Anonymous,
}

/// One request to decide. `principal` is `None` when the caller has none to offer (identity
/// policies never name one); a statement that does name one then can only deny.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub principal: Option<&'a RequestPrincipal>,
    pub context: &'a ContextKeys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    ExplicitlyDenied,
    ImplicitlyDenied,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }
}

/// Union of policies (identity policies of a role, or one trust policy): Deny wins, then Allow, else implicit deny.
pub fn evaluate(policies: &[&PolicyDocument], req: &Request) -> Decision {
    let mut allowed = false;
    for doc in policies {
        let variables = doc.version.as_deref() == Some(VARIABLES_VERSION);
        for statement in &doc.statements {
            // Once something allows, only a Deny can still change the answer.
            if (statement.effect == Effect::Allow && allowed)
                || !statement_applies(statement, req, variables)
            {
                continue;
            }
            match statement.effect {
                Effect::Deny => return Decision::ExplicitlyDenied,
                Effect::Allow => allowed = true,
            }
        }
    }
    if allowed {
        Decision::Allowed
    } else {
        Decision::ImplicitlyDenied
    }
}

/// Identity policies intersected with session policies: allowed only when the identity policies allow and
/// (if any session policies are given) the session policies allow too; an explicit deny anywhere wins.
pub fn evaluate_with_session(
    identity: &[&PolicyDocument],
    session: &[&PolicyDocument],
    req: &Request,
) -> Decision {
    let by_identity = evaluate(identity, req);
    if by_identity == Decision::ExplicitlyDenied || session.is_empty() {
        return by_identity;
    }
    match evaluate(session, req) {
        Decision::ExplicitlyDenied => Decision::ExplicitlyDenied,
        Decision::Allowed => by_identity,
        Decision::ImplicitlyDenied => Decision::ImplicitlyDenied,
    }
}

/// What a statement's matchers need besides the request.
struct Scope<'r> {
    context: &'r ContextKeys,
    /// Whether `${...}` is a policy variable in this document.
    variables: bool,
    /// The statement's effect. An undecidable match (unresolved variable, unreadable value)
    /// is simply no match for `Resource` and positive operators; under `NotResource` and
    /// negated operators it counts against an Allow and for a Deny, so it never widens an
    /// Allow nor lifts a Deny that the negation would otherwise keep.
    allow: bool,
}

fn statement_applies(statement: &Statement, req: &Request, variables: bool) -> bool {
    let scope = Scope {
        context: req.context,
        variables,
        allow: statement.effect == Effect::Allow,
    };
    action_applies(&statement.action, req.action)
        && principal_applies(statement.principal.as_ref(), req.principal, scope.allow)
        && resource_applies(statement.resource.as_ref(), req.resource, &scope)
        && statement
            .conditions
            .iter()
            .all(|block| block_holds(block, &scope))
}

// ---------------------------------------------------------------------------------------------
// Action, Resource, Principal

fn action_applies(element: &ActionElement, action: &str) -> bool {
    let named = element
        .patterns()
        .iter()
        .any(|p| glob(&PlainPattern::wild(p), action, true));
    named != element.is_negated()
}

fn resource_applies(element: Option<&ResourceElement>, resource: &str, scope: &Scope) -> bool {
    let Some(element) = element else {
        return true;
    };
    let mut undecided = false;
    for pattern in element.patterns() {
        match resource_matches(pattern, resource, scope) {
            Some(true) => return !element.is_negated(),
            Some(false) => {}
            None => undecided = true,
        }
    }
    // An unresolved pattern names nothing. For `Resource` that only narrows; for `NotResource`
    // it would widen an Allow, so there it counts as naming the resource unless it is a Deny.
    element.is_negated() && !(undecided && scope.allow)
}

/// `None` when a policy variable in the pattern cannot be resolved and that decides the match.
fn resource_matches(pattern: &str, resource: &str, scope: &Scope) -> Option<bool> {
    if pattern == "*" {
        return Some(true);
    }
    match split_arn_pattern(pattern, scope.variables) {
        Some(parts) => match split_arn(resource) {
            Some(target) => arn_parts_match(&parts, &target, scope),
            None => Some(false),
        },
        None => Some(expand(pattern, true, scope)?.matches(resource, false)),
    }
}

fn principal_applies(
    element: Option<&PrincipalElement>,
    who: Option<&RequestPrincipal>,
    allow: bool,
) -> bool {
    let Some(element) = element else {
        return true;
    };
    let Some(who) = who else {
        // Nobody to compare: only "everyone" can be granted, and restrictions still bite.
        return !allow || matches!(element, PrincipalElement::Principal(Principal::Any));
    };
    principal_names(element.principal(), who) != element.is_negated()
}

fn principal_names(principal: &Principal, who: &RequestPrincipal) -> bool {
    let map = match principal {
        Principal::Any => return true,
        Principal::Map(map) => map,
    };
    let listed = |ids: &[String], id: &str| ids.iter().any(|x| x == "*" || x == id);
    match who {
        RequestPrincipal::Aws(id) => map
            .aws
            .iter()
            .any(|x| x == "*" || x == id || same_account_root(x, id)),
        RequestPrincipal::Federated(id) => listed(&map.federated, id),
        RequestPrincipal::Service(id) => listed(&map.service, id),
        // `{"AWS": "*"}` is IAM's other spelling of everyone, signed or not.
        RequestPrincipal::Anonymous => map.aws.iter().any(|x| x == "*"),
    }
}

/// An account id and the ARN of that account's root name the same principal.
fn same_account_root(a: &str, b: &str) -> bool {
    match (account_root(a), account_root(b)) {
        (Some((pa, a)), Some((pb, b))) => a == b && (pa.is_none() || pb.is_none() || pa == pb),
        _ => false,
    }
}

/// `(partition, account)` for `123456789012` or `arn:<partition>:iam::123456789012:root`.
fn account_root(id: &str) -> Option<(Option<&str>, &str)> {
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_account(id) {
        return Some((None, id));
    }
    let [arn, partition, service, region, account, resource] = split_arn(id)?;
    (arn == "arn"
        && service == "iam"
        && region.is_empty()
        && resource == "root"
        && is_account(account))
    .then_some((Some(partition), account))
}

fn split_arn(s: &str) -> Option<[&str; 6]> {
    let mut parts = s.splitn(6, ':');
    Some([
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    ])
}

/// Splits an ARN pattern into its six components; colons inside a policy variable (such as
/// `${cognito-identity.amazonaws.com:sub}`) do not separate. `None` when it is not ARN-shaped.
fn split_arn_pattern(pattern: &str, variables: bool) -> Option<[&str; 6]> {
    if !variables || !pattern.contains("${") {
        return split_arn(pattern);
    }
    let mut parts = [""; 6];
    let (mut found, mut start, mut i) = (0, 0, 0);
    let bytes = pattern.as_bytes();
    while i < bytes.len() && found < 5 {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => i += read_variable(&pattern[i..])?.1,
            b':' => {
                parts[found] = &pattern[start..i];
                found += 1;
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if found < 5 {
        return None;
    }
    parts[5] = &pattern[start..];
    Some(parts)
}

/// ARN matching component by component, so a wildcard never spans a colon before the
/// resource part. `None` when only an unresolved variable stands between a match and none.
fn arn_parts_match(parts: &[&str; 6], target: &[&str; 6], scope: &Scope) -> Option<bool> {
    let mut undecided = false;
    for (pattern, text) in parts.iter().zip(target) {
        match expand(pattern, true, scope) {
            Some(p) if !p.matches(text, false) => return Some(false),
            Some(_) => {}
            None => undecided = true,
        }
    }
    (!undecided).then_some(true)
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// Keys under one operator are AND-ed.
fn block_holds(block: &ConditionBlock, scope: &Scope) -> bool {
    block
        .entries
        .iter()
        .all(|entry| entry_holds(block, entry, scope))
}

fn entry_holds(block: &ConditionBlock, entry: &ConditionEntry, scope: &Scope) -> bool {
    let op = block.operator;
    let request_values = scope.context.present(&entry.key);
    if op.base == BaseOperator::Null {
        let absent = request_values.is_none();
        return entry
            .values
            .iter()
            .any(|v| parse_bool(v.as_str()).is_some_and(|wants_absent| wants_absent == absent));
    }
    let negated = op.base.is_negated();
    let Some(request_values) = request_values else {
        return match op.qualifier {
            Some(SetQualifier::ForAllValues) => true,
            Some(SetQualifier::ForAnyValue) => op.if_exists,
            // "Not equal to anything listed" holds for a value that is not there at all.
            None => op.if_exists || negated,
        };
    };
    let satisfies = |value: &String| value_satisfies(op.base, entry, value, scope);
    match op.qualifier {
        Some(SetQualifier::ForAnyValue) => request_values.iter().any(satisfies),
        Some(SetQualifier::ForAllValues) => request_values.iter().all(satisfies),
        // Without a qualifier a several-valued key reads as the set of its values: it equals
        // `x` when `x` is among them, and a negated operator is the exact complement of that.
        None if negated => request_values.iter().all(satisfies),
        None => request_values.iter().any(satisfies),
    }
}

/// One request value against the entry's policy values: OR-ed, or NOR-ed for negated operators.
fn value_satisfies(base: BaseOperator, entry: &ConditionEntry, value: &str, scope: &Scope) -> bool {
    if base.is_negated() {
        entry
            .values
            .iter()
            .all(|p| match relation(base, p.as_str(), value, scope) {
                Some(related) => !related,
                None => !scope.allow,
            })
    } else {
        entry
            .values
            .iter()
            .any(|p| relation(base, p.as_str(), value, scope) == Some(true))
    }
}

/// The positive relation behind an operator (`StringNotLike` uses `StringLike`'s), between a
/// policy value and a request value. `None` when it cannot be decided: an unreadable number,
/// date, address or boolean, or an unresolved policy variable.
fn relation(base: BaseOperator, policy: &str, request: &str, scope: &Scope) -> Option<bool> {
    use BaseOperator as B;
    match base.family() {
        OperatorFamily::String => {
            let (wild, fold) = match base {
                B::StringLike | B::StringNotLike => (true, false),
                B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase => (false, true),
                _ => (false, false),
            };
            Some(expand(policy, wild, scope)?.matches(request, fold))
        }
        OperatorFamily::Arn => {
            let parts = split_arn_pattern(policy, scope.variables)?;
            match split_arn(request) {
                Some(target) => arn_parts_match(&parts, &target, scope),
                None => None,
            }
        }
        OperatorFamily::Numeric => Some(order_holds(base, compare_numbers(request, policy)?)),
        OperatorFamily::Date => Some(order_holds(
            base,
            parse_date(request)?.cmp(&parse_date(policy)?),
        )),
        OperatorFamily::Bool => Some(parse_bool(request)? == parse_bool(policy)?),
        OperatorFamily::Binary => Some(decode_base64(request)? == decode_base64(policy)?),
        OperatorFamily::IpAddress => cidr_contains(policy, request),
        OperatorFamily::Null => None,
    }
}

/// Whether `request <op> policy` holds, given how the two compare.
fn order_holds(base: BaseOperator, order: Ordering) -> bool {
    use BaseOperator as B;
    match base {
        B::NumericEquals | B::NumericNotEquals | B::DateEquals | B::DateNotEquals => {
            order == Ordering::Equal
        }
        B::NumericLessThan | B::DateLessThan => order == Ordering::Less,
        B::NumericLessThanEquals | B::DateLessThanEquals => order != Ordering::Greater,
        B::NumericGreaterThan | B::DateGreaterThan => order == Ordering::Greater,
        B::NumericGreaterThanEquals | B::DateGreaterThanEquals => order != Ordering::Less,
        _ => false,
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let engine = base64::engine::general_purpose::STANDARD;
    let lenient = base64::engine::general_purpose::STANDARD_NO_PAD;
    let text = text.trim();
    engine.decode(text).or_else(|_| lenient.decode(text)).ok()
}

#[derive(Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            // Precision loss is acceptable here: only reached when the other side is a float.
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// Integers compare exactly (an f64 cannot tell 2^53 from 2^53+1); anything else as a float.
fn parse_number(text: &str) -> Option<Number> {
    let text = text.trim();
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Number::Int);
    }
    // Rust reads "inf" and "NaN" as floats; IAM does not.
    let float_chars = |b: u8| b.is_ascii_digit() || b"+-.eE".contains(&b);
    if !text.bytes().any(|b| b.is_ascii_digit()) || !text.bytes().all(float_chars) {
        return None;
    }
    let f: f64 = text.parse().ok()?;
    f.is_finite().then_some(Number::Float(f))
}

fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    match (parse_number(a)?, parse_number(b)?) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        (x, y) => x.as_f64().partial_cmp(&y.as_f64()),
    }
}

/// A date as Unix nanoseconds: epoch seconds (`1700000000`, `1700000000.5`) or ISO 8601 in the
/// forms IAM's parser accepts (`2024-01-01`, `2024-01-01T10:00`, `...T10:00:00.5Z`,
/// `...T10:00:00+02:00`); no zone means UTC.
fn parse_date(text: &str) -> Option<i128> {
    let text = text.trim();
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_epoch(text);
    }
    parse_iso8601(text)
}

fn parse_epoch(text: &str) -> Option<i128> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let seconds: i64 = digits(whole)?;
    let nanos = match fraction {
        Some(f) => fraction_nanos(f)?,
        None => 0,
    };
    Some(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
}

/// Decimal digits only (no sign, no blanks), parsed.
fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `"5"` is half a second; digits past the ninth are below a nanosecond and dropped.
fn fraction_nanos(fraction: &str) -> Option<u32> {
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kept = &fraction[..fraction.len().min(9)];
    let value: u32 = kept.parse().ok()?;
    Some(value * 10u32.pow(9 - kept.len() as u32))
}

fn parse_iso8601(text: &str) -> Option<i128> {
    let (date, clock) = match text.find(['T', 't']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (negative, date) = match date.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date),
    };
    let mut fields = date.split('-');
    let year: i32 = digits(fields.next()?)?;
    let year = if negative { -year } else { year };
    let month: u8 = fields.next().map_or(Some(1), digits)?;
    let day: u8 = fields.next().map_or(Some(1), digits)?;
    if fields.next().is_some() {
        return None;
    }
    let (mut hour, mut minute, mut second, mut nanos, mut offset) = (0u8, 0u8, 0u8, 0u32, 0i32);
    if let Some(clock) = clock {
        let (clock, zone) = split_zone(clock)?;
        offset = zone;
        let mut fields = clock.split(':');
        hour = digits(fields.next()?)?;
        if let Some(m) = fields.next() {
            minute = digits(m)?;
        }
        if let Some(s) = fields.next() {
            let (whole, fraction) = match s.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (s, None),
            };
            second = digits(whole)?;
            if let Some(f) = fraction {
                nanos = fraction_nanos(f)?;
            }
        }
        if fields.next().is_some() {
            return None;
        }
    }
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    let offset = time::UtcOffset::from_whole_seconds(offset).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_offset(offset)
            .unix_timestamp_nanos(),
    )
}

/// Splits `10:00:00Z` / `10:00:00+02:00` / `10:00:00-0130` / `10:00` into the clock and the
/// zone's offset in seconds.
fn split_zone(clock: &str) -> Option<(&str, i32)> {
    if let Some(rest) = clock.strip_suffix(['Z', 'z']) {
        return Some((rest, 0));
    }
    let Some(at) = clock.rfind(['+', '-']) else {
        return Some((clock, 0));
    };
    let sign = if clock.as_bytes()[at] == b'-' { -1 } else { 1 };
    let zone = &clock[at + 1..];
    let (hours, minutes) = match zone.split_once(':') {
        Some((h, m)) => (h, m),
        None if zone.len() == 4 && zone.is_ascii() => zone.split_at(2),
        None => (zone, "0"),
    };
    let hours: i32 = digits(hours)?;
    let minutes: i32 = digits(minutes)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((&clock[..at], sign * (hours * 3600 + minutes * 60)))
}

/// Whether `address` lies in `cidr` (`203.0.113.0/24`, `2001:db8::/32`, or a bare address).
/// An IPv4 address written IPv4-mapped in IPv6 still matches an IPv4 block.
fn cidr_contains(cidr: &str, address: &str) -> Option<bool> {
    let address: IpAddr = address.trim().parse().ok()?;
    let (network, length) = match cidr.trim().split_once('/') {
        Some((net, len)) => (net.parse::<IpAddr>().ok()?, Some(digits::<u8>(len)?)),
        None => (cidr.trim().parse::<IpAddr>().ok()?, None),
    };
    let address = match (network, address) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        _ => address,
    };
    match (network, address) {
        (IpAddr::V4(net), IpAddr::V4(addr)) => {
            let length = u32::from(length.unwrap_or(32));
            let mask = u32::MAX.checked_shl(32 - length.min(32)).unwrap_or(0);
            (length <= 32).then(|| u32::from(net) & mask == u32::from(addr) & mask)
        }
        (IpAddr::V6(net), IpAddr::V6(addr)) => {
            let length = u32::from(length.unwrap_or(128));
            let mask = u128::MAX.checked_shl(128 - length.min(128)).unwrap_or(0);
            (length <= 128).then(|| u128::from(net) & mask == u128::from(addr) & mask)
        }
        _ => Some(false),
    }
}

// ---------------------------------------------------------------------------------------------
// Policy variables and wildcard matching

/// One unit of an expanded pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A pattern ready to match: the policy text itself when it holds no variable (no
/// allocation on the common path), otherwise its expansion.
enum Pattern<'a> {
    Plain(PlainPattern<'a>),
    Expanded(Vec<Token>),
}

impl Pattern<'_> {
    fn matches(&self, text: &str, fold_case: bool) -> bool {
        match self {
            Pattern::Plain(p) => glob(p, text, fold_case),
            Pattern::Expanded(tokens) => glob(tokens.as_slice(), text, fold_case),
        }
    }
}

/// Resolves the policy variables in `text`. Characters that came from a variable's value or
/// an escape (`${*}`, `${?}`, `${$}`) are always literal; `wild` decides whether the policy's
/// own `*` and `?` are wildcards. `None` when a variable cannot be resolved: its key is
/// absent or several-valued and there is no default, or the `${...}` is malformed.
fn expand<'a>(text: &'a str, wild: bool, scope: &Scope) -> Option<Pattern<'a>> {
    if !scope.variables || !text.contains("${") {
        return Some(Pattern::Plain(PlainPattern { text, wild }));
    }
    let mut tokens = Vec::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${") {
            let (variable, used) = read_variable(rest)?;
            resolve(variable, scope.context, &mut tokens)?;
            rest = &rest[used..];
            continue;
        }
        tokens.push(match c {
            '*' if wild => Token::Star,
            '?' if wild => Token::One,
            c => Token::Char(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    Some(Pattern::Expanded(tokens))
}

enum Variable<'a> {
    /// `${*}`, `${?}` or `${$}`.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`; the default still holds its doubled quotes.
    Key {
        name: &'a str,
        default: Option<&'a str>,
    },
}

/// Reads the `${...}` that `text` starts with: the variable and the bytes it spans. Blanks
/// around the key and the default are ignored; `''` inside the default is one quote.
fn read_variable(text: &str) -> Option<(Variable<'_>, usize)> {
    let body = text.strip_prefix("${")?;
    let end = body.find([',', '}'])?;
    let name = body[..end].trim();
    let valid_key = !name.is_empty() && !name.contains(char::is_whitespace);
    if body.as_bytes()[end] == b'}' {
        let variable = match name {
            "*" => Variable::Escaped('*'),
            "?" => Variable::Escaped('?'),
            "$" => Variable::Escaped('$'),
            _ if valid_key => Variable::Key {
                name,
                default: None,
            },
            _ => return None,
        };
        return Some((variable, 2 + end + 1));
    }
    if !valid_key {
        return None;
    }
    let after_comma = &body[end + 1..];
    let quoted = after_comma.trim_start().strip_prefix('\'')?;
    let mut search = 0;
    let close = loop {
        let q = search + quoted[search..].find('\'')?;
        if quoted[q + 1..].starts_with('\'') {
            search = q + 2;
        } else {
            break q;
        }
    };
    let tail = &quoted[close + 1..];
    let brace = tail.trim_start().strip_prefix('}')?;
    let used = text.len() - brace.len();
    Some((
        Variable::Key {
            name,
            default: Some(&quoted[..close]),
        },
        used,
    ))
}

/// Appends the variable's value as literal characters. Only a key with exactly one value
/// resolves; otherwise the default is used, and without one the pattern cannot match.
fn resolve(variable: Variable, context: &ContextKeys, out: &mut Vec<Token>) -> Option<()> {
    match variable {
        Variable::Escaped(c) => out.push(Token::Char(c)),
        Variable::Key { name, default } => match (context.get(name), default) {
            (Some([value]), _) => out.extend(value.chars().map(Token::Char)),
            (_, Some(default)) => {
                let mut chars = default.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '\'' {
                        chars.next_if_eq(&'\'');
                    }
                    out.push(Token::Char(c));
                }
            }
            (_, None) => return None,
        },
    }
    Some(())
}

/// What the wildcard matcher reads: the token at a position and the position after it.
trait PatternSource {
    fn token_at(&self, at: usize) -> Option<(Token, usize)>;
}

/// Policy text read in place; `wild` makes `*` and `?` wildcards.
struct PlainPattern<'a> {
    text: &'a str,
    wild: bool,
}

impl<'a> PlainPattern<'a> {
    fn wild(text: &'a str) -> Self {
        PlainPattern { text, wild: true }
    }
}

impl PatternSource for PlainPattern<'_> {
    fn token_at(&self, at: usize) -> Option<(Token, usize)> {
        let c = self.text.get(at..)?.chars().next()?;
        let token = match c {
            '*' if self.wild => Token::Star,
            '?' if self.wild => Token::One,
            c => Token::Char(c),
        };
        Some((token, at + c.len_utf8()))
    }
}

impl PatternSource for [Token] {
    fn token_at(&self, at: usize) -> Option<(Token, usize)> {
        self.get(at).map(|t| (*t, at + 1))
    }
}

/// `*`/`?` matching in O(pattern × text) at worst: on a mismatch only the most recent `*`
/// is retried, one character further, which is enough because an earlier `*` could only
/// re-cover text the later one can cover too.
fn glob<P: PatternSource + ?Sized>(pattern: &P, text: &str, fold_case: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // (pattern position after the last `*`, text position that `*` has swallowed up to)
    let mut retry: Option<(usize, usize)> = None;
    loop {
        let c = text.get(t..).and_then(|rest| rest.chars().next());
        match (pattern.token_at(p), c) {
            (Some((Token::Star, next)), _) => {
                retry = Some((next, t));
                p = next;
                continue;
            }
            (Some((Token::One, next)), Some(c)) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            (Some((Token::Char(want), next)), Some(c)) if same_char(want, c, fold_case) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        let Some((after_star, swallowed)) = retry else {
            return false;
        };
        let Some(c) = text.get(swallowed..).and_then(|rest| rest.chars().next()) else {
            return false;
        };
        let swallowed = swallowed + c.len_utf8();
        retry = Some((after_star, swallowed));
        p = after_star;
        t = swallowed;
    }
}

fn same_char(a: char, b: char, fold_case: bool) -> bool {
    if a == b {
        return true;
    }
    if !fold_case {
        return false;
    }
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(&b)
    } else {
        a.to_lowercase().eq(b.to_lowercase())
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
