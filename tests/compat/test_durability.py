"""What boto3 wrote survives a SIGKILL of the server and a restart on the same data directory."""

import json

from compat_support import S3_READ_POLICY, TRUST_POLICY, make_client, pool_arn, unique


def test_state_survives_sigkill(server, crash_restart_server):
    cognito, iam = make_client(server, "cognito-identity"), make_client(server, "iam")
    role = unique("DurableRole")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))[
        "Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="read",
                        PolicyDocument=json.dumps(S3_READ_POLICY))
    name = unique("durable pool ")
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=name, AllowUnauthenticatedIdentities=True,
        IdentityPoolTags={"created": "before-crash"},
    )["IdentityPoolId"]
    cognito.tag_resource(ResourceArn=pool_arn(pool_id), Tags={"tagged": "later"})
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": arn})
    old_pid = server.proc.pid

    crash_restart_server()
    assert server.proc.pid != old_pid

    # Fresh clients: the old ones hold sockets to the killed process.
    cognito, iam = make_client(server, "cognito-identity"), make_client(server, "iam")
    pool = cognito.describe_identity_pool(IdentityPoolId=pool_id)
    assert pool["IdentityPoolName"] == name
    assert pool["AllowUnauthenticatedIdentities"] is True
    assert cognito.list_tags_for_resource(ResourceArn=pool_arn(pool_id))["Tags"] == {
        "created": "before-crash", "tagged": "later"}
    assert cognito.get_identity_pool_roles(IdentityPoolId=pool_id)["Roles"] == {
        "unauthenticated": arn}
    got = iam.get_role(RoleName=role)["Role"]
    assert got["Arn"] == arn
    assert got["AssumeRolePolicyDocument"] == TRUST_POLICY
    assert iam.get_role_policy(RoleName=role, PolicyName="read")["PolicyDocument"] == S3_READ_POLICY


def test_state_survives_clean_restart(server, restart_server):
    cognito = make_client(server, "cognito-identity")
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("restart"), AllowUnauthenticatedIdentities=False
    )["IdentityPoolId"]
    # SIGTERM must end the server cleanly, not by the fallback SIGKILL.
    assert restart_server() == 0
    cognito = make_client(server, "cognito-identity")
    assert cognito.describe_identity_pool(IdentityPoolId=pool_id)["IdentityPoolId"] == pool_id
