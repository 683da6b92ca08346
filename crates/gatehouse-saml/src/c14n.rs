//! Exclusive XML Canonicalization 1.0 (without comments) of a parsed
//! subtree, as the enveloped-signature transform followed by
//! `http://www.w3.org/2001/10/xml-exc-c14n#` needs it: the apex element and
//! its descendants, minus one excluded subtree (the `<ds:Signature>`).
//!
//! Exc-C14N §3: a namespace declaration is rendered on an element when the
//! element or one of its attributes visibly uses the prefix (or the prefix is
//! in the `InclusiveNamespaces PrefixList`) and the nearest output ancestor
//! did not already render the same binding. Attributes sort by namespace URI,
//! then local name; namespace declarations by prefix. Comments are dropped.
//! Checked against `xmlsec1` in the tests.

use roxmltree::{Node, NodeId};

use crate::tree::{escape_attribute, escape_text};
use crate::xml;

/// The canonical form of `apex` and its descendants, without the subtree
/// rooted at `exclude`. `inclusive` is the transform's `PrefixList`
/// (`#default` names the default namespace).
pub fn canonicalize(apex: Node<'_, '_>, exclude: Option<NodeId>, inclusive: &[&str]) -> String {
    let mut out = String::new();
    let mut rendered: Vec<(String, String)> = Vec::new();
    write_element(apex, exclude, inclusive, &mut rendered, &mut out);
    out
}

fn write_element(
    node: Node<'_, '_>,
    exclude: Option<NodeId>,
    inclusive: &[&str],
    rendered: &mut Vec<(String, String)>,
    out: &mut String,
) {
    let doc = node.document();
    let prefix = xml::element_prefix(node).unwrap_or("");
    let name = node.tag_name().name();
    // Visibly utilized bindings: the element's own prefix and its attributes' prefixes.
    let mut used: Vec<(String, String)> = vec![(
        prefix.to_owned(),
        node.tag_name().namespace().unwrap_or("").to_owned(),
    )];
    for attribute in node.attributes() {
        if let Some(p) = xml::attribute_prefix(&attribute, doc)
            && p != "xml"
        {
            used.push((p.to_owned(), attribute.namespace().unwrap_or("").to_owned()));
        }
    }
    for p in inclusive {
        let p = if *p == "#default" { "" } else { *p };
        let uri = node.lookup_namespace_uri(if p.is_empty() { None } else { Some(p) });
        if let Some(uri) = uri {
            used.push((p.to_owned(), uri.to_owned()));
        }
    }
    used.sort();
    used.dedup();
    let mut declared = 0;
    let mut declarations = String::new();
    for (p, uri) in used {
        let current = rendered
            .iter()
            .rev()
            .find(|(rp, _)| *rp == p)
            .map_or("", |(_, u)| u.as_str());
        if current == uri {
            continue;
        }
        if p.is_empty() {
            declarations.push_str(" xmlns=\"");
        } else {
            declarations.push_str(" xmlns:");
            declarations.push_str(&p);
            declarations.push_str("=\"");
        }
        escape_attribute(&mut declarations, &uri);
        declarations.push('"');
        rendered.push((p, uri));
        declared += 1;
    }
    out.push('<');
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(name);
    out.push_str(&declarations);
    let mut attributes: Vec<_> = node.attributes().collect();
    attributes.sort_by(|a, b| {
        (a.namespace().unwrap_or(""), a.name()).cmp(&(b.namespace().unwrap_or(""), b.name()))
    });
    for attribute in attributes {
        out.push(' ');
        if let Some(p) = xml::attribute_prefix(&attribute, doc) {
            out.push_str(p);
            out.push(':');
        }
        out.push_str(attribute.name());
        out.push_str("=\"");
        escape_attribute(out, attribute.value());
        out.push('"');
    }
    out.push('>');
    for child in node.children() {
        if Some(child.id()) == exclude {
            continue;
        }
        if child.is_element() {
            write_element(child, exclude, inclusive, rendered, out);
        } else if child.is_text() {
            escape_text(out, child.text().unwrap_or(""));
        } else if let Some(pi) = child.pi() {
            out.push_str("<?");
            out.push_str(pi.target);
            if let Some(value) = pi.value {
                out.push(' ');
                out.push_str(value);
            }
            out.push_str("?>");
        }
    }
    out.push_str("</");
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(name);
    out.push('>');
    rendered.truncate(rendered.len() - declared);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let doc = xml::parse(input).unwrap();
        assert_eq!(canonicalize(doc.root_element(), None, &[]), expected);
    }

    #[test]
    fn exclusive_canonical_forms() {
        // Unused declarations go, attributes sort, empty elements expand.
        check(
            r#"<a:r xmlns:a="urn:a" xmlns:unused="urn:u" z="1" b='2'><a:e/></a:r>"#,
            r#"<a:r xmlns:a="urn:a" b="2" z="1"><a:e></a:e></a:r>"#,
        );
        // A declaration used deeper is rendered where it is used; comments drop.
        check(
            "<r xmlns:b=\"urn:b\"><!-- c --><b:x b:y=\"&#xA;\">t&amp;</b:x></r>",
            "<r><b:x xmlns:b=\"urn:b\" b:y=\"&#xA;\">t&amp;</b:x></r>",
        );
        // Default namespace rendered once; an inner undeclaration renders xmlns="".
        check(
            r#"<r xmlns="urn:d"><s><t xmlns=""/></s></r>"#,
            r#"<r xmlns="urn:d"><s><t xmlns=""></t></s></r>"#,
        );
        // Namespaced attributes sort after unqualified ones, by URI.
        check(
            r#"<r xmlns:z="urn:a" xmlns:a="urn:z" a:x="1" z:x="2" c="3"/>"#,
            r#"<r xmlns:a="urn:z" xmlns:z="urn:a" c="3" z:x="2" a:x="1"></r>"#,
        );
    }
}
