"""The AWS CLI (v1, from the suite's virtual environment) run as a real process against idpool."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compat_support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TRUST_POLICY, role_arn, unique

AWS = Path(sys.executable).parent / "aws"


def run_aws(server, tmp_path, *args, secret=SECRET_ACCESS_KEY):
    if not AWS.is_file():
        pytest.fail(f"{AWS} is missing: the suite must run with the .venv interpreter")
    # Nothing from the caller's AWS setup may leak in: no profile, no config, no endpoint.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(tmp_path / "aws-config-absent"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials-absent"),
        AWS_MAX_ATTEMPTS="1",
    )
    return subprocess.run(
        [str(AWS), "--endpoint-url", server.endpoint, "--output", "json", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


def ok_json(result):
    assert result.returncode == 0, f"exit {result.returncode}\nstderr: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_create_and_list_identity_pools(server, tmp_path):
    name = unique("cli pool ")
    created = ok_json(run_aws(server, tmp_path, "cognito-identity", "create-identity-pool",
                              "--identity-pool-name", name,
                              "--allow-unauthenticated-identities"))
    pool_id = created["IdentityPoolId"]
    assert created["IdentityPoolName"] == name
    assert created["AllowUnauthenticatedIdentities"] is True
    assert pool_id.startswith(f"{REGION}:")

    listed = ok_json(run_aws(server, tmp_path, "cognito-identity", "list-identity-pools",
                             "--max-results", "60"))
    assert {"IdentityPoolId": pool_id, "IdentityPoolName": name} in listed["IdentityPools"]

    described = ok_json(run_aws(server, tmp_path, "cognito-identity", "describe-identity-pool",
                                "--identity-pool-id", pool_id))
    assert described["IdentityPoolName"] == name


def test_iam_create_role(server, tmp_path):
    name = unique("CliRole")
    created = ok_json(run_aws(server, tmp_path, "iam", "create-role", "--role-name", name,
                              "--assume-role-policy-document", json.dumps(TRUST_POLICY)))
    assert created["Role"]["RoleName"] == name
    assert created["Role"]["Arn"] == role_arn(name)

    got = ok_json(run_aws(server, tmp_path, "iam", "get-role", "--role-name", name))
    assert got["Role"]["AssumeRolePolicyDocument"] == TRUST_POLICY


def test_missing_pool_error_text(server, tmp_path):
    missing = "us-east-1:00000000-0000-0000-0000-00000000c0de"
    result = run_aws(server, tmp_path, "cognito-identity", "describe-identity-pool",
                     "--identity-pool-id", missing)
    assert result.returncode != 0
    assert "(ResourceNotFoundException)" in result.stderr
    assert f"IdentityPool '{missing}' not found." in result.stderr


def test_wrong_secret_fails_with_signature_error(server, tmp_path):
    result = run_aws(server, tmp_path, "cognito-identity", "list-identity-pools",
                     "--max-results", "5", secret="definitely-wrong")
    assert result.returncode != 0
    assert result.stdout.strip() == ""
    assert "(InvalidSignatureException)" in result.stderr, result.stderr
    assert "The request signature we calculated does not match" in result.stderr

    result = run_aws(server, tmp_path, "iam", "list-roles", secret="definitely-wrong")
    assert result.returncode != 0
    assert "(SignatureDoesNotMatch)" in result.stderr, result.stderr
