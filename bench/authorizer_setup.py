"""Prepares idpool for bench/authorizer.sh and writes the questions the load sends.

Usage: python3 bench/authorizer_setup.py ENDPOINT ACCESS_KEY SECRET_KEY OUT_DIR
Creates a pool that admits guests, a guest role allowed s3:GetObject on bucket/public/*, and
one guest's credentials (enhanced flow, so the session carries the guest scope-down policy).
Then has boto3 sign S3 GetObject requests with them, without sending them anywhere, and writes
one POST /authorize body per scenario to OUT_DIR/<scenario>.json. Header signatures are valid
for 15 minutes from now, so this runs just before the load. Prints the probe answers as JSON.
"""

import json
import sys
import urllib.request

import boto3
from botocore import UNSIGNED
from botocore.config import Config

REGION = "us-east-1"
STORAGE = "http://storage.bench:9000"
KEY = "public/photo.jpg"


class Captured(Exception):
    pass


def main():
    endpoint, key, secret, out_dir = sys.argv[1:5]
    one_try = Config(retries={"max_attempts": 1, "mode": "standard"})
    cognito = boto3.client(
        "cognito-identity", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key=secret, config=one_try,
    )
    iam = boto3.client(
        "iam", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key=secret, config=one_try,
    )
    guest = boto3.client(
        "cognito-identity", endpoint_url=endpoint, region_name=REGION,
        config=one_try.merge(Config(signature_version=UNSIGNED)),
    )

    pool_id = cognito.create_identity_pool(
        IdentityPoolName="BenchAuthorizer", AllowUnauthenticatedIdentities=True
    )["IdentityPoolId"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id}},
        }],
    }
    role_arn = iam.create_role(
        RoleName="BenchStorageGuest", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="BenchStorageGuest",
        PolicyName="read-public",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": "arn:aws:s3:::bucket/public/*"}],
        }),
    )
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": role_arn})
    identity_id = guest.get_id(IdentityPoolId=pool_id)["IdentityId"]
    creds = guest.get_credentials_for_identity(IdentityId=identity_id)["Credentials"]

    s3 = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    ).client("s3", endpoint_url=STORAGE,
             config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))

    def capture(request, **_):
        raise Captured(request)

    s3.meta.events.register("before-send.s3.*", capture)
    try:
        s3.get_object(Bucket="bucket", Key=KEY)
        raise SystemExit("the S3 client sent a request")
    except Captured as c:
        request = c.args[0]
    header_form = {
        "method": request.method,
        "url": request.url,
        "headers": {k: v.decode() if isinstance(v, bytes) else v
                    for k, v in request.headers.items()},
    }
    presigned_form = {
        "method": "GET",
        "url": s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bucket", "Key": KEY}, ExpiresIn=3600
        ),
        "headers": {"Host": "storage.bench:9000", "User-Agent": "bench"},
    }
    target = {"action": "s3:GetObject", "resource": f"arn:aws:s3:::bucket/{KEY}",
              "context": {"aws:SourceIp": "203.0.113.7"}}

    probes = {}
    for scenario, form in (("header", header_form), ("presigned", presigned_form)):
        body = json.dumps({**form, **target}).encode()
        with open(f"{out_dir}/{scenario}.json", "wb") as f:
            f.write(body)
        req = urllib.request.Request(endpoint + "/authorize", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            probes[scenario] = {"status": r.status, "answer": json.loads(r.read()),
                                "bytes": len(body)}
    print(json.dumps({"pool_id": pool_id, "identity_id": identity_id, "probes": probes}))


if __name__ == "__main__":
    main()
