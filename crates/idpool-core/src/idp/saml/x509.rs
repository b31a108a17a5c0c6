//! The public key of an X.509 certificate from SAML metadata: just enough DER to reach the SubjectPublicKeyInfo (RFC 5280 §4.1; spec §3.3 SAML).

// Nothing else of the certificate is used: IAM trusts a SAML provider's certificates because
// the account put them in the metadata, not because of who signed them or until when.

/// A key that can check XML signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// PKCS#1 RSAPublicKey DER.
    Rsa(Vec<u8>),
    /// An uncompressed P-256 point.
    EcP256(Vec<u8>),
    /// An uncompressed P-384 point.
    EcP384(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertError(pub &'static str);

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;
const VERSION_TAG: u8 = 0xa0;

/// One DER element: its tag, its contents, and what follows it.
fn next(input: &[u8]) -> Result<(u8, &[u8], &[u8]), CertError> {
    let bad = CertError("malformed DER");
    let (&tag, rest) = input.split_first().ok_or(bad.clone())?;
    let (&first, rest) = rest.split_first().ok_or(bad.clone())?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad);
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad);
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), CertError> {
    let (t, body, rest) = next(input)?;
    if t != tag {
        return Err(CertError("unexpected DER element"));
    }
    Ok((body, rest))
}

/// The certificate's subject public key.
pub fn public_key(cert_der: &[u8]) -> Result<PublicKey, CertError> {
    let (cert, _) = expect(cert_der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION_TAG) {
        rest = next(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = next(rest)?.2;
    }
    let (spki, _) = expect(rest, SEQUENCE)?;
    let (algorithm, rest) = expect(spki, SEQUENCE)?;
    let (bits, _) = expect(rest, BIT_STRING)?;
    let key = match bits.split_first() {
        Some((0, key)) => key.to_vec(),
        _ => return Err(CertError("public key is not a whole number of bytes")),
    };
    let (oid, params) = expect(algorithm, OID)?;
    match oid {
        OID_RSA => Ok(PublicKey::Rsa(key)),
        OID_EC => {
            let (curve, _) = expect(params, OID)?;
            match curve {
                OID_P256 => Ok(PublicKey::EcP256(key)),
                OID_P384 => Ok(PublicKey::EcP384(key)),
                _ => Err(CertError("unsupported elliptic curve")),
            }
        }
        _ => Err(CertError("unsupported public key algorithm")),
    }
}
