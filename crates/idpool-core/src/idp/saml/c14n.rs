//! XML canonicalization of one element's subtree: Exclusive XML Canonicalization 1.0 and Canonical XML 1.0, with or without comments (W3C xml-exc-c14n, xml-c14n; security-and-performance.md §1.1 item 15).

// The input is a subtree of a parsed document (a same-document reference or SignedInfo), so
// every node is in the node-set except one optional excluded subtree: the enveloped
// signature. Prefixes are read back from the source text because the parsed tree keeps only
// namespace URIs, and canonical form writes the prefixes exactly as the document did.

use std::collections::BTreeMap;

use roxmltree::{Node, NodeType};

pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Which canonicalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Exclusive (namespaces rendered where visibly used) rather than inclusive.
    pub exclusive: bool,
    pub with_comments: bool,
    /// Exclusive only: prefixes treated the inclusive way (`InclusiveNamespaces PrefixList`);
    /// `#default` stands for the default namespace and is stored as "".
    pub inclusive_prefixes: Vec<String>,
}

impl Method {
    pub const EXC: &'static str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    pub const EXC_COMMENTS: &'static str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
    pub const INC: &'static str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    pub const INC_COMMENTS: &'static str =
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";

    /// The method an algorithm URI names, if it is one of the four.
    pub fn from_uri(uri: &str) -> Option<Method> {
        let (exclusive, with_comments) = match uri {
            Self::EXC => (true, false),
            Self::EXC_COMMENTS => (true, true),
            Self::INC => (false, false),
            Self::INC_COMMENTS => (false, true),
            _ => return None,
        };
        Some(Method {
            exclusive,
            with_comments,
            inclusive_prefixes: Vec::new(),
        })
    }
}

/// Why a subtree cannot be canonicalized (a prefix the source text does not let us recover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C14nError(pub &'static str);

/// The canonical bytes of `apex` and its descendants, leaving out `excluded` and its subtree.
pub fn canonicalize(
    apex: Node<'_, '_>,
    method: &Method,
    excluded: Option<roxmltree::NodeId>,
) -> Result<Vec<u8>, C14nError> {
    let mut out = Vec::with_capacity(apex.range().len());
    let rendered = BTreeMap::new();
    element(apex, method, excluded, &rendered, &mut out)?;
    Ok(out)
}

/// The prefix an element's start tag was written with ("" when none).
fn element_prefix<'i>(node: Node<'_, 'i>) -> Result<&'i str, C14nError> {
    let text = node.document().input_text();
    let start = node.range().start;
    let tag = text
        .get(start + 1..)
        .ok_or(C14nError("element outside the source text"))?;
    let end = tag
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(tag.len());
    let qname = &tag[..end];
    if !qname.ends_with(node.tag_name().name()) {
        return Err(C14nError("element name does not match the source text"));
    }
    Ok(qname.split_once(':').map_or("", |(p, _)| p))
}

/// The prefix an attribute was written with ("" when none).
fn attribute_prefix<'i>(
    node: Node<'_, 'i>,
    attr: &roxmltree::Attribute<'_, 'i>,
) -> Result<&'i str, C14nError> {
    let qname = node
        .document()
        .input_text()
        .get(attr.range_qname())
        .ok_or(C14nError("attribute outside the source text"))?;
    if !qname.ends_with(attr.name()) {
        return Err(C14nError("attribute name does not match the source text"));
    }
    Ok(qname.split_once(':').map_or("", |(p, _)| p))
}

/// The namespace URI bound to `prefix` ("" = default) in scope at `node`; "" when the default
/// namespace is undeclared.
fn in_scope<'a>(node: Node<'a, '_>, prefix: &str) -> Option<&'a str> {
    let found = node
        .namespaces()
        .find(|ns| ns.name().unwrap_or("") == prefix);
    match found {
        Some(ns) => Some(ns.uri()),
        None if prefix.is_empty() => Some(""),
        None => None,
    }
}

fn element(
    node: Node<'_, '_>,
    method: &Method,
    excluded: Option<roxmltree::NodeId>,
    rendered: &BTreeMap<String, String>,
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    let prefix = element_prefix(node)?;
    let mut attrs = Vec::new();
    for a in node.attributes() {
        let p = attribute_prefix(node, &a)?;
        attrs.push((a.namespace().unwrap_or(""), a.name(), p, a.value()));
    }

    // The namespace declarations this element must carry.
    let mut candidates: Vec<String> = Vec::new();
    if method.exclusive {
        candidates.push(prefix.to_string());
        candidates.extend(
            attrs
                .iter()
                .filter(|(ns, ..)| !ns.is_empty())
                .map(|(_, _, p, _)| p.to_string()),
        );
        candidates.extend(method.inclusive_prefixes.iter().cloned());
    } else {
        candidates.extend(
            node.namespaces()
                .map(|ns| ns.name().unwrap_or("").to_string()),
        );
        candidates.push(String::new());
    }
    candidates.sort();
    candidates.dedup();

    let mut declared: Vec<(String, String)> = Vec::new();
    for p in candidates {
        if p == "xml" {
            continue;
        }
        let Some(uri) = in_scope(node, &p) else {
            // A listed inclusive prefix that is not in scope here renders nothing; a used
            // prefix that is not in scope cannot happen in a namespace-well-formed document.
            continue;
        };
        let current = rendered.get(&p).map(String::as_str);
        let needed = if p.is_empty() && uri.is_empty() {
            // `xmlns=""` only undoes a default namespace an output ancestor rendered.
            current.is_some_and(|c| !c.is_empty())
        } else {
            current != Some(uri)
        };
        if needed {
            declared.push((p, uri.to_string()));
        }
    }

    let qname = qualified(prefix, node.tag_name().name());
    out.push(b'<');
    out.extend_from_slice(qname.as_bytes());
    for (p, uri) in &declared {
        if p.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attribute(uri, out);
        out.push(b'"');
    }
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, name, p, value) in &attrs {
        out.push(b' ');
        out.extend_from_slice(qualified(p, name).as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attribute(value, out);
        out.push(b'"');
    }
    out.push(b'>');

    let mut inner = rendered.clone();
    for (p, uri) in declared {
        inner.insert(p, uri);
    }
    for child in node.children() {
        if Some(child.id()) == excluded {
            continue;
        }
        match child.node_type() {
            NodeType::Element => element(child, method, excluded, &inner, out)?,
            NodeType::Text => escape_text(child.text().unwrap_or_default(), out),
            NodeType::Comment if method.with_comments => {
                out.extend_from_slice(b"<!--");
                out.extend_from_slice(child.text().unwrap_or_default().as_bytes());
                out.extend_from_slice(b"-->");
            }
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    out.extend_from_slice(b"<?");
                    out.extend_from_slice(pi.target.as_bytes());
                    if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                        out.push(b' ');
                        out.extend_from_slice(v.as_bytes());
                    }
                    out.extend_from_slice(b"?>");
                }
            }
            _ => {}
        }
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(qname.as_bytes());
    out.push(b'>');
    Ok(())
}

fn qualified(prefix: &str, local: &str) -> String {
    if prefix.is_empty() {
        local.to_string()
    } else {
        format!("{prefix}:{local}")
    }
}

fn escape_text(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn escape_attribute(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, path: &[&str], method: &Method) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let mut node = doc.root_element();
        for name in path {
            node = node
                .children()
                .find(|c| c.is_element() && c.tag_name().name() == *name)
                .unwrap();
        }
        String::from_utf8(canonicalize(node, method, None).unwrap()).unwrap()
    }

    fn exc() -> Method {
        Method::from_uri(Method::EXC).unwrap()
    }

    fn inc() -> Method {
        Method::from_uri(Method::INC).unwrap()
    }

    #[test]
    fn exclusive_renders_only_visibly_used_namespaces() {
        let xml = r#"<r:Root xmlns:r="urn:r" xmlns:a="urn:a" xmlns:b="urn:b"><a:Child b:x="1" y="2"><a:Leaf/></a:Child></r:Root>"#;
        assert_eq!(
            c14n(xml, &["Child"], &exc()),
            r#"<a:Child xmlns:a="urn:a" xmlns:b="urn:b" y="2" b:x="1"><a:Leaf></a:Leaf></a:Child>"#
        );
    }

    #[test]
    fn inclusive_renders_every_namespace_in_scope_at_the_apex() {
        let xml =
            r#"<r:Root xmlns:r="urn:r" xmlns:a="urn:a"><a:Child><a:Leaf/></a:Child></r:Root>"#;
        assert_eq!(
            c14n(xml, &["Child"], &inc()),
            r#"<a:Child xmlns:a="urn:a" xmlns:r="urn:r"><a:Leaf></a:Leaf></a:Child>"#
        );
    }

    #[test]
    fn inclusive_prefix_list_keeps_prefixes_used_only_in_content() {
        let xml = r#"<R xmlns:xs="urn:xs" xmlns:o="urn:o"><V type="xs:string">t</V></R>"#;
        let mut m = exc();
        assert_eq!(c14n(xml, &["V"], &m), r#"<V type="xs:string">t</V>"#);
        m.inclusive_prefixes = vec!["xs".into(), "absent".into()];
        assert_eq!(
            c14n(xml, &["V"], &m),
            r#"<V xmlns:xs="urn:xs" type="xs:string">t</V>"#
        );
    }

    #[test]
    fn default_namespace_is_undone_only_below_a_rendered_default() {
        let xml = r#"<R xmlns="urn:d"><A><B xmlns=""/></A></R>"#;
        assert_eq!(
            c14n(xml, &["A"], &exc()),
            r#"<A xmlns="urn:d"><B xmlns=""></B></A>"#
        );
        let xml = r#"<R><A><B xmlns=""/></A></R>"#;
        assert_eq!(c14n(xml, &["A"], &exc()), r#"<A><B></B></A>"#);
    }

    #[test]
    fn text_attributes_comments_and_line_ends_are_normalised() {
        let xml = "<R><A b='x\"&amp;&#9;&lt;' a=\"1\">t&amp;&lt;&gt;\r\nu<!-- c -->v<![CDATA[<w>]]><?pi  data?></A></R>";
        assert_eq!(
            c14n(xml, &["A"], &exc()),
            "<A a=\"1\" b=\"x&quot;&amp;&#x9;&lt;\">t&amp;&lt;&gt;\nuv&lt;w&gt;<?pi data?></A>"
        );
        let mut m = exc();
        m.with_comments = true;
        assert!(c14n(xml, &["A"], &m).contains("u<!-- c -->v"));
    }

    #[test]
    fn the_excluded_subtree_is_left_out() {
        let xml = r#"<R><A ID="x"><S><T/></S><B/></A></R>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let a = doc.root_element().first_element_child().unwrap();
        let s = a.first_element_child().unwrap();
        let out = canonicalize(a, &exc(), Some(s.id())).unwrap();
        assert_eq!(out, br#"<A ID="x"><B></B></A>"#);
    }
}
