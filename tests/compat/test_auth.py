"""Who may call: SigV4 failures as botocore sees them, unsigned calls to signed and public operations."""

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from compat_support import CLIENT_CONFIG, make_client, unique

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details."
)
AUTH_LAYER_CODES = {
    "MissingAuthenticationTokenException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "UnrecognizedClientException",
    "AccessDeniedException",
}


def test_wrong_secret_cognito(server):
    client = make_client(server, "cognito-identity", secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        client.list_identity_pools(MaxResults=5)
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidSignatureException"
    assert err["Message"] == SIGNATURE_MISMATCH
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_wrong_secret_iam(server):
    client = make_client(server, "iam", secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        client.list_roles()
    err = e.value.response["Error"]
    assert err["Code"] == "SignatureDoesNotMatch"
    assert err["Message"] == SIGNATURE_MISMATCH
    assert err.get("Type") == "Sender"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key(server):
    cognito = make_client(server, "cognito-identity", key_id="AKIDNOTKNOWNTOIDPOOL")
    with pytest.raises(ClientError) as e:
        cognito.list_identity_pools(MaxResults=5)
    assert e.value.response["Error"] == {
        "Code": "UnrecognizedClientException",
        "Message": "The security token included in the request is invalid.",
    }
    iam = make_client(server, "iam", key_id="AKIDNOTKNOWNTOIDPOOL")
    with pytest.raises(ClientError) as e:
        iam.list_roles()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_right_key_works(server):
    # The negative tests above mean nothing unless the same client with the right secret passes.
    assert make_client(server, "cognito-identity").list_identity_pools(MaxResults=5)[
        "ResponseMetadata"]["HTTPStatusCode"] == 200
    assert make_client(server, "iam").list_roles()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_unsigned_signed_operation_is_refused(unsigned_cognito):
    with pytest.raises(ClientError) as e:
        unsigned_cognito.list_identity_pools(MaxResults=5)
    assert e.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsigned_public_operation_passes_the_auth_layer(cognito, unsigned_cognito):
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("guests"), AllowUnauthenticatedIdentities=True
    )["IdentityPoolId"]
    seen = {}

    def capture(request, **_):
        seen["authorization"] = request.headers.get("Authorization")

    unsigned_cognito.meta.events.register("before-send.cognito-identity.GetId", capture)
    try:
        answer = unsigned_cognito.get_id(IdentityPoolId=pool_id)
    except EndpointConnectionError as exc:
        pytest.fail(f"GetId did not get an HTTP answer: {exc}")
    except ClientError as exc:
        # Identities may not be served yet; any AWS-shaped answer other than an auth refusal
        # shows the unsigned call got past authentication.
        code = exc.response["Error"]["Code"]
        assert code, exc.response
        assert code not in AUTH_LAYER_CODES, exc.response
    else:
        assert answer["IdentityId"].startswith("us-east-1:")
    assert seen.get("authorization") is None, "botocore signed GetId; the test proves nothing"


def test_signature_scoped_to_another_region_is_refused(server):
    client = make_client(server, "cognito-identity",
                         config=CLIENT_CONFIG.merge(Config(region_name="eu-west-1")))
    with pytest.raises(ClientError) as e:
        client.list_identity_pools(MaxResults=5)
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
