//! Parsing untrusted XML. `roxmltree` has no DTD support at all: a document
//! with `<!DOCTYPE` is refused (so no entity expansion, internal or
//! external), and on top of that we bound the size, the node count and the
//! nesting depth. Helpers here read names, prefixes and texts the way the
//! other modules need them.

use roxmltree::{Document, Node, NodeId, ParsingOptions};

use crate::error::{Result, SamlError};

/// The largest message or metadata document accepted, in bytes.
pub const MAX_SIZE: usize = 256 * 1024;
/// The deepest element nesting accepted.
pub const MAX_DEPTH: usize = 48;
/// The most nodes accepted in one document.
pub const MAX_NODES: u32 = 20_000;

/// Parses `text`, refusing DTDs, oversize input and deep nesting.
pub fn parse(text: &str) -> Result<Document<'_>> {
    if text.len() > MAX_SIZE {
        return Err(SamlError::Xml(format!("larger than {MAX_SIZE} bytes")));
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlError::Xml("DTDs are not accepted".into()),
        other => SamlError::Xml(other.to_string()),
    })?;
    // Depths by node id: a parent comes before its children in document order.
    let mut depth = vec![0usize; doc.descendants().count() + 1];
    for node in doc.descendants() {
        let d = node
            .parent()
            .and_then(|p| depth.get(p.id().get_usize()).copied())
            .map_or(0, |d| d + 1);
        if d > MAX_DEPTH {
            return Err(SamlError::Xml(format!("nested deeper than {MAX_DEPTH}")));
        }
        if let Some(slot) = depth.get_mut(node.id().get_usize()) {
            *slot = d;
        }
    }
    Ok(doc)
}

/// Whether `node` is the element `{namespace}name`.
pub fn is(node: Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(namespace)
}

/// The child elements `{namespace}name` of `node`.
pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, namespace, name))
}

/// The first child element `{namespace}name` of `node`.
pub fn child<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'static str,
    name: &'static str,
) -> Option<Node<'a, 'i>> {
    children(node, namespace, name).next()
}

/// The only child element `{namespace}name`; `Invalid` when there are several.
pub fn single_child<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'static str,
    name: &'static str,
) -> Result<Option<Node<'a, 'i>>> {
    let mut found = children(node, namespace, name);
    let first = found.next();
    if found.next().is_some() {
        return Err(SamlError::Invalid(format!("more than one <{name}>")));
    }
    Ok(first)
}

/// The element's text content (its text children), trimmed.
pub fn text(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The prefix the element's name was written with, if any.
pub fn element_prefix<'i>(node: Node<'_, 'i>) -> Option<&'i str> {
    let input = node.document().input_text();
    let start = node.range().start + 1;
    let rest = input.get(start..)?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    rest.get(..end)?.split_once(':').map(|(prefix, _)| prefix)
}

/// The prefix an attribute's name was written with, if any.
pub fn attribute_prefix<'i>(
    attribute: &roxmltree::Attribute<'_, 'i>,
    doc: &Document<'i>,
) -> Option<&'i str> {
    doc.input_text()
        .get(attribute.range_qname())?
        .split_once(':')
        .map(|(prefix, _)| prefix)
}

/// Every element of the document whose attribute `ID` is `id`.
pub fn elements_with_id<'a, 'i>(
    doc: &'a Document<'i>,
    id: &'a str,
) -> impl Iterator<Item = NodeId> + 'a {
    doc.descendants()
        .filter(move |n| n.is_element() && n.attribute("ID") == Some(id))
        .map(|n| n.id())
}

/// The attribute, or `Invalid` naming it.
pub fn required<'a>(node: Node<'a, '_>, name: &str) -> Result<&'a str> {
    node.attribute(name)
        .ok_or_else(|| SamlError::Invalid(format!("<{}> has no {name}", node.tag_name().name())))
}

/// An `xs:boolean` attribute (`true`, `false`, `1`, `0`); `default` when absent.
pub fn boolean(node: Node<'_, '_>, name: &str, default: bool) -> Result<bool> {
    match node.attribute(name) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(SamlError::Invalid(format!("{name} is not a boolean"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn doctype_and_entities_refused() {
        let billion = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>"#;
        assert_eq!(
            parse(billion).err(),
            Some(SamlError::Xml("DTDs are not accepted".into()))
        );
        let external = r#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
        assert!(parse(external).is_err());
    }

    #[test]
    fn size_and_depth_bounded() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 2),
            "</a>".repeat(MAX_DEPTH + 2)
        );
        assert!(matches!(parse(&deep), Err(SamlError::Xml(_))));
        let ok = format!("{}{}", "<a>".repeat(10), "</a>".repeat(10));
        assert!(parse(&ok).is_ok());
        let big = format!("<a>{}</a>", "x".repeat(MAX_SIZE));
        assert!(matches!(parse(&big), Err(SamlError::Xml(_))));
    }

    #[test]
    fn prefixes_read_from_the_input() {
        let doc = parse(r#"<p:a xmlns:p="urn:p" xmlns:q="urn:q" q:x="1"><b/></p:a>"#).unwrap();
        let root = doc.root_element();
        assert_eq!(element_prefix(root), Some("p"));
        let b = root.first_element_child().unwrap();
        assert_eq!(element_prefix(b), None);
        let attr = root.attributes().next().unwrap();
        assert_eq!(attribute_prefix(&attr, &doc), Some("q"));
    }
}
