//! The group-rule expression language: parsed once (pure, no I/O), evaluated
//! against a user's state on every user write.
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | test
//! test    := path "==" string | path "!=" string
//!          | path "in" "[" string ("," string)* "]"
//!          | path ".startsWith(" string ")" | path "exists"
//! path    := "user." ("username" | "email" | "given_name" | "family_name" | "status")
//!          | "user.profile." name
//! string  := '"' (any character but '"' and '\', or '\"', '\\') * '"'
//! ```
//!
//! Comparisons are exact and case-sensitive. A missing value (no email, an
//! unset profile attribute) equals nothing, is `in` no list and starts with
//! nothing; `!=` is the negation of `==`, so it holds for a missing value.
//! Profile attributes that are numbers or booleans compare by their JSON text.

use crate::error::Error;
use crate::model::User;

/// Longest expression accepted, in bytes.
pub const MAX_LEN: usize = 2048;
/// Deepest nesting of `not` and parentheses accepted.
pub const MAX_DEPTH: usize = 16;
/// Most strings in one `in [...]` list.
pub const MAX_LIST: usize = 100;

/// A user attribute an expression can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    Username,
    Email,
    GivenName,
    FamilyName,
    Status,
    Profile(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Eq(Path, String),
    Ne(Path, String),
    In(Path, Vec<String>),
    StartsWith(Path, String),
    Exists(Path),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// Why an expression does not parse, and where (a 0-based character offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl ParseError {
    /// The validation error the admin API renders as problem+json 400.
    pub fn into_error(self) -> Error {
        Error::invalid(
            "expression",
            "invalid_expression",
            format!("at position {}: {}", self.position, self.message),
        )
    }
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, ParseError> {
        if text.len() > MAX_LEN {
            return Err(ParseError {
                position: 0,
                message: format!("longer than {MAX_LEN} bytes"),
            });
        }
        let mut p = Parser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        };
        let expr = p.or()?;
        p.skip_ws();
        if p.pos < p.chars.len() {
            return Err(p.error("unexpected input after the expression"));
        }
        Ok(expr)
    }

    pub fn matches(&self, user: &User) -> bool {
        match self {
            Expr::Eq(path, v) => value(user, path).is_some_and(|x| x == *v),
            Expr::Ne(path, v) => value(user, path).is_none_or(|x| x != *v),
            Expr::In(path, vs) => value(user, path).is_some_and(|x| vs.contains(&x)),
            Expr::StartsWith(path, v) => value(user, path).is_some_and(|x| x.starts_with(v)),
            Expr::Exists(path) => value(user, path).is_some(),
            Expr::Not(e) => !e.matches(user),
            Expr::And(a, b) => a.matches(user) && b.matches(user),
            Expr::Or(a, b) => a.matches(user) || b.matches(user),
        }
    }
}

fn value(user: &User, path: &Path) -> Option<String> {
    match path {
        Path::Username => Some(user.username.clone()),
        Path::Email => user.email.clone(),
        Path::GivenName => user.claims.given_name.clone(),
        Path::FamilyName => user.claims.family_name.clone(),
        Path::Status => Some(user.status.as_str().to_owned()),
        Path::Profile(name) => match user.attributes.get(name)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            v @ (serde_json::Value::Bool(_) | serde_json::Value::Number(_)) => Some(v.to_string()),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => None,
        },
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn error(&self, message: &str) -> ParseError {
        ParseError {
            position: self.pos,
            message: message.to_owned(),
        }
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Consumes `token` (after whitespace) when it is next; a word must not run on.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        let n = token.chars().count();
        let found = self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(token.chars());
        let word = token.chars().all(|c| c.is_ascii_alphabetic());
        if !found || (word && self.chars.get(self.pos + n).is_some_and(|c| is_name(*c))) {
            return false;
        }
        self.pos += n;
        true
    }

    fn expect(&mut self, token: &str) -> Result<(), ParseError> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {token:?}")))
        }
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.eat("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat("not") {
            self.nest()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.eat("(") {
            self.nest()?;
            let inner = self.or()?;
            self.expect(")")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.test()
    }

    fn test(&mut self) -> Result<Expr, ParseError> {
        let path = self.path()?;
        if self.eat("==") {
            return Ok(Expr::Eq(path, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Expr::Ne(path, self.string()?));
        }
        if self.eat(".startsWith") {
            self.expect("(")?;
            let prefix = self.string()?;
            self.expect(")")?;
            return Ok(Expr::StartsWith(path, prefix));
        }
        if self.eat("exists") {
            return Ok(Expr::Exists(path));
        }
        if self.eat("in") {
            self.expect("[")?;
            let mut items = vec![self.string()?];
            while self.eat(",") {
                if items.len() >= MAX_LIST {
                    return Err(self.error(&format!("more than {MAX_LIST} list items")));
                }
                items.push(self.string()?);
            }
            self.expect("]")?;
            return Ok(Expr::In(path, items));
        }
        Err(self.error("expected ==, !=, in, .startsWith(…) or exists"))
    }

    fn name(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        while self.peek().is_some_and(is_name) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a name"));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn path(&mut self) -> Result<Path, ParseError> {
        self.skip_ws();
        let start = self.pos;
        if !self.eat("user") || self.peek() != Some('.') {
            self.pos = start;
            return Err(self.error("expected user.<field> or user.profile.<attribute>"));
        }
        self.pos += 1;
        let field_at = self.pos;
        let field = self.name()?;
        Ok(match field.as_str() {
            "username" => Path::Username,
            "email" => Path::Email,
            "given_name" => Path::GivenName,
            "family_name" => Path::FamilyName,
            "status" => Path::Status,
            "profile" => {
                if self.peek() != Some('.') {
                    return Err(self.error("expected user.profile.<attribute>"));
                }
                self.pos += 1;
                Path::Profile(self.name()?)
            }
            _ => {
                self.pos = field_at;
                return Err(self.error(
                    "unknown field; use username, email, given_name, family_name, status or profile.<attribute>",
                ));
            }
        })
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.skip_ws();
        if self.peek() != Some('"') {
            return Err(self.error("expected a string in double quotes"));
        }
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    self.pos = start;
                    return Err(self.error("unterminated string"));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    match self.chars.get(self.pos + 1) {
                        Some(c @ ('"' | '\\')) => out.push(*c),
                        _ => return Err(self.error("only \\\" and \\\\ escapes are allowed")),
                    }
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use crate::model::UserStatus;
    use proptest::prelude::*;

    fn user(department: Option<&str>) -> User {
        let mut attributes = serde_json::Map::new();
        if let Some(d) = department {
            attributes.insert("department".into(), d.into());
        }
        attributes.insert("level".into(), 3.into());
        User {
            id: crate::ids::UserId(uuid::Uuid::nil()),
            org_id: crate::ids::OrgId(uuid::Uuid::nil()),
            username: "ada".into(),
            email: Some("ada@ward.example".into()),
            email_verified: false,
            claims: Default::default(),
            attributes,
            status: UserStatus::Active,
            created_at: 0,
            updated_at: 0,
            status_changed_at: 0,
            last_login_at: None,
            version: 1,
        }
    }

    fn eval(text: &str, u: &User) -> bool {
        Expr::parse(text)
            .map(|e| e.matches(u))
            .unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn evaluates_the_table() {
        let nurse = user(Some("Nursing"));
        let none = user(None);
        let table: &[(&str, bool, bool)] = &[
            (r#"user.profile.department == "Nursing""#, true, false),
            (r#"user.profile.department != "Nursing""#, false, true),
            (
                r#"user.profile.department in ["Surgery", "Nursing"]"#,
                true,
                false,
            ),
            (r#"user.profile.department.startsWith("Nur")"#, true, false),
            (r#"user.profile.department exists"#, true, false),
            (r#"not user.profile.department exists"#, false, true),
            (
                r#"user.status == "active" and user.username == "ada""#,
                true,
                true,
            ),
            (
                r#"user.email.startsWith("x") or (user.profile.level == "3")"#,
                true,
                true,
            ),
            (
                r#"not (user.username == "ada" and user.email exists)"#,
                false,
                false,
            ),
            (r#"user.given_name exists"#, false, false),
            (r#"user.username == "ADA""#, false, false),
        ];
        for (text, for_nurse, for_none) in table {
            assert_eq!(eval(text, &nurse), *for_nurse, "{text}");
            assert_eq!(eval(text, &none), *for_none, "{text}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let u = user(None);
        assert!(eval(
            r#"user.username == "ada" or user.username == "x" and user.username == "y""#,
            &u
        ));
    }

    #[test]
    fn reports_the_position() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("user.dept == \"a\"", 5),
            ("user.username = \"a\"", 14),
            ("user.username == a", 17),
            ("user.username == \"a", 17),
            ("(user.username exists", 21),
            ("user.username exists x", 21),
            ("account.username exists", 0),
            ("user.username existsx", 14),
        ];
        for (text, position) in cases {
            let err = Expr::parse(text)
                .err()
                .unwrap_or_else(|| panic!("{text} parsed"));
            assert_eq!(err.position, *position, "{text}: {err:?}");
        }
    }

    #[test]
    fn limits_length_and_depth() {
        let deep = format!("{}user.email exists{}", "(".repeat(17), ")".repeat(17));
        assert!(Expr::parse(&deep).is_err());
        let ok = format!("{}user.email exists{}", "(".repeat(16), ")".repeat(16));
        assert!(Expr::parse(&ok).is_ok());
        let nots = format!("{}user.email exists", "not ".repeat(17));
        assert!(Expr::parse(&nots).is_err());
        let long = format!("user.username == \"{}\"", "a".repeat(MAX_LEN));
        assert!(Expr::parse(&long).is_err());
    }

    #[test]
    fn escapes_in_strings() {
        let mut u = user(None);
        u.username = "a\"b\\c".into();
        assert!(eval(r#"user.username == "a\"b\\c""#, &u));
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,200}") {
            let _ = Expr::parse(&text);
        }

        #[test]
        fn equality_matches_exactly(department in "[A-Za-z ]{0,20}", probe in "[A-Za-z ]{0,20}") {
            let text = format!("user.profile.department == \"{probe}\"");
            let e = Expr::parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(e.matches(&user(Some(&department))), department == probe);
        }
    }
}
