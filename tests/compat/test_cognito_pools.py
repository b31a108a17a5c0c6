"""boto3 cognito-identity against idpool: pool administration, roles, tags, principal tags, errors."""

import json
import re

import pytest
from botocore.exceptions import ClientError

from compat_support import (
    S3_READ_POLICY,
    TRUST_POLICY,
    cognito_raw,
    pool_arn,
    unique,
)

POOL_ID_RE = re.compile(r"^us-east-1:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
USER_POOL = "cognito-idp.us-east-1.amazonaws.com/us-east-1_CompatPool"
USER_POOL_CLIENT = "compatclient123"


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message")


def make_role(iam, name):
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]


def test_create_describe_update_delete(cognito):
    name = unique("compat pool ")
    created = cognito.create_identity_pool(
        IdentityPoolName=name,
        AllowUnauthenticatedIdentities=True,
        SupportedLoginProviders={"accounts.google.com": "google-client.apps"},
        DeveloperProviderName="login.compat.app",
        IdentityPoolTags={"team": "compat"},
    )
    pool_id = created["IdentityPoolId"]
    assert POOL_ID_RE.match(pool_id), pool_id
    assert created["IdentityPoolName"] == name
    assert created["AllowUnauthenticatedIdentities"] is True
    assert created["SupportedLoginProviders"] == {"accounts.google.com": "google-client.apps"}
    assert created["DeveloperProviderName"] == "login.compat.app"
    assert created["IdentityPoolTags"] == {"team": "compat"}

    described = cognito.describe_identity_pool(IdentityPoolId=pool_id)
    for key in ("IdentityPoolId", "IdentityPoolName", "AllowUnauthenticatedIdentities",
                "SupportedLoginProviders", "DeveloperProviderName", "IdentityPoolTags"):
        assert described[key] == created[key], key

    updated = cognito.update_identity_pool(
        IdentityPoolId=pool_id,
        IdentityPoolName=name + " renamed",
        AllowUnauthenticatedIdentities=False,
        AllowClassicFlow=True,
        CognitoIdentityProviders=[{"ProviderName": USER_POOL, "ClientId": USER_POOL_CLIENT}],
    )
    assert updated["IdentityPoolName"] == name + " renamed"
    assert updated["AllowUnauthenticatedIdentities"] is False
    assert updated["AllowClassicFlow"] is True
    # Write-once: leaving it out of an update keeps it.
    assert updated["DeveloperProviderName"] == "login.compat.app"
    described = cognito.describe_identity_pool(IdentityPoolId=pool_id)
    assert described["IdentityPoolName"] == name + " renamed"
    assert described["AllowUnauthenticatedIdentities"] is False
    providers = described["CognitoIdentityProviders"]
    assert [(p["ProviderName"], p["ClientId"]) for p in providers] == [(USER_POOL, USER_POOL_CLIENT)]
    # Replace semantics: a member left out of the update is gone.
    assert "SupportedLoginProviders" not in described or not described["SupportedLoginProviders"]

    cognito.delete_identity_pool(IdentityPoolId=pool_id)
    with pytest.raises(ClientError) as e:
        cognito.describe_identity_pool(IdentityPoolId=pool_id)
    assert error_of(e) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_server_side_token_check_round_trips(cognito):
    pool = cognito.create_identity_pool(
        IdentityPoolName=unique("sstc"), AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {"ProviderName": USER_POOL, "ClientId": "checked", "ServerSideTokenCheck": True},
            {"ProviderName": USER_POOL, "ClientId": "unchecked", "ServerSideTokenCheck": False},
            {"ProviderName": USER_POOL, "ClientId": "unsaid"},
        ],
    )
    described = cognito.describe_identity_pool(IdentityPoolId=pool["IdentityPoolId"])
    for answer in (pool, described):
        checks = {p["ClientId"]: p.get("ServerSideTokenCheck") for p in
                  answer["CognitoIdentityProviders"]}
        assert checks["checked"] is True
        assert checks["unchecked"] is False
        # The model's default is false; whether AWS prints it when unsaid is not established.
        assert checks["unsaid"] in (None, False)


def test_unknown_pool_is_not_found_everywhere(cognito):
    missing = "us-east-1:00000000-0000-0000-0000-000000000000"
    expected = ("ResourceNotFoundException", f"IdentityPool '{missing}' not found.")
    calls = [
        lambda: cognito.describe_identity_pool(IdentityPoolId=missing),
        lambda: cognito.delete_identity_pool(IdentityPoolId=missing),
        lambda: cognito.get_identity_pool_roles(IdentityPoolId=missing),
        lambda: cognito.update_identity_pool(
            IdentityPoolId=missing, IdentityPoolName="x", AllowUnauthenticatedIdentities=False
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e) == expected


def test_list_identity_pools_paginates(cognito):
    ids = set()
    for i in range(5):
        ids.add(cognito.create_identity_pool(
            IdentityPoolName=unique(f"page{i}"), AllowUnauthenticatedIdentities=False
        )["IdentityPoolId"])

    seen = []
    pages = 0
    paginator = cognito.get_paginator("list_identity_pools")
    for page in paginator.paginate(MaxResults=2):
        pages += 1
        assert len(page["IdentityPools"]) <= 2
        for p in page["IdentityPools"]:
            assert set(p) == {"IdentityPoolId", "IdentityPoolName"}
            seen.append(p["IdentityPoolId"])
    assert pages >= 3
    assert len(seen) == len(set(seen)), "a pool was listed twice"
    assert ids <= set(seen)

    first = cognito.list_identity_pools(MaxResults=1)
    assert len(first["IdentityPools"]) == 1 and "NextToken" in first


def test_roles_and_role_mappings(cognito, iam):
    auth_arn = make_role(iam, unique("CompatAuth"))
    unauth_arn = make_role(iam, unique("CompatUnauth"))
    rule_arn = make_role(iam, unique("CompatRule"))
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("roles"),
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[{"ProviderName": USER_POOL, "ClientId": USER_POOL_CLIENT}],
        SupportedLoginProviders={"accounts.google.com": "google-client"},
    )["IdentityPoolId"]

    mappings = {
        f"{USER_POOL}:{USER_POOL_CLIENT}": {
            "Type": "Rules",
            "AmbiguousRoleResolution": "AuthenticatedRole",
            "RulesConfiguration": {
                "Rules": [
                    {"Claim": "custom:tier", "MatchType": "Equals", "Value": "gold",
                     "RoleARN": rule_arn},
                    {"Claim": "email", "MatchType": "Contains", "Value": "@example.com",
                     "RoleARN": rule_arn},
                ]
            },
        },
        "accounts.google.com": {"Type": "Token", "AmbiguousRoleResolution": "Deny"},
    }
    cognito.set_identity_pool_roles(
        IdentityPoolId=pool_id,
        Roles={"authenticated": auth_arn, "unauthenticated": unauth_arn},
        RoleMappings=mappings,
    )
    got = cognito.get_identity_pool_roles(IdentityPoolId=pool_id)
    assert got["IdentityPoolId"] == pool_id
    assert got["Roles"] == {"authenticated": auth_arn, "unauthenticated": unauth_arn}
    assert got["RoleMappings"] == mappings

    # Replacing without mappings drops them.
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": auth_arn})
    got = cognito.get_identity_pool_roles(IdentityPoolId=pool_id)
    assert got["Roles"] == {"authenticated": auth_arn}
    assert not got.get("RoleMappings")


def test_role_that_cannot_be_passed_is_forbidden(server, cognito):
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("forbid"), AllowUnauthenticatedIdentities=True
    )["IdentityPoolId"]
    # A bare role name long enough for botocore's 20-character minimum.
    name = "Cognito_Unauth_Role_Name"
    with pytest.raises(ClientError) as e:
        cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": name})
    assert error_of(e) == ("NotAuthorizedException", f"Access to Role '{name}' is forbidden.")

    # 'x' is shorter than the model's 20-character minimum for a role value, which the
    # framework checks before the role is looked at: botocore would not send it, raw HTTP does.
    r = cognito_raw(server, "SetIdentityPoolRoles",
                    {"IdentityPoolId": pool_id, "Roles": {"unauthenticated": "x"}})
    assert r.status == 400
    assert r.json() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value '{unauthenticated=x}' at 'roles' failed "
                   "to satisfy constraint: Map value must satisfy constraint: [Member must have "
                   "length less than or equal to 2048, Member must have length greater than or "
                   "equal to 20]",
    }
    assert not cognito.get_identity_pool_roles(IdentityPoolId=pool_id).get("Roles")


def test_role_mapping_for_unconfigured_provider(cognito, iam):
    arn = make_role(iam, unique("CompatMapped"))
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("badmap"), AllowUnauthenticatedIdentities=False
    )["IdentityPoolId"]
    with pytest.raises(ClientError) as e:
        cognito.set_identity_pool_roles(
            IdentityPoolId=pool_id,
            Roles={"authenticated": arn},
            RoleMappings={"graph.facebook.com": {"Type": "Token",
                                                 "AmbiguousRoleResolution": "Deny"}},
        )
    assert error_of(e) == (
        "InvalidParameterException",
        "graph.facebook.com is not a valid RoleMapping ProviderName or is not a configured provider.",
    )


def test_tags(cognito):
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("tags"), AllowUnauthenticatedIdentities=False,
        IdentityPoolTags={"a": "1"},
    )["IdentityPoolId"]
    arn = pool_arn(pool_id)
    assert cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "1"}
    cognito.tag_resource(ResourceArn=arn, Tags={"b": "2", "c": ""})
    assert cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "1", "b": "2", "c": ""}
    cognito.untag_resource(ResourceArn=arn, TagKeys=["a", "not-there"])
    assert cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2", "c": ""}
    assert cognito.describe_identity_pool(IdentityPoolId=pool_id)["IdentityPoolTags"] == {
        "b": "2", "c": ""}


def test_principal_tag_attribute_map(cognito):
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("ptags"), AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": USER_POOL, "ClientId": USER_POOL_CLIENT}],
    )["IdentityPoolId"]
    answer = cognito.set_principal_tag_attribute_map(
        IdentityPoolId=pool_id,
        IdentityProviderName=USER_POOL,
        UseDefaults=False,
        PrincipalTags={"app_id": "aud", "user_id": "sub"},
    )
    assert answer["IdentityPoolId"] == pool_id
    assert answer["IdentityProviderName"] == USER_POOL
    assert answer["UseDefaults"] is False
    assert answer["PrincipalTags"] == {"app_id": "aud", "user_id": "sub"}

    got = cognito.get_principal_tag_attribute_map(
        IdentityPoolId=pool_id, IdentityProviderName=USER_POOL)
    assert got["UseDefaults"] is False
    assert got["PrincipalTags"] == {"app_id": "aud", "user_id": "sub"}

    cognito.set_principal_tag_attribute_map(
        IdentityPoolId=pool_id, IdentityProviderName=USER_POOL, UseDefaults=True)
    got = cognito.get_principal_tag_attribute_map(
        IdentityPoolId=pool_id, IdentityProviderName=USER_POOL)
    assert got["UseDefaults"] is True


def test_bad_pool_name_is_a_validation_error(server, cognito):
    # botocore does not check patterns, so this one goes through boto3 itself.
    with pytest.raises(ClientError) as e:
        cognito.create_identity_pool(IdentityPoolName="test/with:identity#pool",
                                     AllowUnauthenticatedIdentities=False)
    assert error_of(e) == (
        "ValidationException",
        "1 validation error detected: Value 'test/with:identity#pool' at 'identityPoolName' "
        r"failed to satisfy constraint: Member must satisfy regular expression pattern: "
        r"[\w\s+=,.@-]+",
    )

    # botocore refuses these before sending (min length, required member): raw HTTP it is.
    r = cognito_raw(server, "CreateIdentityPool",
                    {"IdentityPoolName": "", "AllowUnauthenticatedIdentities": False})
    assert r.status == 400
    body = r.json()
    assert body["__type"] == "ValidationException"
    assert re.match(r"\d validation errors? detected: ", body["message"]), body["message"]
    assert ("Value '' at 'identityPoolName' failed to satisfy constraint: Member must have "
            "length greater than or equal to 1") in body["message"]

    r = cognito_raw(server, "CreateIdentityPool", {"AllowUnauthenticatedIdentities": False})
    assert r.status == 400
    assert r.json() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value null at 'identityPoolName' failed to "
                   "satisfy constraint: Member must not be null",
    }

    too_long = "p" * 129
    r = cognito_raw(server, "CreateIdentityPool",
                    {"IdentityPoolName": too_long, "AllowUnauthenticatedIdentities": False})
    assert r.status == 400
    assert r.json()["message"] == (
        f"1 validation error detected: Value '{too_long}' at 'identityPoolName' failed to "
        "satisfy constraint: Member must have length less than or equal to 128"
    )


def test_list_max_results_out_of_range(server):
    r = cognito_raw(server, "ListIdentityPools", {"MaxResults": 61})
    assert r.status == 400
    assert r.json() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value '61' at 'maxResults' failed to satisfy "
                   "constraint: Member must have value less than or equal to 60",
    }


def test_role_policies_are_unrelated_to_pool_roles(cognito, iam):
    """A role with an inline policy is still just a role ARN to the pool."""
    name = unique("CompatWithPolicy")
    arn = make_role(iam, name)
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(S3_READ_POLICY))
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("withpolicy"), AllowUnauthenticatedIdentities=True
    )["IdentityPoolId"]
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": arn})
    assert cognito.get_identity_pool_roles(IdentityPoolId=pool_id)["Roles"] == {
        "unauthenticated": arn}
