//! The XML we emit, built as a small tree and serialised in Exclusive XML
//! Canonicalization 1.0 form (without comments).
//!
//! Emitting the canonical form directly means the bytes we digest and sign
//! are exactly the bytes we send, with no canonicaliser in between. The tree
//! is narrow on purpose: every element has a namespace prefix (no default
//! namespace), attributes are unprefixed, and there are no comments, so the
//! rules of Exc-C14N reduce to (§3 of the spec, and C14N 1.0 §2.3):
//! - a namespace declaration is rendered on an element that uses its prefix
//!   unless the nearest output ancestor already rendered the same binding;
//! - attributes are sorted by name (all are in no namespace);
//! - empty elements are written as a start and an end tag;
//! - text escapes `&`, `<`, `>` and CR; attribute values escape `&`, `<`,
//!   `"`, TAB, LF and CR.

/// A child of an [`Element`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// An element in a namespace, written as `prefix:name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    prefix: &'static str,
    namespace: &'static str,
    name: &'static str,
    attributes: Vec<(&'static str, String)>,
    children: Vec<Node>,
}

impl Element {
    pub fn new(prefix: &'static str, namespace: &'static str, name: &'static str) -> Self {
        Self {
            prefix,
            namespace,
            name,
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an (unprefixed) attribute.
    #[must_use]
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attributes.push((name, value.into()));
        self
    }

    /// Adds the attribute when `value` is `Some`.
    #[must_use]
    pub fn attr_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.attr(name, value),
            None => self,
        }
    }

    #[must_use]
    pub fn child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    #[must_use]
    pub fn children(mut self, children: impl IntoIterator<Item = Element>) -> Self {
        self.children
            .extend(children.into_iter().map(Node::Element));
        self
    }

    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.children.push(Node::Text(text.into()));
        self
    }

    /// Inserts a child element at `index` among the children (clamped to the end).
    pub fn insert(&mut self, index: usize, child: Element) {
        let index = index.min(self.children.len());
        self.children.insert(index, Node::Element(child));
    }

    /// The value of an attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element as the apex of a document subset: its canonical form.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, &mut Vec::new());
        out
    }

    /// `rendered`: the namespace bindings output ancestors rendered, innermost last.
    fn write(&self, out: &mut String, rendered: &mut Vec<(&'static str, &'static str)>) {
        out.push('<');
        out.push_str(self.prefix);
        out.push(':');
        out.push_str(self.name);
        let in_scope = rendered
            .iter()
            .rev()
            .find(|(p, _)| *p == self.prefix)
            .map(|(_, ns)| *ns);
        let declared = in_scope != Some(self.namespace);
        if declared {
            out.push_str(" xmlns:");
            out.push_str(self.prefix);
            out.push_str("=\"");
            escape_attribute(out, self.namespace);
            out.push('"');
            rendered.push((self.prefix, self.namespace));
        }
        let mut attributes: Vec<&(&str, String)> = self.attributes.iter().collect();
        attributes.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in attributes {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_attribute(out, value);
            out.push('"');
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(e) => e.write(out, rendered),
                Node::Text(t) => escape_text(out, t),
            }
        }
        out.push_str("</");
        out.push_str(self.prefix);
        out.push(':');
        out.push_str(self.name);
        out.push('>');
        if declared {
            rendered.pop();
        }
    }
}

/// C14N 1.0 §2.3: text node escaping.
pub(crate) fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// C14N 1.0 §2.3: attribute value escaping.
pub(crate) fn escape_attribute(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_rendered_once_and_attributes_sorted() {
        let e = Element::new("a", "urn:a", "Root")
            .attr("z", "1")
            .attr("b", "x\"<&\n")
            .child(Element::new("a", "urn:a", "Child").text("1 < 2 & 3 > 0"))
            .child(Element::new("b", "urn:b", "Other"));
        assert_eq!(
            e.canonical(),
            "<a:Root xmlns:a=\"urn:a\" b=\"x&quot;&lt;&amp;&#xA;\" z=\"1\">\
             <a:Child>1 &lt; 2 &amp; 3 &gt; 0</a:Child>\
             <b:Other xmlns:b=\"urn:b\"></b:Other></a:Root>"
        );
    }
}
