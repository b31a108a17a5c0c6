"""Prepares one server for bench/oidc.sh: an IAM OIDC provider, a pool trusting it, an authenticated role, one identity.

Usage: python3 bench/oidc_setup.py ENDPOINT ACCESS_KEY SECRET_KEY IDP_JSON
IDP_JSON is what bench/oidc_idp.py wrote. Prints one JSON object: pool_id, identity_id,
login_key, notes (steps the server refused) and a probe (status and body excerpt of one
GetCredentialsForIdentity with the login, exactly as the load sends it).
"""

import json
import sys
import urllib.error
import urllib.request

import boto3
from botocore import UNSIGNED
from botocore.config import Config

REGION = "us-east-1"


def client(service, endpoint, key, secret, signed=True):
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
    if not signed:
        cfg = cfg.merge(Config(signature_version=UNSIGNED))
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)


def probe(endpoint, body):
    req = urllib.request.Request(
        endpoint + "/", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AWSCognitoIdentityService.GetCredentialsForIdentity"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return {"status": resp.status, "body": resp.read(200).decode(errors="replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read(300).decode(errors="replace")}


def first_line(e):
    return str(e).splitlines()[0][:200]


def main():
    endpoint, key, secret, idp_json = sys.argv[1:5]
    idp = json.load(open(idp_json))
    notes = []
    cognito = client("cognito-identity", endpoint, key, secret)
    iam = client("iam", endpoint, key, secret)
    unsigned = client("cognito-identity", endpoint, key, secret, signed=False)
    logins = {idp["login_key"]: idp["token"]}

    arns = []
    try:
        arns.append(iam.create_open_id_connect_provider(
            Url=idp["issuer"], ClientIDList=[idp["client_id"]], ThumbprintList=["0" * 40],
        )["OpenIDConnectProviderArn"])
    except Exception as e:
        notes.append("CreateOpenIDConnectProvider refused: " + first_line(e))
    pool_id = cognito.create_identity_pool(
        IdentityPoolName="BenchOidcPool", AllowUnauthenticatedIdentities=False,
        OpenIdConnectProviderARNs=arns,
    )["IdentityPoolId"]

    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
        }],
    }
    role_arn = iam.create_role(
        RoleName="BenchOidcAuthRole", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    try:
        cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": role_arn})
    except Exception as e:
        notes.append("SetIdentityPoolRoles refused: " + first_line(e))

    identity_id = unsigned.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    again = unsigned.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    if again != identity_id:
        notes.append(f"GetId with the same login gave another identity: {again}")
    print(json.dumps({
        "pool_id": pool_id,
        "identity_id": identity_id,
        "login_key": idp["login_key"],
        "notes": notes,
        "probe": probe(endpoint, {"IdentityId": identity_id, "Logins": logins}),
    }))


if __name__ == "__main__":
    main()
