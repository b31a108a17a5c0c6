"""idpool's OpenID tokens checked by an independent JOSE library (PyJWT): discovery, JWKS,
RS512 signature, header and claims; and a look-alike token signed by another key refused
(spec §4.11, §4.12)."""

import json
import time
import urllib.request

import boto3
import jwt
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from compat_support import CLIENT_CONFIG, REGION, pool_arn, unique

COGNITO_LOGIN = "cognito-identity.amazonaws.com"
PROVIDER = "login.example.app"
POOL_ARN_CLAIM = "https://cognito-identity.amazonaws.com/identity-pool-arn"


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message")


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.headers.get("Content-Type", "").startswith("application/json")
        return json.loads(r.read())


def signing_key(server, token):
    """Discovery document -> jwks_uri -> the key named by the token's kid, as PyJWT's key."""
    discovery = get_json(server.endpoint + "/.well-known/openid-configuration")
    assert discovery["issuer"] == server.endpoint
    assert "RS512" in discovery["id_token_signing_alg_values_supported"]
    jwks = get_json(discovery["jwks_uri"])
    kid = jwt.get_unverified_header(token)["kid"]
    matching = [k for k in jwks["keys"] if k.get("kid") == kid]
    assert len(matching) == 1, (kid, [k.get("kid") for k in jwks["keys"]])
    jwk = matching[0]
    assert (jwk["kty"], jwk["alg"], jwk["use"], jwk["e"]) == ("RSA", "RS512", "sig", "AQAB")
    assert "d" not in jwk and "p" not in jwk, "private key material in the JWKS"
    return jwt.PyJWK(jwk).key


def trust_policy(pool_id, amr):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": COGNITO_LOGIN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                },
            }
        ],
    }


def pool_with_roles(cognito, iam):
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("compat tokens "),
        AllowUnauthenticatedIdentities=True,
        DeveloperProviderName=PROVIDER,
    )["IdentityPoolId"]
    roles = {}
    for amr in ("authenticated", "unauthenticated"):
        roles[amr] = iam.create_role(
            RoleName=unique("CompatToken"),
            AssumeRolePolicyDocument=json.dumps(trust_policy(pool_id, amr)),
        )["Role"]["Arn"]
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=roles)
    return pool_id, roles


def forge(token, claims=None):
    """The same header and claims, signed by a freshly made RSA key that idpool never saw."""
    header = jwt.get_unverified_header(token)
    claims = claims or jwt.decode(token, options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS512",
                        headers={"kid": header["kid"], "typ": header["typ"]})
    assert jwt.get_unverified_header(forged)["kid"] == header["kid"]
    return forged


def test_get_open_id_token_verifies_independently(server, cognito, iam, unsigned_cognito):
    pool_id, _ = pool_with_roles(cognito, iam)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    before = int(time.time())
    token = unsigned_cognito.get_open_id_token(IdentityId=identity_id)["Token"]

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS512"
    assert header["typ"] == "JWS"
    assert header["kid"].startswith(f"{REGION}-")
    assert header["kid"][len(REGION) + 1:].isdigit(), header["kid"]
    assert set(header) == {"alg", "typ", "kid"}

    claims = jwt.decode(
        token,
        signing_key(server, token),
        algorithms=["RS512"],
        audience=pool_id,
        issuer=server.endpoint,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    assert claims["iss"] == server.endpoint
    assert claims["aud"] == pool_id
    assert claims["sub"] == identity_id
    assert claims["amr"] == ["unauthenticated"]
    assert claims["exp"] - claims["iat"] == 600
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5
    assert claims[POOL_ARN_CLAIM] == pool_arn(pool_id)
    assert "https://aws.amazon.com/tags" not in claims

    # The library refuses the token for another audience: the checks above are live.
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, signing_key(server, token), algorithms=["RS512"],
                   audience="us-east-1:00000000-0000-0000-0000-000000000000")


def test_developer_token_verifies_independently(server, cognito, iam):
    pool_id, _ = pool_with_roles(cognito, iam)
    issued = cognito.get_open_id_token_for_developer_identity(
        IdentityPoolId=pool_id, Logins={PROVIDER: "user-jwt"}, PrincipalTags={"k": "v"},
        TokenDuration=1800,
    )
    token = issued["Token"]
    claims = jwt.decode(token, signing_key(server, token), algorithms=["RS512"],
                        audience=pool_id, issuer=server.endpoint)
    assert claims["sub"] == issued["IdentityId"]
    assert claims["amr"][:2] == ["authenticated", PROVIDER]
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["https://aws.amazon.com/tags"] == {"principal_tags": {"k": ["v"]}}
    assert claims[POOL_ARN_CLAIM] == pool_arn(pool_id)


def test_token_signed_by_another_key_is_refused(server, cognito, iam, unsigned_cognito):
    pool_id, _ = pool_with_roles(cognito, iam)
    issued = cognito.get_open_id_token_for_developer_identity(
        IdentityPoolId=pool_id, Logins={PROVIDER: "user-forged"}
    )
    identity_id, token = issued["IdentityId"], issued["Token"]
    forged = forge(token)
    # Same claims, same kid; only the key differs.
    assert jwt.decode(forged, options={"verify_signature": False}) == \
        jwt.decode(token, options={"verify_signature": False})

    # PyJWT, given the key idpool publishes under that kid, refuses it too.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, signing_key(server, forged), algorithms=["RS512"], audience=pool_id)

    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(
            IdentityId=identity_id, Logins={COGNITO_LOGIN: forged}
        )
    assert error_of(e) == (
        "NotAuthorizedException",
        "Invalid login token. Couldn't verify signed token.",
    )

    # The genuine token opens the same identity.
    got = unsigned_cognito.get_credentials_for_identity(
        IdentityId=identity_id, Logins={COGNITO_LOGIN: token}
    )
    assert got["IdentityId"] == identity_id


def test_forged_authenticated_claims_do_not_reach_sts(server, cognito, iam, unsigned_cognito):
    # A guest that rewrites its own token to claim "authenticated" gets nothing from STS.
    pool_id, roles = pool_with_roles(cognito, iam)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=pool_id)["IdentityId"]
    token = unsigned_cognito.get_open_id_token(IdentityId=identity_id)["Token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["amr"] = ["authenticated", PROVIDER]
    forged = forge(token, claims)

    sts = boto3.session.Session(region_name=REGION).client(
        "sts", endpoint_url=server.endpoint,
        config=CLIENT_CONFIG.merge(Config(signature_version=UNSIGNED)),
    )
    with pytest.raises(ClientError) as e:
        sts.assume_role_with_web_identity(
            RoleArn=roles["authenticated"], RoleSessionName="forged", WebIdentityToken=forged
        )
    assert error_of(e)[0] == "InvalidIdentityToken"
    # The genuine guest token is accepted by the guest role.
    sts.assume_role_with_web_identity(
        RoleArn=roles["unauthenticated"], RoleSessionName="genuine", WebIdentityToken=token
    )
