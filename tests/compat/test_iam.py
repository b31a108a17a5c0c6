"""boto3 IAM against idpool: roles, inline role policies, OIDC and SAML providers."""

import datetime
import json
import re
import subprocess

import pytest
from botocore.exceptions import ClientError

from compat_support import ACCOUNT_ID, S3_READ_POLICY, TRUST_POLICY, role_arn, unique


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message"), excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_role_round_trip(iam):
    name = unique("CompatRole")
    created = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
        Description="compat suite role",
        MaxSessionDuration=7200,
    )["Role"]
    assert created["RoleName"] == name
    assert created["Arn"] == role_arn(name)
    assert created["Path"] == "/"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", created["RoleId"]), created["RoleId"]
    assert isinstance(created["CreateDate"], datetime.datetime)

    got = iam.get_role(RoleName=name)["Role"]
    # botocore URL-decodes and JSON-parses the document: it must be exactly what was sent.
    assert got["AssumeRolePolicyDocument"] == TRUST_POLICY
    assert got["RoleId"] == created["RoleId"]
    assert got["Arn"] == created["Arn"]
    assert got["Description"] == "compat suite role"
    assert got["MaxSessionDuration"] == 7200

    with_path = unique("CompatPathRole")
    r = iam.create_role(RoleName=with_path, Path="/service-role/",
                        AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]
    assert r["Arn"] == role_arn(with_path, "/service-role/")

    listed = {r["RoleName"] for page in iam.get_paginator("list_roles").paginate()
              for r in page["Roles"]}
    assert {name, with_path} <= listed


def test_duplicate_and_missing_roles(iam):
    name = unique("CompatDup")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    assert error_of(e) == ("EntityAlreadyExists", f"Role with name {name} already exists.", 409)

    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="NoSuchCompatRole")
    assert error_of(e) == ("NoSuchEntity", "The role with name NoSuchCompatRole cannot be found.", 404)


def test_role_policies_and_delete_conflict(iam):
    name = unique("CompatPolicies")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    second = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(S3_READ_POLICY))
    iam.put_role_policy(RoleName=name, PolicyName="deny-delete", PolicyDocument=json.dumps(second))

    got = iam.get_role_policy(RoleName=name, PolicyName="read")
    assert got["RoleName"] == name
    assert got["PolicyName"] == "read"
    assert got["PolicyDocument"] == S3_READ_POLICY
    assert sorted(iam.list_role_policies(RoleName=name)["PolicyNames"]) == ["deny-delete", "read"]

    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert error_of(e) == ("DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name

    iam.delete_role_policy(RoleName=name, PolicyName="read")
    with pytest.raises(ClientError) as e:
        iam.get_role_policy(RoleName=name, PolicyName="read")
    assert error_of(e) == ("NoSuchEntity", "The role policy with name read cannot be found.", 404)
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert error_of(e)[0] == "DeleteConflict"

    iam.delete_role_policy(RoleName=name, PolicyName="deny-delete")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert error_of(e)[0] == "NoSuchEntity"


@pytest.mark.parametrize("document", [
    "this is not json",
    json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Perhaps", "Action": "s3:GetObject", "Resource": "*"}]}),
    json.dumps({"Version": "2012-10-17"}),
])
def test_malformed_policy_documents(iam, document):
    name = unique("CompatMalformed")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    with pytest.raises(ClientError) as e:
        iam.put_role_policy(RoleName=name, PolicyName="bad", PolicyDocument=document)
    code, message, status = error_of(e)
    assert (code, status) == ("MalformedPolicyDocument", 400)
    assert message
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []

    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=unique("CompatBadTrust"), AssumeRolePolicyDocument=document)
    assert error_of(e)[:1] == ("MalformedPolicyDocument",)


def test_oidc_providers(iam):
    host = f"{unique('oidc')}.example.test"
    thumb = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
    arn = iam.create_open_id_connect_provider(
        Url=f"https://{host}", ClientIDList=["client-a", "client-b"], ThumbprintList=[thumb]
    )["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"

    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == host
    assert got["ClientIDList"] == ["client-a", "client-b"]
    assert got["ThumbprintList"] == [thumb]
    assert isinstance(got["CreateDate"], datetime.datetime)

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="client-c")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                        ClientID="client-a")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["client-b", "client-c"]

    listed = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert arn in listed

    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}", ClientIDList=["x"],
                                            ThumbprintList=[thumb])
    assert error_of(e)[0] == "EntityAlreadyExists"

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_of(e) == ("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}", 404)


def self_signed_certificate_body(tmp_path) -> str:
    """A fresh self-signed certificate's base64 body, made by the openssl command."""
    key, cert = tmp_path / "idp.key", tmp_path / "idp.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=idp.compat.test"],
        check=True, capture_output=True,
    )
    pem = cert.read_text()
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))


def saml_metadata(entity_id: str, certificate: str, valid_until: str = "") -> str:
    valid = f' validUntil="{valid_until}"' if valid_until else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}"{valid}>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>{certificate}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                            Location="https://idp.compat.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def test_saml_providers(iam, tmp_path):
    certificate = self_signed_certificate_body(tmp_path)
    metadata = saml_metadata("https://idp.compat.test/metadata", certificate,
                             "2031-01-02T03:04:05Z")
    name = unique("CompatIdP")
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata)["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/{name}"

    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == metadata
    assert got["ValidUntil"] == datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert isinstance(got["CreateDate"], datetime.datetime)

    listed = {p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]}
    assert arn in listed

    replacement = saml_metadata("https://idp.compat.test/metadata", certificate)
    assert iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=replacement)[
        "SAMLProviderArn"] == arn
    assert iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == replacement

    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error_of(e)[0] == "NoSuchEntity"


def test_saml_metadata_without_certificate_is_refused(iam):
    # Long enough for botocore's client-side minimum (1000 characters), but no certificate.
    filler = "<!-- " + "x" * 1000 + " -->"
    metadata = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'entityID="https://idp.compat.test/nocert">{filler}</md:EntityDescriptor>'
    )
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name=unique("CompatNoCert"), SAMLMetadataDocument=metadata)
    assert error_of(e) == ("InvalidInput", "Could not parse metadata", 400)
