"""The authorizer for resource servers (POST /authorize) on S3 requests signed by boto3 with
credentials from the guest and developer-authenticated flows: who may read and write where, and
which signatures are refused and why; and on a DynamoDB request whose body the authorizer knows
only by its hash (design.md "The authorizer for resource servers")."""

import datetime
import hashlib
import json
import time
import urllib.error
import urllib.request

import boto3
import botocore.auth
import pytest
from botocore.config import Config

from compat_support import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    REGION,
    SECRET_ACCESS_KEY,
    make_client,
    role_arn,
    unique,
)

PROVIDER = "login.storage.test"
COGNITO_LOGIN = "cognito-identity.amazonaws.com"
BUCKET = "bucket"
# Requests are signed for this storage endpoint and never sent there: each is captured just
# before it would leave and handed to the authorizer instead.
STORAGE = "http://storage.test:9000"
STORAGE_TLS = "https://storage.test"
TABLES = "http://tables.test:8000"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/notes"

GUEST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/public/*"}
    ],
}
USER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": f"arn:aws:s3:::{BUCKET}/user-${{cognito-identity.amazonaws.com:sub}}/*",
        },
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN},
    ],
}


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


@pytest.fixture(scope="module")
def storage(server):
    """A pool whose guests may read public/ and whose users may write their own prefix, with
    credentials for one guest and two developer-authenticated users, A and B."""
    cognito = make_client(server, "cognito-identity")
    iam = make_client(server, "iam")
    unsigned = boto3.session.Session(region_name=REGION).client(
        "cognito-identity",
        endpoint_url=server.endpoint,
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("authorizer "),
        AllowUnauthenticatedIdentities=True,
        DeveloperProviderName=PROVIDER,
    )["IdentityPoolId"]
    roles = {}
    for kind, amr, policy in (
        ("unauthenticated", "unauthenticated", GUEST_POLICY),
        ("authenticated", "authenticated", USER_POLICY),
    ):
        name = unique(f"Storage{kind.capitalize()}")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy(pool_id, amr)))
        iam.put_role_policy(RoleName=name, PolicyName="storage", PolicyDocument=json.dumps(policy))
        roles[kind] = role_arn(name)
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=roles)

    guest_id = unsigned.get_id(IdentityPoolId=pool_id)["IdentityId"]
    guest = unsigned.get_credentials_for_identity(IdentityId=guest_id)["Credentials"]
    users = {}
    for user in ("alice", "bob"):
        got = cognito.get_open_id_token_for_developer_identity(
            IdentityPoolId=pool_id, Logins={PROVIDER: user}
        )
        creds = unsigned.get_credentials_for_identity(
            IdentityId=got["IdentityId"], Logins={COGNITO_LOGIN: got["Token"]}
        )["Credentials"]
        users[user] = (got["IdentityId"], creds)
    return {
        "pool_id": pool_id,
        "roles": roles,
        "guest": (guest_id, guest),
        "a": users["alice"],
        "b": users["bob"],
    }


class Captured(Exception):
    """Carries the fully signed request out of botocore instead of sending it."""


def s3_client(creds, endpoint=STORAGE, addressing="path", signature_version="s3v4"):
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds.get("SessionToken"),
        region_name=REGION,
    )
    return session.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(
            s3={"addressing_style": addressing},
            signature_version=signature_version,
            retries={"max_attempts": 1},
        ),
    )


def signed(creds, operation, endpoint=STORAGE, addressing="path", **params):
    """The S3 request boto3 would send for `operation`: method, URL and headers as signed."""
    client = s3_client(creds, endpoint, addressing)

    def capture(request, **_):
        raise Captured(request)

    client.meta.events.register("before-send.s3.*", capture)
    with pytest.raises(Captured) as caught:
        getattr(client, operation)(**params)
    return as_question(caught.value.args[0])


def as_question(request):
    """A prepared botocore request as the JSON question's method, url and headers."""
    return {
        "method": request.method,
        "url": request.url,
        "headers": {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()},
    }


def post_authorize(server, body):
    req = urllib.request.Request(
        server.endpoint + "/authorize",
        data=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def ask(server, request, action, key, **extra):
    """What the resource server does: pass the request on with the action and object it means."""
    status, answer = post_authorize(
        server,
        {**request, "action": action, "resource": f"arn:aws:s3:::{BUCKET}/{key}", **extra},
    )
    assert status == 200, answer
    assert answer["decision"] in ("Allow", "Deny")
    return answer


def get(creds, key, **kw):
    return signed(creds, "get_object", Bucket=BUCKET, Key=key, **kw)


def put(creds, key, **kw):
    return signed(creds, "put_object", Bucket=BUCKET, Key=key, Body=b"hello storage", **kw)


def assert_allowed(answer, identity_id, role):
    assert answer["decision"] == "Allow", answer
    assert answer["reason"] == "allowed by policy"
    p = answer["principal"]
    assert p["identityId"] == identity_id
    assert p["roleArn"] == role
    assert p["sessionName"] == "CognitoIdentityCredentials"
    assert p["arn"] == (
        f"arn:aws:sts::000000000000:assumed-role/{role.rsplit('/', 1)[1]}/CognitoIdentityCredentials"
    )
    assert p["tags"] == {}


def assert_denied_by_policy(answer, identity_id):
    assert answer["decision"] == "Deny", answer
    assert answer["reason"] == "no policy allows"
    assert answer["principal"]["identityId"] == identity_id


def assert_refused(answer, reason):
    assert answer["decision"] == "Deny", answer
    assert reason in answer["reason"], answer
    assert "principal" not in answer


# ---- the guest ----


def test_guest_reads_public_objects(server, storage):
    guest_id, guest = storage["guest"]
    answer = ask(server, get(guest, "public/photo.jpg"), "s3:GetObject", "public/photo.jpg")
    assert_allowed(answer, guest_id, storage["roles"]["unauthenticated"])
    assert answer["principal"]["poolId"] == storage["pool_id"]

    # Keys that need encoding, virtual-hosted addressing and TLS endpoints sign differently.
    key = "public/summer 2026/a+b=c&d~é.jpg"
    answer = ask(server, get(guest, key), "s3:GetObject", key)
    assert answer["decision"] == "Allow", answer
    request = get(guest, "public/photo.jpg", endpoint=STORAGE_TLS, addressing="virtual")
    assert request["url"].startswith("https://bucket.storage.test/public/")
    assert ask(server, request, "s3:GetObject", "public/photo.jpg")["decision"] == "Allow"


def test_guest_can_do_nothing_else(server, storage):
    guest_id, guest = storage["guest"]
    assert_denied_by_policy(
        ask(server, get(guest, "private/photo.jpg"), "s3:GetObject", "private/photo.jpg"), guest_id
    )
    assert_denied_by_policy(
        ask(server, put(guest, "public/photo.jpg"), "s3:PutObject", "public/photo.jpg"), guest_id
    )
    delete = signed(guest, "delete_object", Bucket=BUCKET, Key="public/photo.jpg")
    assert_denied_by_policy(ask(server, delete, "s3:DeleteObject", "public/photo.jpg"), guest_id)
    listing = signed(guest, "list_objects_v2", Bucket=BUCKET, Prefix="public/")
    status, answer = post_authorize(
        server, {**listing, "action": "s3:ListBucket", "resource": f"arn:aws:s3:::{BUCKET}"}
    )
    assert status == 200
    assert_denied_by_policy(answer, guest_id)
    own = f"user-{guest_id}/photo.jpg"
    assert_denied_by_policy(ask(server, get(guest, own), "s3:GetObject", own), guest_id)


def test_guest_presigned_url(server, storage):
    guest_id, guest = storage["guest"]
    url = s3_client(guest).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "public/photo.jpg"}, ExpiresIn=300
    )
    assert "X-Amz-Signature=" in url and "X-Amz-Security-Token=" in url
    # A browser following the link sends no AWS headers at all.
    request = {"method": "GET", "url": url, "headers": {"Host": "storage.test:9000"}}
    answer = ask(server, request, "s3:GetObject", "public/photo.jpg")
    assert_allowed(answer, guest_id, storage["roles"]["unauthenticated"])
    # The link is for one object only.
    other = {**request, "url": url.replace("photo.jpg", "other.jpg")}
    assert_refused(ask(server, other, "s3:GetObject", "public/other.jpg"), "bad signature")

    # Left to its defaults botocore may presign with the retired Signature Version 2, which
    # carries no SigV4 signature at all.
    v2 = s3_client(guest, signature_version="s3").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "public/photo.jpg"}, ExpiresIn=300
    )
    assert "Signature=" in v2 and "X-Amz-Signature" not in v2
    request = {"method": "GET", "url": v2, "headers": {}}
    assert_refused(ask(server, request, "s3:GetObject", "public/photo.jpg"), "missing signature")


# ---- authenticated users ----


def test_user_writes_under_own_identity_only(server, storage):
    a_id, a = storage["a"]
    b_id, b = storage["b"]
    role = storage["roles"]["authenticated"]
    a_key = f"user-{a_id}/notes.txt"
    b_key = f"user-{b_id}/notes.txt"

    answer = ask(server, put(a, a_key), "s3:PutObject", a_key)
    assert_allowed(answer, a_id, role)
    assert ask(server, get(a, a_key), "s3:GetObject", a_key)["decision"] == "Allow"
    assert_denied_by_policy(ask(server, put(a, b_key), "s3:PutObject", b_key), a_id)
    assert_denied_by_policy(ask(server, get(a, b_key), "s3:GetObject", b_key), a_id)

    assert_allowed(ask(server, put(b, b_key), "s3:PutObject", b_key), b_id, role)
    assert_denied_by_policy(ask(server, put(b, a_key), "s3:PutObject", a_key), b_id)


def test_user_upload_payload_modes(server, storage):
    """Over plain HTTP boto3 signs the body's SHA-256; over TLS it streams the body as
    aws-chunked with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    a_id, a = storage["a"]
    key = f"user-{a_id}/upload.bin"
    plain = put(a, key)
    declared = {k.lower(): v for k, v in plain["headers"].items()}["x-amz-content-sha256"]
    assert len(declared) == 64
    assert ask(server, plain, "s3:PutObject", key)["decision"] == "Allow"

    streamed = put(a, key, endpoint=STORAGE_TLS)
    declared = {k.lower(): v for k, v in streamed["headers"].items()}["x-amz-content-sha256"]
    assert declared == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", declared
    assert ask(server, streamed, "s3:PutObject", key)["decision"] == "Allow"

    # The declared payload hash is covered by the signature.
    forged = json.loads(json.dumps(plain))
    for name in list(forged["headers"]):
        if name.lower() == "x-amz-content-sha256":
            forged["headers"][name] = "UNSIGNED-PAYLOAD"
    assert_refused(ask(server, forged, "s3:PutObject", key), "bad signature")


def test_a_request_signed_for_a_is_not_one_for_b(server, storage):
    a_id, a = storage["a"]
    b_id, _ = storage["b"]
    request = put(a, f"user-{a_id}/notes.txt")
    # The path carries the identity id with its colon percent-encoded; swap the uuid part.
    a_uuid, b_uuid = a_id.split(":")[1], b_id.split(":")[1]
    assert a_uuid in request["url"]
    moved = {**request, "url": request["url"].replace(a_uuid, b_uuid)}
    assert_refused(ask(server, moved, "s3:PutObject", f"user-{b_id}/notes.txt"), "bad signature")
    # Nor may the resource server's question widen what was signed: GET signed, PUT asked.
    as_put = {**get(a, f"user-{a_id}/notes.txt"), "method": "PUT"}
    assert_refused(ask(server, as_put, "s3:PutObject", f"user-{a_id}/notes.txt"), "bad signature")


# ---- other services: the body by its hash ----


def get_item(creds, table="notes", item_id="1"):
    """A DynamoDB GetItem as boto3 signs it: a POST whose JSON body the signature covers, with
    no x-amz-content-sha256 header. Returns the question's request part and the body."""
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds.get("SessionToken"),
        region_name=REGION,
    )
    client = session.client(
        "dynamodb", endpoint_url=TABLES, config=Config(retries={"max_attempts": 1})
    )

    def capture(request, **_):
        raise Captured(request)

    client.meta.events.register("before-send.dynamodb.*", capture)
    with pytest.raises(Captured) as caught:
        client.get_item(TableName=table, Key={"id": {"S": item_id}})
    request = caught.value.args[0]
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    return as_question(request), body


def ask_table(server, request, **extra):
    status, answer = post_authorize(
        server, {**request, "action": "dynamodb:GetItem", "resource": TABLE_ARN, **extra}
    )
    assert status == 200, answer
    return answer


def test_a_signed_body_verifies_by_its_hash(server, storage):
    a_id, a = storage["a"]
    request, body = get_item(a)
    assert request["method"] == "POST" and body.startswith(b"{")
    names = {k.lower() for k in request["headers"]}
    assert "x-amz-content-sha256" not in names and "x-amz-target" in names
    digest = hashlib.sha256(body).hexdigest()

    answer = ask_table(server, request, payload_sha256=digest)
    assert_allowed(answer, a_id, storage["roles"]["authenticated"])
    # Without the hash the authorizer can only check the request as one without a body.
    assert_refused(ask_table(server, request), "bad signature")
    # The hash of another body: what the client signed is not what the service would act on.
    _, other_body = get_item(a, item_id="2")
    other = hashlib.sha256(other_body).hexdigest()
    assert_refused(ask_table(server, request, payload_sha256=other), "bad signature")
    assert_refused(
        ask_table(server, request, payload_sha256=hashlib.sha256(b"").hexdigest()),
        "bad signature",
    )
    # Signature good, policy says no: another table.
    status, answer = post_authorize(
        server,
        {
            **request,
            "action": "dynamodb:GetItem",
            "resource": TABLE_ARN.replace("table/notes", "table/other"),
            "payload_sha256": digest,
        },
    )
    assert status == 200
    assert_denied_by_policy(answer, a_id)

    for bad in (digest[:63], digest + "0", "z" * 64, 12):
        status, err = post_authorize(
            server,
            {**request, "action": "dynamodb:GetItem", "resource": TABLE_ARN, "payload_sha256": bad},
        )
        assert (status, err["__type"]) == (400, "InvalidParameterException"), bad


def test_s3_payload_hash_must_match_the_declared_one(server, storage):
    a_id, a = storage["a"]
    key = f"user-{a_id}/notes.txt"
    request = put(a, key)
    right = hashlib.sha256(b"hello storage").hexdigest()
    assert ask(server, request, "s3:PutObject", key, payload_sha256=right)["decision"] == "Allow"
    wrong = hashlib.sha256(b"other storage").hexdigest()
    assert_refused(ask(server, request, "s3:PutObject", key, payload_sha256=wrong), "bad signature")


# ---- refused credentials ----


def test_expired_signatures_are_refused(server, storage, monkeypatch):
    guest_id, guest = storage["guest"]
    twenty_minutes_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
        minutes=20
    )
    with monkeypatch.context() as m:
        m.setattr(botocore.auth, "get_current_datetime", lambda: twenty_minutes_ago)
        stale = get(guest, "public/photo.jpg")
    assert_refused(ask(server, stale, "s3:GetObject", "public/photo.jpg"), "expired signature")

    url = s3_client(guest).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "public/photo.jpg"}, ExpiresIn=1
    )
    time.sleep(2.1)
    request = {"method": "GET", "url": url, "headers": {}}
    assert_refused(ask(server, request, "s3:GetObject", "public/photo.jpg"), "expired presigned URL")


def test_tampered_session_token_is_refused(server, storage):
    _, a = storage["a"]
    token = a["SessionToken"]
    i = len(token) // 2
    altered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    request = put({**a, "SessionToken": altered}, "user-x/notes.txt")
    assert_refused(ask(server, request, "s3:PutObject", "user-x/notes.txt"), "session token")

    # Swapping in another session's token, with the same key id and secret.
    _, b = storage["b"]
    request = put({**a, "SessionToken": b["SessionToken"]}, "user-x/notes.txt")
    assert_refused(ask(server, request, "s3:PutObject", "user-x/notes.txt"), "session token")


def test_foreign_credentials_are_refused(server, storage):
    foreign_session = {
        "AccessKeyId": "ASIAQFOREIGNKEY00001",
        "SecretKey": "foreign/secret/key/NotIssuedByIdpool0000",
        "SessionToken": "IQoJb3JpZ2luX2VjEForeignSessionTokenNeverSealedByIdpool",
    }
    request = get(foreign_session, "public/photo.jpg")
    assert_refused(ask(server, request, "s3:GetObject", "public/photo.jpg"), "session token")

    long_term = {"AccessKeyId": "AKIAQFOREIGNKEY00001", "SecretKey": "foreign/secret/key/x"}
    request = get(long_term, "public/photo.jpg")
    assert_refused(ask(server, request, "s3:GetObject", "public/photo.jpg"), "unknown access key")

    # A guest's key id and token with a secret of the caller's own making.
    _, guest = storage["guest"]
    request = get({**guest, "SecretKey": "x" * 40}, "public/photo.jpg")
    assert_refused(ask(server, request, "s3:GetObject", "public/photo.jpg"), "bad signature")

    # idpool's own root keys are not for resource servers.
    root = {"AccessKeyId": ACCESS_KEY_ID, "SecretKey": SECRET_ACCESS_KEY}
    request = get(root, "public/photo.jpg")
    answer = ask(server, request, "s3:GetObject", "public/photo.jpg")
    assert_refused(answer, "root credentials are not accepted by the authorizer")


def test_unsigned_and_wrong_region_requests_are_refused(server, storage):
    request = {"method": "GET", "url": f"{STORAGE}/{BUCKET}/public/photo.jpg", "headers": {}}
    assert_refused(ask(server, request, "s3:GetObject", "public/photo.jpg"), "missing signature")

    _, guest = storage["guest"]
    session = boto3.session.Session(
        aws_access_key_id=guest["AccessKeyId"],
        aws_secret_access_key=guest["SecretKey"],
        aws_session_token=guest["SessionToken"],
        region_name="eu-west-1",
    )
    client = session.client(
        "s3", endpoint_url=STORAGE, config=Config(s3={"addressing_style": "path"})
    )

    def capture(request, **_):
        raise Captured(request)

    client.meta.events.register("before-send.s3.*", capture)
    with pytest.raises(Captured) as caught:
        client.get_object(Bucket=BUCKET, Key="public/photo.jpg")
    request = as_question(caught.value.args[0])
    assert_refused(ask(server, request, "s3:GetObject", "public/photo.jpg"), "eu-west-1")


# ---- the question itself ----


def test_source_ip_context_and_principal_keys(server, storage):
    guest_id, guest = storage["guest"]
    request = get(guest, "public/photo.jpg")
    answer = ask(
        server, request, "s3:GetObject", "public/photo.jpg", context={"aws:SourceIp": "203.0.113.7"}
    )
    assert answer["decision"] == "Allow"
    status, err = post_authorize(
        server,
        {
            **request,
            "action": "s3:GetObject",
            "resource": f"arn:aws:s3:::{BUCKET}/public/photo.jpg",
            "context": {"cognito-identity.amazonaws.com:sub": "us-east-1:someone-else"},
        },
    )
    assert status == 400
    assert err["__type"] == "InvalidParameterException"


def test_malformed_questions_get_400(server):
    status, err = post_authorize(server, b"{not json")
    assert (status, err["__type"]) == (400, "SerializationException")
    status, err = post_authorize(server, {"method": "GET", "url": "/b/k", "resource": "*"})
    assert (status, err["__type"]) == (400, "InvalidParameterException")
    assert "action" in err["message"]
    status, err = post_authorize(
        server, {"method": "GET", "url": "ftp://x/y", "action": "s3:GetObject", "resource": "*"}
    )
    assert (status, err["__type"]) == (400, "InvalidParameterException")
    status, err = post_authorize(server, b"x" * (2 * 1024 * 1024))
    assert status == 413

    req = urllib.request.Request(server.endpoint + "/authorize", method="GET")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405
