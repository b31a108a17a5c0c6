"""SAML 2.0 logins end to end (spec §3.3, §4.4, §4.9): an IAM SAML provider made from IdP
metadata, a pool listing it in SamlProviderARNs, and responses signed at test time by signxml
(an XML-DSig implementation independent of idpool's) carried in Logins."""

import base64
import datetime
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError

from compat_support import ACCOUNT_ID, CLIENT_CONFIG, REGION, make_client, unique

signxml = pytest.importorskip("signxml")
from lxml import etree  # noqa: E402  (signxml brings lxml)

FIXTURES = Path(__file__).resolve().parents[2] / "crates/idpool-core/tests/fixtures/saml"
IDP_ENTITY = "https://idp.example.test/saml"
AWS_SAML = "https://signin.aws.amazon.com/saml"
ROLE_ATTR = "https://aws.amazon.com/SAML/Attributes/Role"
COGNITO_LOGIN = "cognito-identity.amazonaws.com"
ALICE = "alice@corp.example"


def pem(name):
    return (FIXTURES / name).read_bytes()


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message")


def saml_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_response(name_id, role_pairs, key_pem=None, cert_pem=None, attributes=None):
    """A fresh Response (unique IDs, valid from 5 minutes ago to 5 minutes from now) whose
    Assertion is signed like an IdP does: RSA-SHA256, exc-c14n, enveloped, after the Issuer."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start, end = saml_time(now - datetime.timedelta(minutes=5)), saml_time(
        now + datetime.timedelta(minutes=5))
    response_id, assertion_id = f"_r{uuid.uuid4().hex}", f"_a{uuid.uuid4().hex}"
    values = "".join(f"<saml:AttributeValue>{p}</saml:AttributeValue>" for p in role_pairs)
    extra = "".join(
        f'<saml:Attribute Name="{n}"><saml:AttributeValue>{v}</saml:AttributeValue></saml:Attribute>'
        for n, v in (attributes or {}).items()
    )
    xml = f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{response_id}" Version="2.0" IssueInstant="{saml_time(now)}" Destination="{AWS_SAML}">
  <saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{IDP_ENTITY}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{assertion_id}" Version="2.0" IssueInstant="{saml_time(now)}">
    <saml:Issuer>{IDP_ENTITY}</saml:Issuer>
    <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"/>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{end}" Recipient="{AWS_SAML}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{start}" NotOnOrAfter="{end}">
      <saml:AudienceRestriction><saml:Audience>{AWS_SAML}</saml:Audience></saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{saml_time(now)}" SessionIndex="{assertion_id}">
      <saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
    </saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="{ROLE_ATTR}">{values}</saml:Attribute>
      <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>{name_id}</saml:AttributeValue></saml:Attribute>{extra}
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"""
    signer = signxml.XMLSigner(
        c14n_algorithm=signxml.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
    )
    signed = signer.sign(
        etree.fromstring(xml.encode()),
        key=key_pem or pem("idp-key.pem"),
        cert=(cert_pem or pem("idp-cert.pem")).decode(),
        reference_uri=["#" + assertion_id],
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def login(provider, response_bytes):
    return {provider: base64.b64encode(response_bytes).decode()}


def trust_policy(pool_id):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": COGNITO_LOGIN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                    "ForAnyValue:StringLike": {
                        "cognito-identity.amazonaws.com:amr": "authenticated"
                    },
                },
            }
        ],
    }


def sts_with(server, creds):
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    return session.client("sts", endpoint_url=server.endpoint, config=CLIENT_CONFIG)


@pytest.fixture(scope="module")
def saml(server):
    """One SAML provider (from the committed fixture metadata), a pool trusting only it, and
    two roles the pool's authenticated identities may assume."""
    iam = make_client(server, "iam")
    cognito = make_client(server, "cognito-identity")
    provider = iam.create_saml_provider(
        Name=unique("CompatSaml"),
        SAMLMetadataDocument=(FIXTURES / "metadata.xml").read_text(),
    )["SAMLProviderArn"]
    assert provider.startswith(f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/CompatSaml")
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("compat saml "),
        AllowUnauthenticatedIdentities=False,
        SamlProviderARNs=[provider],
    )["IdentityPoolId"]
    roles = [
        iam.create_role(
            RoleName=unique(f"CompatSaml{kind}"),
            AssumeRolePolicyDocument=json.dumps(trust_policy(pool_id)),
        )["Role"]
        for kind in ("Reader", "Writer")
    ]
    return SimpleNamespace(provider=provider, pool_id=pool_id, reader=roles[0], writer=roles[1])


def as_user(server, creds):
    """A Cognito client signing with temporary credentials."""
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    return session.client("cognito-identity", endpoint_url=server.endpoint, config=CLIENT_CONFIG)


def pair(saml, role):
    return f"{role['Arn']},{saml.provider}"


def assert_credentials_for(server, got, identity_id, role):
    assert got["IdentityId"] == identity_id
    creds = got["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    caller = sts_with(server, creds).get_caller_identity()
    assert caller["Account"] == ACCOUNT_ID
    assert caller["Arn"].startswith(
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role['RoleName']}/"), caller["Arn"]
    assert caller["UserId"].startswith(f"{role['RoleId']}:"), caller["UserId"]


def test_saml_login_gets_identity_and_role_credentials(server, saml, unsigned_cognito):
    response = signed_response(ALICE, [pair(saml, saml.reader)])
    identity_id = unsigned_cognito.get_id(
        IdentityPoolId=saml.pool_id, Logins=login(saml.provider, response)
    )["IdentityId"]
    assert identity_id.startswith(f"{REGION}:")

    # A client sends the same Logins map to GetId and GetCredentialsForIdentity.
    got = unsigned_cognito.get_credentials_for_identity(
        IdentityId=identity_id, Logins=login(saml.provider, response)
    )
    assert_credentials_for(server, got, identity_id, saml.reader)

    # The identity is keyed by the NameID, not by the response: a new one finds it again.
    again = signed_response(ALICE, [pair(saml, saml.reader)])
    assert again != response
    assert unsigned_cognito.get_id(
        IdentityPoolId=saml.pool_id, Logins=login(saml.provider, again)
    )["IdentityId"] == identity_id

    bob = signed_response("bob@corp.example", [pair(saml, saml.reader)])
    bob_id = unsigned_cognito.get_id(
        IdentityPoolId=saml.pool_id, Logins=login(saml.provider, bob)
    )["IdentityId"]
    assert bob_id != identity_id


def test_saml_role_pair_in_either_order(server, saml, unsigned_cognito):
    response = signed_response(ALICE, [f"{saml.provider},{saml.writer['Arn']}"])
    logins = login(saml.provider, response)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=saml.pool_id, Logins=logins)["IdentityId"]
    got = unsigned_cognito.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
    assert_credentials_for(server, got, identity_id, saml.writer)


def test_saml_custom_role_arn_picks_from_assertion(server, saml, unsigned_cognito):
    response = signed_response(ALICE, [pair(saml, saml.reader), pair(saml, saml.writer)])
    logins = login(saml.provider, response)
    identity_id = unsigned_cognito.get_id(IdentityPoolId=saml.pool_id, Logins=logins)["IdentityId"]
    got = unsigned_cognito.get_credentials_for_identity(
        IdentityId=identity_id, Logins=logins, CustomRoleArn=saml.writer["Arn"]
    )
    assert_credentials_for(server, got, identity_id, saml.writer)


def test_saml_custom_role_arn_not_in_assertion(saml, unsigned_cognito):
    logins = login(saml.provider, signed_response(ALICE, [pair(saml, saml.reader)]))
    identity_id = unsigned_cognito.get_id(IdentityPoolId=saml.pool_id, Logins=logins)["IdentityId"]
    # The writer role exists and trusts the pool; the assertion just does not grant it.
    with pytest.raises(ClientError) as e:
        unsigned_cognito.get_credentials_for_identity(
            IdentityId=identity_id, Logins=logins, CustomRoleArn=saml.writer["Arn"]
        )
    assert error_of(e)[0] == "NotAuthorizedException"


def test_saml_forged_responses_are_refused(server, saml, unsigned_cognito):
    good = signed_response(ALICE, [pair(saml, saml.reader)])
    identity_id = unsigned_cognito.get_id(
        IdentityPoolId=saml.pool_id, Logins=login(saml.provider, good)
    )["IdentityId"]

    tampered = good.replace(f">{ALICE}<".encode(), b">mallory@corp.example<", 1)
    assert tampered != good
    other_key = signed_response(ALICE, [pair(saml, saml.reader)], key_pem=pem("other-key.pem"),
                                cert_pem=pem("other-cert.pem"))
    for forged in (tampered, other_key):
        with pytest.raises(ClientError) as e:
            unsigned_cognito.get_id(IdentityPoolId=saml.pool_id,
                                    Logins=login(saml.provider, forged))
        assert error_of(e)[0] == "NotAuthorizedException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(ClientError) as e:
            unsigned_cognito.get_credentials_for_identity(
                IdentityId=identity_id, Logins=login(saml.provider, forged))
        assert error_of(e)[0] == "NotAuthorizedException"

    # Still serving, and the genuine login still works.
    got = unsigned_cognito.get_credentials_for_identity(
        IdentityId=identity_id,
        Logins=login(saml.provider, signed_response(ALICE, [pair(saml, saml.reader)])),
    )
    assert_credentials_for(server, got, identity_id, saml.reader)


def test_saml_rules_mapping_and_principal_tags_read_assertion_attributes(server, unsigned_cognito):
    """A Rules mapping keyed by the SAML provider ARN matches on an assertion attribute, no
    match falls back to the authenticated role, and principal tags come from attributes."""
    iam = make_client(server, "iam")
    cognito = make_client(server, "cognito-identity")
    unsigned = unsigned_cognito
    provider = iam.create_saml_provider(
        Name=unique("CompatSamlRules"),
        SAMLMetadataDocument=(FIXTURES / "metadata.xml").read_text(),
    )["SAMLProviderArn"]
    pool_id = cognito.create_identity_pool(
        IdentityPoolName=unique("compat saml rules "),
        AllowUnauthenticatedIdentities=False,
        SamlProviderARNs=[provider],
    )["IdentityPoolId"]
    trust = trust_policy(pool_id)
    trust["Statement"][0]["Action"] = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]
    default, engineers = [
        iam.create_role(RoleName=unique(f"CompatSaml{k}"),
                        AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        for k in ("Default", "Engineers")
    ]
    tag_gated = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "cognito-identity:DescribeIdentityPool", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/dept": "eng"}}}]}
    for role in (default, engineers):
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="TagGated",
                            PolicyDocument=json.dumps(tag_gated))
    cognito.set_identity_pool_roles(
        IdentityPoolId=pool_id,
        Roles={"authenticated": default["Arn"]},
        RoleMappings={provider: {
            "Type": "Rules",
            "AmbiguousRoleResolution": "AuthenticatedRole",
            "RulesConfiguration": {"Rules": [{
                "Claim": "department", "MatchType": "Equals", "Value": "eng",
                "RoleARN": engineers["Arn"]}]},
        }},
    )
    cognito.set_principal_tag_attribute_map(
        IdentityPoolId=pool_id, IdentityProviderName=provider,
        UseDefaults=False, PrincipalTags={"dept": "department"})

    def credentials_for(name_id, department):
        logins = login(provider, signed_response(
            name_id, [], attributes={"department": department}))
        identity_id = unsigned.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
        got = unsigned.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
        return identity_id, got, logins

    identity_id, got, logins = credentials_for("erin@corp.example", "eng")
    assert_credentials_for(server, got, identity_id, engineers)
    # The session carries dept=eng as a principal tag: a policy conditioned on it lets the
    # credentials describe the pool; the sales user's dept=sales session is refused.
    described = as_user(server, got["Credentials"]).describe_identity_pool(IdentityPoolId=pool_id)
    assert described["IdentityPoolId"] == pool_id

    identity_id, got, _ = credentials_for("sam@corp.example", "sales")
    assert_credentials_for(server, got, identity_id, default)
    with pytest.raises(ClientError) as e:
        as_user(server, got["Credentials"]).describe_identity_pool(IdentityPoolId=pool_id)
    assert error_of(e)[0] == "AccessDeniedException", error_of(e)
