//! Differential property test of the policy evaluator against @cloud-copilot/iam-simulate, an independent test-only oracle (security-and-performance.md §4).

// Run by scripts/test-all.sh after the JS dependencies are installed:
//   cargo test -p idpool-core --test policy_oracle -- --ignored --nocapture
// IDPOOL_ORACLE_SEED replays a run (every run prints its seed); IDPOOL_ORACLE_CASES sets the
// number of cases (at least 1,000). The oracle is AGPL-3.0 and runs only here, as a separate
// Node process (tests/js/policy-oracle/run.mjs); nothing of it is linked into the product.
//
// The oracle only sees context keys it associates with the request's action, so every
// generated condition and policy variable uses `aws:` global keys, and the actions and
// resource ARNs come from services it knows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use idpool_core::policy::eval::{
    ContextKeys, Decision, Request, RequestPrincipal, evaluate, evaluate_with_session,
};
use idpool_core::policy::{PolicyKind, parse_policy};
use serde_json::{Map, Value, json};

const ACCOUNT: &str = "123456789012";
const PRINCIPAL: &str =
    "arn:aws:sts::123456789012:assumed-role/Cognito_AuthRole/CognitoIdentityCredentials";
const MIN_CASES: usize = 1_000;

// ---------------------------------------------------------------------------------------------
// Random source: SplitMix64, so a printed seed replays a run exactly on any machine.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One to `max` distinct items.
    fn some_of<T: Clone + PartialEq>(&mut self, items: &[T], max: usize) -> Vec<T> {
        let count = 1 + self.below(max);
        let mut chosen = Vec::new();
        for _ in 0..count {
            let item = self.pick(items).clone();
            if !chosen.contains(&item) {
                chosen.push(item);
            }
        }
        chosen
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

/// Request actions and the kind of resource each acts on.
const ACTIONS: &[(&str, ResourceKind)] = &[
    ("s3:GetObject", ResourceKind::Object),
    ("s3:PutObject", ResourceKind::Object),
    ("s3:DeleteObject", ResourceKind::Object),
    ("s3:ListBucket", ResourceKind::Bucket),
    ("dynamodb:GetItem", ResourceKind::Table),
    ("dynamodb:PutItem", ResourceKind::Table),
    ("dynamodb:Query", ResourceKind::Table),
];

#[derive(Clone, Copy)]
enum ResourceKind {
    Object,
    Bucket,
    Table,
}

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:*Object",
    "s3:GetObjec?",
    "S3:getobject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:List*",
    "s3:ListBucket",
    "dynamodb:*",
    "dynamodb:GetItem",
    "DynamoDB:put*",
    "dynamodb:Query",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::photos/*",
    "arn:aws:s3:::photos/${aws:username}/*",
    "arn:aws:s3:::*/${aws:PrincipalTag/team}/*",
    "arn:aws:s3:::logs/public/*",
    "arn:aws:s3:::log?/*",
    "arn:aws:s3:::photos",
    "arn:aws:s3:::*",
    "arn:aws:s3:::Photos/*",
    "arn:aws:dynamodb:*:123456789012:table/Orders",
    "arn:aws:dynamodb:us-east-1:*:table/*",
    "arn:aws:dynamodb:us-east-1:123456789012:table/${aws:PrincipalTag/team}",
];

#[derive(Clone, Copy, PartialEq)]
enum KeyType {
    String,
    Numeric,
    Date,
    Bool,
    Ip,
    Arn,
}

struct Key {
    name: &'static str,
    kind: KeyType,
    multi: bool,
    /// Values a request may carry.
    request_values: &'static [&'static str],
}

const KEYS: &[Key] = &[
    Key {
        name: "aws:username",
        kind: KeyType::String,
        multi: false,
        request_values: &["alice", "bob", "Alice"],
    },
    Key {
        name: "aws:PrincipalTag/team",
        kind: KeyType::String,
        multi: false,
        request_values: &["red", "blue", "alice"],
    },
    Key {
        name: "aws:RequestedRegion",
        kind: KeyType::String,
        multi: false,
        request_values: &["us-east-1", "eu-west-1"],
    },
    Key {
        name: "aws:TagKeys",
        kind: KeyType::String,
        multi: true,
        request_values: &["env", "team", "cost", "red"],
    },
    Key {
        name: "aws:MultiFactorAuthAge",
        kind: KeyType::Numeric,
        multi: false,
        request_values: &["0", "30", "3600", "86400"],
    },
    Key {
        name: "aws:CurrentTime",
        kind: KeyType::Date,
        multi: false,
        request_values: &[
            "2024-01-15T12:00:00Z",
            "2025-06-01T00:00:00Z",
            "2023-12-31T23:59:59Z",
        ],
    },
    Key {
        name: "aws:SecureTransport",
        kind: KeyType::Bool,
        multi: false,
        request_values: &["true", "false"],
    },
    Key {
        name: "aws:MultiFactorAuthPresent",
        kind: KeyType::Bool,
        multi: false,
        request_values: &["true", "false"],
    },
    Key {
        name: "aws:SourceIp",
        kind: KeyType::Ip,
        multi: false,
        request_values: &["10.0.0.5", "192.168.1.20", "203.0.113.7", "2001:db8::1"],
    },
    Key {
        name: "aws:PrincipalArn",
        kind: KeyType::Arn,
        multi: false,
        request_values: &[
            "arn:aws:iam::123456789012:role/Cognito_AuthRole",
            "arn:aws:iam::111122223333:role/Other",
        ],
    },
];

const STRING_OPS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
];
const NUMERIC_OPS: &[&str] = &[
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
];
const DATE_OPS: &[&str] = &[
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
];
const ARN_OPS: &[&str] = &["ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"];
const IP_OPS: &[&str] = &["IpAddress", "NotIpAddress"];

const STRING_VALUES: &[&str] = &[
    "alice",
    "ALICE",
    "bob",
    "red",
    "blu?",
    "r*",
    "us-*",
    "us-east-1",
    "env",
    "team",
    "${aws:username}",
    "${aws:PrincipalTag/team}",
];
const NUMERIC_VALUES: &[&str] = &["0", "30", "3600", "100.5", "86400"];
const DATE_VALUES: &[&str] = &[
    "2024-06-01T00:00:00Z",
    "2025-01-01T00:00:00Z",
    "2024-01-15T12:00:00Z",
    "1700000000",
];
const IP_VALUES: &[&str] = &[
    "10.0.0.0/8",
    "192.168.1.20/32",
    "203.0.113.0/24",
    "2001:db8::/32",
];
const ARN_VALUES: &[&str] = &[
    "arn:aws:iam::123456789012:role/*",
    "arn:aws:iam::*:role/Other",
    "arn:aws:iam::123456789012:role/Cognito_AuthRole",
    "arn:aws:iam::111122223333:*",
];

// ---------------------------------------------------------------------------------------------
// Generation

struct Case {
    policies: Vec<String>,
    session: Option<String>,
    action: &'static str,
    resource: String,
    context: BTreeMap<&'static str, Vec<&'static str>>,
}

fn gen_condition(rng: &mut Rng) -> Value {
    let mut block = Map::new();
    for _ in 0..1 + rng.below(2) {
        let key = rng.pick(KEYS);
        let null_check = rng.chance(8);
        // AWS requires a set operator on a multivalued key and leaves the bare form undefined
        // (IAM User Guide, Single-valued vs. multivalued context keys), so only Null goes bare.
        let qualified = key.multi || rng.chance(12);
        let (ops, values): (&[&str], &[&str]) = if null_check {
            (&["Null"], &["true", "false"])
        } else {
            match key.kind {
                KeyType::String => (STRING_OPS, STRING_VALUES),
                KeyType::Numeric => (NUMERIC_OPS, NUMERIC_VALUES),
                KeyType::Date => (DATE_OPS, DATE_VALUES),
                KeyType::Bool => (&["Bool"], &["true", "false"]),
                KeyType::Ip => (IP_OPS, IP_VALUES),
                KeyType::Arn => (ARN_OPS, ARN_VALUES),
            }
        };
        let mut op = rng.pick(ops).to_string();
        if !null_check {
            if rng.chance(20) {
                op.push_str("IfExists");
            }
            if qualified {
                let qualifier = if rng.chance(50) {
                    "ForAnyValue:"
                } else {
                    "ForAllValues:"
                };
                op.insert_str(0, qualifier);
            }
        }
        let chosen = rng.some_of(values, 2);
        let value = if chosen.len() == 1 && rng.chance(50) {
            json!(chosen[0])
        } else {
            json!(chosen)
        };
        let entry = block.entry(op).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(keys) = entry {
            keys.insert(key.name.to_owned(), value);
        }
    }
    Value::Object(block)
}

fn one_or_list(rng: &mut Rng, items: Vec<&str>) -> Value {
    if items.len() == 1 && rng.chance(50) {
        json!(items[0])
    } else {
        json!(items)
    }
}

fn gen_statement(rng: &mut Rng) -> Value {
    let mut statement = Map::new();
    let effect = if rng.chance(30) { "Deny" } else { "Allow" };
    statement.insert("Effect".into(), json!(effect));
    let actions = rng.some_of(ACTION_PATTERNS, 3);
    let action_key = if rng.chance(20) {
        "NotAction"
    } else {
        "Action"
    };
    statement.insert(action_key.into(), one_or_list(rng, actions));
    let resources = rng.some_of(RESOURCE_PATTERNS, 3);
    let resource_key = if rng.chance(15) {
        "NotResource"
    } else {
        "Resource"
    };
    statement.insert(resource_key.into(), one_or_list(rng, resources));
    if rng.chance(60) {
        statement.insert("Condition".into(), gen_condition(rng));
    }
    Value::Object(statement)
}

fn gen_policy(rng: &mut Rng) -> String {
    let statements: Vec<Value> = (0..1 + rng.below(3)).map(|_| gen_statement(rng)).collect();
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn gen_case(rng: &mut Rng) -> Case {
    let (action, kind) = *rng.pick(ACTIONS);
    let resource = match kind {
        ResourceKind::Object => format!(
            "arn:aws:s3:::{}/{}/{}",
            rng.pick(&["photos", "logs", "Photos"]),
            rng.pick(&["alice", "bob", "red", "blue", "public"]),
            rng.pick(&["a.jpg", "notes.txt"]),
        ),
        ResourceKind::Bucket => format!("arn:aws:s3:::{}", rng.pick(&["photos", "logs"])),
        ResourceKind::Table => format!(
            "arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{}",
            rng.pick(&["Orders", "Users", "red"])
        ),
    };
    let mut context = BTreeMap::new();
    for key in KEYS {
        if rng.chance(60) {
            let values = if key.multi {
                rng.some_of(key.request_values, 3)
            } else {
                vec![*rng.pick(key.request_values)]
            };
            context.insert(key.name, values);
        }
    }
    let policies = (0..1 + rng.below(2)).map(|_| gen_policy(rng)).collect();
    let session = rng.chance(15).then(|| gen_policy(rng));
    Case {
        policies,
        session,
        action,
        resource,
        context,
    }
}

// ---------------------------------------------------------------------------------------------
// Our side

fn our_decision(case: &Case) -> Result<Decision, String> {
    let parse = |text: &str| {
        parse_policy(text, PolicyKind::Identity)
            .map_err(|e| format!("our parser refused {text}: {}", e.message()))
    };
    let identity = case
        .policies
        .iter()
        .map(|p| parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let session = case.session.as_deref().map(parse).transpose()?;
    let mut context = ContextKeys::new();
    for (key, values) in &case.context {
        context.insert(key, values.iter().map(|v| (*v).to_owned()).collect());
    }
    let principal = RequestPrincipal::Aws(PRINCIPAL.to_owned());
    let request = Request {
        action: case.action,
        resource: &case.resource,
        principal: Some(&principal),
        context: &context,
    };
    let identity: Vec<_> = identity.iter().collect();
    Ok(match &session {
        Some(session) => evaluate_with_session(&identity, &[session], &request),
        None => evaluate(&identity, &request),
    })
}

fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Allowed => "Allowed",
        Decision::ExplicitlyDenied => "ExplicitlyDenied",
        Decision::ImplicitlyDenied => "ImplicitlyDenied",
    }
}

fn case_json(case: &Case) -> Value {
    let context: Map<String, Value> = case
        .context
        .iter()
        .map(|(key, values)| {
            let multi = KEYS.iter().any(|k| k.name == *key && k.multi);
            let value = if multi {
                json!(values)
            } else {
                json!(values[0])
            };
            ((*key).to_owned(), value)
        })
        .collect();
    json!({
        "policies": case.policies,
        "session": case.session,
        "action": case.action,
        "resource": case.resource,
        "context": context,
    })
}

// ---------------------------------------------------------------------------------------------
// Known differences: where the oracle departs from AWS's documented behaviour and we follow AWS.

// A difference is explained when rewriting the case so that the oracle's reading becomes
// the literal one (under AWS's rules, which our evaluator applies) makes our evaluator give the
// oracle's answer. That pins each disagreement to one rule instead of waving it through.

struct KnownDifference {
    name: &'static str,
    /// What AWS documents, and so what we do.
    aws_behaviour: &'static str,
    /// Rewrites one policy document so that AWS's rules give the oracle's reading.
    rewrite: fn(&mut Value, &BTreeMap<&'static str, Vec<&'static str>>),
}

const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        name: "ForAnyValue:...IfExists on an absent key",
        aws_behaviour: "IAM User Guide, Condition operators, ...IfExists: when the key is not \
                        in the request context the condition evaluates to true; the oracle \
                        gives false, as for ForAnyValue without IfExists",
        rewrite: drop_if_exists_on_absent_for_any_value,
    },
    KnownDifference {
        name: "unresolved policy variable under NotResource or a negated operator in a Deny",
        aws_behaviour: "IAM User Guide, Policy variables: a variable whose key is absent from \
                        the request context makes that entry match nothing, so NotResource and \
                        a negated condition still hold and the Deny applies (our spec, \
                        security-and-performance.md 4: an unresolved variable never lifts a \
                        Deny); the oracle lets that entry lift the Deny",
        rewrite: drop_deny_statements_with_negated_unresolved_variables,
    },
];

fn statements_mut(policy: &mut Value) -> Vec<&mut Value> {
    match policy.get_mut("Statement") {
        Some(Value::Array(list)) => list.iter_mut().collect(),
        Some(single) => vec![single],
        None => Vec::new(),
    }
}

fn drop_if_exists_on_absent_for_any_value(
    policy: &mut Value,
    context: &BTreeMap<&'static str, Vec<&'static str>>,
) {
    for statement in statements_mut(policy) {
        let Some(Value::Object(block)) = statement.get_mut("Condition") else {
            continue;
        };
        let operators: Vec<String> = block
            .keys()
            .filter(|op| op.starts_with("ForAnyValue:") && op.ends_with("IfExists"))
            .cloned()
            .collect();
        for op in operators {
            let Some(Value::Object(keys)) = block.get_mut(&op) else {
                continue;
            };
            let absent: Vec<String> = keys
                .keys()
                .filter(|key| !context.contains_key(key.as_str()))
                .cloned()
                .collect();
            let moved: Vec<(String, Value)> = absent
                .into_iter()
                .filter_map(|key| keys.remove(&key).map(|v| (key, v)))
                .collect();
            if keys.is_empty() {
                block.remove(&op);
            }
            let plain = op.trim_end_matches("IfExists").to_owned();
            for (key, value) in moved {
                if let Value::Object(target) = block
                    .entry(plain.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    target.insert(key, value);
                }
            }
        }
    }
}

/// Whether `value` names a policy variable whose key the request does not carry.
fn has_unresolved_variable(
    value: &Value,
    context: &BTreeMap<&'static str, Vec<&'static str>>,
) -> bool {
    let text = value.to_string();
    text.split("${").skip(1).any(|rest| {
        let name = rest.split(['}', ',']).next().unwrap_or("");
        !context.contains_key(name.trim())
    })
}

fn drop_deny_statements_with_negated_unresolved_variables(
    policy: &mut Value,
    context: &BTreeMap<&'static str, Vec<&'static str>>,
) {
    let lifted_by_oracle = |statement: &Value| {
        if statement["Effect"] != "Deny" {
            return false;
        }
        let in_not_resource = statement
            .get("NotResource")
            .is_some_and(|v| has_unresolved_variable(v, context));
        let in_negated_condition = statement
            .get("Condition")
            .and_then(Value::as_object)
            .is_some_and(|block| {
                block
                    .iter()
                    .any(|(op, keys)| op.contains("Not") && has_unresolved_variable(keys, context))
            });
        in_not_resource || in_negated_condition
    };
    for statement in statements_mut(policy) {
        if lifted_by_oracle(statement) {
            // A document needs a statement, so this one stays, applying to no action.
            *statement = json!({"Effect": "Deny", "NotAction": "*", "Resource": "*"});
        }
    }
}

/// The case with `rewrite` applied to every policy document.
fn rewritten(case: &Case, rewrites: &[&KnownDifference]) -> Case {
    let apply = |text: &String| {
        let mut policy: Value = serde_json::from_str(text).expect("generated JSON");
        for known in rewrites {
            (known.rewrite)(&mut policy, &case.context);
        }
        policy.to_string()
    };
    Case {
        policies: case.policies.iter().map(apply).collect(),
        session: case.session.as_ref().map(apply),
        action: case.action,
        resource: case.resource.clone(),
        context: case.context.clone(),
    }
}

/// The known differences that, applied together, turn our answer into the oracle's: the
/// smallest such set, trying single rules first. Empty when none does.
fn explain(case: &Case, theirs: &str) -> Vec<&'static KnownDifference> {
    let agrees = |rewrites: &[&KnownDifference]| {
        our_decision(&rewritten(case, rewrites)).is_ok_and(|d| decision_name(d) == theirs)
    };
    for known in KNOWN_DIFFERENCES {
        if agrees(&[known]) {
            return vec![known];
        }
    }
    let all: Vec<&KnownDifference> = KNOWN_DIFFERENCES.iter().collect();
    if agrees(&all) { all } else { Vec::new() }
}

// ---------------------------------------------------------------------------------------------

fn oracle_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/js/policy-oracle/run.mjs")
}

#[test]
#[ignore = "needs Node and tests/js/node_modules; scripts/test-all.sh runs it with --ignored"]
fn evaluator_agrees_with_iam_simulate() {
    let seed = match std::env::var("IDPOOL_ORACLE_SEED") {
        Ok(text) => text.parse().expect("IDPOOL_ORACLE_SEED is a u64"),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    let count = match std::env::var("IDPOOL_ORACLE_CASES") {
        Ok(text) => text.parse().expect("IDPOOL_ORACLE_CASES is a count"),
        Err(_) => 1_500,
    }
    .max(MIN_CASES);
    println!("policy oracle: seed {seed} (IDPOOL_ORACLE_SEED={seed} replays), {count} cases");

    let mut rng = Rng(seed);
    let cases: Vec<Case> = (0..count).map(|_| gen_case(&mut rng)).collect();
    let ours: Vec<Decision> = cases
        .iter()
        .map(|case| our_decision(case).unwrap_or_else(|e| panic!("{e}")))
        .collect();

    let input = json!({
        "principal": PRINCIPAL,
        "account": ACCOUNT,
        "cases": cases.iter().map(case_json).collect::<Vec<_>>(),
    });
    let file =
        std::env::temp_dir().join(format!("idpool-policy-oracle-{}.json", std::process::id()));
    std::fs::write(&file, input.to_string()).expect("write the cases file");
    let script = oracle_script();
    let output = Command::new("node")
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("could not run node {}: {e}", script.display()));
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "the oracle failed ({}); run `npm ci` in tests/js first:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("the oracle prints a JSON array");
    assert_eq!(answers.len(), cases.len(), "one oracle answer per case");

    let mut agreed = 0usize;
    let mut by_decision: BTreeMap<&str, usize> = BTreeMap::new();
    let mut explained: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = String::new();
    let mut unexplained = 0usize;
    for (i, ((case, ours), answer)) in cases.iter().zip(&ours).zip(&answers).enumerate() {
        let report = |why: &str| {
            format!(
                "case {i}: {why}\n  ours: {}\n  oracle: {answer}\n  case: {}\n",
                decision_name(*ours),
                case_json(case)
            )
        };
        if let Some(error) = answer.get("error") {
            unexplained += 1;
            failures.push_str(&report(&format!("the oracle refused the case: {error}")));
            continue;
        }
        if let Some(ignored) = answer["ignored"].as_array().filter(|a| !a.is_empty()) {
            unexplained += 1;
            failures.push_str(&report(&format!(
                "the oracle ignored context keys {ignored:?}; the generator must use keys it keeps"
            )));
            continue;
        }
        let theirs = answer["decision"].as_str().unwrap_or("?");
        if theirs == decision_name(*ours) {
            agreed += 1;
            *by_decision.entry(decision_name(*ours)).or_default() += 1;
            continue;
        }
        let rules = explain(case, theirs);
        if rules.is_empty() {
            unexplained += 1;
            if unexplained <= 20 {
                failures.push_str(&report("unexplained disagreement"));
            }
        }
        for known in rules {
            *explained.entry(known.name).or_default() += 1;
        }
    }

    let mut summary = format!(
        "policy oracle: {} cases, {agreed} agreed {by_decision:?}, {} explained by known differences",
        cases.len(),
        cases.len() - agreed - unexplained
    );
    for known in KNOWN_DIFFERENCES {
        let n = explained.get(known.name).copied().unwrap_or(0);
        let _ = write!(
            summary,
            "\n  {n} x {}: we follow AWS: {}",
            known.name, known.aws_behaviour
        );
    }
    let _ = write!(summary, "\n  {unexplained} unexplained");
    println!("{summary}");
    assert!(
        unexplained == 0,
        "{unexplained} unexplained disagreements with the oracle (seed {seed}; first 20 shown):\n{failures}"
    );
}
