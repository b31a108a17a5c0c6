"""The HTTP edge as raw requests: health, CORS pre-flight and headers, unknown operations, bad JSON."""

from compat_support import cognito_raw, raw_request

ORIGIN = "http://app.compat.test"


def test_health(server):
    r = raw_request(server, "GET", path="/health")
    assert r.status == 200


def test_cors_preflight_echoes_requested_headers(server):
    requested = "content-type,x-amz-target,x-amz-user-agent,cache-control,amz-sdk-invocation-id"
    r = raw_request(server, "OPTIONS", headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": requested,
    })
    assert r.status == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-headers"] == requested
    assert "POST" in r.headers["access-control-allow-methods"]


def test_error_responses_carry_cors_headers(server):
    r = raw_request(server, "POST", b"{}", {
        "Origin": ORIGIN,
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityService.ListIdentityPools",
    })
    assert r.status == 400
    assert r.json()["__type"] == "MissingAuthenticationTokenException"
    assert r.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"x-amzn-requestid", "x-amzn-errortype", "x-amzn-errormessage"} <= exposed
    assert r.headers["x-amzn-errortype"].split(":")[0] == "MissingAuthenticationTokenException"


def test_unknown_target(server):
    r = cognito_raw(server, "NoSuchOperation", {})
    assert r.status == 400
    assert r.headers["content-type"].startswith("application/x-amz-json-1.1")
    assert r.json()["__type"] == "UnknownOperationException"
    assert r.headers["access-control-allow-origin"] == "*"


def test_unknown_target_prefix(server):
    r = raw_request(server, "POST", b"{}", {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "SomeOtherService.ListIdentityPools",
    }, sign_service="cognito-identity")
    assert r.status == 400
    assert r.json()["__type"] == "UnknownOperationException"


def test_malformed_json_body(server):
    r = cognito_raw(server, "ListIdentityPools", None, raw_body=b'{"MaxResults": 5')
    assert r.status == 400
    assert r.json()["__type"] == "SerializationException"


def test_json_body_that_is_not_an_object(server):
    r = cognito_raw(server, "ListIdentityPools", None, raw_body=b"[1, 2, 3]")
    assert r.status == 400
    assert r.json()["__type"] == "SerializationException"


def test_signed_raw_request_succeeds(server):
    # The raw helper's signing must be right, or the negative tests above prove little.
    r = cognito_raw(server, "ListIdentityPools", {"MaxResults": 3})
    assert r.status == 200, r.body
    assert isinstance(r.json()["IdentityPools"], list)
    assert r.headers["x-amzn-requestid"]
    assert r.headers["access-control-allow-origin"] == "*"
