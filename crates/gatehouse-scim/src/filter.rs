//! SCIM filters (RFC 7644 §3.4.2.2): the typed AST, the parser of the
//! Figure 1 grammar, the canonical rendering, and evaluation on a JSON
//! resource ([`matches()`], in `filter/eval.rs`).
//!
//! The grammar, as parsed here:
//!
//! ```text
//! FILTER    = orExp
//! orExp     = andExp *(SP "or" SP andExp)
//! andExp    = unary *(SP "and" SP unary)
//! unary     = "not" [SP] "(" FILTER ")" / "(" FILTER ")" / valuePath / attrExp
//! valuePath = attrPath "[" valFilter "]"        ; top level only, no nesting
//! valFilter = FILTER over sub-attribute names   ; errata 4690 and 7322
//! attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
//! compValue = false / null / true / number / string   ; JSON, RFC 8259
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ATTRNAME  = (ALPHA / "$") *(nameChar)         ; "$" for "$ref" (RFC 7643 §2.1)
//! nameChar  = "-" / "_" / DIGIT / ALPHA
//! subAttr   = "." ATTRNAME
//! ```
//!
//! Departures, each for a real client or the RFC's own examples: `not` may be
//! followed by a space (errata 7319; §3.4.2.2 writes `not (…)`); keywords
//! (`and`, `or`, `not`, `pr`, the operators and the JSON literals) match in
//! any case (§3.4.2.2: "attribute names and attribute operators used in
//! filters are case insensitive"); runs of spaces count as one `SP`.
//!
//! Precedence is `not` > `and` > `or` (§3.4.2.2), both binary operators
//! associate to the left. The input is limited to [`MAX_FILTER_LEN`] bytes
//! and [`MAX_DEPTH`] levels of grouping, so no input can exhaust the stack.

mod eval;

use std::fmt;

use serde_json::Number;
use winnow::Parser as _;
use winnow::ascii::Caseless;
use winnow::token::{literal, take_while};

pub(crate) use eval::matches_element;
pub use eval::{format_instant, instant, matches};

use crate::error::ScimError;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;

/// Deepest nesting of parentheses, `not` and value paths accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed filter. Grouping parentheses leave no node: the tree is the grouping.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `attrPath pr`
    Present(AttrPath),
    /// `attrPath op value`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attrPath[valFilter]`: the inner filter applies to each value of a
    /// multi-valued complex attribute; its paths name sub-attributes.
    ValuePath(AttrPath, Box<Filter>),
    /// `not (FILTER)`
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// `[URI ":"] ATTRNAME ["." subAttr]`, as written (names compare
/// case-insensitively later, RFC 7643 §2.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URI, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub schema: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path without schema or sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            schema: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// Parses a whole attribute path (as in `sortBy` or `attributes`).
    pub fn parse(input: &str) -> Result<Self, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError::new(0, FilterErrorKind::TooLong));
        }
        let mut cursor = Cursor::new(input);
        let path = cursor.attr_path(Scope::Top)?;
        cursor.end()?;
        Ok(path)
    }

    /// True when `name` (and the sub-attribute) equal the given ones, ignoring case.
    pub fn is(&self, name: &str, sub_attr: Option<&str>) -> bool {
        self.name.eq_ignore_ascii_case(name)
            && match (&self.sub_attr, sub_attr) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
    }
}

/// The attribute operators of §3.4.2.2, Table 3 (`pr` is [`Filter::Present`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        Self::Eq,
        Self::Ne,
        Self::Co,
        Self::Sw,
        Self::Ew,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// `compValue = false / null / true / number / string` (JSON values).
#[derive(Clone, Debug, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

/// Why a filter (or path) did not parse, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {position}")]
pub struct FilterError {
    /// Byte offset into the input where the problem was found.
    pub position: usize,
    pub kind: FilterErrorKind,
}

impl FilterError {
    fn new(position: usize, kind: FilterErrorKind) -> Self {
        Self { position, kind }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterErrorKind {
    #[error("input longer than {MAX_FILTER_LEN} bytes")]
    TooLong,
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("expected an attribute path")]
    ExpectedAttrPath,
    #[error("invalid attribute name")]
    InvalidAttrName,
    #[error("a value filter names sub-attributes only (no schema URI, no '.')")]
    QualifiedInValueFilter,
    #[error("value paths cannot nest")]
    NestedValuePath,
    #[error("expected an operator")]
    ExpectedOperator,
    #[error("unsupported operator")]
    UnknownOperator,
    #[error("expected a comparison value (a JSON string, number, true, false or null)")]
    ExpectedValue,
    #[error("invalid JSON string")]
    InvalidString,
    #[error("invalid JSON number")]
    InvalidNumber,
    #[error("expected ')'")]
    ExpectedCloseParen,
    #[error("expected ']'")]
    ExpectedCloseBracket,
    #[error("unexpected input")]
    Unexpected,
}

impl From<FilterError> for ScimError {
    /// RFC 7644 §3.4.2.2: a filter that cannot be parsed is 400 `invalidFilter`.
    fn from(error: FilterError) -> Self {
        ScimError::invalid_filter(format!("invalid filter: {error}"))
    }
}

/// Parses a filter (RFC 7644 §3.4.2.2).
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(FilterError::new(0, FilterErrorKind::TooLong));
    }
    let mut cursor = Cursor::new(input);
    cursor.skip_spaces();
    let filter = cursor.or_exp(Scope::Top)?;
    cursor.end()?;
    Ok(filter)
}

/// Where a path is parsed: at the top, or inside a value path's brackets,
/// where only bare sub-attribute names are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Top,
    ValueFilter,
}

/// The parser's state: what is left of the input, its full length (for
/// positions) and the current nesting depth.
#[derive(Debug)]
pub(crate) struct Cursor<'i> {
    rest: &'i str,
    len: usize,
    depth: usize,
}

fn is_space(c: char) -> bool {
    c == ' '
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_' | '$')
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl<'i> Cursor<'i> {
    pub(crate) fn new(input: &'i str) -> Self {
        Self {
            rest: input,
            len: input.len(),
            depth: 0,
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.len - self.rest.len()
    }

    fn error<T>(&self, kind: FilterErrorKind) -> Result<T, FilterError> {
        Err(FilterError::new(self.position(), kind))
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    /// Consumes `c` if it is next.
    pub(crate) fn eat(&mut self, c: char) -> bool {
        literal::<_, _, ()>(c).parse_next(&mut self.rest).is_ok()
    }

    pub(crate) fn skip_spaces(&mut self) -> usize {
        take_while::<_, _, ()>(0.., is_space)
            .parse_next(&mut self.rest)
            .map_or(0, str::len)
    }

    /// Fails unless only spaces are left.
    pub(crate) fn end(&mut self) -> Result<(), FilterError> {
        self.skip_spaces();
        if self.rest.is_empty() {
            Ok(())
        } else {
            self.error(FilterErrorKind::Unexpected)
        }
    }

    /// `SP keyword SP`, consumed only if the whole sequence is there.
    fn keyword_between_spaces(&mut self, keyword: &'static str) -> bool {
        let saved = self.rest;
        if self.skip_spaces() > 0
            && literal::<_, _, ()>(Caseless(keyword))
                .parse_next(&mut self.rest)
                .is_ok()
            && self.skip_spaces() > 0
        {
            return true;
        }
        self.rest = saved;
        false
    }

    fn descend(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(FilterErrorKind::TooDeep);
        }
        Ok(())
    }

    pub(crate) fn or_exp(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        let mut left = self.and_exp(scope)?;
        while self.keyword_between_spaces("or") {
            let right = self.and_exp(scope)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_exp(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        let mut left = self.unary(scope)?;
        while self.keyword_between_spaces("and") {
            let right = self.unary(scope)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        let saved = self.rest;
        if literal::<_, _, ()>(Caseless("not"))
            .parse_next(&mut self.rest)
            .is_ok()
        {
            self.skip_spaces();
            if self.peek() == Some('(') {
                return Ok(Filter::Not(Box::new(self.group(scope)?)));
            }
            // An attribute that happens to start with "not".
            self.rest = saved;
        }
        if self.peek() == Some('(') {
            return self.group(scope);
        }
        self.attr_exp(scope)
    }

    /// `"(" FILTER ")"`, at the opening parenthesis.
    fn group(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        self.descend()?;
        self.eat('(');
        self.skip_spaces();
        let inner = self.or_exp(scope)?;
        self.skip_spaces();
        if !self.eat(')') {
            return self.error(FilterErrorKind::ExpectedCloseParen);
        }
        self.depth -= 1;
        Ok(inner)
    }

    /// `attrPath "[" valFilter "]"`, at the opening bracket.
    pub(crate) fn value_filter(&mut self) -> Result<Filter, FilterError> {
        self.descend()?;
        self.eat('[');
        self.skip_spaces();
        let inner = self.or_exp(Scope::ValueFilter)?;
        self.skip_spaces();
        if !self.eat(']') {
            return self.error(FilterErrorKind::ExpectedCloseBracket);
        }
        self.depth -= 1;
        Ok(inner)
    }

    fn attr_exp(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        let path = self.attr_path(scope)?;
        if self.peek() == Some('[') {
            if scope == Scope::ValueFilter {
                return self.error(FilterErrorKind::NestedValuePath);
            }
            if path.sub_attr.is_some() {
                return self.error(FilterErrorKind::Unexpected);
            }
            let inner = self.value_filter()?;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        if self.skip_spaces() == 0 {
            return self.error(FilterErrorKind::ExpectedOperator);
        }
        let at = self.position();
        let word = take_while::<_, _, ()>(1.., |c: char| c.is_ascii_alphabetic())
            .parse_next(&mut self.rest)
            .or_else(|()| self.error(FilterErrorKind::ExpectedOperator))?;
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            return Err(FilterError::new(at, FilterErrorKind::UnknownOperator));
        };
        if self.skip_spaces() == 0 {
            return self.error(FilterErrorKind::ExpectedValue);
        }
        let value = self.comp_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    /// `[URI ":"] ATTRNAME ["." ATTRNAME]`: the URI is everything before the
    /// last colon (schema URNs contain dots, as in `2.0`).
    pub(crate) fn attr_path(&mut self, scope: Scope) -> Result<AttrPath, FilterError> {
        let start = self.position();
        let token = take_while::<_, _, ()>(1.., is_path_char)
            .parse_next(&mut self.rest)
            .or_else(|()| self.error(FilterErrorKind::ExpectedAttrPath))?;
        let invalid = |kind| Err(FilterError::new(start, kind));
        let (schema, local) = match token.rsplit_once(':') {
            Some((uri, local)) => {
                if !uri.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    return invalid(FilterErrorKind::InvalidAttrName);
                }
                (Some(uri.to_owned()), local)
            }
            None => (None, token),
        };
        let (name, sub_attr) = match local.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (local, None),
        };
        if !is_name(name) || sub_attr.is_some_and(|sub| !is_name(sub)) {
            return invalid(FilterErrorKind::InvalidAttrName);
        }
        if scope == Scope::ValueFilter && (schema.is_some() || sub_attr.is_some()) {
            return invalid(FilterErrorKind::QualifiedInValueFilter);
        }
        Ok(AttrPath {
            schema,
            name: name.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        })
    }

    fn comp_value(&mut self) -> Result<CompValue, FilterError> {
        let start = self.position();
        match self.peek() {
            Some('"') => {
                let mut end = None;
                let mut escaped = false;
                for (i, c) in self.rest.char_indices().skip(1) {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i + 1);
                            break;
                        }
                        (false, _) => {}
                    }
                }
                let Some(end) = end else {
                    return self.error(FilterErrorKind::InvalidString);
                };
                let (literal, rest) = self.rest.split_at(end);
                let text: String = serde_json::from_str(literal)
                    .map_err(|_| FilterError::new(start, FilterErrorKind::InvalidString))?;
                self.rest = rest;
                Ok(CompValue::String(text))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let literal = take_while::<_, _, ()>(1.., |c: char| {
                    c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')
                })
                .parse_next(&mut self.rest)
                .or_else(|()| self.error(FilterErrorKind::InvalidNumber))?;
                let invalid = || FilterError::new(start, FilterErrorKind::InvalidNumber);
                // serde_json checks the JSON number syntax; fractions are read
                // by the standard library, which rounds correctly, so that
                // the rendered (shortest) form reads back to the same value.
                let number: Number = serde_json::from_str(literal).map_err(|_| invalid())?;
                let number = if number.is_f64() {
                    literal
                        .parse::<f64>()
                        .ok()
                        .and_then(Number::from_f64)
                        .ok_or_else(invalid)?
                } else {
                    number
                };
                Ok(CompValue::Number(number))
            }
            _ => {
                let word = take_while::<_, _, ()>(1.., |c: char| c.is_ascii_alphabetic())
                    .parse_next(&mut self.rest)
                    .or_else(|()| self.error(FilterErrorKind::ExpectedValue))?;
                match word.to_ascii_lowercase().as_str() {
                    "true" => Ok(CompValue::Bool(true)),
                    "false" => Ok(CompValue::Bool(false)),
                    "null" => Ok(CompValue::Null),
                    _ => Err(FilterError::new(start, FilterErrorKind::ExpectedValue)),
                }
            }
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => {
                let json = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&json)
            }
        }
    }
}

impl CompValue {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Bool(b) => (*b).into(),
            Self::Number(n) => serde_json::Value::Number(n.clone()),
            Self::String(s) => s.clone().into(),
        }
    }
}

impl Filter {
    /// Binding strength: `or` 0, `and` 1, everything else 2.
    fn level(&self) -> u8 {
        match self {
            Self::Or(..) => 0,
            Self::And(..) => 1,
            Self::Present(_) | Self::Compare(..) | Self::ValuePath(..) | Self::Not(_) => 2,
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, min_level: u8) -> fmt::Result {
        if self.level() < min_level {
            f.write_str("(")?;
            self.write(f, 0)?;
            return f.write_str(")");
        }
        match self {
            Self::Present(path) => write!(f, "{path} pr"),
            Self::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Self::ValuePath(path, inner) => {
                write!(f, "{path}[")?;
                inner.write(f, 0)?;
                f.write_str("]")
            }
            Self::Not(inner) => {
                f.write_str("not (")?;
                inner.write(f, 0)?;
                f.write_str(")")
            }
            // Left-associative: a right operand of the same level needs parentheses.
            Self::And(left, right) => {
                left.write(f, 1)?;
                f.write_str(" and ")?;
                right.write(f, 2)
            }
            Self::Or(left, right) => {
                left.write(f, 0)?;
                f.write_str(" or ")?;
                right.write(f, 1)
            }
        }
    }
}

/// The canonical form: lower-case keywords, single spaces, JSON-escaped
/// strings and only the parentheses the tree needs. It parses back to the
/// same AST.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
