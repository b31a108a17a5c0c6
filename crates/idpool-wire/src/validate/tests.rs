use super::*;
use proptest::prelude::*;
use serde_json::json;

const PREFIX: &str = "1 validation error detected: ";

fn cognito_message(op: CognitoOp, input: Value) -> String {
    let err = validate_cognito(op, &input).expect_err("input should be rejected");
    assert_eq!(err.code, "ValidationException", "{err}");
    assert_eq!(err.status, 400);
    err.message
}

fn query(service: QueryService, action: &str, body: &str) -> Result<(), WireError> {
    validate_query(service, action, &QueryParams::parse(body.as_bytes()))
}

fn query_message(service: QueryService, action: &str, body: &str) -> String {
    let err = query(service, action, body).expect_err("params should be rejected");
    assert_eq!(err.code, "ValidationError", "{err}");
    assert_eq!(err.status, 400);
    assert_eq!(err.fault, crate::Fault::Sender);
    err.message
}

const POOL: &str = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const IDENTITY: &str = "us-east-1:11111111-2222-3333-4444-555555555555";
const ARN: &str = "arn:aws:iam::000000000000:role/r";

/// A minimal valid input for every operation; a missing entry fails to compile the match.
fn valid_input(op: CognitoOp) -> Value {
    match op {
        CognitoOp::CreateIdentityPool => {
            json!({"IdentityPoolName": "pool", "AllowUnauthenticatedIdentities": false})
        }
        CognitoOp::UpdateIdentityPool => json!({
            "IdentityPoolId": POOL, "IdentityPoolName": "pool", "AllowUnauthenticatedIdentities": true
        }),
        CognitoOp::DeleteIdentityPool
        | CognitoOp::DescribeIdentityPool
        | CognitoOp::GetIdentityPoolRoles
        | CognitoOp::GetId => json!({"IdentityPoolId": POOL}),
        CognitoOp::DeleteIdentities => json!({"IdentityIdsToDelete": [IDENTITY]}),
        CognitoOp::DescribeIdentity
        | CognitoOp::GetCredentialsForIdentity
        | CognitoOp::GetOpenIdToken => json!({"IdentityId": IDENTITY}),
        CognitoOp::GetOpenIdTokenForDeveloperIdentity => {
            json!({"IdentityPoolId": POOL, "Logins": {"login.dev": "user"}})
        }
        CognitoOp::GetPrincipalTagAttributeMap | CognitoOp::SetPrincipalTagAttributeMap => {
            json!({"IdentityPoolId": POOL, "IdentityProviderName": "accounts.google.com"})
        }
        CognitoOp::ListIdentities => json!({"IdentityPoolId": POOL, "MaxResults": 60}),
        CognitoOp::ListIdentityPools => json!({"MaxResults": 1}),
        CognitoOp::ListTagsForResource => json!({"ResourceArn": ARN}),
        CognitoOp::LookupDeveloperIdentity => json!({"IdentityPoolId": POOL}),
        CognitoOp::MergeDeveloperIdentities => json!({
            "SourceUserIdentifier": "a", "DestinationUserIdentifier": "b",
            "DeveloperProviderName": "login.dev", "IdentityPoolId": POOL
        }),
        CognitoOp::SetIdentityPoolRoles => {
            json!({"IdentityPoolId": POOL, "Roles": {"authenticated": ARN}})
        }
        CognitoOp::TagResource => json!({"ResourceArn": ARN, "Tags": {"k": ""}}),
        CognitoOp::UnlinkDeveloperIdentity => json!({
            "IdentityId": IDENTITY, "IdentityPoolId": POOL,
            "DeveloperProviderName": "login.dev", "DeveloperUserIdentifier": "u"
        }),
        CognitoOp::UnlinkIdentity => json!({
            "IdentityId": IDENTITY, "Logins": {"graph.facebook.com": "t"},
            "LoginsToRemove": ["graph.facebook.com"]
        }),
        CognitoOp::UntagResource => json!({"ResourceArn": ARN, "TagKeys": ["k"]}),
    }
}

/// Model member names that are required, per operation, spelled as in messages.
fn required_paths(op: CognitoOp) -> &'static [&'static str] {
    match op {
        CognitoOp::CreateIdentityPool => &["identityPoolName", "allowUnauthenticatedIdentities"],
        CognitoOp::UpdateIdentityPool => &[
            "identityPoolId",
            "identityPoolName",
            "allowUnauthenticatedIdentities",
        ],
        CognitoOp::DeleteIdentityPool
        | CognitoOp::DescribeIdentityPool
        | CognitoOp::GetIdentityPoolRoles
        | CognitoOp::GetId
        | CognitoOp::LookupDeveloperIdentity => &["identityPoolId"],
        CognitoOp::DeleteIdentities => &["identityIdsToDelete"],
        CognitoOp::DescribeIdentity
        | CognitoOp::GetCredentialsForIdentity
        | CognitoOp::GetOpenIdToken => &["identityId"],
        CognitoOp::GetOpenIdTokenForDeveloperIdentity => &["identityPoolId", "logins"],
        CognitoOp::GetPrincipalTagAttributeMap | CognitoOp::SetPrincipalTagAttributeMap => {
            &["identityPoolId", "identityProviderName"]
        }
        CognitoOp::ListIdentities => &["identityPoolId", "maxResults"],
        CognitoOp::ListIdentityPools => &["maxResults"],
        CognitoOp::ListTagsForResource => &["resourceArn"],
        CognitoOp::MergeDeveloperIdentities => &[
            "sourceUserIdentifier",
            "destinationUserIdentifier",
            "developerProviderName",
            "identityPoolId",
        ],
        CognitoOp::SetIdentityPoolRoles => &["identityPoolId", "roles"],
        CognitoOp::TagResource => &["resourceArn", "tags"],
        CognitoOp::UnlinkDeveloperIdentity => &[
            "identityId",
            "identityPoolId",
            "developerProviderName",
            "developerUserIdentifier",
        ],
        CognitoOp::UnlinkIdentity => &["identityId", "logins", "loginsToRemove"],
        CognitoOp::UntagResource => &["resourceArn", "tagKeys"],
    }
}

#[test]
fn every_operation_has_a_table_entry_and_its_required_members() {
    for op in CognitoOp::ALL {
        assert!(
            model::COGNITO.input(op.name()).is_some(),
            "{} has no input table",
            op.name()
        );
        assert_eq!(
            validate_cognito(op, &valid_input(op)),
            Ok(()),
            "{}",
            op.name()
        );

        let required = required_paths(op);
        let expected: Vec<String> = required
            .iter()
            .map(|p| {
                format!("Value null at '{p}' failed to satisfy constraint: Member must not be null")
            })
            .collect();
        let head = match required.len() {
            1 => "1 validation error detected: ".to_string(),
            n => format!("{n} validation errors detected: "),
        };
        let message = cognito_message(op, json!({}));
        assert_eq!(
            message,
            format!("{head}{}", expected.join("; ")),
            "{}",
            op.name()
        );
    }
    assert_eq!(model::COGNITO.operations.len(), CognitoOp::ALL.len());
}

#[test]
fn every_query_action_has_a_table_entry() {
    let iam = [
        "CreateRole",
        "GetRole",
        "ListRoles",
        "UpdateRole",
        "UpdateAssumeRolePolicy",
        "DeleteRole",
        "PutRolePolicy",
        "GetRolePolicy",
        "ListRolePolicies",
        "DeleteRolePolicy",
        "CreateOpenIDConnectProvider",
        "GetOpenIDConnectProvider",
        "ListOpenIDConnectProviders",
        "DeleteOpenIDConnectProvider",
        "AddClientIDToOpenIDConnectProvider",
        "RemoveClientIDFromOpenIDConnectProvider",
        "UpdateOpenIDConnectProviderThumbprint",
        "CreateSAMLProvider",
        "GetSAMLProvider",
        "ListSAMLProviders",
        "UpdateSAMLProvider",
        "DeleteSAMLProvider",
        "TagRole",
        "UntagRole",
        "ListRoleTags",
    ];
    for action in iam {
        assert!(
            model::IAM.operations.iter().any(|(a, _)| *a == action),
            "{action}"
        );
    }
    assert_eq!(model::IAM.operations.len(), iam.len());
    for action in [
        "AssumeRoleWithWebIdentity",
        "GetCallerIdentity",
        "AssumeRole",
    ] {
        assert!(
            model::STS.operations.iter().any(|(a, _)| *a == action),
            "{action}"
        );
    }
    // Unknown actions are the router's business.
    assert_eq!(query(QueryService::Iam, "CreateUser", ""), Ok(()));
}

#[test]
fn tables_are_consistent_and_every_pattern_compiles() {
    for (pattern, regex) in model::PATTERNS.iter().zip(REGEXES.iter()) {
        assert!(
            regex.is_some(),
            "{} -> {} does not compile",
            pattern.model,
            pattern.regex
        );
    }
    for service in [&model::COGNITO, &model::IAM, &model::STS] {
        let n = service.shapes.len();
        for shape in service.shapes {
            assert!(
                shape
                    .pattern
                    .is_none_or(|p| usize::from(p) < model::PATTERNS.len())
            );
            if matches!(shape.kind, Kind::List | Kind::Map) {
                assert!(
                    usize::from(shape.item) < n && usize::from(shape.key) < n,
                    "{}",
                    shape.name
                );
            }
            assert!(
                shape.members.iter().all(|m| usize::from(m.shape) < n),
                "{}",
                shape.name
            );
        }
        assert!(
            service
                .operations
                .iter()
                .all(|(_, s)| s.is_none_or(|s| usize::from(s) < n))
        );
    }
}

#[test]
fn pool_name_outside_the_pattern_gets_the_coral_message() {
    let input = json!({"IdentityPoolName": "test/with:identity#pool", "AllowUnauthenticatedIdentities": true});
    assert_eq!(
        cognito_message(CognitoOp::CreateIdentityPool, input),
        r"1 validation error detected: Value 'test/with:identity#pool' at 'identityPoolName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w\s+=,.@-]+"
    );
    // Hyphens, spaces and the other listed punctuation are inside today's pattern.
    let input = json!({"IdentityPoolName": "test-with identity+pool=,.@", "AllowUnauthenticatedIdentities": true});
    assert_eq!(
        validate_cognito(CognitoOp::CreateIdentityPool, &input),
        Ok(())
    );
    // Java's \w is ASCII-only, so accented letters fail as on AWS.
    let input = json!({"IdentityPoolName": "café", "AllowUnauthenticatedIdentities": true});
    assert!(validate_cognito(CognitoOp::CreateIdentityPool, &input).is_err());
}

#[test]
fn message_kinds_table() {
    let long_name = "a".repeat(129);
    let cases: Vec<(CognitoOp, Value, String)> = vec![
        (
            CognitoOp::DescribeIdentityPool,
            json!({"IdentityPoolId": null}),
            "Value null at 'identityPoolId' failed to satisfy constraint: Member must not be null".into(),
        ),
        (
            CognitoOp::CreateIdentityPool,
            json!({"IdentityPoolName": long_name, "AllowUnauthenticatedIdentities": true}),
            format!("Value '{long_name}' at 'identityPoolName' failed to satisfy constraint: Member must have length less than or equal to 128"),
        ),
        (
            CognitoOp::GetId,
            json!({"IdentityPoolId": POOL, "AccountId": "12a"}),
            r"Value '12a' at 'accountId' failed to satisfy constraint: Member must satisfy regular expression pattern: \d+".into(),
        ),
        (
            CognitoOp::ListIdentityPools,
            json!({"MaxResults": 61}),
            "Value '61' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60".into(),
        ),
        (
            CognitoOp::ListIdentityPools,
            json!({"MaxResults": 0}),
            "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1".into(),
        ),
        (
            CognitoOp::GetOpenIdTokenForDeveloperIdentity,
            json!({"IdentityPoolId": POOL, "Logins": {"login.dev": "u"}, "TokenDuration": 86401}),
            "Value '86401' at 'tokenDuration' failed to satisfy constraint: Member must have value less than or equal to 86400".into(),
        ),
        (
            CognitoOp::SetIdentityPoolRoles,
            json!({"IdentityPoolId": POOL, "Roles": {}, "RoleMappings": {"graph.facebook.com": {"Type": "Claims"}}}),
            "Value 'Claims' at 'roleMappings.graph.facebook.com.member.type' failed to satisfy constraint: Member must satisfy enum value set: [Token, Rules]".into(),
        ),
        (
            CognitoOp::GetId,
            json!({"IdentityPoolId": POOL, "Logins": {"cognito-identity.amazonaws.com": ""}}),
            "Value '{cognito-identity.amazonaws.com=}' at 'logins' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 50000, Member must have length greater than or equal to 1]".into(),
        ),
        (
            CognitoOp::GetId,
            json!({"IdentityPoolId": POOL, "Logins": {"": "secret-token"}}),
            "Value '{=***}' at 'logins' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]".into(),
        ),
        (
            CognitoOp::CreateIdentityPool,
            json!({"IdentityPoolName": "p", "AllowUnauthenticatedIdentities": true, "OpenIdConnectProviderARNs": [ARN, "arn:short"]}),
            format!("Value '[{ARN}, arn:short]' at 'openIdConnectProviderARNs' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater than or equal to 20]"),
        ),
        (
            CognitoOp::DeleteIdentities,
            json!({"IdentityIdsToDelete": []}),
            "Value '[]' at 'identityIdsToDelete' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ),
        (
            CognitoOp::SetIdentityPoolRoles,
            json!({"IdentityPoolId": POOL, "Roles": {"guest": ARN}}),
            format!("Value '{{guest={ARN}}}' at 'roles' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: (un)?authenticated]"),
        ),
        (
            CognitoOp::SetIdentityPoolRoles,
            json!({"IdentityPoolId": POOL, "Roles": {},
                   "RoleMappings": {"p": {"Type": "Rules", "RulesConfiguration": {"Rules": []}}}}),
            "Value '[]' at 'roleMappings.p.member.rulesConfiguration.rules' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ),
        (
            CognitoOp::SetIdentityPoolRoles,
            json!({"IdentityPoolId": POOL, "Roles": {},
                   "RoleMappings": {"p": {"Type": "Rules", "RulesConfiguration": {"Rules": [
                       {"Claim": "sub", "MatchType": "Equals", "Value": "x"}]}}}}),
            "Value null at 'roleMappings.p.member.rulesConfiguration.rules.1.member.roleARN' failed to satisfy constraint: Member must not be null".into(),
        ),
    ];
    for (op, input, expected) in cases {
        assert_eq!(
            cognito_message(op, input.clone()),
            format!("{PREFIX}{expected}"),
            "{input}"
        );
    }
}

#[test]
fn several_violations_are_counted_and_joined_in_member_order() {
    let input = json!({"IdentityPoolId": "", "MaxResults": 100});
    assert_eq!(
        cognito_message(CognitoOp::ListIdentities, input),
        "3 validation errors detected: \
         Value '' at 'identityPoolId' failed to satisfy constraint: Member must have length greater than or equal to 1; \
         Value '' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+; \
         Value '100' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60"
    );
}

#[test]
fn sensitive_values_are_never_echoed() {
    let token = format!("eyJ{}", "x".repeat(50_000));
    let input = json!({"IdentityPoolId": POOL, "Logins": {"accounts.google.com": token}});
    let message = cognito_message(CognitoOp::GetId, input);
    assert!(!message.contains("eyJ"), "{message}");
    assert!(message.starts_with(&format!(
        "{PREFIX}Value '{{accounts.google.com=***}}' at 'logins'"
    )));

    let body = format!("RoleArn={ARN}&RoleSessionName=sess&WebIdentityToken=abc");
    assert_eq!(
        query_message(QueryService::Sts, "AssumeRoleWithWebIdentity", &body),
        format!(
            "{PREFIX}Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"
        )
    );
}

#[test]
fn wrong_json_types_are_serialization_errors_and_nulls_are_absent() {
    for (op, input) in [
        (
            CognitoOp::CreateIdentityPool,
            json!({"IdentityPoolName": "p", "AllowUnauthenticatedIdentities": "true"}),
        ),
        (
            CognitoOp::CreateIdentityPool,
            json!({"IdentityPoolName": 5, "AllowUnauthenticatedIdentities": true}),
        ),
        (CognitoOp::ListIdentityPools, json!({"MaxResults": "10"})),
        (
            CognitoOp::ListIdentityPools,
            json!({"MaxResults": 4_294_967_296_i64}),
        ),
        (
            CognitoOp::GetId,
            json!({"IdentityPoolId": POOL, "Logins": ["a"]}),
        ),
        (
            CognitoOp::GetId,
            json!({"IdentityPoolId": POOL, "Logins": {"a": null}}),
        ),
        (
            CognitoOp::DeleteIdentities,
            json!({"IdentityIdsToDelete": IDENTITY}),
        ),
        (CognitoOp::GetId, json!({"IdentityPoolId": {"a": 1}})),
    ] {
        let err = validate_cognito(op, &input).expect_err("wrong type");
        assert_eq!(
            (err.code.as_str(), err.status),
            ("SerializationException", 400),
            "{input}"
        );
    }
    // Type errors win over constraint violations, as deserialization comes first.
    let input = json!({"IdentityPoolName": "", "AllowUnauthenticatedIdentities": 1});
    let err = validate_cognito(CognitoOp::CreateIdentityPool, &input).unwrap_err();
    assert_eq!(err.code, "SerializationException");

    let input = json!({"IdentityPoolId": POOL, "Logins": null, "AccountId": null, "Unknown": [1]});
    assert_eq!(validate_cognito(CognitoOp::GetId, &input), Ok(()));
    assert_eq!(
        validate_cognito(CognitoOp::GetId, &json!([]))
            .unwrap_err()
            .code,
        "SerializationException"
    );
}

#[test]
fn query_message_kinds_table() {
    let iam = QueryService::Iam;
    let policy = "%7B%22Version%22%3A%222012-10-17%22%7D";
    let cases: Vec<(QueryService, &str, String, String)> = vec![
        (
            iam,
            "CreateRole",
            format!("AssumeRolePolicyDocument={policy}"),
            "Value null at 'roleName' failed to satisfy constraint: Member must not be null".into(),
        ),
        (
            iam,
            "GetRole",
            "RoleName=bad%20name".into(),
            r"Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+".into(),
        ),
        (
            iam,
            "UpdateRole",
            "RoleName=r&MaxSessionDuration=abc".into(),
            "Value 'abc' at 'maxSessionDuration' failed to satisfy constraint: Member must be a number".into(),
        ),
        (
            iam,
            "UpdateRole",
            "RoleName=r&MaxSessionDuration=60".into(),
            "Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600".into(),
        ),
        (
            iam,
            "TagRole",
            "RoleName=r&Tags.member.1.Key=ok&Tags.member.1.Value=v&Tags.member.2.Key=bad%21&Tags.member.2.Value=v".into(),
            r"Value 'bad!' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+".into(),
        ),
        (
            iam,
            "TagRole",
            "RoleName=r&Tags.member.1.Key=k".into(),
            "Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null".into(),
        ),
        (
            iam,
            "UntagRole",
            "RoleName=r&TagKeys.member.1=a&TagKeys.member.2=".into(),
            r"Value '[a, ]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+]".into(),
        ),
        (
            iam,
            "UpdateOpenIDConnectProviderThumbprint",
            format!("OpenIDConnectProviderArn={ARN}&ThumbprintList.member.1=abc"),
            "Value '[abc]' at 'thumbprintList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 40, Member must have length greater than or equal to 40]".into(),
        ),
        (
            iam,
            "PutRolePolicy",
            "RoleName=r&PolicyName=p&PolicyDocument=%C4%80".into(),
            r"Value 'Ā' at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+".into(),
        ),
        (
            iam,
            "CreateSAMLProvider",
            "Name=n&SAMLMetadataDocument=x&AssertionEncryptionMode=Maybe".into(),
            "Value 'x' at 'sAMLMetadataDocument' failed to satisfy constraint: Member must have length greater than or equal to 1000; Value 'Maybe' at 'assertionEncryptionMode' failed to satisfy constraint: Member must satisfy enum value set: [Required, Allowed]".into(),
        ),
        (
            QueryService::Sts,
            "AssumeRole",
            format!("RoleArn={ARN}&RoleSessionName=s&DurationSeconds=899"),
            "Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900".into(),
        ),
    ];
    for (service, action, body, expected) in cases {
        let message = query_message(service, action, &body);
        let count = expected.matches("failed to satisfy constraint").count();
        let head = if count == 1 {
            PREFIX.to_string()
        } else {
            format!("{count} validation errors detected: ")
        };
        assert_eq!(message, format!("{head}{expected}"), "{action} {body}");
    }
}

#[test]
fn valid_query_inputs_pass() {
    let iam = QueryService::Iam;
    let tab_policy = "%7B%09%22Version%22%3A%0D%0A%222012-10-17%22%C3%BF%7D";
    for (action, body) in [
        (
            "CreateRole",
            format!(
                "RoleName=r&Path=%2Fa%2F&AssumeRolePolicyDocument={tab_policy}&MaxSessionDuration=3600&Tags.member.1.Key=team&Tags.member.1.Value="
            ),
        ),
        ("ListRoles", "PathPrefix=%2F&MaxItems=1000".to_string()),
        ("ListOpenIDConnectProviders", String::new()),
        (
            "CreateOpenIDConnectProvider",
            format!(
                "Url=https%3A%2F%2Fidp.example&ThumbprintList.member.1={}",
                "a".repeat(40)
            ),
        ),
        ("UntagRole", "RoleName=r&TagKeys=".to_string()),
    ] {
        assert_eq!(query(iam, action, &body), Ok(()), "{action}");
    }
    let body = format!(
        "RoleArn={ARN}&RoleSessionName=session&WebIdentityToken=tok.en.sig&PolicyArns.member.1.arn={ARN}"
    );
    assert_eq!(
        query(QueryService::Sts, "AssumeRoleWithWebIdentity", &body),
        Ok(())
    );
    assert_eq!(query(QueryService::Sts, "GetCallerIdentity", ""), Ok(()));
}

#[test]
fn generator_check_passes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let has_botocore = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util,sys; sys.exit(importlib.util.find_spec('botocore') is None)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !has_botocore {
        eprintln!("skipping: python3 with botocore is not installed");
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(root.join("tools/gen_validation.py"))
        .arg("--check")
        .output()
        .expect("run generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wire_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = model::COGNITO
        .shapes
        .iter()
        .flat_map(|s| s.members.iter().map(|m| m.wire))
        .collect();
    names.extend(["authenticated", "unauthenticated", "Token", "Rules"]);
    names.sort_unstable();
    names.dedup();
    names
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,24}".prop_map(Value::from),
        "[\\w:-]{0,60}".prop_map(Value::from),
    ];
    let key = prop_oneof![
        proptest::sample::select(wire_names()).prop_map(String::from),
        "\\PC{0,10}"
    ];
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn random_json_never_panics(value in arb_json(), op in proptest::sample::select(CognitoOp::ALL.to_vec())) {
        if let Err(err) = validate_cognito(op, &value) {
            prop_assert!(err.code == "ValidationException" || err.code == "SerializationException");
            prop_assert_eq!(err.status, 400);
        }
    }

    #[test]
    fn random_query_params_never_panic(
        pairs in proptest::collection::vec((
            prop_oneof![
                proptest::sample::select(vec!["RoleName", "Tags", "Tags.member.1.Key", "Tags.member.1.Value",
                    "Tags.member.2.Key", "TagKeys.member.1", "MaxItems", "MaxSessionDuration",
                    "DurationSeconds", "PolicyArns.member.1.arn", "ThumbprintList.member.1", "Path"])
                    .prop_map(String::from),
                "[A-Za-z.0-9]{0,20}",
            ],
            "\\PC{0,12}",
        ), 0..12),
        action in proptest::sample::select(vec!["CreateRole", "TagRole", "UntagRole", "ListRoles",
            "UpdateRole", "AssumeRole", "AssumeRoleWithWebIdentity", "Nope"]),
    ) {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            form.append_pair(k, v);
        }
        let params = QueryParams::parse(form.finish().as_bytes());
        for service in [QueryService::Iam, QueryService::Sts] {
            if let Err(err) = validate_query(service, action, &params) {
                prop_assert_eq!(err.code.as_str(), "ValidationError");
            }
        }
    }
}
