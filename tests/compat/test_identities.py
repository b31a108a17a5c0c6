"""boto3 against idpool: the guest (unauthenticated) enhanced flow, its errors, and identity
administration with ListIdentities, DescribeIdentity, DeleteIdentities (spec §4.3-4.9)."""

import datetime
import json
import re
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from compat_support import ACCOUNT_ID, CLIENT_CONFIG, REGION, role_arn, unique

IDENTITY_ID_RE = re.compile(
    r"^us-east-1:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
INVALID_CONFIGURATION = (
    "Invalid identity pool configuration. Check assigned IAM roles for this pool."
)


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message")


def trust_policy(pool_id, amr="unauthenticated"):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                },
            }
        ],
    }


def create_role(iam, pool_id, amr="unauthenticated", prefix="CompatGuest"):
    name = unique(prefix)
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy(pool_id, amr))
    )["Role"]
    return role


def create_pool(cognito, **kwargs):
    kwargs.setdefault("AllowUnauthenticatedIdentities", True)
    return cognito.create_identity_pool(IdentityPoolName=unique("compat identities "), **kwargs)[
        "IdentityPoolId"
    ]


def guest_pool(cognito, iam):
    """A pool that allows guests, with a correctly trusted unauthenticated role."""
    pool_id = create_pool(cognito)
    role = create_role(iam, pool_id)
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": role["Arn"]})
    return pool_id, role


def sts_with(server, access_key, secret, token):
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=REGION,
    )
    return session.client("sts", endpoint_url=server.endpoint, config=CLIENT_CONFIG)


def alter_one_char(value):
    """The same string with its middle character replaced by another character of the same class."""
    i = len(value) // 2
    c = value[i]
    if c.isdigit():
        repl = "1" if c != "1" else "2"
    elif c.isalpha():
        repl = ("b" if c != "b" else "c") if c.islower() else ("B" if c != "B" else "C")
    else:
        repl = "A"
    return value[:i] + repl + value[i + 1:]


# --- the guest flow -------------------------------------------------------------------------


def test_guest_flow_get_id_then_credentials(server, cognito, iam, unsigned_cognito):
    pool_id, role = guest_pool(cognito, iam)

    first = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    second = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    assert IDENTITY_ID_RE.match(first), first
    assert IDENTITY_ID_RE.match(second), second
    # Every call without logins mints a new guest (clients cache the id themselves).
    assert first != second

    before = datetime.datetime.now(datetime.timezone.utc)
    got = unsigned_cognito.get_credentials_for_identity(IdentityId=first)
    assert got["IdentityId"] == first
    creds = got["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["AccessKeyId"]), creds["AccessKeyId"]
    assert len(creds["SecretKey"]) == 40
    assert creds["SessionToken"]
    expiration = creds["Expiration"]
    assert isinstance(expiration, datetime.datetime)
    lifetime = (expiration - before).total_seconds()
    assert 3600 - 60 <= lifetime <= 3600 + 60, lifetime

    sts = sts_with(server, creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"])
    caller = sts.get_caller_identity()
    assert caller["Account"] == ACCOUNT_ID
    assert caller["Arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role['RoleName']}/CognitoIdentityCredentials"
    )
    assert caller["UserId"] == f"{role['RoleId']}:CognitoIdentityCredentials"
    assert re.fullmatch(r"AROA[A-Z0-9]+:CognitoIdentityCredentials", caller["UserId"])


def test_guest_credentials_tampering_is_refused(server, cognito, iam, unsigned_cognito):
    pool_id, _ = guest_pool(cognito, iam)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    creds = unsigned_cognito.get_credentials_for_identity(IdentityId=identity_id)["Credentials"]
    key, secret, token = creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"]

    # The untouched triple works, so the failures below are the alterations' doing.
    sts_with(server, key, secret, token).get_caller_identity()

    with pytest.raises(ClientError) as e:
        sts_with(server, key, secret, alter_one_char(token)).get_caller_identity()
    assert error_of(e)[0] == "InvalidClientTokenId"

    with pytest.raises(ClientError) as e:
        sts_with(server, key, alter_one_char(secret), token).get_caller_identity()
    assert error_of(e)[0] == "SignatureDoesNotMatch"


def test_custom_role_arn(cognito, iam, unsigned_cognito):
    pool_id, role = guest_pool(cognito, iam)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    # Asking for the role the identity would get anyway is fine.
    got = unsigned_cognito.get_credentials_for_identity(
        IdentityId=identity_id, CustomRoleArn=role["Arn"]
    )
    assert got["Credentials"]["AccessKeyId"].startswith("ASIA")
    other = create_role(iam, pool_id, prefix="CompatOther")
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(
            IdentityId=identity_id, CustomRoleArn=other["Arn"]
        )
    assert error_of(e)[0] == "NotAuthorizedException"


# --- errors ---------------------------------------------------------------------------------


def test_get_id_unknown_pool(unsigned_cognito):
    pool_id = f"us-east-1:{uuid.uuid4()}"
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_id(IdentityPoolId=pool_id)
    assert error_of(e) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_id_guests_disabled(cognito, unsigned_cognito):
    pool_id = create_pool(cognito, AllowUnauthenticatedIdentities=False)
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_id(IdentityPoolId=pool_id)
    assert error_of(e) == (
        "NotAuthorizedException",
        "Unauthenticated access is not supported for this identity pool.",
    )


def test_credentials_unknown_identity(unsigned_cognito):
    identity_id = f"us-east-1:{uuid.uuid4()}"
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(IdentityId=identity_id)
    assert error_of(e) == ("ResourceNotFoundException", f"Identity '{identity_id}' not found.")


def test_credentials_without_unauthenticated_role(cognito, iam, unsigned_cognito):
    pool_id = create_pool(cognito)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    # No roles at all.
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(IdentityId=identity_id)
    assert error_of(e) == ("InvalidIdentityPoolConfigurationException", INVALID_CONFIGURATION)
    # Only an authenticated role: still nothing for a guest.
    auth_role = create_role(iam, pool_id, amr="authenticated", prefix="CompatAuth")
    cognito.set_identity_pool_roles(
        IdentityPoolId=pool_id, Roles={"authenticated": auth_role["Arn"]}
    )
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(IdentityId=identity_id)
    assert error_of(e) == ("InvalidIdentityPoolConfigurationException", INVALID_CONFIGURATION)


@pytest.mark.parametrize("mismatch", ["other_pool_aud", "authenticated_amr", "missing_role"])
def test_credentials_trust_policy_mismatch(cognito, iam, unsigned_cognito, mismatch):
    pool_id = create_pool(cognito)
    if mismatch == "other_pool_aud":
        arn = create_role(iam, f"us-east-1:{uuid.uuid4()}")["Arn"]
    elif mismatch == "authenticated_amr":
        arn = create_role(iam, pool_id, amr="authenticated")["Arn"]
    else:
        arn = role_arn(unique("CompatNoSuchRole"))
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": arn})
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(IdentityId=identity_id)
    assert error_of(e) == ("InvalidIdentityPoolConfigurationException", INVALID_CONFIGURATION)


# --- identity administration ----------------------------------------------------------------


def test_describe_identity(cognito, iam, unsigned_cognito):
    pool_id, _ = guest_pool(cognito, iam)
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    described = cognito.describe_identity(IdentityId=identity_id)
    assert described["IdentityId"] == identity_id
    assert described.get("Logins", []) == []
    for key in ("CreationDate", "LastModifiedDate"):
        assert isinstance(described[key], datetime.datetime), key
        assert before <= described[key] <= before + datetime.timedelta(seconds=120), key

    with pytest.raises(ClientError) as e:
        cognito.describe_identity(IdentityId=f"us-east-1:{uuid.uuid4()}")
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_describe_identity_lists_provider_names_only(cognito):
    pool_id = create_pool(cognito, DeveloperProviderName="login.example.app")
    user = unique("secret-user-")
    identity_id = cognito.get_open_id_token_for_developer_identity(
        IdentityPoolId=pool_id, Logins={"login.example.app": user}
    )["IdentityId"]
    described = cognito.describe_identity(IdentityId=identity_id)
    assert described["Logins"] == ["login.example.app"]
    assert user not in json.dumps(described, default=str)
    listed = cognito.list_identities(IdentityPoolId=pool_id, MaxResults=10)["Identities"]
    assert [(i["IdentityId"], i["Logins"]) for i in listed] == [
        (identity_id, ["login.example.app"])
    ]
    assert isinstance(listed[0]["CreationDate"], datetime.datetime)


def test_list_identities_paginates_every_identity_once(cognito, iam, unsigned_cognito):
    pool_id, _ = guest_pool(cognito, iam)
    created = {unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"] for _ in range(7)}
    assert len(created) == 7

    seen = []
    pages = 0
    kwargs = {"IdentityPoolId": pool_id, "MaxResults": 3}
    while True:
        page = cognito.list_identities(**kwargs)
        pages += 1
        assert page["IdentityPoolId"] == pool_id
        assert len(page["Identities"]) <= 3
        for item in page["Identities"]:
            seen.append(item["IdentityId"])
            assert isinstance(item["CreationDate"], datetime.datetime)
            assert item.get("Logins", []) == []
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_list_identities_unknown_pool(cognito):
    pool_id = f"us-east-1:{uuid.uuid4()}"
    with pytest.raises(ClientError) as e:
        cognito.list_identities(IdentityPoolId=pool_id, MaxResults=10)
    assert error_of(e) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")


def test_delete_identities(cognito, iam, unsigned_cognito):
    pool_id, _ = guest_pool(cognito, iam)
    doomed = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    kept = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]

    out = cognito.delete_identities(IdentityIdsToDelete=[doomed])
    assert out["UnprocessedIdentityIds"] == []

    with pytest.raises(ClientError) as e:
        cognito.describe_identity(IdentityId=doomed)
    assert error_of(e) == ("ResourceNotFoundException", f"Identity '{doomed}' not found.")
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(IdentityId=doomed)
    assert error_of(e) == ("ResourceNotFoundException", f"Identity '{doomed}' not found.")

    listed = cognito.list_identities(IdentityPoolId=pool_id, MaxResults=60)["Identities"]
    assert [i["IdentityId"] for i in listed] == [kept]
    unsigned_cognito.get_credentials_for_identity(IdentityId=kept)

