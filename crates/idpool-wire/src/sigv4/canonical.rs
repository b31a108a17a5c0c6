//! The SigV4 canonical request: URI, query, header and payload canonicalisation (security spec §3).

use std::fmt::Write as _;

use aws_lc_rs::digest;
use http::HeaderMap;

/// Payload hash that leaves the body out of the signature (S3 and presigned URLs).
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Prefix of the payload hashes announcing an `aws-chunked` body signed chunk by chunk.
pub(crate) const STREAMING_PREFIX: &str = "STREAMING-";

/// RFC 3986 unreserved characters: the only ones SigV4 leaves unescaped.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn push_escaped(out: &mut String, b: u8) {
    // Writing to a String cannot fail.
    let _ = write!(out, "%{b:02X}");
}

/// Escapes everything but unreserved bytes (and `/` when `keep_slash`), upper-case hex.
pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes to raw bytes; a `%` not followed by two hex digits stays literal, as
/// form decoders do. `+` is a space in queries (that is how the SDK signers read them).
pub(crate) fn percent_decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%'
            && let (Some(hi), Some(lo)) = (
                input.get(i + 1).copied().and_then(hex_value),
                input.get(i + 2).copied().and_then(hex_value),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// A query parameter, decoded to bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryParam {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// Splits a raw query string (no `?`) into decoded parameters, in order.
pub(crate) fn parse_query(raw: &str) -> Vec<QueryParam> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            QueryParam {
                key: percent_decode(k.as_bytes(), true),
                value: percent_decode(v.as_bytes(), true),
            }
        })
        .collect()
}

/// The canonical query string: every parameter not skipped, re-encoded, sorted by encoded
/// key then encoded value.
pub(crate) fn canonical_query(params: &[QueryParam], skip: impl Fn(&[u8]) -> bool) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .filter(|p| !skip(&p.key))
        .map(|p| (uri_encode(&p.key, false), uri_encode(&p.value, false)))
        .collect();
    encoded.sort_unstable();
    let mut out = String::new();
    for (i, (k, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Removes `.` and `..` segments and empty segments the way the AWS SDK signers do, keeping a
/// trailing slash when the input asked for a directory.
fn normalize_path(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&kept.join("/"));
    let wants_trailing = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    if wants_trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Escapes only bytes that may not appear in a request target at all (controls, space,
/// non-ASCII), for HTTP stacks lax enough to hand them over raw.
fn escape_raw_bytes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b <= b' ' || b >= 0x7f {
            push_escaped(&mut out, b);
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// The canonical URI. Non-S3 services normalise the path and encode the already encoded
/// path a second time; S3 signs the path exactly as sent.
pub(crate) fn canonical_uri(raw_path: &str, s3_style: bool) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let path = if path.starts_with('/') {
        std::borrow::Cow::Borrowed(path)
    } else {
        std::borrow::Cow::Owned(format!("/{path}"))
    };
    if s3_style {
        escape_raw_bytes(&path)
    } else {
        uri_encode(normalize_path(&path).as_bytes(), true)
    }
}

/// Trims spaces at both ends and folds runs of spaces into one, as SigV4 asks.
fn push_trimmed_value(value: &[u8], out: &mut Vec<u8>) {
    let start = value.iter().position(|&b| b != b' ');
    let end = value.iter().rposition(|&b| b != b' ');
    let (Some(start), Some(end)) = (start, end) else {
        return;
    };
    let mut previous_space = false;
    for &b in &value[start..=end] {
        if b == b' ' {
            if !previous_space {
                out.push(b);
            }
            previous_space = true;
        } else {
            out.push(b);
            previous_space = false;
        }
    }
}

/// The canonical headers block: one `name:values\n` line per signed header, in the order the
/// client listed them; several values of one header are joined with commas.
pub(crate) fn canonical_headers(headers: &HeaderMap, signed: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * signed.len());
    for name in signed {
        let lower = name.to_ascii_lowercase();
        out.extend_from_slice(lower.as_bytes());
        out.push(b':');
        for (i, value) in headers.get_all(lower.as_str()).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed_value(value.as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    out
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// The six parts of a canonical request.
pub(crate) struct CanonicalParts<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub query: &'a str,
    pub headers: &'a [u8],
    pub signed_headers: &'a str,
    pub payload_hash: &'a str,
}

impl CanonicalParts<'_> {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.method.len() + self.uri.len() + self.query.len() + self.headers.len() + 128,
        );
        for line in [self.method, self.uri, self.query] {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(self.headers);
        out.push(b'\n');
        out.extend_from_slice(self.signed_headers.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.payload_hash.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_the_sdk_signers() {
        for (input, expected) in [
            ("/", "/"),
            ("//example//", "/example/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("/a/b/.", "/a/b/"),
            ("/a/%2E%2E/b", "/a/%2E%2E/b"),
            ("/../a", "/a"),
        ] {
            assert_eq!(normalize_path(input), expected, "{input}");
        }
    }

    #[test]
    fn double_encodes_for_non_s3_and_keeps_s3_paths() {
        assert_eq!(
            canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D", false),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(canonical_uri("/a%20b/./c", true), "/a%20b/./c");
        assert_eq!(canonical_uri("", true), "/");
        assert_eq!(canonical_uri("", false), "/");
        assert_eq!(canonical_uri("x y", true), "/x%20y");
    }

    #[test]
    fn canonical_query_sorts_and_reencodes() {
        let params = parse_query("b=2&a=z&a=y&%E1%88%B4=v&sp=a+b&t=%7e&empty&=x&&pct=%zz");
        assert_eq!(
            canonical_query(&params, |_| false),
            "=x&%E1%88%B4=v&a=y&a=z&b=2&empty=&pct=%25zz&sp=a%20b&t=~"
        );
        assert_eq!(
            canonical_query(&params, |k| k == b"a"),
            "=x&%E1%88%B4=v&b=2&empty=&pct=%25zz&sp=a%20b&t=~"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let mut h = HeaderMap::new();
        h.append("x-a", http::HeaderValue::from_static("  a   b  c "));
        h.append("x-a", http::HeaderValue::from_static("d"));
        h.insert("host", http::HeaderValue::from_static("example.com"));
        h.insert("x-blank", http::HeaderValue::from_static("   "));
        let block = canonical_headers(&h, &["host", "x-a", "x-blank", "x-missing"]);
        assert_eq!(
            String::from_utf8(block).unwrap(),
            "host:example.com\nx-a:a b c,d\nx-blank:\nx-missing:\n"
        );
    }
}
