//! Evaluator tests: one table row per rule of the semantics checklist (security-and-performance.md §4).

use proptest::prelude::*;

use super::*;
use crate::policy::model::{ConditionOperator, ConditionValue, PrincipalMap, ValueKind};
use crate::policy::{PolicyKind, parse_policy};

use Decision::{Allowed, ExplicitlyDenied, ImplicitlyDenied};

fn parsed(text: &str, kind: PolicyKind) -> PolicyDocument {
    parse_policy(text, kind).unwrap_or_else(|e| panic!("refused {text}: {}", e.message()))
}

fn context(pairs: &[(&str, &[&str])]) -> ContextKeys {
    let mut keys = ContextKeys::new();
    for (key, values) in pairs {
        keys.insert(key, values.iter().map(|v| v.to_string()).collect());
    }
    keys
}

/// A 2012-10-17 identity policy from its statements.
fn identity(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

const ALLOW_ALL: &str = r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#;

fn decide(policies: &[String], action: &str, resource: &str, ctx: &[(&str, &[&str])]) -> Decision {
    let docs: Vec<PolicyDocument> = policies
        .iter()
        .map(|p| parsed(p, PolicyKind::Identity))
        .collect();
    let refs: Vec<&PolicyDocument> = docs.iter().collect();
    let keys = context(ctx);
    let req = Request {
        action,
        resource,
        principal: None,
        context: &keys,
    };
    evaluate(&refs, &req)
}

struct Case {
    name: &'static str,
    policies: Vec<String>,
    action: &'static str,
    resource: &'static str,
    context: &'static [(&'static str, &'static [&'static str])],
    expect: Decision,
}

fn run(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let got = decide(&case.policies, case.action, case.resource, case.context);
        if got != case.expect {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}",
                case.name, case.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const OBJECT: &str = "arn:aws:s3:::bucket/key";

#[test]
fn eval_decision_order_actions_and_resources() {
    let get_bucket =
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}"#;
    let deny_get = r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}"#;
    let cases = vec![
        Case {
            name: "no policy at all is an implicit deny",
            policies: vec![],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "an allow that names the request",
            policies: vec![identity(get_bucket)],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "nothing names the action: implicit deny",
            policies: vec![identity(get_bucket)],
            action: "s3:PutObject",
            resource: OBJECT,
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "explicit deny wins in the same policy",
            policies: vec![identity(&format!("{get_bucket},{deny_get}"))],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "explicit deny wins across policies, whatever the order",
            policies: vec![identity(deny_get), identity(ALLOW_ALL)],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "a deny that does not apply grants nothing",
            policies: vec![identity(deny_get)],
            action: "s3:PutObject",
            resource: OBJECT,
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "action names ignore case",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"S3:getobject","Resource":"*"}"#,
            )],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "action * wildcard",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}"#,
            )],
            action: "s3:GetObjectAcl",
            resource: OBJECT,
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "action * wildcard does not reach another prefix",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}"#,
            )],
            action: "s3:PutObject",
            resource: OBJECT,
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "action ? wildcard is one character",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:?etObject","Resource":"*"}"#,
            )],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "action ? wildcard is exactly one character",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:?etObject","Resource":"*"}"#,
            )],
            action: "s3:etObject",
            resource: OBJECT,
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "Allow + NotAction grants every other action (the footgun)",
            policies: vec![identity(
                r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#,
            )],
            action: "s3:DeleteBucket",
            resource: "arn:aws:s3:::bucket",
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "Allow + NotAction does not grant the listed action",
            policies: vec![identity(
                r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#,
            )],
            action: "iam:CreateUser",
            resource: "arn:aws:iam::123456789012:user/x",
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "Deny + NotAction denies every other action",
            policies: vec![identity(&format!(
                r#"{ALLOW_ALL},{{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}}"#
            ))],
            action: "ec2:RunInstances",
            resource: "*",
            context: &[],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "Deny + NotAction leaves the listed actions alone",
            policies: vec![identity(&format!(
                r#"{ALLOW_ALL},{{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}}"#
            ))],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "Deny + NotResource denies everything but the listed ARNs",
            policies: vec![identity(&format!(
                r#"{ALLOW_ALL},{{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::bucket/*"}}"#
            ))],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::other/key",
            context: &[],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "Deny + NotResource spares the listed ARNs",
            policies: vec![identity(&format!(
                r#"{ALLOW_ALL},{{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::bucket/*"}}"#
            ))],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "Allow + NotResource grants the other ARNs",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}"#,
            )],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "resource ARNs are case-sensitive",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::Bucket/*"}"#,
            )],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "resource ? wildcard",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/file?.txt"}"#,
            )],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/file1.txt",
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "resource ? wildcard is one character",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/file?.txt"}"#,
            )],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/file12.txt",
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "resource * wildcard crosses slashes and colons in the resource part",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*"}"#,
            )],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/a/b:c/d",
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "resource wildcard stays inside its ARN component",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:role/x"}"#,
            )],
            action: "iam:GetRole",
            resource: "arn:aws:iam::111122223333:extra:role/x",
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "resource wildcard in the account component",
            policies: vec![identity(
                r#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:role/x"}"#,
            )],
            action: "iam:GetRole",
            resource: "arn:aws:iam::111122223333:role/x",
            context: &[],
            expect: Allowed,
        },
    ];
    run(&cases);
}

/// Evaluates `{"Effect":"Allow",...,"Condition":{op:{key:values}}}` and reports whether the
/// condition held.
fn condition_holds(
    version: &str,
    op: &str,
    key: &str,
    values: &str,
    ctx: &[(&str, &[&str])],
) -> bool {
    let text = format!(
        r#"{{"Version":"{version}","Statement":{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{{"{op}":{{"{key}":{values}}}}}}}}}"#
    );
    decide(&[text], "s3:GetObject", OBJECT, ctx) == Allowed
}

type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static [&'static str])],
    bool,
);

fn run_conditions(version: &str, rows: &[Row]) {
    let mut failures = Vec::new();
    for (op, key, values, ctx, expect) in rows {
        if condition_holds(version, op, key, values, ctx) != *expect {
            failures.push(format!(
                "{op} {key} {values} with {ctx:?}: expected {expect}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const K: &str = "aws:k";

#[test]
fn eval_string_operators() {
    run_conditions(
        "2012-10-17",
        &[
            ("StringEquals", K, r#""abc""#, &[(K, &["abc"])], true),
            ("StringEquals", K, r#""abc""#, &[(K, &["ABC"])], false),
            ("StringEquals", K, r#""abc""#, &[], false),
            ("StringEquals", K, r#"["x","abc"]"#, &[(K, &["abc"])], true),
            ("StringEquals", K, r#""a*""#, &[(K, &["abc"])], false),
            ("StringEquals", K, r#""a*""#, &[(K, &["a*"])], true),
            (
                "StringEquals",
                "AWS:K",
                r#""abc""#,
                &[("aws:k", &["abc"])],
                true,
            ),
            ("StringEquals", K, r#"10"#, &[(K, &["10"])], true),
            ("StringEquals", K, r#"true"#, &[(K, &["true"])], true),
            ("StringNotEquals", K, r#""abc""#, &[(K, &["abc"])], false),
            ("StringNotEquals", K, r#""abc""#, &[(K, &["xyz"])], true),
            ("StringNotEquals", K, r#""abc""#, &[], true),
            ("StringNotEquals", K, r#"["a","b"]"#, &[(K, &["b"])], false),
            ("StringNotEquals", K, r#"["a","b"]"#, &[(K, &["c"])], true),
            (
                "StringEqualsIgnoreCase",
                K,
                r#""AbC""#,
                &[(K, &["aBc"])],
                true,
            ),
            (
                "StringEqualsIgnoreCase",
                K,
                r#""AbC""#,
                &[(K, &["aBd"])],
                false,
            ),
            (
                "StringEqualsIgnoreCase",
                K,
                r#""ÉTÉ""#,
                &[(K, &["été"])],
                true,
            ),
            (
                "StringNotEqualsIgnoreCase",
                K,
                r#""AbC""#,
                &[(K, &["abc"])],
                false,
            ),
            (
                "StringNotEqualsIgnoreCase",
                K,
                r#""AbC""#,
                &[(K, &["abd"])],
                true,
            ),
            ("StringLike", K, r#""a*c?""#, &[(K, &["abbbcd"])], true),
            ("StringLike", K, r#""a*c?""#, &[(K, &["ABBBCD"])], false),
            ("StringLike", K, r#""a*c?""#, &[(K, &["ac"])], false),
            ("StringLike", K, r#""*""#, &[(K, &[""])], true),
            ("StringLike", K, r#""é?""#, &[(K, &["éß"])], true),
            ("StringNotLike", K, r#""a*""#, &[(K, &["abc"])], false),
            ("StringNotLike", K, r#""a*""#, &[(K, &["xbc"])], true),
            ("StringNotLike", K, r#""a*""#, &[], true),
            ("StringEqualsIfExists", K, r#""abc""#, &[], true),
            ("StringEqualsIfExists", K, r#""abc""#, &[(K, &["x"])], false),
            (
                "StringEqualsIfExists",
                K,
                r#""abc""#,
                &[(K, &["abc"])],
                true,
            ),
            ("StringNotEqualsIfExists", K, r#""abc""#, &[], true),
            (
                "StringNotEqualsIfExists",
                K,
                r#""abc""#,
                &[(K, &["abc"])],
                false,
            ),
            ("StringLikeIfExists", K, r#""a*""#, &[(K, &["b"])], false),
            // A several-valued key without a qualifier: "equals" means "one of its values is".
            ("StringEquals", K, r#""a""#, &[(K, &["b", "a"])], true),
            ("StringNotEquals", K, r#""a""#, &[(K, &["b", "a"])], false),
            ("StringNotEquals", K, r#""a""#, &[(K, &["b", "c"])], true),
            // `"key": []` names nothing: no value can equal it, every value differs from it.
            ("StringEquals", K, r#"[]"#, &[(K, &["a"])], false),
            ("StringNotEquals", K, r#"[]"#, &[(K, &["a"])], true),
        ],
    );
}

#[test]
fn eval_numeric_date_bool_binary_operators() {
    run_conditions(
        "2012-10-17",
        &[
            ("NumericEquals", K, r#""10""#, &[(K, &["10"])], true),
            ("NumericEquals", K, r#"10"#, &[(K, &["10.0"])], true),
            ("NumericEquals", K, r#""10""#, &[(K, &["11"])], false),
            ("NumericEquals", K, r#""10""#, &[(K, &["ten"])], false),
            ("NumericEquals", K, r#""10""#, &[(K, &["inf"])], false),
            (
                "NumericEquals",
                K,
                r#""9007199254740993""#,
                &[(K, &["9007199254740992"])],
                false,
            ),
            ("NumericEquals", K, r#""-5""#, &[(K, &["-5"])], true),
            ("NumericEquals", K, r#""1.5e1""#, &[(K, &["15"])], true),
            ("NumericNotEquals", K, r#""10""#, &[(K, &["11"])], true),
            ("NumericNotEquals", K, r#""10""#, &[(K, &["10"])], false),
            ("NumericNotEquals", K, r#""10""#, &[], true),
            ("NumericLessThan", K, r#""10""#, &[(K, &["9"])], true),
            ("NumericLessThan", K, r#""10""#, &[(K, &["10"])], false),
            ("NumericLessThan", K, r#""10""#, &[], false),
            ("NumericLessThanEquals", K, r#""10""#, &[(K, &["10"])], true),
            (
                "NumericLessThanEquals",
                K,
                r#""10""#,
                &[(K, &["11"])],
                false,
            ),
            ("NumericGreaterThan", K, r#"10"#, &[(K, &["11"])], true),
            ("NumericGreaterThan", K, r#"10"#, &[(K, &["10"])], false),
            (
                "NumericGreaterThanEquals",
                K,
                r#""10""#,
                &[(K, &["10"])],
                true,
            ),
            (
                "NumericGreaterThanEquals",
                K,
                r#""10""#,
                &[(K, &["9.99"])],
                false,
            ),
            ("NumericLessThanIfExists", K, r#""10""#, &[], true),
            (
                "NumericLessThanIfExists",
                K,
                r#""10""#,
                &[(K, &["12"])],
                false,
            ),
            (
                "DateEquals",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["1704067200"])],
                true,
            ),
            (
                "DateEquals",
                K,
                r#"1704067200"#,
                &[(K, &["2024-01-01T00:00:00Z"])],
                true,
            ),
            (
                "DateEquals",
                K,
                r#""2024-01-01""#,
                &[(K, &["2024-01-01T00:00:00Z"])],
                true,
            ),
            (
                "DateEquals",
                K,
                r#""2024-01-01T00:00:00.500Z""#,
                &[(K, &["2024-01-01T00:00:00.5Z"])],
                true,
            ),
            (
                "DateEquals",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["soon"])],
                false,
            ),
            (
                "DateNotEquals",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["2024-01-01T01:00:00+01:00"])],
                false,
            ),
            (
                "DateNotEquals",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["2024-01-01T01:00:00Z"])],
                true,
            ),
            (
                "DateLessThan",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["2023-12-31T23:59:59Z"])],
                true,
            ),
            (
                "DateLessThan",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["2024-01-01T00:00:00Z"])],
                false,
            ),
            ("DateLessThan", K, r#""2024-01-01T00:00:00Z""#, &[], false),
            (
                "DateLessThanEquals",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["1704067200"])],
                true,
            ),
            (
                "DateLessThanEquals",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[(K, &["1704067201"])],
                false,
            ),
            (
                "DateGreaterThan",
                K,
                r#""2024-01-01""#,
                &[(K, &["2024-01-01T00:00:01Z"])],
                true,
            ),
            (
                "DateGreaterThan",
                K,
                r#""2024-01-01""#,
                &[(K, &["2023-06-01T10:00"])],
                false,
            ),
            (
                "DateGreaterThanEquals",
                K,
                r#"1704067200"#,
                &[(K, &["2024-01-01T00:00:00+00:00"])],
                true,
            ),
            (
                "DateGreaterThanEquals",
                K,
                r#"1704067200"#,
                &[(K, &["2023-12-31T23:00:00-00:30"])],
                false,
            ),
            (
                "DateLessThanIfExists",
                K,
                r#""2024-01-01T00:00:00Z""#,
                &[],
                true,
            ),
            ("Bool", K, r#""true""#, &[(K, &["true"])], true),
            ("Bool", K, r#"true"#, &[(K, &["TRUE"])], true),
            ("Bool", K, r#""true""#, &[(K, &["false"])], false),
            ("Bool", K, r#""true""#, &[(K, &["yes"])], false),
            ("Bool", K, r#""true""#, &[], false),
            ("BoolIfExists", K, r#""true""#, &[], true),
            ("BoolIfExists", K, r#""false""#, &[(K, &["true"])], false),
            (
                "BinaryEquals",
                K,
                r#""QmluYXJ5VmFsdWU=""#,
                &[(K, &["QmluYXJ5VmFsdWU="])],
                true,
            ),
            (
                "BinaryEquals",
                K,
                r#""QmluYXJ5VmFsdWU=""#,
                &[(K, &["QmluYXJ5VmFsdWU"])],
                true,
            ),
            (
                "BinaryEquals",
                K,
                r#""QmluYXJ5VmFsdWU=""#,
                &[(K, &["b3RoZXI="])],
                false,
            ),
            (
                "BinaryEquals",
                K,
                r#""QmluYXJ5VmFsdWU=""#,
                &[(K, &["not base64!"])],
                false,
            ),
            ("BinaryEquals", K, r#""QmluYXJ5VmFsdWU=""#, &[], false),
        ],
    );
}

#[test]
fn eval_ip_arn_null_operators() {
    const IP: &str = "aws:SourceIp";
    const ARN: &str = "aws:PrincipalArn";
    const ROLE: &str = "arn:aws:iam::123456789012:role/app-web";
    run_conditions(
        "2012-10-17",
        &[
            (
                "IpAddress",
                IP,
                r#""203.0.113.0/24""#,
                &[(IP, &["203.0.113.7"])],
                true,
            ),
            (
                "IpAddress",
                IP,
                r#""203.0.113.0/24""#,
                &[(IP, &["203.0.114.1"])],
                false,
            ),
            (
                "IpAddress",
                IP,
                r#""203.0.113.9""#,
                &[(IP, &["203.0.113.9"])],
                true,
            ),
            (
                "IpAddress",
                IP,
                r#""203.0.113.9""#,
                &[(IP, &["203.0.113.8"])],
                false,
            ),
            (
                "IpAddress",
                IP,
                r#""0.0.0.0/0""#,
                &[(IP, &["198.51.100.1"])],
                true,
            ),
            (
                "IpAddress",
                IP,
                r#""2001:DB8:1234:5678::/64""#,
                &[(IP, &["2001:db8:1234:5678::1"])],
                true,
            ),
            (
                "IpAddress",
                IP,
                r#""2001:DB8:1234:5678::/64""#,
                &[(IP, &["2001:db8:1234:5679::1"])],
                false,
            ),
            (
                "IpAddress",
                IP,
                r#""203.0.113.0/24""#,
                &[(IP, &["2001:db8::1"])],
                false,
            ),
            (
                "IpAddress",
                IP,
                r#""203.0.113.0/24""#,
                &[(IP, &["::ffff:203.0.113.5"])],
                true,
            ),
            (
                "IpAddress",
                IP,
                r#""203.0.113.0/33""#,
                &[(IP, &["203.0.113.5"])],
                false,
            ),
            (
                "IpAddress",
                IP,
                r#"["10.0.0.0/8","203.0.113.0/24"]"#,
                &[(IP, &["203.0.113.5"])],
                true,
            ),
            ("IpAddress", IP, r#""203.0.113.0/24""#, &[], false),
            (
                "NotIpAddress",
                IP,
                r#""10.0.0.0/8""#,
                &[(IP, &["10.1.2.3"])],
                false,
            ),
            (
                "NotIpAddress",
                IP,
                r#""10.0.0.0/8""#,
                &[(IP, &["192.0.2.1"])],
                true,
            ),
            ("NotIpAddress", IP, r#""10.0.0.0/8""#, &[], true),
            (
                "NotIpAddress",
                IP,
                r#""2001:db8::/32""#,
                &[(IP, &["2001:db8:ffff::1"])],
                false,
            ),
            (
                "ArnEquals",
                ARN,
                r#""arn:aws:iam::123456789012:role/app-web""#,
                &[(ARN, &[ROLE])],
                true,
            ),
            (
                "ArnEquals",
                ARN,
                r#""arn:aws:iam::123456789012:role/APP-web""#,
                &[(ARN, &[ROLE])],
                false,
            ),
            (
                "ArnEquals",
                ARN,
                r#""arn:aws:iam::*:role/app-*""#,
                &[(ARN, &[ROLE])],
                true,
            ),
            (
                "ArnLike",
                ARN,
                r#""arn:aws:iam::*:role/app-*""#,
                &[(ARN, &[ROLE])],
                true,
            ),
            (
                "ArnLike",
                ARN,
                r#""arn:aws:iam::*:role/db-*""#,
                &[(ARN, &[ROLE])],
                false,
            ),
            (
                "ArnLike",
                ARN,
                r#""arn:aws:iam::*:role/x""#,
                &[(ARN, &["arn:aws:iam::1:2:role/x"])],
                false,
            ),
            (
                "ArnLike",
                ARN,
                r#""arn:aws:iam::*:role/x""#,
                &[(ARN, &["not-an-arn"])],
                false,
            ),
            ("ArnLike", ARN, r#""arn:aws:iam::*:role/app-*""#, &[], false),
            (
                "ArnNotEquals",
                ARN,
                r#""arn:aws:iam::123456789012:role/app-web""#,
                &[(ARN, &[ROLE])],
                false,
            ),
            (
                "ArnNotEquals",
                ARN,
                r#""arn:aws:iam::123456789012:role/other""#,
                &[(ARN, &[ROLE])],
                true,
            ),
            (
                "ArnNotLike",
                ARN,
                r#""arn:aws:iam::*:role/app-*""#,
                &[(ARN, &[ROLE])],
                false,
            ),
            (
                "ArnNotLike",
                ARN,
                r#""arn:aws:iam::*:role/db-*""#,
                &[(ARN, &[ROLE])],
                true,
            ),
            (
                "ArnNotLike",
                ARN,
                r#""arn:aws:iam::*:role/db-*""#,
                &[],
                true,
            ),
            (
                "ArnLikeIfExists",
                ARN,
                r#""arn:aws:iam::*:role/db-*""#,
                &[],
                true,
            ),
            ("Null", K, r#""true""#, &[], true),
            ("Null", K, r#""true""#, &[(K, &["x"])], false),
            ("Null", K, r#""true""#, &[(K, &[])], true),
            ("Null", K, r#""false""#, &[(K, &["x"])], true),
            ("Null", K, r#"false"#, &[], false),
        ],
    );
}

#[test]
fn eval_set_operators() {
    run_conditions(
        "2012-10-17",
        &[
            (
                "ForAnyValue:StringEquals",
                K,
                r#"["a","b"]"#,
                &[(K, &["c", "a"])],
                true,
            ),
            (
                "ForAnyValue:StringEquals",
                K,
                r#"["a","b"]"#,
                &[(K, &["c"])],
                false,
            ),
            ("ForAnyValue:StringEquals", K, r#"["a","b"]"#, &[], false),
            (
                "ForAnyValue:StringEquals",
                K,
                r#"["a","b"]"#,
                &[(K, &[])],
                false,
            ),
            ("ForAnyValue:StringEqualsIfExists", K, r#"["a"]"#, &[], true),
            (
                "ForAnyValue:StringLike",
                K,
                r#""a*""#,
                &[(K, &["abc"])],
                true,
            ),
            (
                "ForAnyValue:StringNotEquals",
                K,
                r#""a""#,
                &[(K, &["a", "b"])],
                true,
            ),
            (
                "ForAnyValue:StringNotEquals",
                K,
                r#""a""#,
                &[(K, &["a"])],
                false,
            ),
            ("ForAnyValue:StringNotEquals", K, r#""a""#, &[], false),
            (
                "ForAllValues:StringEquals",
                K,
                r#"["a","b"]"#,
                &[(K, &["a", "b"])],
                true,
            ),
            (
                "ForAllValues:StringEquals",
                K,
                r#"["a","b"]"#,
                &[(K, &["a", "c"])],
                false,
            ),
            // The usual misuse: a missing or empty key makes ForAllValues vacuously true.
            ("ForAllValues:StringEquals", K, r#"["a","b"]"#, &[], true),
            (
                "ForAllValues:StringEquals",
                K,
                r#"["a","b"]"#,
                &[(K, &[])],
                true,
            ),
            (
                "ForAllValues:StringNotEquals",
                K,
                r#""x""#,
                &[(K, &["a", "b"])],
                true,
            ),
            (
                "ForAllValues:StringNotEquals",
                K,
                r#""x""#,
                &[(K, &["a", "x"])],
                false,
            ),
            (
                "ForAllValues:StringLike",
                K,
                r#""Created*""#,
                &[(K, &["CreatedBy", "CreatedAt"])],
                true,
            ),
            (
                "ForAllValues:StringLike",
                K,
                r#""Created*""#,
                &[(K, &["CreatedBy", "Owner"])],
                false,
            ),
            (
                "ForAllValues:NumericLessThan",
                K,
                r#""10""#,
                &[(K, &["1", "9"])],
                true,
            ),
            (
                "ForAllValues:NumericLessThan",
                K,
                r#""10""#,
                &[(K, &["1", "10"])],
                false,
            ),
            (
                "ForAnyValue:IpAddress",
                "aws:SourceIp",
                r#""10.0.0.0/8""#,
                &[("aws:SourceIp", &["192.0.2.1", "10.9.9.9"])],
                true,
            ),
        ],
    );
}

#[test]
fn eval_variables_in_condition_values() {
    const USER: &str = "aws:username";
    run_conditions(
        "2012-10-17",
        &[
            (
                "StringEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &["alice"]), (USER, &["alice"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &["alice"]), (USER, &["bob"])],
                false,
            ),
            (
                "StringEquals",
                K,
                r#""${AWS:UserName}""#,
                &[(K, &["alice"]), (USER, &["alice"])],
                true,
            ),
            (
                "StringLike",
                K,
                r#""home/${aws:username}/*""#,
                &[(K, &["home/alice/x"]), (USER, &["alice"])],
                true,
            ),
            (
                "StringLike",
                K,
                r#""home/${aws:username}/*""#,
                &[(K, &["home/bob/x"]), (USER, &["alice"])],
                false,
            ),
            // Characters from a variable are literal even under StringLike.
            (
                "StringLike",
                K,
                r#""home/${aws:username}""#,
                &[(K, &["home/alice"]), (USER, &["*"])],
                false,
            ),
            (
                "StringLike",
                K,
                r#""home/${aws:username}""#,
                &[(K, &["home/*"]), (USER, &["*"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:PrincipalTag/team, 'company-wide'}""#,
                &[(K, &["company-wide"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:PrincipalTag/team, 'company-wide'}""#,
                &[(K, &["eng"]), ("aws:PrincipalTag/team", &["eng"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${ aws:PrincipalTag/team ,  'x' }""#,
                &[(K, &["x"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${x, 'it''s'}""#,
                &[(K, &["it's"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${x, 'a}b'}""#,
                &[(K, &["a}b"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${x, '${aws:username}'}""#,
                &[(K, &["${aws:username}"]), (USER, &["alice"])],
                true,
            ),
            // Outside StringLike the policy's own `*` stays text, variables or not.
            (
                "StringEquals",
                K,
                r#""a*${aws:username}""#,
                &[(K, &["a*alice"]), (USER, &["alice"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""a*${aws:username}""#,
                &[(K, &["abcalice"]), (USER, &["alice"])],
                false,
            ),
            (
                "StringEqualsIgnoreCase",
                K,
                r#""A?${aws:username}""#,
                &[(K, &["a?ALICE"]), (USER, &["alice"])],
                true,
            ),
            (
                "StringEqualsIgnoreCase",
                K,
                r#""A?${aws:username}""#,
                &[(K, &["abALICE"]), (USER, &["alice"])],
                false,
            ),
            (
                "StringLike",
                K,
                r#""${*}lit${?}${$}""#,
                &[(K, &["*lit?$"])],
                true,
            ),
            (
                "StringLike",
                K,
                r#""${*}lit${?}${$}""#,
                &[(K, &["Xlit?$"])],
                false,
            ),
            (
                "StringLike",
                K,
                r#""${*}lit${?}${$}""#,
                &[(K, &["*litX$"])],
                false,
            ),
            // Absent key, several-valued key, malformed variable: the value matches nothing.
            (
                "StringEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &["alice"])],
                false,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &[""])],
                false,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &["a"]), (USER, &["a", "b"])],
                false,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:username, 'd'}""#,
                &[(K, &["d"]), (USER, &["a", "b"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:username""#,
                &[(K, &["${aws:username"]), (USER, &["a"])],
                false,
            ),
            ("StringEquals", K, r#""${x, d}""#, &[(K, &["d"])], false),
            ("StringEquals", K, r#""${}""#, &[(K, &[""])], false),
            (
                "StringEquals",
                K,
                r#"["${aws:username}","fallback"]"#,
                &[(K, &["fallback"])],
                true,
            ),
            // ... and under a negated operator in an Allow, it never widens.
            (
                "StringNotEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &["alice"])],
                false,
            ),
            (
                "StringNotLike",
                K,
                r#""${aws:username}*""#,
                &[(K, &["alice"])],
                false,
            ),
            (
                "ArnLike",
                K,
                r#""arn:aws:s3:::bucket/${aws:username}/*""#,
                &[(K, &["arn:aws:s3:::bucket/alice/f"]), (USER, &["alice"])],
                true,
            ),
            (
                "ArnLike",
                K,
                r#""arn:aws:s3:::bucket/${aws:username}/*""#,
                &[(K, &["arn:aws:s3:::bucket/bob/f"]), (USER, &["alice"])],
                false,
            ),
            (
                "ArnLike",
                K,
                r#""arn:aws:s3:::bucket/${aws:username}/*""#,
                &[(K, &["arn:aws:s3:::bucket/alice/f"])],
                false,
            ),
            // Variables are only read in String and Arn values.
            (
                "NumericEquals",
                K,
                r#""${aws:n}""#,
                &[(K, &["5"]), ("aws:n", &["5"])],
                false,
            ),
        ],
    );
    // Before 2012-10-17 there are no policy variables: `${...}` is text.
    run_conditions(
        "2008-10-17",
        &[
            (
                "StringEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &["${aws:username}"]), (USER, &["a"])],
                true,
            ),
            (
                "StringEquals",
                K,
                r#""${aws:username}""#,
                &[(K, &["a"]), (USER, &["a"])],
                false,
            ),
        ],
    );
}

#[test]
fn eval_condition_block_combines_with_and_or() {
    let policy = |condition: &str| {
        identity(&format!(
            r#"{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{condition}}}"#
        ))
    };
    let two_operators = policy(r#"{"StringEquals":{"aws:a":"1"},"StringLike":{"aws:b":"x*"}}"#);
    let two_keys = policy(r#"{"StringEquals":{"aws:a":"1","aws:b":"2"}}"#);
    let cases = vec![
        Case {
            name: "different operators are AND-ed: both hold",
            policies: vec![two_operators.clone()],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[("aws:a", &["1"]), ("aws:b", &["xy"])],
            expect: Allowed,
        },
        Case {
            name: "different operators are AND-ed: one fails",
            policies: vec![two_operators],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[("aws:a", &["1"]), ("aws:b", &["yx"])],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "keys under one operator are AND-ed: both hold",
            policies: vec![two_keys.clone()],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[("aws:a", &["1"]), ("aws:b", &["2"])],
            expect: Allowed,
        },
        Case {
            name: "keys under one operator are AND-ed: one missing",
            policies: vec![two_keys],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[("aws:a", &["1"])],
            expect: ImplicitlyDenied,
        },
    ];
    run(&cases);
}

#[test]
fn eval_unresolved_variables_never_widen_an_allow_nor_lift_a_deny() {
    const USER: &str = "aws:username";
    let per_user = identity(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}"#,
    );
    let deny_named = identity(&format!(
        r#"{ALLOW_ALL},{{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${{aws:username}}/*"}}"#
    ));
    let deny_outside_home = identity(&format!(
        r#"{ALLOW_ALL},{{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::bucket/home/${{aws:username}}/*"}}"#
    ));
    let allow_but_secret = identity(
        r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::bucket/${aws:username}/secret"}"#,
    );
    let deny_other_team = identity(&format!(
        r#"{ALLOW_ALL},{{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{{"StringNotEquals":{{"aws:ResourceTag/team":"${{aws:PrincipalTag/team}}"}}}}}}"#
    ));
    let escaped =
        identity(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${*}"}"#);
    let cases = vec![
        Case {
            name: "Allow Resource variable resolved",
            policies: vec![per_user.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/f",
            context: &[(USER, &["alice"])],
            expect: Allowed,
        },
        Case {
            name: "Allow Resource variable resolved to someone else",
            policies: vec![per_user.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/bob/f",
            context: &[(USER, &["alice"])],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "Allow Resource variable absent: pattern matches nothing",
            policies: vec![per_user.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/f",
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "Allow Resource variable several-valued: matches nothing",
            policies: vec![per_user.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/f",
            context: &[(USER, &["alice", "bob"])],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "a variable's value is literal: '*' does not become a wildcard",
            policies: vec![per_user.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/f",
            context: &[(USER, &["*"])],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "a variable's literal '*' matches a literal '*'",
            policies: vec![per_user],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/*/f",
            context: &[(USER, &["*"])],
            expect: Allowed,
        },
        Case {
            name: "Deny Resource variable resolved: denies",
            policies: vec![deny_named.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/f",
            context: &[(USER, &["alice"])],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "Deny Resource variable absent: the pattern matches nothing",
            policies: vec![deny_named],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/f",
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "Deny NotResource variable resolved, inside home",
            policies: vec![deny_outside_home.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/home/alice/f",
            context: &[(USER, &["alice"])],
            expect: Allowed,
        },
        Case {
            name: "Deny NotResource variable resolved, outside home",
            policies: vec![deny_outside_home.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/home/bob/f",
            context: &[(USER, &["alice"])],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "Deny NotResource variable absent keeps denying",
            policies: vec![deny_outside_home],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/home/alice/f",
            context: &[],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "Allow NotResource variable resolved: others' secrets allowed",
            policies: vec![allow_but_secret.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/secret",
            context: &[(USER, &["bob"])],
            expect: Allowed,
        },
        Case {
            name: "Allow NotResource variable resolved: own secret excluded",
            policies: vec![allow_but_secret.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/bob/secret",
            context: &[(USER, &["bob"])],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "Allow NotResource variable absent does not widen",
            policies: vec![allow_but_secret],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/alice/secret",
            context: &[],
            expect: ImplicitlyDenied,
        },
        Case {
            name: "Deny negated condition, variable resolved and equal: no deny",
            policies: vec![deny_other_team.clone()],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[
                ("aws:ResourceTag/team", &["eng"]),
                ("aws:PrincipalTag/team", &["eng"]),
            ],
            expect: Allowed,
        },
        Case {
            name: "Deny negated condition, variable resolved and different: deny",
            policies: vec![deny_other_team.clone()],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[
                ("aws:ResourceTag/team", &["eng"]),
                ("aws:PrincipalTag/team", &["ops"]),
            ],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "Deny negated condition, variable absent: the deny still holds",
            policies: vec![deny_other_team],
            action: "s3:GetObject",
            resource: OBJECT,
            context: &[("aws:ResourceTag/team", &["eng"])],
            expect: ExplicitlyDenied,
        },
        Case {
            name: "escape ${*} is a literal star in a Resource",
            policies: vec![escaped.clone()],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/*",
            context: &[],
            expect: Allowed,
        },
        Case {
            name: "escape ${*} is not a wildcard",
            policies: vec![escaped],
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/x",
            context: &[],
            expect: ImplicitlyDenied,
        },
    ];
    run(&cases);
}

const POOL: &str = "us-east-1:11111111-2222-3333-4444-555555555555";
const OTHER_POOL: &str = "us-east-1:99999999-2222-3333-4444-555555555555";
const COGNITO: &str = "cognito-identity.amazonaws.com";

fn cognito_trust(amr: &str) -> PolicyDocument {
    let text = format!(
        r#"{{
          "Version": "2012-10-17",
          "Statement": [{{
            "Effect": "Allow",
            "Principal": {{"Federated": "cognito-identity.amazonaws.com"}},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {{
              "StringEquals": {{"cognito-identity.amazonaws.com:aud": "{POOL}"}},
              "ForAnyValue:StringLike": {{"cognito-identity.amazonaws.com:amr": "{amr}"}}
            }}
          }}]
        }}"#
    );
    parsed(&text, PolicyKind::Trust)
}

fn assume(
    trust: &PolicyDocument,
    action: &str,
    principal: Option<&RequestPrincipal>,
    aud: &str,
    amr: &[&str],
) -> Decision {
    let mut keys = ContextKeys::new();
    keys.insert_one("cognito-identity.amazonaws.com:aud", aud);
    keys.insert(
        "cognito-identity.amazonaws.com:amr",
        amr.iter().map(|s| s.to_string()).collect(),
    );
    keys.insert_one("cognito-identity.amazonaws.com:sub", format!("{POOL}-id"));
    let req = Request {
        action,
        resource: "arn:aws:iam::123456789012:role/Cognito_Unauth_Role",
        principal,
        context: &keys,
    };
    evaluate(&[trust], &req)
}

#[test]
fn eval_cognito_trust_policy_from_the_developer_guide() {
    let guest = cognito_trust("unauthenticated");
    let member = cognito_trust("authenticated");
    let cognito = RequestPrincipal::Federated(COGNITO.into());
    let google = RequestPrincipal::Federated("accounts.google.com".into());
    let web = "sts:AssumeRoleWithWebIdentity";
    let authenticated = [
        "authenticated",
        "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
        "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example:CognitoSignIn:abc",
    ];
    let rows: Vec<(&str, Decision, Decision)> = vec![
        (
            "guest of the pool",
            assume(&guest, web, Some(&cognito), POOL, &["unauthenticated"]),
            Allowed,
        ),
        (
            "guest of another pool",
            assume(
                &guest,
                web,
                Some(&cognito),
                OTHER_POOL,
                &["unauthenticated"],
            ),
            ImplicitlyDenied,
        ),
        (
            "authenticated identity on the guest role",
            assume(&guest, web, Some(&cognito), POOL, &authenticated),
            ImplicitlyDenied,
        ),
        (
            "authenticated identity on the authenticated role",
            assume(&member, web, Some(&cognito), POOL, &authenticated),
            Allowed,
        ),
        (
            "guest on the authenticated role",
            assume(&member, web, Some(&cognito), POOL, &["unauthenticated"]),
            ImplicitlyDenied,
        ),
        (
            "no amr at all: ForAnyValue is false",
            assume(&guest, web, Some(&cognito), POOL, &[]),
            ImplicitlyDenied,
        ),
        (
            "another federated provider",
            assume(&guest, web, Some(&google), POOL, &["unauthenticated"]),
            ImplicitlyDenied,
        ),
        (
            "another action",
            assume(
                &guest,
                "sts:AssumeRole",
                Some(&cognito),
                POOL,
                &["unauthenticated"],
            ),
            ImplicitlyDenied,
        ),
        (
            "action case does not matter",
            assume(
                &guest,
                "STS:assumerolewithwebidentity",
                Some(&cognito),
                POOL,
                &["unauthenticated"],
            ),
            Allowed,
        ),
        (
            "no principal offered: an Allow naming one cannot apply",
            assume(&guest, web, None, POOL, &["unauthenticated"]),
            ImplicitlyDenied,
        ),
    ];
    let failures: Vec<String> = rows
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(name, got, want)| format!("{name}: expected {want:?}, got {got:?}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn trust_decision(text: &str, action: &str, who: Option<&RequestPrincipal>) -> Decision {
    let doc = parsed(text, PolicyKind::Trust);
    let keys = ContextKeys::new();
    let req = Request {
        action,
        resource: "arn:aws:iam::123456789012:role/r",
        principal: who,
        context: &keys,
    };
    evaluate(&[&doc], &req)
}

#[test]
fn eval_principals() {
    let trust = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}}}"#
        )
    };
    let deny_all_but = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}},{{"Effect":"Deny","NotPrincipal":{principal},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    let aws = |id: &str| RequestPrincipal::Aws(id.into());
    let root = aws("arn:aws:iam::123456789012:root");
    let bare = aws("123456789012");
    let role = aws("arn:aws:iam::123456789012:role/x");
    let foreign = aws("arn:aws:iam::210987654321:root");
    let china_root = aws("arn:aws-cn:iam::123456789012:root");
    let lambda = RequestPrincipal::Service("lambda.amazonaws.com".into());
    let cognito = RequestPrincipal::Federated(COGNITO.into());
    let anonymous = RequestPrincipal::Anonymous;
    let a = "sts:AssumeRole";
    let rows: Vec<(&str, String, Option<&RequestPrincipal>, Decision)> = vec![
        (
            "\"*\" names a federated caller",
            trust(r#""*""#),
            Some(&cognito),
            Allowed,
        ),
        (
            "\"*\" names an anonymous caller",
            trust(r#""*""#),
            Some(&anonymous),
            Allowed,
        ),
        (
            "\"*\" still applies with no principal",
            trust(r#""*""#),
            None,
            Allowed,
        ),
        (
            "account id names the account root",
            trust(r#"{"AWS":"123456789012"}"#),
            Some(&root),
            Allowed,
        ),
        (
            "account id names itself",
            trust(r#"{"AWS":"123456789012"}"#),
            Some(&bare),
            Allowed,
        ),
        (
            "root ARN names the account id",
            trust(r#"{"AWS":"arn:aws:iam::123456789012:root"}"#),
            Some(&bare),
            Allowed,
        ),
        (
            "account id does not name a role in it",
            trust(r#"{"AWS":"123456789012"}"#),
            Some(&role),
            ImplicitlyDenied,
        ),
        (
            "root ARN of another partition",
            trust(r#"{"AWS":"arn:aws:iam::123456789012:root"}"#),
            Some(&china_root),
            ImplicitlyDenied,
        ),
        (
            "another account",
            trust(r#"{"AWS":"123456789012"}"#),
            Some(&foreign),
            ImplicitlyDenied,
        ),
        (
            "role ARN exact",
            trust(r#"{"AWS":"arn:aws:iam::123456789012:role/x"}"#),
            Some(&role),
            Allowed,
        ),
        (
            "role ARN is case-sensitive",
            trust(r#"{"AWS":"arn:aws:iam::123456789012:role/X"}"#),
            Some(&role),
            ImplicitlyDenied,
        ),
        (
            "AWS * names any AWS caller",
            trust(r#"{"AWS":"*"}"#),
            Some(&role),
            Allowed,
        ),
        (
            "AWS * names anonymous callers",
            trust(r#"{"AWS":"*"}"#),
            Some(&anonymous),
            Allowed,
        ),
        (
            "AWS * does not name a federated caller",
            trust(r#"{"AWS":"*"}"#),
            Some(&cognito),
            ImplicitlyDenied,
        ),
        (
            "AWS list does not name a service",
            trust(r#"{"AWS":"123456789012"}"#),
            Some(&lambda),
            ImplicitlyDenied,
        ),
        (
            "service exact",
            trust(r#"{"Service":"lambda.amazonaws.com"}"#),
            Some(&lambda),
            Allowed,
        ),
        (
            "service list with several types",
            trust(
                r#"{"AWS":"123456789012","Service":["ec2.amazonaws.com","lambda.amazonaws.com"]}"#,
            ),
            Some(&lambda),
            Allowed,
        ),
        (
            "another service",
            trust(r#"{"Service":"ec2.amazonaws.com"}"#),
            Some(&lambda),
            ImplicitlyDenied,
        ),
        (
            "federated exact",
            trust(r#"{"Federated":"cognito-identity.amazonaws.com"}"#),
            Some(&cognito),
            Allowed,
        ),
        (
            "NotPrincipal spares the named principal",
            deny_all_but(r#"{"AWS":"123456789012"}"#),
            Some(&root),
            Allowed,
        ),
        (
            "NotPrincipal denies everyone else",
            deny_all_but(r#"{"AWS":"123456789012"}"#),
            Some(&foreign),
            ExplicitlyDenied,
        ),
        (
            "NotPrincipal denies anonymous callers",
            deny_all_but(r#"{"AWS":"123456789012"}"#),
            Some(&anonymous),
            ExplicitlyDenied,
        ),
        (
            "a Deny naming a principal holds when none is offered",
            deny_all_but(r#"{"AWS":"123456789012"}"#),
            None,
            ExplicitlyDenied,
        ),
        (
            "an Allow naming a principal needs one",
            trust(r#"{"AWS":"123456789012"}"#),
            None,
            ImplicitlyDenied,
        ),
    ];
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(name, text, who, want)| {
            let got = trust_decision(text, a, *who);
            (got != *want).then(|| format!("{name}: expected {want:?}, got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn eval_per_user_s3_prefix_from_the_developer_guide() {
    let policy = parsed(
        &identity(
            r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
                "Resource":"arn:aws:s3:::bucket/user-${cognito-identity.amazonaws.com:sub}/*"}"#,
        ),
        PolicyKind::Identity,
    );
    let me = "us-east-1:0b8c7c6e-1111-2222-3333-444444444444";
    let mut keys = ContextKeys::new();
    keys.insert_one("cognito-identity.amazonaws.com:sub", me);
    let ask = |action: &str, resource: &str, keys: &ContextKeys| {
        evaluate(
            &[&policy],
            &Request {
                action,
                resource,
                principal: None,
                context: keys,
            },
        )
    };
    let mine = format!("arn:aws:s3:::bucket/user-{me}/photo.jpg");
    let theirs =
        "arn:aws:s3:::bucket/user-us-east-1:ffffffff-1111-2222-3333-444444444444/photo.jpg";
    assert_eq!(ask("s3:GetObject", &mine, &keys), Allowed);
    assert_eq!(ask("s3:PutObject", &mine, &keys), Allowed);
    assert_eq!(ask("s3:DeleteObject", &mine, &keys), ImplicitlyDenied);
    assert_eq!(ask("s3:GetObject", theirs, &keys), ImplicitlyDenied);
    assert_eq!(
        ask("s3:GetObject", "arn:aws:s3:::bucket/user-/x", &keys),
        ImplicitlyDenied
    );
    assert_eq!(
        ask("s3:GetObject", &mine, &ContextKeys::new()),
        ImplicitlyDenied
    );
    // Context keys are found whatever their case.
    let mut shouted = ContextKeys::new();
    shouted.insert_one("COGNITO-IDENTITY.AMAZONAWS.COM:SUB", me);
    assert_eq!(ask("s3:GetObject", &mine, &shouted), Allowed);
}

#[test]
fn eval_session_policies_intersect() {
    let doc = |statements: &str| parsed(&identity(statements), PolicyKind::Identity);
    let role = doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#);
    let scope_down = doc(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#);
    let session_deny = doc(&format!(
        r#"{ALLOW_ALL},{{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}}"#
    ));
    let role_deny = doc(r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}"#);
    let keys = ContextKeys::new();
    let decide = |identity: &[&PolicyDocument], session: &[&PolicyDocument], action: &str| {
        let req = Request {
            action,
            resource: OBJECT,
            principal: None,
            context: &keys,
        };
        evaluate_with_session(identity, session, &req)
    };
    assert_eq!(decide(&[&role], &[&scope_down], "s3:GetObject"), Allowed);
    assert_eq!(
        decide(&[&role], &[&scope_down], "s3:PutObject"),
        ImplicitlyDenied
    );
    assert_eq!(
        decide(&[&scope_down], &[&role], "s3:PutObject"),
        ImplicitlyDenied
    );
    assert_eq!(
        decide(&[&role], &[&session_deny], "s3:GetObject"),
        ExplicitlyDenied
    );
    assert_eq!(
        decide(&[&role, &role_deny], &[&role], "s3:GetObject"),
        ExplicitlyDenied
    );
    assert_eq!(decide(&[], &[&role], "s3:GetObject"), ImplicitlyDenied);
    // No session policy: the identity policies alone decide.
    assert_eq!(decide(&[&role], &[], "s3:PutObject"), Allowed);
    assert_eq!(decide(&[&role_deny], &[], "s3:GetObject"), ExplicitlyDenied);
    // Several session policies are a union among themselves.
    assert_eq!(
        decide(&[&role], &[&scope_down, &role], "s3:PutObject"),
        Allowed
    );
}

#[test]
fn eval_context_keys_ignore_case_and_replace() {
    let mut keys = ContextKeys::new();
    keys.insert("aws:TagKeys", vec!["a".into(), "b".into()]);
    assert_eq!(
        keys.get("AWS:tagkeys"),
        Some(&["a".to_string(), "b".to_string()][..])
    );
    keys.insert_one("AWS:TAGKEYS", "c");
    assert_eq!(keys.get("aws:TagKeys"), Some(&["c".to_string()][..]));
    assert_eq!(keys.get("aws:other"), None);
}

#[test]
fn eval_dates_and_addresses_parse_as_documented() {
    let date = |s| parse_date(s);
    assert_eq!(date("1704067200"), Some(1_704_067_200_000_000_000));
    assert_eq!(date("1704067200.25"), Some(1_704_067_200_250_000_000));
    assert_eq!(date("2024-01-01T00:00:00Z"), date("1704067200"));
    assert_eq!(date("2024-01-01t00:00:00z"), date("1704067200"));
    assert_eq!(date("2024-01-01T02:00:00+02:00"), date("1704067200"));
    assert_eq!(date("2023-12-31T22:30:00-0130"), date("1704067200"));
    assert_eq!(date("2024-01-01T00:00"), date("1704067200"));
    assert_eq!(date("2024-01"), date("1704067200"));
    assert_eq!(date("2024-02-30"), None);
    assert_eq!(date("2024-01-01T10:00+aé1"), None);
    assert_eq!(date("2024-01-01T24:00:00Z"), None);
    assert_eq!(date(""), None);
    assert_eq!(date("tomorrow"), None);
    assert_eq!(cidr_contains("10.0.0.0/8", "10.255.255.255"), Some(true));
    assert_eq!(cidr_contains("10.0.0.0/8", "11.0.0.0"), Some(false));
    assert_eq!(cidr_contains("10.0.0.0/0", "1.2.3.4"), Some(true));
    assert_eq!(cidr_contains("::/0", "2001:db8::1"), Some(true));
    assert_eq!(cidr_contains("2001:db8::/128", "2001:db8::"), Some(true));
    assert_eq!(cidr_contains("2001:db8::/129", "2001:db8::"), None);
    assert_eq!(cidr_contains("10.0.0.0/8", "not an address"), None);
    assert_eq!(cidr_contains("10.0.0.0/x", "10.0.0.1"), None);
}

/// Exponential but obviously right: the oracle for the fast matcher.
fn naive_glob(p: &[char], t: &[char], fold: bool) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| naive_glob(rest, &t[i..], fold)),
        Some((c, rest)) => t.split_first().is_some_and(|(tc, trest)| {
            (*c == '?' || same_char(*c, *tc, fold)) && naive_glob(rest, trest, fold)
        }),
    }
}

#[test]
fn eval_glob_is_linearish_on_hostile_patterns() {
    let text = "a".repeat(4000);
    let pattern = "*a*a*a*a*a*a*a*a*a*a*b";
    assert!(!glob(&PlainPattern::wild(pattern), &text, false));
    assert!(glob(&PlainPattern::wild("*a*a*a*a*a"), &text, false));
}

fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "*",
        "?",
        "a",
        "A",
        "b",
        ":",
        "/",
        "${",
        "}",
        "$",
        "'",
        ",",
        " ",
        "é",
        "1",
        ".",
        "-",
        "${aws:username}",
        "${*}",
        "${?}",
        "${$}",
        "${x, 'd'}",
        "${x, 'it''s'}",
        "arn",
        "arn:aws:s3:::",
        "10.0.0.0/8",
        "2024-01-01T00:00:00Z",
        "1704067200",
        "true",
        "::1/64",
        "QUJD",
        "s3:",
        "sts:AssumeRole",
    ])
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..7).prop_map(|parts| parts.concat())
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..3)
}

fn operator() -> impl Strategy<Value = ConditionOperator> {
    (
        prop::sample::select(BaseOperator::ALL.to_vec()),
        prop::option::of(prop::sample::select(vec![
            SetQualifier::ForAnyValue,
            SetQualifier::ForAllValues,
        ])),
        any::<bool>(),
    )
        .prop_map(|(base, qualifier, if_exists)| ConditionOperator {
            qualifier,
            base,
            if_exists,
        })
}

const KEYS: [&str; 4] = ["aws:username", "x", "aws:SourceIp", "aws:CurrentTime"];

fn block() -> impl Strategy<Value = ConditionBlock> {
    (
        operator(),
        prop::collection::vec((prop::sample::select(KEYS.to_vec()), strings()), 0..3),
    )
        .prop_map(|(operator, entries)| ConditionBlock {
            operator,
            entries: entries
                .into_iter()
                .map(|(key, values)| ConditionEntry {
                    key: key.to_owned(),
                    values: values
                        .into_iter()
                        .map(|text| ConditionValue {
                            text,
                            kind: ValueKind::String,
                        })
                        .collect(),
                })
                .collect(),
        })
}

fn principal() -> impl Strategy<Value = Option<PrincipalElement>> {
    let listed = (strings(), strings(), strings()).prop_map(|(aws, federated, service)| {
        Principal::Map(PrincipalMap {
            aws,
            federated,
            service,
            canonical_user: Vec::new(),
        })
    });
    let principal = prop_oneof![Just(Principal::Any), listed];
    prop::option::of((principal, any::<bool>()).prop_map(|(p, negated)| {
        if negated {
            PrincipalElement::NotPrincipal(p)
        } else {
            PrincipalElement::Principal(p)
        }
    }))
}

fn statement() -> impl Strategy<Value = Statement> {
    (
        any::<bool>(),
        principal(),
        (any::<bool>(), strings()),
        prop::option::of((any::<bool>(), strings())),
        prop::collection::vec(block(), 0..3),
    )
        .prop_map(
            |(allow, principal, (not_action, actions), resource, conditions)| Statement {
                sid: None,
                effect: if allow { Effect::Allow } else { Effect::Deny },
                principal,
                action: if not_action {
                    ActionElement::NotAction(actions)
                } else {
                    ActionElement::Action(actions)
                },
                resource: resource.map(|(negated, patterns)| {
                    if negated {
                        ResourceElement::NotResource(patterns)
                    } else {
                        ResourceElement::Resource(patterns)
                    }
                }),
                conditions,
            },
        )
}

fn document() -> impl Strategy<Value = PolicyDocument> {
    (
        prop::sample::select(vec![None, Some("2012-10-17"), Some("2008-10-17")]),
        prop::collection::vec(statement(), 0..4),
    )
        .prop_map(|(version, statements)| PolicyDocument {
            version: version.map(str::to_owned),
            id: None,
            statements,
        })
}

fn request_principal() -> impl Strategy<Value = Option<RequestPrincipal>> {
    prop::option::of(prop_oneof![
        text().prop_map(RequestPrincipal::Aws),
        text().prop_map(RequestPrincipal::Federated),
        text().prop_map(RequestPrincipal::Service),
        Just(RequestPrincipal::Anonymous),
    ])
}

fn context_keys() -> impl Strategy<Value = ContextKeys> {
    prop::collection::vec((prop::sample::select(KEYS.to_vec()), strings()), 0..4).prop_map(
        |pairs| {
            let mut keys = ContextKeys::new();
            for (key, values) in pairs {
                keys.insert(key, values);
            }
            keys
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn eval_random_policies_never_panic_and_keep_the_invariants(
        identity in prop::collection::vec(document(), 0..3),
        session in prop::collection::vec(document(), 0..2),
        action in text(),
        resource in text(),
        who in request_principal(),
        keys in context_keys(),
    ) {
        let req = Request { action: &action, resource: &resource, principal: who.as_ref(), context: &keys };
        let ids: Vec<&PolicyDocument> = identity.iter().collect();
        let sessions: Vec<&PolicyDocument> = session.iter().collect();
        let alone = evaluate(&ids, &req);
        prop_assert_eq!(evaluate_with_session(&ids, &[], &req), alone);
        let both = evaluate_with_session(&ids, &sessions, &req);
        if both == Allowed {
            prop_assert_eq!(alone, Allowed);
        }
        if alone == ExplicitlyDenied {
            prop_assert_eq!(both, ExplicitlyDenied);
        }
        // Without any Allow statement nothing is ever allowed.
        let denies_only: Vec<PolicyDocument> = identity
            .iter()
            .map(|d| PolicyDocument {
                statements: d.statements.iter().filter(|s| s.effect == Effect::Deny).cloned().collect(),
                ..d.clone()
            })
            .collect();
        let deny_refs: Vec<&PolicyDocument> = denies_only.iter().collect();
        prop_assert_ne!(evaluate(&deny_refs, &req), Allowed);
        // A blanket Deny always wins.
        let blanket = PolicyDocument {
            version: None,
            id: None,
            statements: vec![Statement {
                sid: None,
                effect: Effect::Deny,
                principal: None,
                action: ActionElement::Action(vec!["*".into()]),
                resource: Some(ResourceElement::Resource(vec!["*".into()])),
                conditions: Vec::new(),
            }],
        };
        let mut with_blanket = ids.clone();
        with_blanket.push(&blanket);
        prop_assert_eq!(evaluate(&with_blanket, &req), ExplicitlyDenied);
    }

    #[test]
    fn eval_glob_agrees_with_the_naive_matcher(
        pattern in "[ab*?É]{0,8}",
        subject in "[abéÉ]{0,10}",
        fold in any::<bool>(),
    ) {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = subject.chars().collect();
        prop_assert_eq!(
            glob(&PlainPattern::wild(&pattern), &subject, fold),
            naive_glob(&p, &t, fold)
        );
    }

    #[test]
    fn eval_variable_reader_never_panics(s in "\\PC{0,24}") {
        let probe = format!("${{{s}");
        let _ = read_variable(&probe);
        let keys = ContextKeys::new();
        let scope = Scope { context: &keys, variables: true, allow: true };
        let _ = expand(&probe, true, &scope).map(|p| p.matches("x", true));
        let _ = parse_date(&s);
        let _ = cidr_contains(&s, &s);
        let _ = compare_numbers(&s, "1");
    }
}

/// A micro-benchmark, not a gate: `cargo test --release -p idpool-core eval_speed -- --ignored --nocapture`.
#[test]
#[ignore = "timing report; run on demand in release mode"]
fn eval_speed_report() {
    let trust = cognito_trust("unauthenticated");
    let role = parsed(
        &identity(
            r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
                "Resource":"arn:aws:s3:::bucket/user-${cognito-identity.amazonaws.com:sub}/*"},
               {"Effect":"Allow","Action":["cognito-sync:*","mobileanalytics:PutEvents"],"Resource":"*"},
               {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*",
                "Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
        ),
        PolicyKind::Identity,
    );
    let cognito = RequestPrincipal::Federated(COGNITO.into());
    let mut keys = ContextKeys::new();
    keys.insert_one("cognito-identity.amazonaws.com:aud", POOL);
    keys.insert_one("cognito-identity.amazonaws.com:amr", "unauthenticated");
    keys.insert_one("cognito-identity.amazonaws.com:sub", "us-east-1:abc");
    keys.insert_one("aws:SourceIp", "10.1.2.3");
    let resource = "arn:aws:s3:::bucket/user-us-east-1:abc/photo.jpg";
    let rounds = 200_000u32;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let t = Request {
            action: "sts:AssumeRoleWithWebIdentity",
            resource: "arn:aws:iam::123456789012:role/r",
            principal: Some(&cognito),
            context: &keys,
        };
        assert_eq!(evaluate(&[&trust], &t), Allowed);
        let r = Request {
            action: "s3:GetObject",
            resource,
            principal: None,
            context: &keys,
        };
        assert_eq!(evaluate(&[&role], &r), Allowed);
    }
    let per = start.elapsed() / (rounds * 2);
    println!("policy evaluation: {per:?} per decision");
}
