"""boto3 against idpool: Twitter logins, whose OAuth 1.0a signatures (RFC 5849) a stand-in
Twitter API checks with oauthlib, an implementation independent of idpool's (spec §3.3, §4.2)."""

import json
import shutil
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from oauthlib.oauth1 import RequestValidator, ResourceEndpoint

from compat_support import CLIENT_CONFIG, REGION, IdpoolServer, idpool_binary, make_client, unique

TWITTER = "api.twitter.com"
VERIFY_PATH = "/1.1/account/verify_credentials.json"
CONSUMER_KEY = "compatTwitterConsumerKey01"
CONSUMER_SECRET = "compat/twitter.consumer_secret-01"
# Access token -> (token secret, Twitter user id). Two tokens of one user are two sign-ins.
USERS = {
    "80001annAccessTokenOne": ("ann-secret/one", "80001"),
    "80001annAccessTokenTwo": ("ann secret two!", "80001"),
    "80002bobAccessTokenOne": ("bob-secret", "80002"),
}


class TwitterValidator(RequestValidator):
    """What the stand-in knows: one consumer, three tokens, and the nonces already used."""

    def __init__(self):
        super().__init__()
        self.nonces = set()
        self.lock = threading.Lock()

    enforce_ssl = False  # the stand-in listens on loopback over plain HTTP
    client_key_length = (10, 64)
    access_token_length = (10, 64)
    nonce_length = (16, 64)

    @property
    def dummy_client(self):
        return "dummyConsumerKeyForTiming"

    @property
    def dummy_access_token(self):
        return "dummyAccessTokenForTiming"

    def validate_client_key(self, client_key, request):
        return client_key == CONSUMER_KEY

    def get_client_secret(self, client_key, request):
        return CONSUMER_SECRET if client_key == CONSUMER_KEY else "dummy-secret"

    def validate_access_token(self, client_key, token, request):
        return token in USERS

    def get_access_token_secret(self, client_key, token, request):
        return USERS.get(token, ("dummy-secret", None))[0]

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        with self.lock:
            key = (client_key, timestamp, nonce, access_token)
            if key in self.nonces:
                return False
            self.nonces.add(key)
            return True

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True


class FakeTwitter:
    """`GET /1.1/account/verify_credentials.json`, answered only for a request oauthlib
    accepts; every verdict is recorded."""

    def __init__(self):
        self.endpoint = ResourceEndpoint(TwitterValidator())
        self.verdicts = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                uri = f"http://{self.headers['Host']}{self.path}"
                headers = {"Authorization": self.headers.get("Authorization", "")}
                valid, request = fake.endpoint.validate_protected_resource_request(
                    uri, http_method="GET", body=None, headers=headers
                )
                valid = valid and self.path == VERIFY_PATH
                fake.verdicts.append(valid)
                if valid:
                    user = USERS[request.resource_owner_key][1]
                    status, body = 200, {"id": int(user), "id_str": user,
                                         "screen_name": f"user{user}"}
                else:
                    status, body = 401, {"errors": [{"code": 32,
                                                     "message": "Could not authenticate you."}]}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def twitter():
    with FakeTwitter() as fake:
        yield fake


@pytest.fixture(scope="module")
def tw_server(twitter):
    """An idpool of its own whose settings point Twitter's API at the stand-in."""
    binary = idpool_binary()
    if not binary.is_file():
        pytest.exit(f"{binary} not found: run `cargo build -p idpool-server --bin idpool`", 2)
    workdir = Path(tempfile.mkdtemp(prefix="idpool-compat-twitter-"))
    srv = IdpoolServer(binary, workdir)
    srv.config.write_text(
        f'[[idp_override]]\nprovider = "{TWITTER}"\nintrospection_url = "{twitter.base}"\n'
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def clients(tw_server):
    unsigned = boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=tw_server.endpoint,
        config=CLIENT_CONFIG.merge(Config(signature_version=UNSIGNED)),
    )
    return make_client(tw_server, "cognito-identity"), make_client(tw_server, "iam"), unsigned


def twitter_pool(cognito, iam, consumer=f"{CONSUMER_KEY};{CONSUMER_SECRET}"):
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("compat twitter "),
        AllowUnauthenticatedIdentities=False,
        SupportedLoginProviders={TWITTER: consumer},
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
    role = iam.create_role(RoleName=unique("CompatTwitter"),
                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": role["Arn"]})
    return pool_id


def login(token):
    return {TWITTER: f"{token};{USERS[token][0]}"}


def test_oauthlib_accepts_idpools_signatures_and_one_user_keeps_one_identity(clients, twitter):
    cognito, iam, unsigned = clients
    pool_id = twitter_pool(cognito, iam)
    before = len(twitter.verdicts)

    identity = unsigned.get_id(IdentityPoolId=pool_id,
                               Logins=login("80001annAccessTokenOne"))["IdentityId"]
    again = unsigned.get_id(IdentityPoolId=pool_id, Logins=login("80001annAccessTokenTwo"))
    assert again["IdentityId"] == identity
    bob = unsigned.get_id(IdentityPoolId=pool_id, Logins=login("80002bobAccessTokenOne"))
    assert bob["IdentityId"] != identity

    creds = unsigned.get_credentials_for_identity(
        IdentityId=identity, Logins=login("80001annAccessTokenTwo"))
    assert creds["IdentityId"] == identity
    assert creds["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert twitter.verdicts[before:] == [True, True, True, True]


def test_signatures_oauthlib_refuses_are_refused(clients, twitter):
    cognito, iam, unsigned = clients
    pool_id = twitter_pool(cognito, iam)
    before = len(twitter.verdicts)

    with pytest.raises(ClientError) as e:
        unsigned.get_id(IdentityPoolId=pool_id,
                        Logins={TWITTER: "80001annAccessTokenOne;not-the-token-secret"})
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "NotAuthorizedException", "Invalid login token. The identity provider refused the token.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # A pool holding the wrong consumer secret signs nothing Twitter accepts either.
    wrong = twitter_pool(cognito, iam, consumer=f"{CONSUMER_KEY};wrong-{uuid.uuid4().hex}")
    with pytest.raises(ClientError) as e:
        unsigned.get_id(IdentityPoolId=wrong, Logins=login("80001annAccessTokenOne"))
    assert e.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert twitter.verdicts[before:] == [False, False]

    # Not `<token>;<secret>`: refused before any call.
    with pytest.raises(ClientError) as e:
        unsigned.get_id(IdentityPoolId=pool_id, Logins={TWITTER: "80001annAccessTokenOne"})
    assert e.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert len(twitter.verdicts) == before + 2
