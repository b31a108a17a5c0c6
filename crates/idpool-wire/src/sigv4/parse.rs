//! Reads the SigV4 inputs of a request: Authorization header or presigned query, dates, token (security spec §3).

use http::HeaderMap;
use http::header::{AUTHORIZATION, DATE};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::SigV4Error;
use super::canonical::QueryParam;

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const TERMINATOR: &str = "aws4_request";
/// The longest presigned lifetime AWS accepts: seven days.
pub(crate) const MAX_EXPIRES_S: i64 = 604_800;

pub(crate) const X_AMZ_ALGORITHM: &[u8] = b"X-Amz-Algorithm";
pub(crate) const X_AMZ_CREDENTIAL: &[u8] = b"X-Amz-Credential";
pub(crate) const X_AMZ_DATE: &[u8] = b"X-Amz-Date";
pub(crate) const X_AMZ_EXPIRES: &[u8] = b"X-Amz-Expires";
pub(crate) const X_AMZ_SIGNED_HEADERS: &[u8] = b"X-Amz-SignedHeaders";
pub(crate) const X_AMZ_SIGNATURE: &[u8] = b"X-Amz-Signature";
pub(crate) const X_AMZ_SECURITY_TOKEN: &[u8] = b"X-Amz-Security-Token";

const HEADER_AMZ_DATE: &str = "x-amz-date";
const HEADER_SECURITY_TOKEN: &str = "x-amz-security-token";

const HOST_NOT_SIGNED: &str =
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";

/// `AKID/date/region/service/terminator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Header,
    Presigned { expires_s: i64 },
}

/// Everything the client claims about its signature, before any check against state.
#[derive(Debug, Clone)]
pub(crate) struct AuthInput {
    pub form: Form,
    pub scope: Scope,
    /// `SignedHeaders` exactly as sent; it is part of the canonical request.
    pub signed_headers: String,
    pub signature: String,
    /// The request time in ISO 8601 basic format, as it enters the string to sign.
    pub amz_date: String,
    pub signed_at_ms: i64,
    pub session_token: Option<String>,
}

impl AuthInput {
    pub(crate) fn signed_header_names(&self) -> Vec<&str> {
        self.signed_headers.split(';').collect()
    }
}

pub(crate) fn is_presign_key(key: &[u8]) -> bool {
    key == X_AMZ_ALGORITHM || key == X_AMZ_CREDENTIAL || key == X_AMZ_SIGNATURE
}

/// Finds and parses the authentication inputs; `Missing` when the request carries none.
pub(crate) fn extract(headers: &HeaderMap, query: &[QueryParam]) -> Result<AuthInput, SigV4Error> {
    let has_header = headers.contains_key(AUTHORIZATION);
    let has_query = query.iter().any(|p| is_presign_key(&p.key));
    match (has_header, has_query) {
        (false, false) => Err(SigV4Error::Missing),
        (true, true) => Err(SigV4Error::Malformed(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the \
             Authorization header should be specified"
                .into(),
        )),
        (true, false) => from_header(headers),
        (false, true) => from_query(headers, query),
    }
}

/// The single value of a header as text, `None` when absent.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, SigV4Error> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(SigV4Error::Malformed(format!(
            "The request must not repeat the '{name}' header."
        )));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| SigV4Error::Malformed(format!("The '{name}' header is not valid text.")))
}

fn bad_date(value: &str) -> SigV4Error {
    SigV4Error::Malformed(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// The request time from `X-Amz-Date`, else from `Date` (ISO basic or IMF-fixdate).
fn header_date(headers: &HeaderMap) -> Result<Option<(String, i64)>, SigV4Error> {
    if let Some(value) = single_header(headers, HEADER_AMZ_DATE)? {
        let ms = parse_iso_basic(value).ok_or_else(|| bad_date(value))?;
        return Ok(Some((value.to_owned(), ms)));
    }
    if let Some(value) = single_header(headers, DATE.as_str())? {
        let ms = parse_iso_basic(value)
            .or_else(|| parse_imf_fixdate(value))
            .ok_or_else(|| bad_date(value))?;
        return Ok(Some((format_iso_basic(ms), ms)));
    }
    Ok(None)
}

fn from_header(headers: &HeaderMap) -> Result<AuthInput, SigV4Error> {
    let raw = single_header(headers, AUTHORIZATION.as_str())?.unwrap_or_default();
    let trimmed = raw.trim();
    let (algorithm, rest) = trimmed
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((trimmed, ""));
    let known_algorithm = algorithm == ALGORITHM;

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            if known_algorithm {
                return Err(SigV4Error::Incomplete(format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                     header: '{raw}'."
                )));
            }
            continue;
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_some() {
            return Err(SigV4Error::Incomplete(format!(
                "Authorization header has a duplicate '{}' parameter. Authorization={raw}",
                key.trim()
            )));
        }
        *slot = Some(value.trim());
    }
    let date = header_date(headers)?;

    let mut missing = String::new();
    for (present, name) in [
        (credential.is_some(), "Credential"),
        (signature.is_some(), "Signature"),
        (signed_headers.is_some(), "SignedHeaders"),
    ] {
        if !present {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some((amz_date, signed_at_ms))) =
        (credential, signed_headers, signature, date)
    else {
        return Err(SigV4Error::Incomplete(format!(
            "{missing}Authorization={raw}"
        )));
    };
    if !known_algorithm {
        return Err(SigV4Error::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'. Only '{ALGORITHM}' is accepted."
        )));
    }
    require_host(signed_headers)?;
    Ok(AuthInput {
        form: Form::Header,
        scope: parse_credential(credential)?,
        signed_headers: signed_headers.to_owned(),
        signature: signature.to_owned(),
        amz_date,
        signed_at_ms,
        session_token: single_header(headers, HEADER_SECURITY_TOKEN)?.map(str::to_owned),
    })
}

fn from_query(headers: &HeaderMap, query: &[QueryParam]) -> Result<AuthInput, SigV4Error> {
    let find = |name: &[u8]| -> Result<Option<String>, SigV4Error> {
        let mut found = query.iter().filter(|p| p.key == name);
        let Some(first) = found.next() else {
            return Ok(None);
        };
        let label = String::from_utf8_lossy(name);
        if found.next().is_some() {
            return Err(SigV4Error::Malformed(format!(
                "The query string must not repeat '{label}'."
            )));
        }
        String::from_utf8(first.value.clone())
            .map(Some)
            .map_err(|_| SigV4Error::Malformed(format!("'{label}' is not valid UTF-8.")))
    };
    let algorithm = find(X_AMZ_ALGORITHM)?;
    let credential = find(X_AMZ_CREDENTIAL)?;
    let signature = find(X_AMZ_SIGNATURE)?;
    let date = find(X_AMZ_DATE)?;
    let signed_headers = find(X_AMZ_SIGNED_HEADERS)?;
    let expires = find(X_AMZ_EXPIRES)?;
    let token = find(X_AMZ_SECURITY_TOKEN)?;

    let (
        Some(algorithm),
        Some(credential),
        Some(signature),
        Some(date),
        Some(signed_headers),
        Some(expires),
    ) = (
        algorithm,
        credential,
        signature,
        date,
        signed_headers,
        expires,
    )
    else {
        return Err(SigV4Error::Incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', \
             'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. \
             Re-examine the query-string parameters."
                .into(),
        ));
    };
    if algorithm != ALGORITHM {
        return Err(SigV4Error::Incomplete(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\"."
        )));
    }
    let expires_s = parse_expires(&expires)?;
    let signed_at_ms = parse_iso_basic(&date).ok_or_else(|| bad_date(&date))?;
    require_host(&signed_headers)?;
    let session_token = match token {
        Some(t) => Some(t),
        None => single_header(headers, HEADER_SECURITY_TOKEN)?.map(str::to_owned),
    };
    Ok(AuthInput {
        form: Form::Presigned { expires_s },
        scope: parse_credential(&credential)?,
        signed_headers,
        signature,
        amz_date: date,
        signed_at_ms,
        session_token,
    })
}

fn parse_expires(value: &str) -> Result<i64, SigV4Error> {
    let expires: i64 = value
        .parse()
        .map_err(|_| SigV4Error::Malformed("X-Amz-Expires should be a number".into()))?;
    if expires < 0 {
        return Err(SigV4Error::Malformed(
            "X-Amz-Expires must be non-negative".into(),
        ));
    }
    if expires == 0 {
        return Err(SigV4Error::Malformed(
            "X-Amz-Expires must be at least one second".into(),
        ));
    }
    if expires > MAX_EXPIRES_S {
        return Err(SigV4Error::Malformed(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_S}"
        )));
    }
    Ok(expires)
}

fn require_host(signed_headers: &str) -> Result<(), SigV4Error> {
    if signed_headers
        .split(';')
        .any(|h| h.eq_ignore_ascii_case("host"))
    {
        Ok(())
    } else {
        Err(SigV4Error::Incomplete(HOST_NOT_SIGNED.into()))
    }
}

fn parse_credential(credential: &str) -> Result<Scope, SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(SigV4Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{credential}'"
        )));
    };
    Ok(Scope {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        terminator: (*terminator).to_owned(),
    })
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn to_unix_ms(year: u32, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp()
            * 1000,
    )
}

/// `YYYYMMDDTHHMMSSZ`, the only form SigV4 puts in `X-Amz-Date`.
pub(crate) fn parse_iso_basic(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if !value.is_ascii() || b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    to_unix_ms(
        digits(&value[0..4])?,
        digits(&value[4..6])?,
        digits(&value[6..8])?,
        digits(&value[9..11])?,
        digits(&value[11..13])?,
        digits(&value[13..15])?,
    )
}

/// `Sun, 30 Aug 2015 12:36:00 GMT`, the HTTP `Date` format.
fn parse_imf_fixdate(value: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [_weekday, day, month, year, clock, "GMT"] = fields.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    let mut hms = clock.split(':');
    let (h, m, s) = (hms.next()?, hms.next()?, hms.next()?);
    if hms.next().is_some() || year.len() != 4 {
        return None;
    }
    to_unix_ms(
        digits(year)?,
        u32::try_from(month).ok()?,
        digits(day)?,
        digits(h)?,
        digits(m)?,
        digits(s)?,
    )
}

/// Formats epoch milliseconds as `YYYYMMDDTHHMMSSZ` (seconds truncated).
pub(crate) fn format_iso_basic(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_junk() {
        let ms = parse_iso_basic("20150830T123600Z").unwrap();
        assert_eq!(ms, 1_440_938_160_000);
        assert_eq!(format_iso_basic(ms), "20150830T123600Z");
        assert_eq!(format_iso_basic(ms + 999), "20150830T123600Z");
        assert_eq!(parse_imf_fixdate("Sun, 30 Aug 2015 12:36:00 GMT"), Some(ms));
        for bad in [
            "",
            "20150830T123600",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150830T246000Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
            "2015083é123600Z",
            "2015€0T123600Z",
        ] {
            assert_eq!(parse_iso_basic(bad), None, "{bad}");
        }
        assert_eq!(parse_imf_fixdate("Sun, 30 Aug 2015 12:36:00 UTC"), None);
        assert_eq!(parse_imf_fixdate("Sun, 30 Foo 2015 12:36:00 GMT"), None);
    }

    #[test]
    fn expires_bounds() {
        assert_eq!(parse_expires("1").unwrap(), 1);
        assert_eq!(parse_expires("604800").unwrap(), 604_800);
        for bad in ["0", "-1", "604801", "abc", "", "1.5"] {
            assert!(
                matches!(parse_expires(bad), Err(SigV4Error::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn credential_needs_five_parts() {
        let scope = parse_credential("AKID/20150830/us-east-1/service/aws4_request").unwrap();
        assert_eq!(scope.access_key_id, "AKID");
        assert_eq!(scope.service, "service");
        let err = parse_credential("AKID/20150830/us-east-1").unwrap_err();
        assert_eq!(
            err,
            SigV4Error::Incomplete(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got 'AKID/20150830/us-east-1'"
                    .into()
            )
        );
    }
}
