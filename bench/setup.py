"""Prepares one server for bench/run.sh: role, identity pool, roles attachment, one guest identity.

Usage: python3 bench/setup.py ENDPOINT ACCESS_KEY SECRET_KEY
Prints one JSON object: pool_id, identity_id, role_arn, notes (steps the server refused), and
probes (status and a body excerpt of one unsigned call per benchmark scenario).
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
    # One attempt only: a server that answers 500 should show up as a note, not as retries.
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
    if not signed:
        cfg = cfg.merge(Config(signature_version=UNSIGNED))
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=cfg,
    )


def probe(endpoint, target, body):
    req = urllib.request.Request(
        endpoint + "/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityService." + target,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return {"status": resp.status, "body": resp.read(200).decode(errors="replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read(300).decode(errors="replace")}


def main():
    endpoint, key, secret = sys.argv[1:4]
    notes = []
    cognito = client("cognito-identity", endpoint, key, secret)
    iam = client("iam", endpoint, key, secret)
    guest = client("cognito-identity", endpoint, key, secret, signed=False)

    pool_id = cognito.create_identity_pool(
        IdentityPoolName="BenchPool",
        AllowUnauthenticatedIdentities=True,
        AllowClassicFlow=True,
    )["IdentityPoolId"]

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id}
                },
            }
        ],
    }
    role_arn = iam.create_role(
        RoleName="BenchGuestRole", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]

    try:
        cognito.set_identity_pool_roles(
            IdentityPoolId=pool_id, Roles={"unauthenticated": role_arn}
        )
    except Exception as e:  # moto does not implement this operation
        notes.append("SetIdentityPoolRoles refused: " + str(e).splitlines()[0][:200])

    identity_id = guest.get_id(IdentityPoolId=pool_id)["IdentityId"]

    probes = {
        "GetCredentialsForIdentity": probe(
            endpoint, "GetCredentialsForIdentity", {"IdentityId": identity_id}
        ),
        "GetId": probe(endpoint, "GetId", {"IdentityPoolId": pool_id}),
        "GetOpenIdToken": probe(endpoint, "GetOpenIdToken", {"IdentityId": identity_id}),
    }
    print(
        json.dumps(
            {
                "pool_id": pool_id,
                "identity_id": identity_id,
                "role_arn": role_arn,
                "notes": notes,
                "probes": probes,
            }
        )
    )


if __name__ == "__main__":
    main()
