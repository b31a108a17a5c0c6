//! Policy tests: IAM's exact refusals, real documents, round trips (security-and-performance.md §4).

use proptest::prelude::*;

use super::*;

const SYNTAX: &str = "Syntax errors in policy.";
const LEGACY: &str = "The policy failed legacy parsing";
const NO_ACTIONS: &str = "Policy statement must contain actions.";
const NO_RESOURCES: &str = "Policy statement must contain resources.";
const NO_VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
const TWO_COLONS: &str = "Actions/Condition can contain only one colon.";
const SID: &str = "Statement IDs (SID) in a single policy must be unique.";
const IAM_PATH: &str = "IAM resource path must either be \"*\", root, or start with user/, \
                        federated-user/, role/, group/, instance-profile/, mfa/, \
                        server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, \
                        report/, access-report/.";

/// One statement in an otherwise valid 2012-10-17 document.
fn one(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":{{{statement}}}}}"#)
}

const LIST: &str = r#""Effect":"Allow","Action":"s3:ListBucket""#;
const BUCKET: &str = r#""Resource":"arn:aws:s3:::example_bucket""#;

fn refusal(text: &str, kind: PolicyKind) -> String {
    match parse_policy(text, kind) {
        Ok(doc) => panic!("accepted {text}\nas {doc:?}"),
        Err(e) => e.message().to_owned(),
    }
}

fn accepted(text: &str, kind: PolicyKind) -> PolicyDocument {
    parse_policy(text, kind).unwrap_or_else(|e| panic!("refused {text}: {}", e.message()))
}

#[test]
fn policy_identity_refusals_carry_iams_messages() {
    let cases: Vec<(String, &str)> = vec![
        // Not JSON, not an object, or not the right shape: all one message.
        ("This is not a json document".into(), SYNTAX),
        ("".into(), SYNTAX),
        ("[]".into(), SYNTAX),
        ("null".into(), SYNTAX),
        ("{}".into(), SYNTAX),
        (r#"{"Version":"2012-10-17"}"#.into(), SYNTAX),
        (r#"{"Version":"2012-10-17","Statement":[]}"#.into(), SYNTAX),
        (
            r#"{"Version":"2012-10-17","Statement":null}"#.into(),
            SYNTAX,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":["afd"]}"#.into(),
            SYNTAX,
        ),
        (
            format!(r#"{{"Version":"2013-10-17","Statement":{{{LIST},{BUCKET}}}}}"#),
            SYNTAX,
        ),
        (
            format!(r#"{{"Version":20121017,"Statement":{{{LIST},{BUCKET}}}}}"#),
            SYNTAX,
        ),
        (
            format!(r#"{{"Statement":{{{LIST},{BUCKET}}},"Extra field":"value"}}"#),
            SYNTAX,
        ),
        (
            format!(r#"{{"Id":["cd3a"],"Statement":{{{LIST},{BUCKET}}}}}"#),
            SYNTAX,
        ),
        (
            format!(r#"{{"Id":{{}},"Statement":{{{LIST},{BUCKET}}}}}"#),
            SYNTAX,
        ),
        (
            one(&format!(r#"{LIST},{BUCKET},"Extra field":"value""#)),
            SYNTAX,
        ),
        (
            one(&format!(
                r#""Effect":"invalid","Action":"s3:ListBucket",{BUCKET}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#""Effect":true,"Action":"s3:ListBucket",{BUCKET}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(r#""Action":"s3:ListBucket",{BUCKET}"#)),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},"Resource":{{"a":"arn:aws:s3:::example_bucket"}}"#
            )),
            SYNTAX,
        ),
        (one(&format!(r#"{LIST},"Resource":["adfdf",{{}}]"#)), SYNTAX),
        (one(&format!(r#"{LIST},"Resource":null"#)), SYNTAX),
        (
            one(&format!(
                r#""Effect":"Allow","NotAction":"s3:ListBucket",{BUCKET},"NotResource":[]"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(r#""Effect":"Deny","Action":[[]],{BUCKET}"#)),
            SYNTAX,
        ),
        (
            one(&format!(
                r#""Effect":"Allow","NotAction":"s3s:ListBucket","Action":[],{BUCKET}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(r#""Effect":"Allow","Action":{{}},{BUCKET}"#)),
            SYNTAX,
        ),
        (one(&format!(r#"{LIST},{BUCKET},"Condition":[]"#)), SYNTAX),
        (one(&format!(r#"{LIST},{BUCKET},"Condition":"a""#)), SYNTAX),
        (
            one(&format!(r#"{LIST},{BUCKET},"Condition":{{"a":"b"}}"#)),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateGreaterThan":"b"}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateGreaterThan":[]}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateGreaterThan":{{"a":{{}}}}}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"StringEquals":{{"a":null}}}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"StringEquals":{{"a":[["b"]]}}}}"#
            )),
            SYNTAX,
        ),
        // An unknown condition operator that names keys.
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"x":{{"a":"1"}}}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"StringEqualz":{{"a":"1"}}}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"ForAnyValue::StringEqualsIfExists":{{"a":"asf"}}}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"ForAnyValue:ForAllValues:StringEquals":{{"a":"b"}}}}"#
            )),
            SYNTAX,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"stringequals":{{"a":"1"}}}}"#
            )),
            SYNTAX,
        ),
        (one(&format!(r#""Sid":{{}},{LIST},{BUCKET}"#)), SYNTAX),
        (one(&format!(r#""Sid":[],{LIST},{BUCKET}"#)), SYNTAX),
        // A member written twice could be read two ways; IAM's JSON reader refuses it.
        (one(&format!(r#"{LIST},{BUCKET},"Effect":"Deny""#)), SYNTAX),
        // Principals belong in resource policies.
        (
            one(&format!(r#"{LIST},{BUCKET},"Principal":"*""#)),
            "Policy document should not specify a principal.",
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"NotPrincipal":{{"AWS":"123456789012"}}"#
            )),
            "Policy document should not specify a principal.",
        ),
        // The legacy parser: exact-case effects, dates, ARN shapes.
        (
            one(&format!(
                r#""Effect":"denY","Action":"s3:ListBucket",{BUCKET}"#
            )),
            LEGACY,
        ),
        (
            one(r#""Effect":"allow","Resource":"arn:aws:s3:us-east-1::example_bucket""#),
            LEGACY,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateGreaterThan":{{"a":"sdfdsf"}}}}"#
            )),
            LEGACY,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateLessThanEquals":{{"a":"234-13"}}}}"#
            )),
            LEGACY,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateLessThanEquals":{{"a":"2016-12-13t2:00:00.593194+1"}}}}"#
            )),
            LEGACY,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateLessThanEquals":{{"a":"2016-12-13t2:00:00.1999999999+10:59"}}}}"#
            )),
            LEGACY,
        ),
        (
            one(&format!(
                r#"{LIST},{BUCKET},"Condition":{{"DateLessThan":{{"a":"9223372036854775808"}}}}"#
            )),
            LEGACY,
        ),
        (
            one(r#""Effect":"Allow","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}"#),
            LEGACY,
        ),
        (
            one(
                r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:error:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}"#,
            ),
            LEGACY,
        ),
        (
            one(&format!(
                r#"{LIST},"Resource":"arn:aws:s3::example_bucket""#
            )),
            LEGACY,
        ),
        (
            one(r#""Effect":"Allow","Resource":"arn:aws:s3::example_bucket""#),
            LEGACY,
        ),
        (
            one(
                r#""Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws::::example_bucket""#,
            ),
            LEGACY,
        ),
        (
            one(&format!(
                r#"{LIST},"NotResource":"arn:aws:s3::example_bucket""#
            )),
            LEGACY,
        ),
        (
            one(&format!(r#"{LIST},"Resource":"arn:aws::fdsasf""#)),
            LEGACY,
        ),
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"sdf","Effect":"aLLow","Action":"s3:ListBucket",{BUCKET}}},{{"Sid":"sdf","Effect":"Allow"}}]}}"#
            ),
            LEGACY,
        ),
        // Sids.
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"sdf",{LIST},{BUCKET}}},{{"Sid":"sdf","Effect":"Allow"}}]}}"#
            ),
            SID,
        ),
        // Actions, then resources.
        (one(&format!(r#""Effect":"Allow",{BUCKET}"#)), NO_ACTIONS),
        (one(r#""Effect":"Allow""#), NO_ACTIONS),
        (
            one(&format!(r#""Effect":"Allow","Action":[],{BUCKET}"#)),
            NO_ACTIONS,
        ),
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny"}},{{{LIST},{BUCKET}}}]}}"#
            ),
            NO_ACTIONS,
        ),
        (one(LIST), NO_RESOURCES),
        (one(&format!(r#"{LIST},"Resource":[]"#)), NO_RESOURCES),
        (one(r#""Effect":"Allow","Action":"invalid""#), NO_RESOURCES),
        // Resource shapes.
        (
            one(&format!(r#"{LIST},"Resource":"invalid resource""#)),
            "Resource invalid resource must be in ARN format or \"*\".",
        ),
        (
            one(&format!(r#"{LIST},"Resource":"""#)),
            "Resource  must be in ARN format or \"*\".",
        ),
        (
            one(&format!(r#"{LIST},"Resource":["adf"]"#)),
            "Resource adf must be in ARN format or \"*\".",
        ),
        (
            one(r#""Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:bsdfdsafsad""#),
            r#"Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*"."#,
        ),
        (
            one(r#""Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:cadfsdf""#),
            r#"Partition "b" is not valid for resource "arn:b:cadfsdf:*:*:*"."#,
        ),
        (
            one(r#""Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:c:d:e:f:g:h""#),
            r#"Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h"."#,
        ),
        (
            one(&format!(r#"{LIST},"Resource":"aws:s3:::example_bucket""#)),
            r#"Partition "s3" is not valid for resource "arn:s3:::example_bucket:*"."#,
        ),
        (
            one(&format!(
                r#"{LIST},"Resource":["arn:error:s3:::example_bucket","arn:error:s3::example_bucket"]"#
            )),
            r#"Partition "error" is not valid for resource "arn:error:s3:::example_bucket"."#,
        ),
        (
            one(&format!(r#"{LIST},"Resource":"arn:aws""#)),
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (
            one(&format!(
                r#"{LIST},"Resource":"arn:aws:iam:::example_bucket""#
            )),
            IAM_PATH,
        ),
        (
            one(&format!(r#"{LIST},"Resource":"arn:aws:iam::*:*/cdk-*""#)),
            IAM_PATH,
        ),
        (
            one(&format!(
                r#"{LIST},"Resource":"arn:aws:iam:us-east-1::example_bucket""#
            )),
            "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information.",
        ),
        (
            one(&format!(
                r#"{LIST},"Resource":"arn:aws:s3:us-east-1::example_bucket""#
            )),
            "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information.",
        ),
        // Action shapes, checked last.
        (
            one(&format!(r#""Effect":"Allow","Action":"invalid",{BUCKET}"#)),
            NO_VENDOR,
        ),
        (
            one(&format!(r#""Effect":"Allow","NotAction":"",{BUCKET}"#)),
            NO_VENDOR,
        ),
        (
            one(&format!(
                r#""Effect":"Allow","Action":"a a:ListBucket",{BUCKET}"#
            )),
            "Vendor a a is not valid",
        ),
        (
            one(&format!(
                r#""Effect":"Allow","Action":"s3:List:Bucket",{BUCKET}"#
            )),
            TWO_COLONS,
        ),
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3s:ListBucket",{BUCKET}}},{{"Effect":"Allow","Action":"s:3s:ListBucket",{BUCKET}}}]}}"#
            ),
            TWO_COLONS,
        ),
        (
            one(r#""Effect":"Allow","Action":"s:3:ListBucket","Resource":"sdfsadf""#),
            "Resource sdfsadf must be in ARN format or \"*\".",
        ),
        // Escapes that are not UTF-8, and truncated URL-encoded text.
        ("%7B%FF%7D".into(), SYNTAX),
        ("%7B%22Version%22".into(), SYNTAX),
    ];
    for (text, message) in &cases {
        assert_eq!(refusal(text, PolicyKind::Identity), *message, "for {text}");
    }
}

#[test]
fn policy_trust_refusals_carry_iams_messages() {
    let ok =
        r#""Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole""#;
    let cases: Vec<(String, String)> = vec![
        (
            "not valid json".into(),
            "This policy contains invalid Json".into(),
        ),
        ("[]".into(), "This policy contains invalid Json".into()),
        ("".into(), "This policy contains invalid Json".into()),
        ("{}".into(), "Missing required field Statement".into()),
        (
            r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
            "Could not parse the policy: Statement is empty!".into(),
        ),
        (
            r#"{"Version":"2012-10-17","Statement":"x"}"#.into(),
            SYNTAX.into(),
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[1]}"#.into(),
            SYNTAX.into(),
        ),
        (
            format!(r#"{{"Statement":{{{ok}}},"Foo":1}}"#),
            "Unknown field Foo".into(),
        ),
        (
            format!(r#"{{"Version":"2020-01-01","Statement":{{{ok}}}}}"#),
            "The policy must contain a valid version string".into(),
        ),
        (format!(r#"{{"Id":5,"Statement":{{{ok}}}}}"#), SYNTAX.into()),
        (one(&format!(r#"{ok},"Foo":1"#)), "Unknown field Foo".into()),
        (
            one(&format!(r#"{ok},"Effect":"Deny""#)),
            "Statement/policy already has instance of Effect".into(),
        ),
        (
            one(&format!(r#"{ok},"NotPrincipal":"*""#)),
            "Statement/policy already has instance of Principal".into(),
        ),
        (
            one(&format!(r#"{ok},"NotAction":"sts:TagSession""#)),
            "Statement/policy already has instance of Action".into(),
        ),
        (
            one(r#""Principal":"*","Action":"sts:AssumeRole""#),
            "Missing required field Effect".into(),
        ),
        (
            one(r#""Effect":"allow","Principal":"*","Action":"sts:AssumeRole""#),
            "Invalid effect: allow".into(),
        ),
        (
            one(r#""Effect":"Maybe","Principal":"*","Action":"sts:AssumeRole""#),
            "Invalid effect: Maybe".into(),
        ),
        (
            one(r#""Effect":true,"Principal":"*","Action":"sts:AssumeRole""#),
            "Invalid effect: true".into(),
        ),
        (
            one(r#""Effect":"Allow","Action":"sts:AssumeRole""#),
            "Missing required field Principal".into(),
        ),
        (
            one(r#""Sid":1,"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole""#),
            SYNTAX.into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":{},"Action":"sts:AssumeRole""#),
            "Invalid principal in policy".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":"someone","Action":"sts:AssumeRole""#),
            "Invalid principal in policy".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":["*"],"Action":"sts:AssumeRole""#),
            "Invalid principal in policy".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":{"IAM":"x"},"Action":"sts:AssumeRole""#),
            "Invalid principal in policy".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":{"AWS":[]},"Action":"sts:AssumeRole""#),
            "Invalid principal in policy".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":{"AWS":123456789012},"Action":"sts:AssumeRole""#),
            "Invalid principal in policy".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":{"Service":"nope"},"Action":"sts:AssumeRole""#),
            r#"Invalid principal in policy: "SERVICE":"nope""#.into(),
        ),
        (
            one(
                r#""Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/*"]},"Action":"sts:AssumeRole""#,
            ),
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/*""#.into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole""#),
            r#"Invalid principal in policy: "AWS":"alice""#.into(),
        ),
        (
            one(
                r#""Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:role/r"},"Action":"sts:AssumeRoleWithWebIdentity""#,
            ),
            r#"Invalid principal in policy: "FEDERATED":"arn:aws:iam::123456789012:role/r""#.into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":"*""#),
            "Missing required field Action".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":"*","Action":[]"#),
            "Missing required field Action cannot be empty!".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":"*","Action":[1]"#),
            SYNTAX.into(),
        ),
        (
            one(&format!(r#"{ok},"Resource":"arn:aws:s3:::example_bucket""#)),
            "Has prohibited field Resource".into(),
        ),
        (
            one(&format!(r#"{ok},"NotResource":"*""#)),
            "Has prohibited field NotResource".into(),
        ),
        (
            one(&format!(
                r#"{ok},"Condition":{{"StringEqualz":{{"a":"1"}}}}"#
            )),
            "Invalid Condition type : StringEqualz".into(),
        ),
        (
            one(&format!(r#"{ok},"Condition":{{"StringEquals":"a"}}"#)),
            SYNTAX.into(),
        ),
        (
            one(
                r#""Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:InvalidAction""#,
            ),
            "AssumeRole policy may only specify STS AssumeRole actions.".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":"*","Action":["sts:AssumeRole","s3:GetObject"]"#),
            "AssumeRole policy may only specify STS AssumeRole actions.".into(),
        ),
        (
            one(r#""Effect":"Allow","Principal":"*","Action":"*""#),
            "AssumeRole policy may only specify STS AssumeRole actions.".into(),
        ),
        (
            one(r#""Effect":"Deny","Principal":"*","NotAction":"iam:*""#),
            "AssumeRole policy may only specify STS AssumeRole actions.".into(),
        ),
        (
            format!(r#"{{"Statement":[{{"Sid":"A",{ok}}},{{"Sid":"A",{ok}}}]}}"#),
            SID.into(),
        ),
    ];
    for (text, message) in &cases {
        assert_eq!(refusal(text, PolicyKind::Trust), *message, "for {text}");
    }
}

/// The trust policy the Cognito developer guide gives for an identity pool's roles.
const COGNITO_TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": { "Federated": "cognito-identity.amazonaws.com" },
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {
        "StringEquals": { "cognito-identity.amazonaws.com:aud": "us-east-1:0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b" },
        "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" }
      }
    }
  ]
}"#;

#[test]
fn policy_cognito_trust_policy_reads_into_the_model() {
    let doc = accepted(COGNITO_TRUST, PolicyKind::Trust);
    assert_eq!(doc.version.as_deref(), Some("2012-10-17"));
    assert_eq!(doc.statements.len(), 1);
    let s = &doc.statements[0];
    assert_eq!(s.effect, Effect::Allow);
    assert_eq!(s.resource, None);
    let federated = PrincipalMap {
        federated: vec!["cognito-identity.amazonaws.com".into()],
        ..Default::default()
    };
    assert_eq!(
        s.principal,
        Some(PrincipalElement::Principal(Principal::Map(federated)))
    );
    assert_eq!(
        s.action,
        ActionElement::Action(vec!["sts:AssumeRoleWithWebIdentity".into()])
    );
    assert_eq!(s.conditions.len(), 2);
    let aud = &s.conditions[0];
    assert_eq!(
        aud.operator,
        ConditionOperator {
            qualifier: None,
            base: BaseOperator::StringEquals,
            if_exists: false
        }
    );
    assert_eq!(aud.entries[0].key, "cognito-identity.amazonaws.com:aud");
    assert_eq!(
        aud.entries[0].values,
        [ConditionValue::string(
            "us-east-1:0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
        )]
    );
    let amr = &s.conditions[1];
    assert_eq!(amr.operator.qualifier, Some(SetQualifier::ForAnyValue));
    assert_eq!(amr.operator.base, BaseOperator::StringLike);
    assert_eq!(amr.operator.base.family(), OperatorFamily::String);
    assert_eq!(amr.entries[0].values[0].as_str(), "authenticated");
    // The same document is no identity policy.
    assert_eq!(
        refusal(COGNITO_TRUST, PolicyKind::Identity),
        "Policy document should not specify a principal."
    );
}

#[test]
fn policy_per_identity_s3_policy_keeps_its_variables() {
    let text = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ListYourPrefix",
          "Effect": "Allow",
          "Action": "s3:ListBucket",
          "Resource": "arn:aws:s3:::photo-bucket",
          "Condition": { "StringLike": { "s3:prefix": ["cognito/photos/${cognito-identity.amazonaws.com:sub}/*"] } }
        },
        {
          "Sid": "ReadWriteYourObjects",
          "Effect": "Allow",
          "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
          "Resource": [
            "arn:aws:s3:::photo-bucket/cognito/photos/${cognito-identity.amazonaws.com:sub}",
            "arn:aws:s3:::photo-bucket/cognito/photos/${cognito-identity.amazonaws.com:sub}/*"
          ]
        }
      ]
    }"#;
    let doc = accepted(text, PolicyKind::Identity);
    assert_eq!(
        doc.statements[1].sid.as_deref(),
        Some("ReadWriteYourObjects")
    );
    assert_eq!(
        doc.statements[1]
            .resource
            .as_ref()
            .map(|r| r.patterns()[1].as_str()),
        Some("arn:aws:s3:::photo-bucket/cognito/photos/${cognito-identity.amazonaws.com:sub}/*")
    );
    assert_eq!(doc.statements[1].action.patterns().len(), 3);
    assert!(doc.statements.iter().all(|s| s.principal.is_none()));
    assert_eq!(
        refusal(text, PolicyKind::Trust),
        "Missing required field Principal"
    );
}

#[test]
fn policy_not_action_deny_and_not_resource() {
    let doc = accepted(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Deny","NotAction":["iam:*","sts:GetSessionToken"],"Resource":"*",
             "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":false}}},
            {"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}]}"#,
        PolicyKind::Identity,
    );
    let deny = &doc.statements[0];
    assert_eq!(deny.effect, Effect::Deny);
    assert!(deny.action.is_negated());
    assert_eq!(deny.action.patterns(), ["iam:*", "sts:GetSessionToken"]);
    let block = &deny.conditions[0];
    assert_eq!(block.operator.base, BaseOperator::Bool);
    assert!(block.operator.if_exists);
    assert_eq!(
        block.entries[0].values,
        [ConditionValue {
            text: "false".into(),
            kind: ValueKind::Bool
        }]
    );
    let not_resource = doc.statements[1].resource.as_ref().unwrap();
    assert!(not_resource.is_negated());
    assert_eq!(not_resource.patterns().len(), 2);
}

#[test]
fn policy_principal_forms_in_trust_policies() {
    let doc = accepted(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#,
        PolicyKind::Trust,
    );
    assert_eq!(doc.version, None);
    assert_eq!(
        doc.statements[0].principal,
        Some(PrincipalElement::Principal(Principal::Any))
    );

    let doc = accepted(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::210987654321:role/path/deployer"],
               "Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},
             "Action":["sts:AssumeRole","sts:TagSession"]},
            {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
             "Action":"sts:AssumeRoleWith*","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/app:*"}}},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:sts::123456789012:assumed-role/admin/alice"},"Action":"sts:*"}]}"#,
        PolicyKind::Trust,
    );
    let Some(PrincipalElement::Principal(Principal::Map(map))) = &doc.statements[0].principal
    else {
        panic!("not a principal map: {:?}", doc.statements[0].principal);
    };
    assert_eq!(map.aws.len(), 3);
    assert_eq!(map.service, ["ec2.amazonaws.com", "lambda.amazonaws.com"]);
    assert!(map.federated.is_empty() && map.canonical_user.is_empty());
    let negated = doc.statements[2].principal.as_ref().unwrap();
    assert!(negated.is_negated());
    assert!(matches!(negated.principal(), Principal::Map(m) if m.aws.len() == 1));
}

#[test]
fn policy_single_and_list_forms_read_alike() {
    let single = accepted(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
            "Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"}}}}"#,
        PolicyKind::Identity,
    );
    let list = accepted(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"],
            "Condition":{"StringEquals":{"aws:PrincipalTag/team":["red"]}}}]}"#,
        PolicyKind::Identity,
    );
    assert_eq!(single, list);
    let trust_single = accepted(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
        PolicyKind::Trust,
    );
    let trust_list = accepted(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}"#,
        PolicyKind::Trust,
    );
    assert_eq!(trust_single, trust_list);
}

#[test]
fn policy_identity_documents_iam_accepts() {
    let docs = [
        one(&format!(
            r#"{LIST},"Resource":["arn:aws:s3:::example_bucket","*"]"#
        )),
        one(&format!(
            r#""Effect":"Allow","Action":"iam: asdf safdsf af ",{BUCKET}"#
        )),
        one(&format!(r#""Effect":"Allow","Action":"*",{BUCKET}"#)),
        one(&format!(
            r#"{LIST},"Resource":"arn:aws:iam:::user/example_bucket""#
        )),
        one(&format!(
            r#"{LIST},"Resource":"arn:aws:iam::123456789012:root""#
        )),
        one(&format!(
            r#"{LIST},"Resource":"arn:aws:s33:::example_bucket""#
        )),
        one(&format!(r#"{LIST},"Resource":"arn:aws:fdsasf""#)),
        one(&format!(
            r#"{LIST},"Resource":"arn:aws:ec2:us-east-1::example_bucket""#
        )),
        one(&format!(
            r#"{LIST},"Resource":"arn:aws:s3:us-west-2:123456789012:accesspoint/ap/object/*""#
        )),
        one(&format!(
            r#"{LIST},"Resource":"arn:aws-cn:s3:::example_bucket""#
        )),
        one(&format!(r#"{LIST},{BUCKET},"Condition":{{}}"#)),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"a":{{}},"DateGreaterThan":{{}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"DateGreaterThan":{{"a":[]}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"ForAllValues:StringEquals":{{"aws:TagKeys":"Department"}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"ForAnyValue:StringEqualsIfExists":{{"a":"asf"}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"DateGreaterThan":{{"aws:CurrentTime":"2017-07-01T00:00:00Z"}},"DateLessThan":{{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"DateGreaterThan":{{"a":"01T"}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"DateLessThanEquals":{{"a":"2016-12-13T21:20:37.593194+00:00"}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"DateLessThanEquals":{{"a":"2016-12-13t2:00:00.593194+23"}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"DateLessThan":{{"a":"-292275054"}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"DateLessThan":{{"aws:EpochTime":1700000000}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"NumericLessThanEquals":{{"s3:max-keys":[10,"20",1.5]}}}}"#
        )),
        one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"IpAddress":{{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}}}"#
        )),
        one(r#""Effect":"Allow","Action":"s3-s.x:ListBucket","NotResource":"*""#),
        format!(r#"{{"Version":"2008-10-17","Id":"abc","Statement":{{{LIST},{BUCKET}}}}}"#),
        format!(r#"{{"Statement":{{{LIST},{BUCKET}}},"Conditions":{{}}}}"#),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"",{LIST},{BUCKET}}},{{"Sid":"",{LIST},{BUCKET}}},{{{LIST},{BUCKET}}}]}}"#
        ),
        format!("  \n\t{}\n ", one(&format!("{LIST},{BUCKET}"))),
    ];
    for text in &docs {
        accepted(text, PolicyKind::Identity);
    }
}

#[test]
fn policy_condition_values_keep_their_json_type() {
    let doc = accepted(
        &one(&format!(
            r#"{LIST},{BUCKET},"Condition":{{"NumericLessThan":{{"s3:max-keys":[10,"20",1.5,-3]}},"Bool":{{"aws:SecureTransport":true}}}}"#
        )),
        PolicyKind::Identity,
    );
    let numeric = &doc.statements[0].conditions[0].entries[0].values;
    let texts: Vec<_> = numeric.iter().map(|v| (v.as_str(), v.kind)).collect();
    assert_eq!(
        texts,
        [
            ("10", ValueKind::Number),
            ("20", ValueKind::String),
            ("1.5", ValueKind::Number),
            ("-3", ValueKind::Number)
        ]
    );
    let json = doc.to_json();
    assert!(json.contains(r#""s3:max-keys":[10,"20",1.5,-3]"#), "{json}");
    assert!(json.contains(r#""aws:SecureTransport":[true]"#), "{json}");
}

#[test]
fn policy_extreme_numbers_survive_a_round_trip() {
    // Found by the round-trip property: without exact float parsing, tiny values drift.
    let text = one(&format!(
        r#"{LIST},{BUCKET},"Condition":{{"NumericEquals":{{"k":[5.560006560390652e-306,1.6251519628616533e-308,1e300,18446744073709551615,-0.0]}}}}"#
    ));
    let doc = accepted(&text, PolicyKind::Identity);
    assert_eq!(accepted(&doc.to_json(), PolicyKind::Identity), doc);
}

#[test]
fn policy_url_encoded_documents_are_decoded() {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let encoded = utf8_percent_encode(COGNITO_TRUST, NON_ALPHANUMERIC).to_string();
    assert!(encoded.starts_with("%7B"));
    assert_eq!(
        accepted(&encoded, PolicyKind::Trust),
        accepted(COGNITO_TRUST, PolicyKind::Trust)
    );
    let lower = format!(" {} ", encoded.replace("%7B", "%7b"));
    assert_eq!(
        accepted(&lower, PolicyKind::Trust),
        accepted(COGNITO_TRUST, PolicyKind::Trust)
    );
    assert_eq!(
        refusal("%7Bnot json%7D", PolicyKind::Trust),
        "This policy contains invalid Json"
    );
}

#[test]
fn policy_condition_operator_names() {
    for &base in BaseOperator::ALL {
        for qualifier in [
            None,
            Some(SetQualifier::ForAnyValue),
            Some(SetQualifier::ForAllValues),
        ] {
            for if_exists in [false, true] {
                let op = ConditionOperator {
                    qualifier,
                    base,
                    if_exists,
                };
                assert_eq!(ConditionOperator::parse(&op.to_string()), Some(op));
            }
        }
    }
    assert_eq!(BaseOperator::ALL.len(), 27);
    let negated: Vec<_> = BaseOperator::ALL
        .iter()
        .filter(|b| b.is_negated())
        .map(|b| b.name())
        .collect();
    assert_eq!(
        negated,
        [
            "StringNotEquals",
            "StringNotEqualsIgnoreCase",
            "StringNotLike",
            "NumericNotEquals",
            "DateNotEquals",
            "NotIpAddress",
            "ArnNotEquals",
            "ArnNotLike"
        ]
    );
    assert_eq!(
        BaseOperator::NotIpAddress.family(),
        OperatorFamily::IpAddress
    );
    assert_eq!(BaseOperator::DateLessThan.family(), OperatorFamily::Date);
    for bad in [
        "",
        "IfExists",
        "ForAnyValue:",
        "ForAnyValue:IfExists",
        "ForAllValue:StringEquals",
        "ForAnyValues:StringEquals",
        "StringEquals:ForAnyValue",
        "ForAnyValue:ForAllValues:StringEquals",
        "StringEqualsIfExistsIfExists",
        "StringEqualsIfExist",
        "stringequals",
        "String Equals",
        "NotStringEquals",
    ] {
        assert_eq!(ConditionOperator::parse(bad), None, "{bad}");
    }
}

#[test]
fn policy_error_shows_only_its_message() {
    let err = parse_policy("nope", PolicyKind::Identity).unwrap_err();
    assert_eq!(err.message(), SYNTAX);
    assert_eq!(err.to_string(), SYNTAX);
}

#[test]
fn policy_glob_matching() {
    use super::trust::glob;
    assert!(glob("sts:assumerole*", "sts:assumerolewithsaml"));
    assert!(glob("sts:?ssumerole", "sts:assumerole"));
    assert!(glob("*", ""));
    assert!(!glob("sts:assume", "sts:assumerole"));
    assert!(!glob("a*b*c", "abab"));
    // A pattern that makes naive backtracking exponential finishes at once.
    assert!(!glob(&"*a".repeat(40), &"a".repeat(39)));
}

// ---------------------------------------------------------------- generated documents

fn condition_value() -> impl Strategy<Value = ConditionValue> {
    prop_oneof![
        "\\PC{0,12}".prop_map(ConditionValue::string),
        any::<i64>().prop_map(|n| ConditionValue {
            text: n.to_string(),
            kind: ValueKind::Number
        }),
        any::<f64>().prop_filter_map("finite", |f| {
            let n = serde_json::Number::from_f64(f)?;
            Some(ConditionValue {
                text: n.to_string(),
                kind: ValueKind::Number,
            })
        }),
        any::<bool>().prop_map(|b| ConditionValue {
            text: b.to_string(),
            kind: ValueKind::Bool
        }),
    ]
}

/// Values the legacy Date reader accepts: ISO 8601 text or non-negative epoch seconds.
fn date_value() -> impl Strategy<Value = ConditionValue> {
    prop_oneof![
        (
            1970u32..2100,
            1u32..=12,
            1u32..=28,
            0u32..24,
            0u32..60,
            0u32..60
        )
            .prop_map(|(y, mo, d, h, mi, s)| {
                ConditionValue::string(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
            }),
        (0i64..=i64::MAX).prop_map(|n| ConditionValue {
            text: n.to_string(),
            kind: ValueKind::Number
        }),
        (0i64..4_000_000_000).prop_map(|n| ConditionValue::string(n.to_string())),
    ]
}

fn operator() -> impl Strategy<Value = ConditionOperator> {
    let qualifier = prop_oneof![
        Just(None),
        Just(Some(SetQualifier::ForAnyValue)),
        Just(Some(SetQualifier::ForAllValues))
    ];
    (
        qualifier,
        prop::sample::select(BaseOperator::ALL),
        any::<bool>(),
    )
        .prop_map(|(qualifier, base, if_exists)| ConditionOperator {
            qualifier,
            base,
            if_exists,
        })
}

fn condition_block() -> impl Strategy<Value = ConditionBlock> {
    operator().prop_flat_map(|operator| {
        let values = if operator.base.family() == OperatorFamily::Date {
            prop::collection::vec(date_value(), 0..3).boxed()
        } else {
            prop::collection::vec(condition_value(), 0..3).boxed()
        };
        prop::collection::vec(("[a-z]{1,6}:\\PC{0,10}", values), 0..3).prop_map(move |entries| {
            let mut seen = std::collections::HashSet::new();
            let entries = entries
                .into_iter()
                .filter(|(key, _)| seen.insert(key.clone()))
                .map(|(key, values)| ConditionEntry { key, values })
                .collect();
            ConditionBlock { operator, entries }
        })
    })
}

fn conditions() -> impl Strategy<Value = Vec<ConditionBlock>> {
    prop::collection::vec(condition_block(), 0..3).prop_map(|blocks| {
        let mut seen = std::collections::HashSet::new();
        blocks
            .into_iter()
            .filter(|b| seen.insert(b.operator))
            .collect()
    })
}

fn strings(pattern: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(pattern, 1..4)
}

fn identity_statement() -> impl Strategy<Value = Statement> {
    let action = prop_oneof![Just("*".to_owned()), "[a-z0-9-]{1,8}:[A-Za-z*?]{0,10}"];
    let resource = prop_oneof![
        Just("*".to_owned()),
        "arn:aws:s3:::[a-z0-9-]{1,10}/[a-zA-Z0-9/*]{0,10}",
        "arn:aws:dynamodb:us-east-1:123456789012:table/[A-Za-z]{1,8}",
        "arn:aws:iam::123456789012:role/[A-Za-z]{1,8}",
        Just("arn:aws:s3:::bucket/${cognito-identity.amazonaws.com:sub}/*".to_owned()),
    ];
    (
        any::<bool>(),
        any::<bool>(),
        strings(action),
        any::<bool>(),
        strings(resource),
        conditions(),
    )
        .prop_map(
            |(allow, not_action, actions, not_resource, resources, conditions)| Statement {
                sid: None,
                effect: if allow { Effect::Allow } else { Effect::Deny },
                principal: None,
                action: if not_action {
                    ActionElement::NotAction(actions)
                } else {
                    ActionElement::Action(actions)
                },
                resource: Some(if not_resource {
                    ResourceElement::NotResource(resources)
                } else {
                    ResourceElement::Resource(resources)
                }),
                conditions,
            },
        )
}

fn trust_principal() -> impl Strategy<Value = Principal> {
    let aws = strings(prop_oneof![
        Just("*".to_owned()),
        "[0-9]{12}",
        "arn:aws:iam::[0-9]{12}:root",
        "arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_-]{1,12}",
    ]);
    let federated = strings(prop_oneof![
        Just("cognito-identity.amazonaws.com".to_owned()),
        Just("accounts.google.com".to_owned()),
        "arn:aws:iam::[0-9]{12}:oidc-provider/[a-z]{1,8}\\.example\\.com",
    ]);
    let service = strings(prop::sample::select(vec![
        "ec2.amazonaws.com".to_owned(),
        "lambda.amazonaws.com".to_owned(),
    ]));
    prop_oneof![
        Just(Principal::Any),
        (
            prop::option::of(aws),
            prop::option::of(federated),
            prop::option::of(service)
        )
            .prop_filter_map(
                "at least one principal type",
                |(aws, federated, service)| {
                    if aws.is_none() && federated.is_none() && service.is_none() {
                        return None;
                    }
                    Some(Principal::Map(PrincipalMap {
                        aws: aws.unwrap_or_default(),
                        federated: federated.unwrap_or_default(),
                        service: service.unwrap_or_default(),
                        canonical_user: Vec::new(),
                    }))
                }
            ),
    ]
}

fn trust_statement() -> impl Strategy<Value = Statement> {
    let action = prop::sample::select(vec![
        "sts:AssumeRole".to_owned(),
        "sts:AssumeRoleWithWebIdentity".to_owned(),
        "sts:AssumeRoleWithSAML".to_owned(),
        "sts:TagSession".to_owned(),
        "sts:SetSourceIdentity".to_owned(),
        "sts:AssumeRole*".to_owned(),
        "STS:assumerole".to_owned(),
    ]);
    (
        any::<bool>(),
        any::<bool>(),
        trust_principal(),
        any::<bool>(),
        strings(action),
        conditions(),
    )
        .prop_map(
            |(allow, not_principal, principal, not_action, actions, conditions)| Statement {
                sid: None,
                effect: if allow { Effect::Allow } else { Effect::Deny },
                principal: Some(if not_principal {
                    PrincipalElement::NotPrincipal(principal)
                } else {
                    PrincipalElement::Principal(principal)
                }),
                action: if not_action {
                    ActionElement::NotAction(actions)
                } else {
                    ActionElement::Action(actions)
                },
                resource: None,
                conditions,
            },
        )
}

fn document(statement: BoxedStrategy<Statement>) -> impl Strategy<Value = PolicyDocument> {
    let version = prop::option::of(prop::sample::select(vec![
        "2012-10-17".to_owned(),
        "2008-10-17".to_owned(),
    ]));
    let sids = prop::collection::vec(0u8..3, 4);
    (
        version,
        prop::option::of("\\PC{0,16}"),
        prop::collection::vec(statement, 1..4),
        sids,
    )
        .prop_map(|(version, id, mut statements, sids)| {
            // Non-empty Sids must differ; empty ones may repeat.
            for (i, (s, choice)) in statements.iter_mut().zip(sids).enumerate() {
                s.sid = match choice {
                    0 => None,
                    1 => Some(String::new()),
                    _ => Some(format!("Stmt{i}")),
                };
            }
            PolicyDocument {
                version,
                id,
                statements,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn policy_identity_documents_round_trip(doc in document(identity_statement().boxed())) {
        let json = doc.to_json();
        prop_assert_eq!(parse_policy(&json, PolicyKind::Identity), Ok(doc), "{}", json);
    }

    #[test]
    fn policy_trust_documents_round_trip(doc in document(trust_statement().boxed())) {
        let json = doc.to_json();
        prop_assert_eq!(parse_policy(&json, PolicyKind::Trust), Ok(doc), "{}", json);
    }

    #[test]
    fn policy_parser_never_panics_on_text(text in "(?s).{0,300}") {
        for kind in [PolicyKind::Identity, PolicyKind::Trust] {
            let _ = parse_policy(&text, kind);
            let _ = parse_policy(&format!("%7B{text}"), kind);
        }
    }

    #[test]
    fn policy_random_json_is_refused_or_stable(value in policy_like_json()) {
        stable_or_refused(&value.to_string())?;
    }

    #[test]
    fn policy_damaged_documents_are_refused_or_stable(text in damaged_documents()) {
        stable_or_refused(&text)?;
    }
}

/// Whatever either grammar accepts, its canonical form reads back to the same model.
fn stable_or_refused(text: &str) -> Result<(), TestCaseError> {
    for kind in [PolicyKind::Identity, PolicyKind::Trust] {
        if let Ok(doc) = parse_policy(text, kind) {
            prop_assert_eq!(parse_policy(&doc.to_json(), kind), Ok(doc), "{}", text);
        }
    }
    Ok(())
}

/// One edit somewhere in a valid document: a value replaced, a member dropped or renamed,
/// a value wrapped in a list.
#[derive(Debug, Clone)]
enum Damage {
    Replace(serde_json::Value),
    Remove,
    Rename(String),
    Wrap,
}

fn damaged_documents() -> impl Strategy<Value = String> {
    let doc = prop_oneof![
        document(identity_statement().boxed()),
        document(trust_statement().boxed())
    ];
    let damage = prop_oneof![
        policy_like_json().prop_map(Damage::Replace),
        Just(Damage::Remove),
        prop::sample::select(vec![
            "Effect",
            "Principal",
            "Action",
            "NotAction",
            "Resource",
            "Foo",
            "Condition"
        ])
        .prop_map(|n| Damage::Rename(n.to_owned())),
        Just(Damage::Wrap),
    ];
    (
        doc,
        prop::collection::vec((prop::collection::vec(any::<usize>(), 0..6), damage), 0..3),
    )
        .prop_map(|(doc, damages)| {
            let mut value: serde_json::Value =
                serde_json::from_str(&doc.to_json()).unwrap_or_default();
            for (path, damage) in damages {
                apply_damage(&mut value, &path, damage);
            }
            value.to_string()
        })
}

fn apply_damage(value: &mut serde_json::Value, path: &[usize], damage: Damage) {
    use serde_json::Value;
    let Some((&step, rest)) = path.split_first() else {
        match damage {
            Damage::Replace(v) => *value = v,
            Damage::Wrap => *value = Value::Array(vec![value.take()]),
            Damage::Remove | Damage::Rename(_) => {}
        }
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let i = step % map.len();
            if rest.is_empty() && matches!(damage, Damage::Remove | Damage::Rename(_)) {
                let members: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
                for (j, (name, member)) in members.into_iter().enumerate() {
                    match (&damage, j == i) {
                        (Damage::Remove, true) => {}
                        (Damage::Rename(new), true) => {
                            map.insert(new.clone(), member);
                        }
                        _ => {
                            map.insert(name, member);
                        }
                    }
                }
            } else if let Some((_, member)) = map.iter_mut().nth(i) {
                apply_damage(member, rest, damage);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = step % items.len();
            if rest.is_empty() && matches!(damage, Damage::Remove) {
                items.remove(i);
            } else {
                apply_damage(&mut items[i], rest, damage);
            }
        }
        _ => apply_damage(value, &[], damage),
    }
}

#[test]
fn policy_damaged_documents_are_often_accepted() {
    // The stability property means little unless the damaged documents get accepted often.
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = damaged_documents();
    let accepted = (0..500)
        .filter(|_| {
            let text = strategy
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_default();
            [PolicyKind::Identity, PolicyKind::Trust]
                .iter()
                .any(|&k| parse_policy(&text, k).is_ok())
        })
        .count();
    assert!(accepted > 100, "only {accepted} of 500 accepted");
}

/// JSON trees built from policy vocabulary, so random documents get past the first checks.
fn policy_like_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "Allow",
            "Deny",
            "allow",
            "*",
            "2012-10-17",
            "2008-10-17",
            "sts:AssumeRole",
            "sts:AssumeRoleWithWebIdentity",
            "s3:GetObject",
            "s3:List:Bucket",
            "arn:aws:s3:::b/*",
            "arn:aws:s3::b",
            "arn:aws:iam::123456789012:role/r",
            "123456789012",
            "cognito-identity.amazonaws.com",
            "ec2.amazonaws.com",
            "2017-07-01T00:00:00Z",
            "sdfdsf",
            "a:b",
            "",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        "\\PC{0,8}".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    let names = prop_oneof![
        prop::sample::select(vec![
            "Version",
            "Id",
            "Statement",
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
            "Conditions",
            "AWS",
            "Service",
            "Federated",
            "CanonicalUser",
            "StringEquals",
            "ForAnyValue:StringLike",
            "DateLessThan",
            "NumericEqualsIfExists",
            "Null",
            "x",
        ])
        .prop_map(str::to_owned),
        "[A-Za-z:]{1,6}",
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}
