#!/usr/bin/env python3
"""Generate the SAML 2.0 response fixtures for idpool's SAML login verifier.

Signatures come from signxml (an XML-DSig implementation independent of idpool's), so the Rust
verifier is checked against documents it did not produce itself. Every accepted case is verified
again with signxml's XMLVerifier and, where Debian's `xmlsec1` is installed, with xmlsec1; the
refused cases record (and, with xmlsec1, check) whether their signature is cryptographically
valid, so a refusal can be told apart from a plain digest failure.

    /work/main/.venv/bin/python tools/saml_fixtures.py            # (re)write the fixtures
    /work/main/.venv/bin/python tools/saml_fixtures.py --new-keys # also replace the key pairs

Output: crates/idpool-core/tests/fixtures/saml/ (see README.md there). IDs and times are fixed
and RSA PKCS#1 v1.5 signatures are deterministic, so with the committed keys a rerun rewrites
the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    SignatureReference,
    XMLSigner,
    XMLVerifier,
)

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "crates" / "idpool-core" / "tests" / "fixtures" / "saml"

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
EC = "http://www.w3.org/2001/10/xml-exc-c14n#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
EXT = "urn:example:idpool:saml-fixture"

IDP_ENTITY = "https://idp.example.test/saml"
OTHER_ENTITY = "https://other-idp.example.test/saml"
EVIL_ENTITY = "https://evil.example.test/saml"
AWS_SAML = "https://signin.aws.amazon.com/saml"
ACCOUNT = "000000000000"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/TestIdP"
ROLE_READER = f"arn:aws:iam::{ACCOUNT}:role/SamlReader"
ROLE_WRITER = f"arn:aws:iam::{ACCOUNT}:role/SamlWriter"
ROLE_ATTR = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_ATTR = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
EMAIL_ATTR = "urn:oid:0.9.2342.19200300.100.1.3"

ISSUE_INSTANT = "2026-01-01T00:00:00Z"
NOT_BEFORE = "2026-01-01T00:00:00Z"
NOT_ON_OR_AFTER = "2099-01-01T00:00:00Z"
ALICE = "alice@corp.example"
MALLORY = "mallory@evil.example"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

RESPONSE_ID = "_resp-5f0c2a9e"
ASSERTION_ID = "_assert-8b41d7c3"
EVIL_ASSERTION_ID = "_assert-evil-0001"
EVIL_RESPONSE_ID = "_resp-evil-0001"

EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
ALGS = {
    "sha256": (SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256, hashes.SHA256),
    "sha1": (SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1, hashes.SHA1),
    "sha512": (SignatureMethod.RSA_SHA512, DigestAlgorithm.SHA512, hashes.SHA512),
}
# The checks below accept SHA-1 because the SHA-1 fixture is meant to verify; which algorithms
# idpool accepts is the Rust verifier's business.
ANY_ALG = SignatureConfiguration(
    signature_methods=frozenset(SignatureMethod),
    digest_algorithms=frozenset(DigestAlgorithm),
    expect_references=1,
)


def q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


# --- keys and metadata -----------------------------------------------------------------------


@dataclass
class KeyPair:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    key_pem: bytes
    cert_pem: bytes

    @property
    def cert_b64(self) -> str:
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


def make_cert(key: rsa.RSAPrivateKey, common_name: str, serial: int) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "idpool test fixtures"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    utc = datetime.timezone.utc
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=utc))
        .not_valid_after(datetime.datetime(2125, 1, 1, tzinfo=utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def load_or_make_pair(stem: str, common_name: str, serial: int, fresh: bool) -> KeyPair:
    """The key is made once and kept; the certificate is rebuilt from it (deterministically)."""
    key_path = OUT / f"{stem}-key.pem"
    if key_path.exists() and not fresh:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert = make_cert(key, common_name, serial)
    return KeyPair(key, cert, key_pem, cert.public_bytes(serialization.Encoding.PEM))


def metadata_xml(entity_id: str, pair: KeyPair, host: str) -> bytes:
    # The certificate is wrapped at 64 columns, as several IdPs publish it, so a metadata reader
    # has to ignore whitespace inside the base64.
    wrapped = "\n".join(
        "          " + line for line in textwrap.wrap(pair.cert_b64, 64)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{MD}" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="{SAMLP}">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="{DS}">
        <ds:X509Data>
          <ds:X509Certificate>
{wrapped}
          </ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                            Location="https://{host}/saml/sso"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
                            Location="https://{host}/saml/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
""".encode()


# --- building responses ----------------------------------------------------------------------


@dataclass
class Spec:
    """What goes into one Response; every field has the valid default."""

    subject: str | None = ALICE
    roles: list[str] = field(default_factory=lambda: [f"{ROLE_READER},{PROVIDER_ARN}"])
    session_name: str = "alice"
    extra_attributes: list[tuple[str, list[str]]] = field(default_factory=list)
    response_issuer: str = IDP_ENTITY
    assertion_issuer: str = IDP_ENTITY
    status: str = SUCCESS
    audience: str = AWS_SAML
    # None leaves the attribute out.
    recipient: str | None = AWS_SAML
    destination: str = AWS_SAML
    method: str = BEARER
    not_before: str = NOT_BEFORE
    not_on_or_after: str = NOT_ON_OR_AFTER
    scd_not_on_or_after: str = NOT_ON_OR_AFTER
    response_id: str = RESPONSE_ID
    assertion_id: str = ASSERTION_ID
    # Namespaces declared on the Response root only (instead of where each is first used), with
    # xsi:type="xs:string" on attribute values.
    root_namespaces: bool = False
    # Where signature placeholders go: any of "response", "assertion".
    placeholders: tuple[str, ...] = ()
    ds_default_namespace: bool = False

    def attributes(self) -> list[tuple[str, list[str]]]:
        attrs = [(ROLE_ATTR, list(self.roles)), (SESSION_ATTR, [self.session_name])]
        return attrs + list(self.extra_attributes)


def placeholder(spec: Spec, marker: str) -> etree._Element:
    nsmap = {None: DS} if spec.ds_default_namespace else {"ds": DS}
    el = etree.Element(q(DS, "Signature"), nsmap=nsmap)
    el.set("Id", marker)
    return el


def build_assertion(spec: Spec, parent: etree._Element | None) -> etree._Element:
    local_ns = None if spec.root_namespaces else {"saml": SAML}
    if parent is None:
        a = etree.Element(q(SAML, "Assertion"), nsmap=local_ns)
    else:
        a = etree.SubElement(parent, q(SAML, "Assertion"), nsmap=local_ns)
    a.set("ID", spec.assertion_id)
    a.set("IssueInstant", ISSUE_INSTANT)
    a.set("Version", "2.0")
    etree.SubElement(a, q(SAML, "Issuer")).text = spec.assertion_issuer
    if "assertion" in spec.placeholders:
        a.append(placeholder(spec, "placeholder-assertion"))
    subject = etree.SubElement(a, q(SAML, "Subject"))
    if spec.subject is not None:
        name_id = etree.SubElement(subject, q(SAML, "NameID"))
        name_id.set("Format", EMAIL_FORMAT)
        name_id.text = spec.subject
    sc = etree.SubElement(subject, q(SAML, "SubjectConfirmation"))
    sc.set("Method", spec.method)
    scd = etree.SubElement(sc, q(SAML, "SubjectConfirmationData"))
    scd.set("NotOnOrAfter", spec.scd_not_on_or_after)
    if spec.recipient is not None:
        scd.set("Recipient", spec.recipient)
    cond = etree.SubElement(a, q(SAML, "Conditions"))
    cond.set("NotBefore", spec.not_before)
    cond.set("NotOnOrAfter", spec.not_on_or_after)
    ar = etree.SubElement(cond, q(SAML, "AudienceRestriction"))
    etree.SubElement(ar, q(SAML, "Audience")).text = spec.audience
    authn = etree.SubElement(a, q(SAML, "AuthnStatement"))
    authn.set("AuthnInstant", ISSUE_INSTANT)
    authn.set("SessionIndex", "_session-2f6e")
    ctx = etree.SubElement(authn, q(SAML, "AuthnContext"))
    etree.SubElement(ctx, q(SAML, "AuthnContextClassRef")).text = (
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    )
    statement = etree.SubElement(a, q(SAML, "AttributeStatement"))
    for name, values in spec.attributes():
        attr = etree.SubElement(statement, q(SAML, "Attribute"))
        attr.set("Name", name)
        attr.set("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
        for value in values:
            v = etree.SubElement(attr, q(SAML, "AttributeValue"))
            if spec.root_namespaces:
                v.set(q(XSI, "type"), "xs:string")
            v.text = value
    return a


def build_response(spec: Spec) -> etree._Element:
    if spec.root_namespaces:
        nsmap = {"samlp": SAMLP, "saml": SAML, "ds": DS, "xs": XS, "xsi": XSI}
    else:
        nsmap = {"samlp": SAMLP}
    r = etree.Element(q(SAMLP, "Response"), nsmap=nsmap)
    r.set("Destination", spec.destination)
    r.set("ID", spec.response_id)
    r.set("IssueInstant", ISSUE_INSTANT)
    r.set("Version", "2.0")
    issuer_ns = None if spec.root_namespaces else {"saml": SAML}
    etree.SubElement(r, q(SAML, "Issuer"), nsmap=issuer_ns).text = spec.response_issuer
    if "response" in spec.placeholders:
        r.append(placeholder(spec, "placeholder-response"))
    status = etree.SubElement(r, q(SAMLP, "Status"))
    etree.SubElement(status, q(SAMLP, "StatusCode")).set("Value", spec.status)
    build_assertion(spec, r)
    return r


def reparse(root: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(root))


def pretty(root: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(root, pretty_print=True))


def by_id(root: etree._Element, id_value: str) -> etree._Element:
    found = root.xpath("//*[@ID=$v]", v=id_value)
    assert len(found) == 1, (id_value, len(found))
    return found[0]


def signatures(root: etree._Element) -> list[etree._Element]:
    return root.xpath("//ds:Signature", namespaces={"ds": DS})


def direct_signature(el: etree._Element) -> etree._Element:
    sig = el.find(q(DS, "Signature"))
    assert sig is not None
    return sig


class FixtureSigner(XMLSigner):
    # signxml refuses SHA-1 by default; one fixture needs it because AWS still accepts it.
    def check_deprecated_methods(self):
        pass


def sign(root, target_id: str, pair: KeyPair, *, alg="sha256", marker=None,
         inclusive_prefixes=None, key_info_cert: KeyPair | None = None, ds_default=False):
    """Enveloped exc-c14n signature over the element with ID `target_id`, filling the
    placeholder `marker` (the element's own placeholder by default). Returns a new root."""
    root = reparse(root)
    target = by_id(root, target_id)
    if marker is None:
        marker = "placeholder-" + etree.QName(target).localname.lower()
    ph = root.xpath("//ds:Signature[@Id=$m]", m=marker, namespaces={"ds": DS})
    assert len(ph) == 1, marker
    ph[0].set("Id", "placeholder")  # the name signxml looks for
    sign_alg, digest_alg, _ = ALGS[alg]
    signer = FixtureSigner(
        signature_algorithm=sign_alg, digest_algorithm=digest_alg, c14n_algorithm=EXC_C14N
    )
    if ds_default:
        signer.namespaces = {None: DS}
    cert = (key_info_cert or pair).cert_pem.decode()
    signed = signer.sign(
        root,
        key=pair.key,
        cert=cert,
        reference_uri=[SignatureReference(URI="#" + target_id)],
        inclusive_ns_prefixes=inclusive_prefixes,
    )
    if inclusive_prefixes:
        # signxml digests the reference with the PrefixList but, for enveloped signatures, does
        # not write the InclusiveNamespaces element into the reference's c14n Transform; add it
        # so the document says what was digested, then sign SignedInfo again.
        sig = direct_signature(by_id(signed, target_id))
        path = f"{{{DS}}}SignedInfo/{{{DS}}}Reference/{{{DS}}}Transforms/{{{DS}}}Transform"
        for t in sig.iterfind(path):
            if t.get("Algorithm") == EXC_C14N.value and t.find(q(EC, "InclusiveNamespaces")) is None:
                etree.SubElement(t, q(EC, "InclusiveNamespaces"), nsmap={"ec": EC}).set(
                    "PrefixList", " ".join(inclusive_prefixes)
                )
        resign(sig, pair, alg)
    return signed


def resign(sig: etree._Element, pair: KeyPair, alg: str = "sha256") -> None:
    """Recompute SignatureValue after SignedInfo was edited on purpose."""
    signed_info = sig.find(q(DS, "SignedInfo"))
    method = signed_info.find(q(DS, "CanonicalizationMethod"))
    assert method.get("Algorithm") == EXC_C14N.value
    incl = method.find(q(EC, "InclusiveNamespaces"))
    prefixes = incl.get("PrefixList").split() if incl is not None else None
    c14n = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False,
                          inclusive_ns_prefixes=prefixes)
    value = pair.key.sign(c14n, padding.PKCS1v15(), ALGS[alg][2]())
    sig.find(q(DS, "SignatureValue")).text = base64.b64encode(value).decode()


def serialize(root: etree._Element) -> bytes:
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def strip_signature(el: etree._Element) -> etree._Element:
    """A copy of `el` without its own enveloped signature (what its digest covers)."""
    c = copy.deepcopy(el)
    s = c.find(q(DS, "Signature"))
    if s is not None:
        c.remove(s)
    return c


def evil_assertion(spec: Spec, with_signature_from: etree._Element | None = None):
    """The attacker's own assertion: Mallory, the writer role, a fresh ID, no valid signature."""
    evil = replace(
        spec,
        subject=MALLORY,
        session_name="mallory",
        roles=[f"{ROLE_WRITER},{PROVIDER_ARN}"],
        assertion_id=EVIL_ASSERTION_ID,
        placeholders=(),
    )
    a = build_assertion(evil, None)
    if with_signature_from is not None:
        a.find(q(SAML, "Issuer")).addnext(copy.deepcopy(with_signature_from))
    return a


# --- cases -----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    expect: str
    reason: str
    data: bytes
    spec: Spec | None = None
    # Whether the first ds:Signature verifies under the IdP key with a general XML-DSig
    # implementation; None where that is not the point (no signature, DTD, several).
    xmldsig_valid: bool | None = None
    extra: dict = field(default_factory=dict)


def assertion_signed(spec: Spec, pair: KeyPair, **kw) -> etree._Element:
    spec = replace(spec, placeholders=("assertion",))
    return sign(build_response(spec), spec.assertion_id, pair, **kw)


def response_signed(spec: Spec, pair: KeyPair, **kw) -> etree._Element:
    spec = replace(spec, placeholders=("response",))
    return sign(build_response(spec), spec.response_id, pair, **kw)


def both_signed(spec: Spec, pair: KeyPair, *, pretty_print=False, **kw) -> etree._Element:
    spec = replace(spec, placeholders=("response", "assertion"))
    root = build_response(spec)
    if pretty_print:
        root = pretty(root)
    root = sign(root, spec.assertion_id, pair, **kw)
    return sign(root, spec.response_id, pair, **kw)


def spliced_source_case(pair: KeyPair) -> tuple[bytes, Spec]:
    """A hand-written response whose escapes, character references and CDATA are kept byte
    for byte: only the signature element is spliced in from signxml's output."""
    spec = Spec(
        session_name="Zoë_Ångström",
        extra_attributes=[
            ("urn:example:department",
             ['R&D <core> "platform" \'infra\'', "Ünïcödé 日本語 🚀"]),
            ("urn:example:charrefs", ["ABC", "a\u00a0b", "x>y"]),
        ],
    )
    source = f"""<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="{SAMLP}" Destination="{AWS_SAML}" ID="{RESPONSE_ID}" IssueInstant="{ISSUE_INSTANT}" Version="2.0"><saml:Issuer xmlns:saml="{SAML}">{IDP_ENTITY}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{SUCCESS}"/></samlp:Status><saml:Assertion xmlns:saml="{SAML}" ID="{ASSERTION_ID}" IssueInstant="{ISSUE_INSTANT}" Version="2.0"><saml:Issuer>{IDP_ENTITY}</saml:Issuer><ds:Signature xmlns:ds="{DS}" Id="placeholder"/><saml:Subject><saml:NameID Format="{EMAIL_FORMAT}">{ALICE}</saml:NameID><saml:SubjectConfirmation Method="{BEARER}"><saml:SubjectConfirmationData NotOnOrAfter="{NOT_ON_OR_AFTER}" Recipient="{AWS_SAML}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{NOT_BEFORE}" NotOnOrAfter="{NOT_ON_OR_AFTER}"><saml:AudienceRestriction><saml:Audience>{AWS_SAML}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement><saml:Attribute Name="{ROLE_ATTR}" FriendlyName="Role &quot;AWS&quot; &amp; co"><saml:AttributeValue>{ROLE_READER},{PROVIDER_ARN}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="{SESSION_ATTR}"><saml:AttributeValue>Zo&#xEB;_&#197;ngstr&#246;m</saml:AttributeValue></saml:Attribute><saml:Attribute Name="urn:example:department"><saml:AttributeValue>R&amp;D &lt;core&gt; &quot;platform&quot; &apos;infra&apos;</saml:AttributeValue><saml:AttributeValue>Ünïcödé 日本語 🚀</saml:AttributeValue></saml:Attribute><saml:Attribute Name="urn:example:charrefs"><saml:AttributeValue>&#65;&#x42;<![CDATA[C]]></saml:AttributeValue><saml:AttributeValue>a&#160;b</saml:AttributeValue><saml:AttributeValue><![CDATA[x>y]]></saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>
"""
    root = etree.fromstring(source.encode())
    signer = XMLSigner(c14n_algorithm=EXC_C14N)
    signed = signer.sign(root, key=pair.key, cert=pair.cert_pem.decode(),
                         reference_uri=[SignatureReference(URI="#" + ASSERTION_ID)])
    sig_text = etree.tostring(signed, encoding="unicode")
    m = re.search(r"<ds:Signature\b.*?</ds:Signature>", sig_text, re.S)
    assert m
    data = source.replace(f'<ds:Signature xmlns:ds="{DS}" Id="placeholder"/>', m.group(0), 1)
    assert data != source
    return data.encode(), spec


def expect_ok(name, reason, root_or_bytes, spec: Spec) -> Case:
    data = root_or_bytes if isinstance(root_or_bytes, bytes) else serialize(root_or_bytes)
    return Case(name, "ok", reason, data, spec=spec)


def refused(name, reason, root_or_bytes, valid: bool | None,
            signer: KeyPair | None = None) -> Case:
    """`signer`: the key that did sign, checked to verify, so a refusal under the IdP key is
    down to the key alone."""
    data = root_or_bytes if isinstance(root_or_bytes, bytes) else serialize(root_or_bytes)
    return Case(name, "refused", reason, data, xmldsig_valid=valid,
                extra={"signer": signer} if signer else {})


def build_cases(idp: KeyPair, other: KeyPair, attacker: KeyPair) -> list[Case]:
    base = Spec()
    cases: list[Case] = []

    # --- accepted ----------------------------------------------------------------------------
    cases.append(expect_ok(
        "assertion-signed",
        "Assertion signed (RSA-SHA256, SHA-256 digest, exc-c14n, enveloped, Reference to the "
        "Assertion ID); Response unsigned. The usual shape.",
        assertion_signed(base, idp), base))
    cases.append(expect_ok(
        "response-signed",
        "Only the Response is signed; the Assertion inside it is unsigned but covered by the "
        "Response signature.",
        response_signed(base, idp), base))
    cases.append(expect_ok(
        "both-signed",
        "Assertion signed, then the Response around it signed too (the Response digest covers "
        "the Assertion's signature).",
        both_signed(base, idp), base))
    cases.append(expect_ok(
        "rsa-sha1",
        "Assertion signed with RSA-SHA1 and a SHA-1 digest, which AWS still accepts.",
        assertion_signed(base, idp, alg="sha1"), base))
    cases.append(expect_ok(
        "rsa-sha512",
        "Assertion signed with RSA-SHA512 and a SHA-512 digest.",
        assertion_signed(base, idp, alg="sha512"), base))
    two = replace(base, roles=[f"{ROLE_READER},{PROVIDER_ARN}", f"{ROLE_WRITER},{PROVIDER_ARN}"])
    cases.append(expect_ok(
        "two-roles",
        "Two Role attribute values; the caller picks one with CustomRoleArn.",
        assertion_signed(two, idp), two))
    rev = replace(base, roles=[f"{PROVIDER_ARN},{ROLE_READER}"])
    cases.append(expect_ok(
        "role-pair-reversed",
        "Role value written provider-ARN first (\"provider,role\"), which AWS accepts in either "
        "order.",
        assertion_signed(rev, idp), rev))

    comment_spec = replace(base, placeholders=("assertion",))
    root = build_response(comment_spec)
    name_id = root.find(f".//{{{SAML}}}NameID")
    name_id.text = "alice@corp.example"
    c = etree.Comment("")
    name_id.append(c)
    c.tail = ".evil.example"
    root = sign(root, ASSERTION_ID, idp)
    assert b"alice@corp.example<!---->.evil.example" in serialize(root)
    cases.append(expect_ok(
        "nameid-comment",
        "NameID text split by a comment inside signed content (alice@corp.example<!---->.evil."
        "example); exc-c14n drops the comment, so the signed subject is the whole text "
        "alice@corp.example.evil.example, not the part before the comment.",
        root, replace(base, subject="alice@corp.example.evil.example")))

    pretty_spec = replace(base, root_namespaces=True)
    cases.append(expect_ok(
        "pretty-root-namespaces",
        "Pretty-printed (whitespace text inside signed content), all prefixes (samlp, saml, ds, "
        "xs, xsi) declared on the Response root only and used in the Assertion; both Assertion "
        "and Response signed. Exercises exc-c14n pulling in inherited, visibly used namespaces.",
        both_signed(pretty_spec, idp, pretty_print=True), pretty_spec))

    incl_spec = replace(base, root_namespaces=True)
    cases.append(expect_ok(
        "inclusive-namespaces",
        "xs is declared on the Response root and only used inside attribute values "
        "(xsi:type=\"xs:string\"); the Assertion signature lists it in an InclusiveNamespaces "
        "PrefixList (on SignedInfo's CanonicalizationMethod and on the Reference's c14n "
        "Transform), so the digest includes xmlns:xs.",
        assertion_signed(incl_spec, idp, inclusive_prefixes=["xs"]), incl_spec))

    data, spliced = spliced_source_case(idp)
    cases.append(expect_ok(
        "escapes-and-unicode",
        "Hand-written serialization kept byte for byte: &amp; &lt; &gt; &quot; &apos;, decimal "
        "and hex character references, CDATA sections and non-ASCII UTF-8 (accents, CJK, an "
        "emoji) in attribute values and an escaped FriendlyName; values are compared after "
        "unescaping.",
        data, spliced))

    adfs_spec = replace(base, ds_default_namespace=True)
    cases.append(expect_ok(
        "ds-default-namespace",
        "Signature written in the default namespace (<Signature xmlns=\"...xmldsig#\">) without "
        "a ds: prefix, as AD FS does.",
        assertion_signed(adfs_spec, idp, ds_default=True), adfs_spec))

    # --- refused: signatures -----------------------------------------------------------------
    cases.append(refused(
        "unsigned",
        "No signature on the Assertion or the Response.",
        build_response(base), None))
    cases.append(refused(
        "other-key",
        "Assertion signed by the other IdP's key (other-key.pem); KeyInfo still carries the "
        "trusted IdP certificate, so only checking the key against the metadata catches it.",
        assertion_signed(base, other, key_info_cert=idp), False, signer=other))
    cases.append(refused(
        "attacker-keyinfo",
        "Assertion validly signed by the attacker's key, whose self-signed certificate (same "
        "subject name as the IdP's) is in KeyInfo. Only metadata certificates are trusted.",
        assertion_signed(base, attacker), False, signer=attacker))

    root = assertion_signed(base, idp)
    root.find(f".//{{{SAML}}}NameID").text = MALLORY
    cases.append(refused(
        "nameid-modified",
        "Signed Assertion whose NameID was changed to mallory@evil.example after signing "
        "(digest mismatch).",
        root, False))

    root = assertion_signed(base, idp)
    sv = root.find(f".//{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(sv.text))
    raw[len(raw) // 2] ^= 0x01
    sv.text = base64.b64encode(bytes(raw)).decode()
    cases.append(refused(
        "signature-value-corrupted",
        "One bit of the SignatureValue flipped (digests still match; the RSA check fails).",
        root, False))

    # --- refused: signature wrapping ---------------------------------------------------------
    # Response-level: start from a response whose only signature is the Response's.
    signed_resp = response_signed(base, idp)
    resp_sig = direct_signature(signed_resp)

    evil_root = build_response(replace(base, response_id=EVIL_RESPONSE_ID, subject=MALLORY,
                                       assertion_id=EVIL_ASSERTION_ID, session_name="mallory",
                                       roles=[f"{ROLE_WRITER},{PROVIDER_ARN}"]))
    evil_root.append(copy.deepcopy(signed_resp))
    cases.append(refused(
        "xsw1-response-wrapped",
        "XSW1: an unsigned evil Response (Mallory) is the root; the original signed Response, "
        "signature intact, is appended as its last child. The signature is valid but covers "
        "the inner Response, not the one being processed.",
        evil_root, True))

    evil_root = build_response(replace(base, response_id=EVIL_RESPONSE_ID, subject=MALLORY,
                                       assertion_id=EVIL_ASSERTION_ID, session_name="mallory",
                                       roles=[f"{ROLE_WRITER},{PROVIDER_ARN}"]))
    issuer = evil_root.find(q(SAML, "Issuer"))
    issuer.addnext(copy.deepcopy(resp_sig))
    issuer.addnext(strip_signature(signed_resp))
    cases.append(refused(
        "xsw2-response-detached",
        "XSW2: evil Response root carries the original Response signature as its own, with the "
        "original Response (signature removed) placed before it as a sibling; the Reference "
        "points at that sibling, so the signature is valid but detached from the root.",
        evil_root, True))

    # Assertion-level: start from a response whose only signature is the Assertion's.
    signed = assertion_signed(base, idp)
    orig = by_id(signed, ASSERTION_ID)
    a_sig = direct_signature(orig)

    root = copy.deepcopy(signed)
    by_id(root, ASSERTION_ID).addprevious(evil_assertion(base))
    cases.append(refused(
        "xsw3-evil-assertion-before",
        "XSW3: an unsigned evil Assertion (Mallory, fresh ID) inserted before the signed one.",
        root, True))

    root = copy.deepcopy(signed)
    o = by_id(root, ASSERTION_ID)
    evil = evil_assertion(base)
    o.addprevious(evil)
    evil.append(o)
    cases.append(refused(
        "xsw4-evil-assertion-wraps",
        "XSW4: an unsigned evil Assertion takes the signed Assertion's place and contains it "
        "as its last child.",
        root, True))

    root = copy.deepcopy(signed)
    o = by_id(root, ASSERTION_ID)
    o.addprevious(evil_assertion(base, with_signature_from=a_sig))
    root.remove(o)
    root.append(strip_signature(orig))
    cases.append(refused(
        "xsw5-signature-in-evil-original-appended",
        "XSW5: the evil Assertion carries the original signature; the original Assertion "
        "(signature removed) is appended at the end of the Response. The Reference does not "
        "name the Assertion that holds the signature.",
        root, True))

    root = copy.deepcopy(signed)
    o = by_id(root, ASSERTION_ID)
    evil = evil_assertion(base, with_signature_from=a_sig)
    o.addprevious(evil)
    root.remove(o)
    direct_signature(evil).append(strip_signature(orig))
    cases.append(refused(
        "xsw6-original-inside-signature",
        "XSW6: the evil Assertion carries the original signature, and the original Assertion "
        "(signature removed) is a child of that ds:Signature element. A conforming enveloped-"
        "signature transform then removes the referenced content itself, so the digest fails.",
        root, False))

    root = copy.deepcopy(signed)
    o = by_id(root, ASSERTION_ID)
    ext = etree.Element(q(SAMLP, "Extensions"))
    root.find(q(SAML, "Issuer")).addnext(ext)
    o.addprevious(evil_assertion(base))
    ext.append(o)
    cases.append(refused(
        "xsw7-original-in-extensions",
        "XSW7: the original signed Assertion (signature intact) moved into samlp:Extensions; "
        "an unsigned evil Assertion in its place.",
        root, True))

    root = copy.deepcopy(signed)
    o = by_id(root, ASSERTION_ID)
    evil = evil_assertion(base, with_signature_from=a_sig)
    o.addprevious(evil)
    root.remove(o)
    obj = etree.SubElement(direct_signature(evil), q(DS, "Object"))
    obj.append(strip_signature(orig))
    cases.append(refused(
        "xsw8-original-in-ds-object",
        "XSW8: the evil Assertion carries the original signature, which holds a ds:Object "
        "containing the original Assertion (signature removed). As with XSW6 a conforming "
        "enveloped transform empties the referenced content, so the digest fails.",
        root, False))

    root = copy.deepcopy(signed)
    o = by_id(root, ASSERTION_ID)
    evil = evil_assertion(base)
    o.addprevious(evil)
    advice = etree.Element(q(SAML, "Advice"))
    evil.find(q(SAML, "Conditions")).addnext(advice)
    advice.append(o)
    cases.append(refused(
        "xsw-original-in-advice",
        "The original signed Assertion (signature intact) nested in the saml:Advice of an "
        "unsigned evil Assertion, a schema-valid form of XSW4.",
        root, True))

    root = copy.deepcopy(signed)
    by_id(root, ASSERTION_ID).addnext(evil_assertion(base))
    cases.append(refused(
        "two-assertions-one-signed",
        "Two Assertions in the Response: the first signed (Alice), the second unsigned "
        "(Mallory). A response must carry exactly one Assertion, and it must be signed.",
        root, True))

    root = copy.deepcopy(signed)
    dup = evil_assertion(base)
    dup.set("ID", ASSERTION_ID)
    by_id(root, ASSERTION_ID).addnext(dup)
    cases.append(refused(
        "duplicate-id",
        "An unsigned evil Assertion with the same ID as the signed one follows it; an ID "
        "lookup that takes the first match verifies the signature while the evil copy may be "
        "read. IDs must be unique.",
        root, None))

    ref_spec = replace(base, placeholders=("assertion",))
    root = build_response(ref_spec)
    ext = etree.Element(q(SAMLP, "Extensions"))
    root.find(q(SAML, "Issuer")).addnext(ext)
    marker = etree.SubElement(ext, q(EXT, "Marker"), nsmap={"ext": EXT})
    marker.set("ID", "_marker-1")
    marker.text = "harmless"
    root = sign(root, "_marker-1", idp, marker="placeholder-assertion")
    cases.append(refused(
        "reference-not-parent",
        "The ds:Signature inside the Assertion is valid, but its Reference URI names an "
        "element in samlp:Extensions, not the Assertion that contains the signature; the "
        "Assertion content is unsigned.",
        root, True))

    root = response_signed(base, idp)
    sig = direct_signature(root)
    sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference").set("URI", "")
    resign(sig, idp)
    cases.append(refused(
        "reference-uri-empty",
        "Response signature whose Reference URI is \"\" (the whole document). The digest is "
        "unchanged and SignedInfo was re-signed, so it is cryptographically valid, but SAML "
        "requires the Reference to name the signed element's ID.",
        root, True))

    signed_bytes = serialize(assertion_signed(base, idp))
    xxe = (
        '<!DOCTYPE samlp:Response [\n'
        '  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n'
        ']>'
    )
    cases.append(refused(
        "doctype-xxe",
        "A validly signed response with a DOCTYPE declaring an external entity (XXE) added "
        "after signing. Any DTD must be refused before parsing further.",
        with_doctype(signed_bytes, xxe), None))

    lol = ['<!DOCTYPE samlp:Response [', '  <!ENTITY lol0 "lol">']
    for i in range(1, 10):
        lol.append(f'  <!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    lol.append("]>")
    bomb_root = assertion_signed(base, idp)
    msg = etree.SubElement(bomb_root.find(q(SAMLP, "Status")), q(SAMLP, "StatusMessage"))
    msg.text = "BOMB"
    bomb = with_doctype(serialize(bomb_root), "\n".join(lol)).replace(b"BOMB", b"&lol9;")
    cases.append(refused(
        "doctype-billion-laughs",
        "Billion-laughs DTD (ten levels of ten nested entities, 10^9 copies of \"lol\") used "
        "in the unsigned StatusMessage of a validly signed response; must be refused without "
        "expanding anything.",
        bomb, None))

    # --- refused: validly signed, wrong content ----------------------------------------------
    def semantic(name, reason, spec, *, both=True, valid=True):
        root = both_signed(spec, idp) if both else assertion_signed(spec, idp)
        cases.append(refused(name, reason, root, valid))

    semantic("status-not-success",
             "Response and Assertion validly signed, but the StatusCode is Responder, not "
             "Success.",
             replace(base, status="urn:oasis:names:tc:SAML:2.0:status:Responder"))
    semantic("expired-conditions",
             "Conditions NotOnOrAfter 2027-01-01 (before the 2030 test clock); the "
             "SubjectConfirmationData window is still open.",
             replace(base, not_on_or_after="2027-01-01T00:00:00Z"), both=False)
    semantic("expired-subject-confirmation",
             "SubjectConfirmationData NotOnOrAfter 2027-01-01 (before the 2030 test clock); "
             "Conditions still valid.",
             replace(base, scd_not_on_or_after="2027-01-01T00:00:00Z"), both=False)
    semantic("not-yet-valid",
             "Conditions NotBefore 2099-06-01 (after the 2030 test clock; the window runs to "
             "2100).",
             replace(base, not_before="2099-06-01T00:00:00Z",
                     not_on_or_after="2100-01-01T00:00:00Z",
                     scd_not_on_or_after="2100-01-01T00:00:00Z"), both=False)
    semantic("wrong-audience",
             "AudienceRestriction names https://sp.example.test/saml instead of "
             "https://signin.aws.amazon.com/saml.",
             replace(base, audience="https://sp.example.test/saml"), both=False)
    semantic("wrong-recipient",
             "SubjectConfirmationData Recipient is https://sp.example.test/acs instead of "
             "https://signin.aws.amazon.com/saml.",
             replace(base, recipient="https://sp.example.test/acs"), both=False)
    semantic("no-recipient",
             "SubjectConfirmationData without a Recipient attribute, which the Web Browser SSO "
             "profile requires of a bearer confirmation (SAML profiles §4.1.4.2); the audience "
             "is still AWS's.",
             replace(base, recipient=None), both=False)
    semantic("wrong-destination",
             "Signed Response whose Destination is https://sp.example.test/acs, not the AWS "
             "endpoint it was posted to (SAML bindings §3.5.5.2); the signed Assertion is "
             "otherwise valid for AWS.",
             replace(base, destination="https://sp.example.test/acs"))
    semantic("not-bearer",
             "SubjectConfirmation Method is holder-of-key, not bearer.",
             replace(base, method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"), both=False)
    semantic("wrong-issuer",
             "Response and Assertion Issuer are https://evil.example.test/saml, not the "
             "metadata entityID (signed with the trusted key).",
             replace(base, response_issuer=EVIL_ENTITY, assertion_issuer=EVIL_ENTITY))
    semantic("wrong-assertion-issuer",
             "Response Issuer is the IdP's but the signed Assertion's Issuer is "
             "https://evil.example.test/saml.",
             replace(base, assertion_issuer=EVIL_ENTITY), both=False)
    semantic("no-nameid",
             "Validly signed Assertion whose Subject has no NameID (only a "
             "SubjectConfirmation).",
             replace(base, subject=None), both=False)

    enc_spec = replace(base, placeholders=("response",))
    root = build_response(enc_spec)
    a = root.find(q(SAML, "Assertion"))
    enc = etree.Element(q(SAML, "EncryptedAssertion"), nsmap={"saml": SAML})
    ed = etree.SubElement(enc, q(XENC, "EncryptedData"), nsmap={"xenc": XENC})
    ed.set("Type", "http://www.w3.org/2001/04/xmlenc#Element")
    etree.SubElement(ed, q(XENC, "EncryptionMethod")).set(
        "Algorithm", "http://www.w3.org/2009/xmlenc11#aes256-gcm")
    cd = etree.SubElement(ed, q(XENC, "CipherData"))
    etree.SubElement(cd, q(XENC, "CipherValue")).text = base64.b64encode(
        bytes(range(64))).decode()
    a.addprevious(enc)
    root.remove(a)
    cases.append(refused(
        "encrypted-assertion",
        "Validly signed Response carrying an EncryptedAssertion and no Assertion; encrypted "
        "assertions are not supported (no SP decryption key), so nothing can be read.",
        sign(root, RESPONSE_ID, idp), True))

    root = assertion_signed(base, idp)
    sig = direct_signature(by_id(root, ASSERTION_ID))
    transforms = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference/{{{DS}}}Transforms")
    xpath_t = etree.Element(q(DS, "Transform"))
    xpath_t.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    # The expression's ds prefix is the one in scope on the XPath element.
    etree.SubElement(xpath_t, q(DS, "XPath")).text = "not(ancestor-or-self::ds:Signature)"
    transforms[0].addnext(xpath_t)
    resign(sig, idp)
    cases.append(refused(
        "xpath-transform",
        "The Assertion's Reference gains an XPath filter transform between the enveloped and "
        "exc-c14n transforms, and SignedInfo is re-signed. The filter selects what the "
        "enveloped transform already did, so the digest is still right and a full XML-DSig "
        "library accepts the signature; refused because only enveloped-signature and exc-c14n "
        "transforms are allowed.",
        root, True))

    return cases


def with_doctype(data: bytes, doctype: str) -> bytes:
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    assert data.startswith(head)
    return head + doctype.encode() + b"\n" + data[len(head):]


# --- checks ----------------------------------------------------------------------------------


def verified_facts(case: Case, idp: KeyPair) -> tuple[str, list[str], dict]:
    """Verify every signature of an accepted case with signxml, then read subject, roles and
    attributes from signxml's verified output only."""
    root = etree.fromstring(case.data)
    sigs = signatures(root)
    if not sigs:
        raise SystemExit(f"{case.name}: accepted case without a signature")
    assertion = None
    for sig in sigs:
        parent = sig.getparent()
        # signxml's bundled schema has no declaration for ec:InclusiveNamespaces.
        schema = sig.find(f".//{{{EC}}}InclusiveNamespaces") is None
        result = XMLVerifier().verify(
            etree.tostring(parent), x509_cert=idp.cert_pem.decode(), expect_config=ANY_ALG,
            validate_schema=schema,
        )
        signed = result.signed_xml
        if signed.get("ID") != parent.get("ID"):
            raise SystemExit(f"{case.name}: a signature covers something other than its parent")
        found = signed if signed.tag == q(SAML, "Assertion") else signed.find(q(SAML, "Assertion"))
        if found is not None:
            assertion = found
    if assertion is None:
        raise SystemExit(f"{case.name}: no verified Assertion")
    subject = "".join(assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").itertext())
    attributes: dict[str, list[str]] = {}
    for attr in assertion.iterfind(f"{{{SAML}}}AttributeStatement/{{{SAML}}}Attribute"):
        values = ["".join(v.itertext()) for v in attr.iterfind(q(SAML, "AttributeValue"))]
        attributes.setdefault(attr.get("Name"), []).extend(values)
    roles = []
    for value in attributes.get(ROLE_ATTR, []):
        parts = value.split(",")
        roles.extend(p for p in parts if ":role/" in p)
    return subject, roles, attributes


class Xmlsec:
    ID_ATTRS = [
        f"{SAMLP}:Response",
        f"{SAML}:Assertion",
        f"{EXT}:Marker",
    ]

    def __init__(self, cert_path: Path):
        self.binary = shutil.which("xmlsec1")
        self.cert_path = cert_path
        self.version = None
        if self.binary:
            self.version = subprocess.run([self.binary, "--version"], capture_output=True,
                                          text=True).stdout.strip()

    def verify(self, data: bytes, index: int = 1,
               cert_pem: bytes | None = None) -> tuple[bool, str]:
        with tempfile.NamedTemporaryFile(suffix=".xml") as f, \
                tempfile.NamedTemporaryFile(suffix=".pem") as c:
            f.write(data)
            f.flush()
            cert_path = self.cert_path
            if cert_pem is not None:
                c.write(cert_pem)
                c.flush()
                cert_path = c.name
            cmd = [self.binary, "--verify", "--pubkey-cert-pem", str(cert_path),
                   # Trust exactly the configured key, whatever certificate KeyInfo offers.
                   "--enabled-key-data", "key-name",
                   "--node-xpath",
                   f"(//*[local-name()='Signature' and namespace-uri()='{DS}'])[{index}]"]
            for id_attr in self.ID_ATTRS:
                cmd += ["--id-attr:ID", id_attr]
            cmd.append(f.name)
            p = subprocess.run(cmd, capture_output=True, text=True)
            return p.returncode == 0, (p.stdout + p.stderr).strip()


def check(cases: list[Case], idp: KeyPair, xmlsec: Xmlsec) -> list[dict]:
    out = []
    for case in cases:
        entry = {"name": case.name, "file": f"{case.name}.xml", "expect": case.expect,
                 "reason": case.reason}
        if case.expect == "ok":
            subject, roles, attributes = verified_facts(case, idp)
            spec = case.spec
            want_roles = [p for v in spec.roles for p in v.split(",") if ":role/" in p]
            want_attrs = {}
            for name, values in spec.attributes():
                want_attrs.setdefault(name, []).extend(values)
            if (subject, roles, attributes) != (spec.subject, want_roles, want_attrs):
                raise SystemExit(f"{case.name}: verified content differs from what was built:\n"
                                 f"{subject!r} {roles!r} {attributes!r}")
            entry.update(subject=subject, roles=roles, attributes=attributes)
            if xmlsec.binary:
                for i in range(1, len(signatures(etree.fromstring(case.data))) + 1):
                    ok, log = xmlsec.verify(case.data, i)
                    if not ok:
                        raise SystemExit(f"{case.name}: xmlsec1 rejects signature {i}:\n{log}")
        else:
            entry["xmldsig_valid"] = case.xmldsig_valid
            if xmlsec.binary and case.xmldsig_valid is not None:
                ok, log = xmlsec.verify(case.data, 1)
                if ok != case.xmldsig_valid:
                    raise SystemExit(f"{case.name}: xmlsec1 says valid={ok}, expected "
                                     f"{case.xmldsig_valid}:\n{log}")
            signer = case.extra.get("signer")
            if signer is not None:
                XMLVerifier().verify(case.data, x509_cert=signer.cert_pem.decode())
                if xmlsec.binary:
                    ok, log = xmlsec.verify(case.data, 1, signer.cert_pem)
                    if not ok:
                        raise SystemExit(f"{case.name}: xmlsec1 rejects it under its own "
                                         f"signer's certificate:\n{log}")
        out.append(entry)
    return out


# --- output ----------------------------------------------------------------------------------


def write(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new-keys", action="store_true", help="replace the committed key pairs")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    idp = load_or_make_pair("idp", "idp.example.test", 0x1D90_0001, args.new_keys)
    other = load_or_make_pair("other", "other-idp.example.test", 0x1D90_0002, args.new_keys)
    # The attacker copies the IdP certificate's names so only the key tells them apart.
    attacker = load_or_make_pair("attacker", "idp.example.test", 0x1D90_0001, args.new_keys)
    for stem, pair in (("idp", idp), ("other", other), ("attacker", attacker)):
        write(OUT / f"{stem}-key.pem", pair.key_pem)
        write(OUT / f"{stem}-cert.pem", pair.cert_pem)
    write(OUT / "metadata.xml", metadata_xml(IDP_ENTITY, idp, "idp.example.test"))
    write(OUT / "other-metadata.xml", metadata_xml(OTHER_ENTITY, other, "other-idp.example.test"))

    cases = build_cases(idp, other, attacker)
    names = [c.name for c in cases]
    assert len(set(names)) == len(names)
    xmlsec = Xmlsec(OUT / "idp-cert.pem")
    entries = check(cases, idp, xmlsec)

    keep = {f"{n}.xml" for n in names} | {"metadata.xml", "other-metadata.xml"}
    for stale in OUT.glob("*.xml"):
        if stale.name not in keep:
            stale.unlink()
    for case in cases:
        write(OUT / f"{case.name}.xml", case.data)
    write(OUT / "cases.json", (json.dumps(entries, indent=2, ensure_ascii=False) + "\n").encode())

    ok = sum(c.expect == "ok" for c in cases)
    print(f"{len(cases)} cases ({ok} ok, {len(cases) - ok} refused) in {OUT.relative_to(REPO)}")
    print("signxml XMLVerifier: all ok cases verified")
    if xmlsec.binary:
        print(f"{xmlsec.version}: ok cases verified, refused cases' xmldsig_valid confirmed")
    else:
        print("xmlsec1 not installed: xmlsec1 cross-check skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
