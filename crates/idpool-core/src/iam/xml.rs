//! Rendering IAM replies: the awsQuery envelope, dates, lists and URL-encoded policy documents (spec §5.1).

use idpool_wire::query::IAM_NAMESPACE;
use idpool_wire::xml::XmlWriter;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is escaped, so that any URL decoder
/// (boto3's `unquote`, the CLI, the SDKs) gives back the exact bytes the caller sent.
const POLICY_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A policy document as IAM returns it: percent-encoded.
pub(crate) fn url_encoded(document: &str) -> String {
    utf8_percent_encode(document, POLICY_ESCAPES).to_string()
}

/// `2026-11-26T09:17:41Z`: IAM's timestamps, whole seconds in UTC.
pub(crate) fn iso_date(ms: i64) -> String {
    let nanos = i128::from(ms.div_euclid(1000)) * 1_000_000_000;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

/// The whole reply of an action whose output has a `<XResult>` element.
pub(crate) fn with_result(
    action: &str,
    request_id: &str,
    body: impl FnOnce(&mut XmlWriter),
) -> String {
    let mut w = XmlWriter::new();
    let response = format!("{action}Response");
    let result = format!("{action}Result");
    w.open_ns(&response, IAM_NAMESPACE);
    w.open(&result);
    body(&mut w);
    w.close(&result);
    metadata(&mut w, request_id);
    w.close(&response);
    w.finish()
}

/// The whole reply of an action that returns nothing but its request id.
pub(crate) fn without_result(action: &str, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    let response = format!("{action}Response");
    w.open_ns(&response, IAM_NAMESPACE);
    metadata(&mut w, request_id);
    w.close(&response);
    w.finish()
}

fn metadata(w: &mut XmlWriter, request_id: &str) {
    w.open("ResponseMetadata");
    w.leaf("RequestId", request_id);
    w.close("ResponseMetadata");
}

/// `<name><member>a</member>...</name>`; an empty list is still written, as IAM does.
pub(crate) fn string_list<S: AsRef<str>>(w: &mut XmlWriter, name: &str, items: &[S]) {
    w.open(name);
    for item in items {
        w.leaf("member", item.as_ref());
    }
    w.close(name);
}

/// `<Tags><member><Key>k</Key><Value>v</Value></member>...</Tags>`.
pub(crate) fn tag_list(w: &mut XmlWriter, tags: &[(String, String)]) {
    w.open("Tags");
    for (key, value) in tags {
        w.open("member");
        w.leaf("Key", key);
        w.leaf("Value", value);
        w.close("member");
    }
    w.close("Tags");
}

pub(crate) fn truncation(w: &mut XmlWriter, next_marker: Option<&str>) {
    w.leaf(
        "IsTruncated",
        if next_marker.is_some() {
            "true"
        } else {
            "false"
        },
    );
    w.opt_leaf("Marker", next_marker);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_seconds_in_utc() {
        assert_eq!(iso_date(1_795_684_661_999), "2026-11-26T09:17:41Z");
        assert_eq!(iso_date(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn policy_documents_survive_any_url_decoder() {
        let doc = "{\"Version\": \"2012-10-17\",\n \"Sid\": \"a+b/c~é%20\"}";
        let encoded = url_encoded(doc);
        assert!(!encoded.contains(' ') && !encoded.contains('+') && !encoded.contains('"'));
        assert!(encoded.starts_with("%7B%22Version%22%3A%20%222012-10-17%22%2C%0A"));
        let decoded = percent_encoding::percent_decode_str(&encoded)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, doc);
    }

    #[test]
    fn envelopes_carry_the_namespace_and_request_id() {
        let body = with_result("GetRole", "req-1", |w| w.leaf("X", "<y>"));
        assert_eq!(
            body,
            "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetRoleResult>\
             <X>&lt;y&gt;</X></GetRoleResult><ResponseMetadata><RequestId>req-1</RequestId>\
             </ResponseMetadata></GetRoleResponse>"
        );
        assert_eq!(
            without_result("DeleteRole", "r"),
            "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteRoleResponse>"
        );
    }
}
