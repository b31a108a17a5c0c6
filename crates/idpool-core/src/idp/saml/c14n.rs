//! XML canonicalization of one element's subtree: Exclusive XML Canonicalization 1.0 and Canonical XML 1.0, with or without comments (W3C xml-exc-c14n, xml-c14n; security-and-performance.md §1.1 item 15).

// The input is a subtree of a parsed document (a same-document reference or SignedInfo), so
// every node is in the node-set except one optional excluded subtree: the enveloped
// signature. Prefixes are read back from the source text because the parsed tree keeps only
// namespace URIs, and canonical form writes the prefixes exactly as the document did.

use std::collections::BTreeMap;

use roxmltree::{Node, NodeType};

pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Nesting the recursion below may follow: real responses are about ten deep, and thousands of
/// levels overflow a 2 MiB worker stack, which aborts the process.
const MAX_DEPTH: usize = 128;
/// Canonical bytes one subtree may produce. Exclusive c14n repeats a namespace declaration on
/// every element whose output parent did not make it, so a long URI used by many siblings
/// multiplies the input a thousandfold; real responses stay far below this.
const MAX_OUTPUT: usize = 1 << 20;

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
    element(apex, method, excluded, &rendered, 0, &mut out)?;
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

/// `rendered` maps each prefix ("" = default) to the URI the nearest output ancestor declared.
fn element<'a>(
    node: Node<'a, 'a>,
    method: &'a Method,
    excluded: Option<roxmltree::NodeId>,
    rendered: &BTreeMap<&'a str, &'a str>,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    if depth > MAX_DEPTH {
        return Err(C14nError("elements are nested too deeply"));
    }
    let prefix = element_prefix(node)?;
    let mut attrs = Vec::new();
    for a in node.attributes() {
        let p = attribute_prefix(node, &a)?;
        attrs.push((a.namespace().unwrap_or(""), a.name(), p, a.value()));
    }

    // Below the apex, inclusive c14n renders only what differs from the output parent, which
    // rendered all it had in scope: an element that declares nothing renders none. Skipping
    // those keeps the work per element from growing with the namespaces in scope.
    let inherits_all = !method.exclusive
        && depth > 0
        && node
            .parent()
            .is_some_and(|p| p.namespaces().eq(node.namespaces()));
    let declared = if inherits_all {
        Vec::new()
    } else {
        declarations(node, method, prefix, &attrs, rendered)
    };

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
    // Text can only grow a few times over the input; declarations are what multiply.
    if out.len() > MAX_OUTPUT {
        return Err(C14nError("the canonical form is too large"));
    }

    // Most elements declare nothing, and then their children see what they saw.
    let extended;
    let inner = if declared.is_empty() {
        rendered
    } else {
        let mut map = rendered.clone();
        map.extend(declared);
        extended = map;
        &extended
    };
    for child in node.children() {
        if Some(child.id()) == excluded {
            continue;
        }
        match child.node_type() {
            NodeType::Element => element(child, method, excluded, inner, depth + 1, out)?,
            NodeType::Text => escape_text(child.text().unwrap_or_default(), out),
            NodeType::Comment if method.with_comments => {
                out.extend_from_slice(b"<!--");
                normalise_line_ends(child.text().unwrap_or_default(), out);
                out.extend_from_slice(b"-->");
            }
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    out.extend_from_slice(b"<?");
                    out.extend_from_slice(pi.target.as_bytes());
                    if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                        out.push(b' ');
                        normalise_line_ends(v, out);
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

/// The namespace declarations `node` carries in canonical form, sorted by prefix.
fn declarations<'a>(
    node: Node<'a, 'a>,
    method: &'a Method,
    prefix: &'a str,
    attrs: &[(&'a str, &'a str, &'a str, &'a str)],
    rendered: &BTreeMap<&'a str, &'a str>,
) -> Vec<(&'a str, &'a str)> {
    // The namespaces in scope by prefix, one each, sorted for lookups.
    let mut scope: Vec<(&str, &str)> = node
        .namespaces()
        .map(|ns| (ns.name().unwrap_or(""), ns.uri()))
        .collect();
    scope.sort_unstable();

    let mut candidates: Vec<&str> = Vec::new();
    if method.exclusive {
        candidates.push(prefix);
        candidates.extend(
            attrs
                .iter()
                .filter(|(ns, ..)| !ns.is_empty())
                .map(|(_, _, p, _)| *p),
        );
        candidates.extend(method.inclusive_prefixes.iter().map(String::as_str));
    } else {
        candidates.extend(scope.iter().map(|(p, _)| *p));
        candidates.push("");
    }
    candidates.sort_unstable();
    candidates.dedup();

    let mut declared = Vec::new();
    for p in candidates {
        if p == "xml" {
            continue;
        }
        let uri = match scope.binary_search_by(|(q, _)| q.cmp(&p)) {
            Ok(i) => scope[i].1,
            // The default namespace is "" where none is declared.
            Err(_) if p.is_empty() => "",
            // A listed inclusive prefix that is not in scope here renders nothing; a used
            // prefix that is not in scope cannot happen in a namespace-well-formed document.
            Err(_) => continue,
        };
        let current = rendered.get(p).copied();
        let needed = if p.is_empty() && uri.is_empty() {
            // `xmlns=""` only undoes a default namespace an output ancestor rendered.
            current.is_some_and(|c| !c.is_empty())
        } else {
            current != Some(uri)
        };
        if needed {
            declared.push((p, uri));
        }
    }
    declared
}

fn qualified(prefix: &str, local: &str) -> String {
    if prefix.is_empty() {
        local.to_string()
    } else {
        format!("{prefix}:{local}")
    }
}

/// Comment and PI text with CR LF and lone CR as LF: an XML parser does that to the whole
/// document (XML 1.0 §2.11), and c14n writes these nodes unescaped, but roxmltree only does it
/// for text and attribute values.
fn normalise_line_ends(text: &str, out: &mut Vec<u8>) {
    let mut rest = text;
    while let Some(at) = rest.find('\r') {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        out.push(b'\n');
        rest = &rest[at + 1..];
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.extend_from_slice(rest.as_bytes());
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
