"""boto3 against idpool: the basic (classic) flow, GetId -> GetOpenIdToken ->
sts:AssumeRoleWithWebIdentity, with its gates and STS's refusals (spec §4.5, §4.12, §5)."""

import datetime
import json
import re
import uuid

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from compat_support import ACCOUNT_ID, CLIENT_CONFIG, REGION, unique

COGNITO_PROVIDER = "cognito-identity.amazonaws.com"


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message")


def trust_policy(pool_id, amr="unauthenticated"):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": COGNITO_PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                },
            }
        ],
    }


def create_role(iam, pool_id, amr="unauthenticated"):
    return iam.create_role(
        RoleName=unique("CompatBasic"),
        AssumeRolePolicyDocument=json.dumps(trust_policy(pool_id, amr)),
    )["Role"]


def create_pool(cognito, **kwargs):
    return cognito.create_identity_pool(
        IdentityPoolName=unique("compat basic "), AllowUnauthenticatedIdentities=True, **kwargs
    )["IdentityPoolId"]


@pytest.fixture
def unsigned_sts(server):
    config = CLIENT_CONFIG.merge(Config(signature_version=UNSIGNED))
    return boto3.session.Session(region_name=REGION).client(
        "sts", endpoint_url=server.endpoint, config=config
    )


def sts_with(server, creds):
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    return session.client("sts", endpoint_url=server.endpoint, config=CLIENT_CONFIG)


def guest_token(cognito, unsigned_cognito, **pool_kwargs):
    pool_id = create_pool(cognito, **pool_kwargs)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    got = unsigned_cognito.get_open_id_token(IdentityId=identity_id)
    assert got["IdentityId"] == identity_id
    return pool_id, identity_id, got["Token"]


def test_basic_flow_end_to_end(server, cognito, iam, unsigned_cognito, unsigned_sts):
    # AllowClassicFlow left unset: the basic flow is open (spec §4.5 gate 1).
    pool_id, identity_id, token = guest_token(cognito, unsigned_cognito)
    assert "AllowClassicFlow" not in cognito.describe_identity_pool(IdentityPoolId=pool_id)
    role = create_role(iam, pool_id)

    before = datetime.datetime.now(datetime.timezone.utc)
    assumed = unsigned_sts.assume_role_with_web_identity(
        RoleArn=role["Arn"],
        RoleSessionName="compat-basic",
        WebIdentityToken=token,
        DurationSeconds=900,
    )
    creds = assumed["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["AccessKeyId"]), creds["AccessKeyId"]
    assert len(creds["SecretAccessKey"]) == 40
    lifetime = (creds["Expiration"] - before).total_seconds()
    assert 900 - 60 <= lifetime <= 900 + 60, lifetime
    assert assumed["SubjectFromWebIdentityToken"] == identity_id
    assert assumed["Audience"] == pool_id
    assert assumed["Provider"] == COGNITO_PROVIDER
    arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role['RoleName']}/compat-basic"
    assert assumed["AssumedRoleUser"] == {
        "AssumedRoleId": f"{role['RoleId']}:compat-basic",
        "Arn": arn,
    }

    caller = sts_with(server, creds).get_caller_identity()
    assert caller["Arn"] == arn
    assert caller["UserId"] == f"{role['RoleId']}:compat-basic"
    assert caller["Account"] == ACCOUNT_ID


def test_basic_flow_with_classic_flow_enabled(cognito, iam, unsigned_cognito, unsigned_sts):
    pool_id, _, token = guest_token(cognito, unsigned_cognito, AllowClassicFlow=True)
    role = create_role(iam, pool_id)
    assumed = unsigned_sts.assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="compat-basic", WebIdentityToken=token
    )
    assert assumed["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_duration_above_role_maximum(cognito, iam, unsigned_cognito, unsigned_sts):
    pool_id, _, token = guest_token(cognito, unsigned_cognito)
    role = create_role(iam, pool_id)
    assert role.get("MaxSessionDuration", 3600) == 3600
    with pytest.raises(ClientError) as e:
        unsigned_sts.assume_role_with_web_identity(
            RoleArn=role["Arn"],
            RoleSessionName="compat-basic",
            WebIdentityToken=token,
            DurationSeconds=7200,
        )
    assert error_of(e)[0] == "ValidationError"


@pytest.mark.parametrize("mismatch", ["other_pool_aud", "authenticated_amr"])
def test_trust_mismatch_is_access_denied(cognito, iam, unsigned_cognito, unsigned_sts, mismatch):
    pool_id, _, token = guest_token(cognito, unsigned_cognito)
    if mismatch == "other_pool_aud":
        role = create_role(iam, f"us-east-1:{uuid.uuid4()}")
    else:
        role = create_role(iam, pool_id, amr="authenticated")
    with pytest.raises(ClientError) as e:
        unsigned_sts.assume_role_with_web_identity(
            RoleArn=role["Arn"], RoleSessionName="compat-basic", WebIdentityToken=token
        )
    assert error_of(e)[0] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_tampered_token_is_invalid(cognito, iam, unsigned_cognito, unsigned_sts):
    pool_id, _, token = guest_token(cognito, unsigned_cognito)
    role = create_role(iam, pool_id)
    header, payload, signature = token.split(".")
    i = len(signature) // 2
    swapped = "A" if signature[i] != "A" else "B"
    tampered = ".".join([header, payload, signature[:i] + swapped + signature[i + 1:]])
    with pytest.raises(ClientError) as e:
        unsigned_sts.assume_role_with_web_identity(
            RoleArn=role["Arn"], RoleSessionName="compat-basic", WebIdentityToken=tampered
        )
    assert error_of(e)[0] == "InvalidIdentityToken"
    # The genuine token is still good: the refusal was about the alteration.
    unsigned_sts.assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="compat-basic", WebIdentityToken=token
    )


def test_classic_flow_disabled(cognito, unsigned_cognito):
    pool_id = create_pool(cognito, AllowClassicFlow=False)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_open_id_token(IdentityId=identity_id)
    assert error_of(e) == (
        "InvalidParameterException",
        "Basic (classic) flow is not enabled, please use enhanced flow.",
    )


def test_classic_flow_refused_with_role_mappings(cognito, iam, unsigned_cognito):
    pool_id = create_pool(cognito, SupportedLoginProviders={"graph.facebook.com": "123"})
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    # Before the mapping exists the basic flow works for this guest.
    unsigned_cognito.get_open_id_token(IdentityId=identity_id)

    auth = create_role(iam, pool_id, amr="authenticated")
    unauth = create_role(iam, pool_id)
    cognito.set_identity_pool_roles(
        IdentityPoolId=pool_id,
        Roles={"authenticated": auth["Arn"], "unauthenticated": unauth["Arn"]},
        RoleMappings={
            "graph.facebook.com": {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}
        },
    )
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_open_id_token(IdentityId=identity_id)
    assert error_of(e) == (
        "InvalidParameterException",
        "Basic (classic) flow is not supported with RoleMappings, please use enhanced flow.",
    )
    # The enhanced flow is unaffected.
    unsigned_cognito.get_credentials_for_identity(IdentityId=identity_id)


def test_get_open_id_token_errors(cognito, unsigned_cognito):
    identity_id = f"us-east-1:{uuid.uuid4()}"
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_open_id_token(IdentityId=identity_id)
    assert error_of(e) == ("ResourceNotFoundException", f"Identity '{identity_id}' not found.")

    # A guest of a pool that stopped allowing guests gets no unauthenticated token.
    pool_id = create_pool(cognito)
    guest = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    cognito.update_identity_pool(
        IdentityPoolId=pool_id,
        IdentityPoolName=unique("compat basic "),
        AllowUnauthenticatedIdentities=False,
    )
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_open_id_token(IdentityId=guest)
    assert error_of(e)[0] == "NotAuthorizedException"
