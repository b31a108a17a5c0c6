"""boto3 against idpool: developer-authenticated identities, from GetOpenIdTokenForDeveloperIdentity
to the enhanced developer flow, lookups, merges, unlinking and racing first logins (spec §4.8)."""

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError

from compat_support import ACCOUNT_ID, CLIENT_CONFIG, REGION, make_client, unique

PROVIDER = "login.example.app"
COGNITO_LOGIN = "cognito-identity.amazonaws.com"
LOGINS_DONT_MATCH = (
    "Logins don't match. "
    "Please include at least one valid login for this identity or identity pool."
)


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message")


def trust_policy(pool_id, amr, tag_session=False):
    actions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"] if tag_session else (
        "sts:AssumeRoleWithWebIdentity"
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": actions,
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                },
            }
        ],
    }


def create_role(iam, pool_id, amr, tag_session=False):
    return iam.create_role(
        RoleName=unique("CompatDev"),
        AssumeRolePolicyDocument=json.dumps(trust_policy(pool_id, amr, tag_session)),
    )["Role"]


def developer_pool(cognito, iam, tag_session=False):
    """A pool with the developer provider, guests allowed, both roles correctly trusted."""
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("compat developer "),
        AllowUnauthenticatedIdentities=True,
        DeveloperProviderName=PROVIDER,
    )["IdentityPoolId"]
    auth = create_role(iam, pool_id, "authenticated", tag_session)
    unauth = create_role(iam, pool_id, "unauthenticated")
    cognito.set_identity_pool_roles(
        IdentityPoolId=pool_id,
        Roles={"authenticated": auth["Arn"], "unauthenticated": unauth["Arn"]},
    )
    return pool_id, auth, unauth


def claims_of(token):
    """The payload of a JWT, read without checking it (test_tokens.py checks signatures)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def dev_token(cognito, pool_id, user, **kwargs):
    return cognito.get_open_id_token_for_developer_identity(
        IdentityPoolId=pool_id, Logins={PROVIDER: user}, **kwargs
    )


def sts_with(server, creds):
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    return session.client("sts", endpoint_url=server.endpoint, config=CLIENT_CONFIG)


def test_same_developer_user_same_identity(cognito, iam):
    pool_id, _, _ = developer_pool(cognito, iam)
    first = dev_token(cognito, pool_id, "user-1")
    second = dev_token(cognito, pool_id, "user-1")
    assert first["IdentityId"] == second["IdentityId"]
    assert first["IdentityId"].startswith("us-east-1:")
    assert first["Token"].count(".") == 2
    other = dev_token(cognito, pool_id, "user-2")
    assert other["IdentityId"] != first["IdentityId"]

    claims = claims_of(first["Token"])
    assert claims["sub"] == first["IdentityId"]
    assert claims["aud"] == pool_id
    assert claims["amr"][:2] == ["authenticated", PROVIDER]


def test_developer_provider_must_be_the_pools(cognito, iam):
    pool_id, _, _ = developer_pool(cognito, iam)
    with pytest.raises(ClientError) as e:
        cognito.get_open_id_token_for_developer_identity(
            IdentityPoolId=pool_id, Logins={"login.other.app": "user-1"}
        )
    assert error_of(e)[1] == "This identity pool does not support the specified developer provider"


def test_linking_a_guest_makes_it_authenticated(cognito, iam, unsigned_cognito):
    pool_id, _, _ = developer_pool(cognito, iam)
    guest = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    unsigned_cognito.get_credentials_for_identity(IdentityId=guest)

    linked = cognito.get_open_id_token_for_developer_identity(
        IdentityPoolId=pool_id, IdentityId=guest, Logins={PROVIDER: "guest-user"}
    )
    assert linked["IdentityId"] == guest
    assert cognito.describe_identity(IdentityId=guest)["Logins"] == [PROVIDER]
    assert dev_token(cognito, pool_id, "guest-user")["IdentityId"] == guest

    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(IdentityId=guest)
    assert error_of(e) == ("NotAuthorizedException", LOGINS_DONT_MATCH)


def test_developer_user_already_registered(cognito, iam, unsigned_cognito):
    pool_id, _, _ = developer_pool(cognito, iam)
    owner = dev_token(cognito, pool_id, "user-1")["IdentityId"]
    guest = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with pytest.raises(ClientError) as e:
        cognito.get_open_id_token_for_developer_identity(
            IdentityPoolId=pool_id, IdentityId=guest, Logins={PROVIDER: "user-1"}
        )
    assert error_of(e)[0] == "DeveloperUserAlreadyRegisteredException"
    # Nothing moved: the guest is still a guest, the user still on its identity.
    assert cognito.describe_identity(IdentityId=guest).get("Logins", []) == []
    assert dev_token(cognito, pool_id, "user-1")["IdentityId"] == owner


def test_lookup_developer_identity_both_ways(cognito, iam):
    pool_id, _, _ = developer_pool(cognito, iam)
    identity_id = dev_token(cognito, pool_id, "user-1")["IdentityId"]

    by_user = cognito.lookup_developer_identity(
        IdentityPoolId=pool_id, DeveloperUserIdentifier="user-1"
    )
    assert by_user["IdentityId"] == identity_id
    assert "user-1" in by_user.get("DeveloperUserIdentifierList", ["user-1"])

    by_identity = cognito.lookup_developer_identity(IdentityPoolId=pool_id, IdentityId=identity_id)
    assert by_identity["IdentityId"] == identity_id
    assert by_identity["DeveloperUserIdentifierList"] == ["user-1"]

    both = cognito.lookup_developer_identity(
        IdentityPoolId=pool_id, IdentityId=identity_id, DeveloperUserIdentifier="user-1"
    )
    assert both["IdentityId"] == identity_id

    other = dev_token(cognito, pool_id, "user-2")["IdentityId"]
    with pytest.raises(ClientError) as e:
        cognito.lookup_developer_identity(
            IdentityPoolId=pool_id, IdentityId=other, DeveloperUserIdentifier="user-1"
        )
    assert error_of(e)[0] == "ResourceConflictException"

    with pytest.raises(ClientError) as e:
        cognito.lookup_developer_identity(
            IdentityPoolId=pool_id, DeveloperUserIdentifier="nobody-here"
        )
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_lookup_pagination_over_three_users(cognito, iam):
    pool_id, _, _ = developer_pool(cognito, iam)
    identity_id = dev_token(cognito, pool_id, "user-a")["IdentityId"]
    for user in ("user-b", "user-c"):
        dev_token(cognito, pool_id, user)
        merged = cognito.merge_developer_identities(
            SourceUserIdentifier=user,
            DestinationUserIdentifier="user-a",
            DeveloperProviderName=PROVIDER,
            IdentityPoolId=pool_id,
        )
        assert merged["IdentityId"] == identity_id

    seen = []
    kwargs = {"IdentityPoolId": pool_id, "IdentityId": identity_id, "MaxResults": 1}
    for _ in range(10):
        page = cognito.lookup_developer_identity(**kwargs)
        assert page["IdentityId"] == identity_id
        assert len(page["DeveloperUserIdentifierList"]) == 1
        seen.extend(page["DeveloperUserIdentifierList"])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == ["user-a", "user-b", "user-c"]


def test_merge_developer_identities(cognito, iam, unsigned_cognito):
    pool_id, _, _ = developer_pool(cognito, iam)
    source = dev_token(cognito, pool_id, "src-user")["IdentityId"]
    destination = dev_token(cognito, pool_id, "dst-user")["IdentityId"]
    assert source != destination

    merged = cognito.merge_developer_identities(
        SourceUserIdentifier="src-user",
        DestinationUserIdentifier="dst-user",
        DeveloperProviderName=PROVIDER,
        IdentityPoolId=pool_id,
    )
    assert merged["IdentityId"] == destination

    # The source user now signs in to the destination identity.
    assert dev_token(cognito, pool_id, "src-user")["IdentityId"] == destination
    users = cognito.lookup_developer_identity(IdentityPoolId=pool_id, IdentityId=destination)
    assert sorted(users["DeveloperUserIdentifierList"]) == ["dst-user", "src-user"]

    # The source identity is disabled.
    forbidden = f"Access to Identity '{source}' is forbidden."
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(IdentityId=source)
    assert error_of(e) == ("NotAuthorizedException", forbidden)
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_open_id_token(IdentityId=source)
    assert error_of(e) == ("NotAuthorizedException", forbidden)

    listed = cognito.list_identities(IdentityPoolId=pool_id, MaxResults=60)
    assert {i["IdentityId"] for i in listed["Identities"]} == {source, destination}
    shown = cognito.list_identities(IdentityPoolId=pool_id, MaxResults=60, HideDisabled=True)
    assert {i["IdentityId"] for i in shown["Identities"]} == {destination}


def test_unlink_developer_identity(cognito, iam):
    pool_id, _, _ = developer_pool(cognito, iam)
    identity_id = dev_token(cognito, pool_id, "leaving-user")["IdentityId"]
    cognito.unlink_developer_identity(
        IdentityId=identity_id,
        IdentityPoolId=pool_id,
        DeveloperProviderName=PROVIDER,
        DeveloperUserIdentifier="leaving-user",
    )
    with pytest.raises(ClientError) as e:
        cognito.lookup_developer_identity(
            IdentityPoolId=pool_id, DeveloperUserIdentifier="leaving-user"
        )
    assert error_of(e)[0] == "ResourceNotFoundException"
    assert cognito.describe_identity(IdentityId=identity_id).get("Logins", []) == []
    # The user is new the next time it is seen.
    again = dev_token(cognito, pool_id, "leaving-user")["IdentityId"]
    assert again != identity_id


def test_enhanced_developer_flow_uses_authenticated_role(server, cognito, iam, unsigned_cognito):
    pool_id, auth, _ = developer_pool(cognito, iam)
    issued = dev_token(cognito, pool_id, "user-enhanced")
    identity_id = issued["IdentityId"]

    got = unsigned_cognito.get_credentials_for_identity(
        IdentityId=identity_id, Logins={COGNITO_LOGIN: issued["Token"]}
    )
    assert got["IdentityId"] == identity_id
    creds = got["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    caller = sts_with(server, creds).get_caller_identity()
    assert caller["Arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{auth['RoleName']}/CognitoIdentityCredentials"
    )
    assert caller["UserId"] == f"{auth['RoleId']}:CognitoIdentityCredentials"

    # Another identity's token does not open this one.
    other = dev_token(cognito, pool_id, "user-someone-else")["Token"]
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(
            IdentityId=identity_id, Logins={COGNITO_LOGIN: other}
        )
    assert error_of(e)[0] == "NotAuthorizedException"


def test_enhanced_developer_flow_without_authenticated_role(cognito, iam, unsigned_cognito):
    pool_id, _, unauth = developer_pool(cognito, iam)
    cognito.set_identity_pool_roles(
        IdentityPoolId=pool_id, Roles={"unauthenticated": unauth["Arn"]}
    )
    issued = dev_token(cognito, pool_id, "user-no-role")
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(
            IdentityId=issued["IdentityId"], Logins={COGNITO_LOGIN: issued["Token"]}
        )
    assert error_of(e) == (
        "InvalidIdentityPoolConfigurationException",
        "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
    )


@pytest.mark.parametrize("duration", [None, 1234, 86400])
def test_token_duration(cognito, iam, duration):
    pool_id, _, _ = developer_pool(cognito, iam)
    kwargs = {} if duration is None else {"TokenDuration": duration}
    claims = claims_of(dev_token(cognito, pool_id, "user-duration", **kwargs)["Token"])
    assert claims["exp"] - claims["iat"] == (900 if duration is None else duration)


def test_principal_tags_in_token_and_session(server, cognito, iam, unsigned_cognito):
    pool_id, auth, _ = developer_pool(cognito, iam, tag_session=True)
    issued = dev_token(cognito, pool_id, "user-tags", PrincipalTags={"k": "v", "team": "blue"})
    claims = claims_of(issued["Token"])
    assert claims["https://aws.amazon.com/tags"] == {
        "principal_tags": {"k": ["v"], "team": ["blue"]}
    }
    got = unsigned_cognito.get_credentials_for_identity(
        IdentityId=issued["IdentityId"], Logins={COGNITO_LOGIN: issued["Token"]}
    )
    caller = sts_with(server, got["Credentials"]).get_caller_identity()
    assert caller["Arn"].endswith(f"assumed-role/{auth['RoleName']}/CognitoIdentityCredentials")

    # Without tags the claim is absent.
    plain = claims_of(dev_token(cognito, pool_id, "user-no-tags")["Token"])
    assert "https://aws.amazon.com/tags" not in plain


def test_principal_tags_need_tag_session_in_trust(cognito, iam, unsigned_cognito):
    pool_id, _, _ = developer_pool(cognito, iam, tag_session=False)
    issued = dev_token(cognito, pool_id, "user-tags", PrincipalTags={"k": "v"})
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(
            IdentityId=issued["IdentityId"], Logins={COGNITO_LOGIN: issued["Token"]}
        )
    assert error_of(e)[0] == "InvalidIdentityPoolConfigurationException"


def test_concurrent_first_logins_share_one_identity(server, cognito, iam):
    pool_id, _, _ = developer_pool(cognito, iam)
    user = unique("racing-user-")
    workers = 16
    # Clients are built up front: building them is not thread-safe, using them is.
    clients = [make_client(server, "cognito-identity") for _ in range(workers)]
    barrier = threading.Barrier(workers)

    def call(client):
        barrier.wait(timeout=30)
        return client.get_open_id_token_for_developer_identity(
            IdentityPoolId=pool_id, Logins={PROVIDER: user}
        )["IdentityId"]

    with ThreadPoolExecutor(max_workers=workers) as executor:
        ids = list(executor.map(call, clients))
    assert len(ids) == workers
    assert len(set(ids)) == 1, set(ids)

    listed = cognito.list_identities(IdentityPoolId=pool_id, MaxResults=60)["Identities"]
    assert [i["IdentityId"] for i in listed] == ids[:1]
    looked_up = cognito.lookup_developer_identity(
        IdentityPoolId=pool_id, DeveloperUserIdentifier=user
    )
    assert looked_up["IdentityId"] == ids[0]
