"""Prepares one server for bench/saml.sh: an IAM SAML provider, a pool trusting it, a role, one identity.

Usage: python bench/saml_setup.py ENDPOINT ACCESS_KEY SECRET_KEY RESPONSE_FILE
Needs signxml (the repository's .venv from scripts/python-env.sh has it). The SAML provider is
made from the committed fixture metadata and the response is signed with the fixture IdP key.
When RESPONSE_FILE is missing, a response is signed for this server's role and provider and
written there (base64); when it exists and names the same role and provider, it is reused, so
every server gets the same bytes. Prints one JSON object: pool_id, identity_id, login_key (the
provider ARN), role_arn, response (base64), caller_arn (GetCallerIdentity with the probe's
credentials), notes (steps the server refused or did differently) and a probe (status and body
excerpt of one GetCredentialsForIdentity with the login, as the load sends it).
"""

import base64
import datetime
import json
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import signxml
from botocore import UNSIGNED
from botocore.config import Config
from lxml import etree

REGION = "us-east-1"
FIXTURES = Path(__file__).resolve().parents[1] / "crates/idpool-core/tests/fixtures/saml"
AWS_SAML = "https://signin.aws.amazon.com/saml"
ROLE_ATTR = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_ATTR = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
NAME_ID = "bench-user@corp.example"
PROVIDER_NAME = "BenchSaml"
ROLE_NAME = "BenchSamlAuthRole"


def client(service, endpoint, key, secret, signed=True):
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
    if not signed:
        cfg = cfg.merge(Config(signature_version=UNSIGNED))
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)


def probe(endpoint, body):
    req = urllib.request.Request(
        endpoint + "/", data=json.dumps(body, separators=(",", ":")).encode(), method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AWSCognitoIdentityService.GetCredentialsForIdentity"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return {"status": resp.status, "body": raw[:200].decode(errors="replace")}, raw
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read(300).decode(errors="replace")}, b""


def first_line(e):
    return str(e).splitlines()[0][:200]


def saml_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_of_metadata(xml):
    return etree.fromstring(xml.encode()).get("entityID")


def signed_response(issuer, role_pair):
    """A Response valid from 5 minutes ago to an hour from now (longer than any run), whose
    Assertion carries an enveloped RSA-SHA256 signature (exclusive c14n) placed after the
    Issuer, as IdPs send them."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    issued = saml_time(now)
    start = saml_time(now - datetime.timedelta(minutes=5))
    end = saml_time(now + datetime.timedelta(hours=1))
    response_id, assertion_id = f"_r{uuid.uuid4().hex}", f"_a{uuid.uuid4().hex}"
    xml = f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{response_id}" Version="2.0" IssueInstant="{issued}" Destination="{AWS_SAML}">
  <saml:Issuer xmlns:saml="{ASSERTION_NS}">{issuer}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion xmlns:saml="{ASSERTION_NS}" ID="{assertion_id}" Version="2.0" IssueInstant="{issued}">
    <saml:Issuer>{issuer}</saml:Issuer>
    <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"/>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{NAME_ID}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{end}" Recipient="{AWS_SAML}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{start}" NotOnOrAfter="{end}">
      <saml:AudienceRestriction><saml:Audience>{AWS_SAML}</saml:Audience></saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="{assertion_id}">
      <saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
    </saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="{ROLE_ATTR}"><saml:AttributeValue>{role_pair}</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="{SESSION_ATTR}"><saml:AttributeValue>{NAME_ID}</saml:AttributeValue></saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"""
    signer = signxml.XMLSigner(
        c14n_algorithm=signxml.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
    )
    signed = signer.sign(
        etree.fromstring(xml.encode()),
        key=(FIXTURES / "idp-key.pem").read_bytes(),
        cert=(FIXTURES / "idp-cert.pem").read_text(),
        reference_uri=["#" + assertion_id],
    )
    return base64.b64encode(etree.tostring(signed, xml_declaration=True, encoding="UTF-8")).decode()


def role_pairs_in(encoded):
    doc = etree.fromstring(base64.b64decode(encoded))
    return [v.text for v in doc.iter(f"{{{ASSERTION_NS}}}AttributeValue")
            if v.getparent().get("Name") == ROLE_ATTR]


def main():
    endpoint, key, secret, response_file = sys.argv[1:5]
    response_path = Path(response_file)
    notes = []
    cognito = client("cognito-identity", endpoint, key, secret)
    iam = client("iam", endpoint, key, secret)
    unsigned = client("cognito-identity", endpoint, key, secret, signed=False)
    metadata = (FIXTURES / "metadata.xml").read_text()

    try:
        provider = iam.create_saml_provider(
            Name=PROVIDER_NAME, SAMLMetadataDocument=metadata)["SAMLProviderArn"]
    except Exception as e:
        notes.append("CreateSAMLProvider refused: " + first_line(e))
        provider = None
    pool_id = cognito.create_identity_pool(
        IdentityPoolName="BenchSamlPool", AllowUnauthenticatedIdentities=False,
        SamlProviderARNs=[provider] if provider else [],
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
        RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    if provider is None:
        # Only for the assertion's role pair; a server that made no provider ignores it anyway.
        account = role_arn.split(":")[4]
        provider = f"arn:aws:iam::{account}:saml-provider/{PROVIDER_NAME}"
    role_pair = f"{role_arn},{provider}"

    response = None
    if response_path.exists():
        response = response_path.read_text().strip()
        if role_pairs_in(response) != [role_pair]:
            notes.append(f"the shared response names {role_pairs_in(response)}, not this server's "
                         f"{role_pair}; signed its own")
            response = None
    if response is None:
        response = signed_response(issuer_of_metadata(metadata), role_pair)
        if not response_path.exists():
            response_path.write_text(response + "\n")
    logins = {provider: response}

    identity_id = unsigned.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    again = unsigned.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    if again != identity_id:
        notes.append(f"GetId with the same login gave another identity: {again}")

    result, raw = probe(endpoint, {"IdentityId": identity_id, "Logins": logins})
    caller_arn = None
    if result["status"] == 200:
        creds = json.loads(raw)["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretKey"],
            aws_session_token=creds["SessionToken"], region_name=REGION)
        try:
            caller_arn = session.client(
                "sts", endpoint_url=endpoint,
                config=Config(retries={"max_attempts": 1, "mode": "standard"}),
            ).get_caller_identity()["Arn"]
        except Exception as e:
            notes.append("GetCallerIdentity with the probe's credentials refused: " + first_line(e))
        expected = f":assumed-role/{ROLE_NAME}/"
        if caller_arn is not None and expected not in caller_arn:
            notes.append(f"the probe's credentials are {caller_arn}, not the assertion's role")
    print(json.dumps({
        "pool_id": pool_id,
        "identity_id": identity_id,
        "login_key": provider,
        "role_arn": role_arn,
        "response": response,
        "caller_arn": caller_arn,
        "notes": notes,
        "probe": result,
    }))


if __name__ == "__main__":
    main()
