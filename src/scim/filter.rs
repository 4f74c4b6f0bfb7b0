//! SCIM filters (RFC 7644 §3.4.2.2), parsed into a tree the Users and Groups queries read:
//! attribute comparisons (`eq ne co sw ew gt lt ge le`), presence (`pr`), `and` binding tighter
//! than `or`, `not (…)`, grouping, and value paths (`emails[type eq "work"]`), also followed by
//! a sub-attribute comparison as Okta and Microsoft Entra send them
//! (`emails[type eq "work"].value eq "a@example.com"`). Keywords and operators are
//! case-insensitive; strings are JSON strings.
//!
//! Whatever a client sends, the answer is a tree or an [`Invalid`] that says why (the RFC's
//! `invalidFilter`): bounded in length and in nesting (so a thousand parentheses cost nothing),
//! no control characters.

/// The longest filter read.
pub const MAX_FILTER: usize = 8 * 1024;
/// The deepest nesting of parentheses, `not` and value paths.
pub const MAX_DEPTH: usize = 32;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    /// `attr pr`, or a bare value path (`emails[type eq "work"]`): the attribute has a value
    /// (that matches the path's filter).
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// `[urn:…:]name[[filter]][.sub]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN, when the path names one.
    pub schema: Option<String>,
    pub name: String,
    /// A value path's filter over the attribute's values.
    pub filter: Option<Box<Filter>>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Lt,
    Ge,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// Why a filter is refused: the RFC's `invalidFilter`, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `text` as a SCIM filter.
pub fn parse(text: &str) -> Result<Filter, Invalid> {
    if text.len() > MAX_FILTER {
        return Err(Invalid(format!(
            "the filter is longer than {MAX_FILTER} bytes"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid("the filter holds control characters".to_owned()));
    }
    let tokens = tokens(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let filter = parser.or()?;
    match parser.peek() {
        None => Ok(filter),
        Some(token) => Err(Invalid(format!("unexpected {token} after the filter"))),
    }
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2): an attribute path, perhaps with a
/// value filter and a sub-attribute after it (`members[value eq "…"]`,
/// `emails[type eq "work"].value`).
pub fn parse_path(text: &str) -> Result<AttrPath, Invalid> {
    if text.len() > MAX_FILTER {
        return Err(Invalid(format!(
            "the path is longer than {MAX_FILTER} bytes"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid("the path holds control characters".to_owned()));
    }
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
        depth: 0,
    };
    let path = parser.path()?;
    match parser.peek() {
        None => Ok(path),
        Some(token) => Err(Invalid(format!("unexpected {token} after the path"))),
    }
}

/// Attributes compared case-exactly (RFC 7643: `id`, `externalId`, references); every other
/// string compares without regard to case.
fn case_exact(name: &str) -> bool {
    ["id", "externalId", "$ref"]
        .iter()
        .any(|exact| exact.eq_ignore_ascii_case(name))
}

/// The member of `object` named `name`, compared without regard to case as SCIM names are.
pub fn member<'a>(object: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// Whether the JSON resource or value `subject` matches `filter`. A path reaching a
/// multi-valued attribute matches when any of its values does.
pub fn matches(filter: &Filter, subject: &serde_json::Value) -> bool {
    match filter {
        Filter::And(left, right) => matches(left, subject) && matches(right, subject),
        Filter::Or(left, right) => matches(left, subject) || matches(right, subject),
        Filter::Not(inner) => !matches(inner, subject),
        Filter::Present(path) => values_at(path, subject)
            .iter()
            .any(|value| !value.is_null() && value.as_str() != Some("")),
        Filter::Compare { path, op, value } => {
            let exact = case_exact(path.sub.as_deref().unwrap_or(&path.name));
            let found = values_at(path, subject);
            if *value == Value::Null {
                let present = found.iter().any(|v| !v.is_null());
                return match op {
                    CompareOp::Eq => !present,
                    CompareOp::Ne => present,
                    _ => false,
                };
            }
            found
                .iter()
                .any(|candidate| compare(candidate, *op, value, exact))
        }
    }
}

/// The values `path` reaches in `subject`, arrays flattened.
fn values_at<'a>(path: &AttrPath, subject: &'a serde_json::Value) -> Vec<&'a serde_json::Value> {
    let base = match path.schema.as_deref() {
        Some(schema) => member(subject, schema).unwrap_or(subject),
        None => subject,
    };
    let Some(found) = member(base, &path.name) else {
        return vec![];
    };
    let mut values: Vec<&serde_json::Value> = match found {
        serde_json::Value::Array(items) => items.iter().collect(),
        value => vec![value],
    };
    if let Some(filter) = &path.filter {
        values.retain(|value| matches(filter, value));
    }
    match &path.sub {
        Some(sub) => values
            .into_iter()
            .filter_map(|value| member(value, sub))
            .flat_map(|value| match value {
                serde_json::Value::Array(items) => items.iter().collect(),
                value => vec![value],
            })
            .collect(),
        None => values,
    }
}

fn compare(candidate: &serde_json::Value, op: CompareOp, wanted: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = match (candidate, wanted) {
        (serde_json::Value::String(have), Value::String(want)) => {
            let (have, want) = if exact {
                (have.clone(), want.clone())
            } else {
                (have.to_lowercase(), want.to_lowercase())
            };
            match op {
                CompareOp::Co => return have.contains(&want),
                CompareOp::Sw => return have.starts_with(&want),
                CompareOp::Ew => return have.ends_with(&want),
                _ => have.cmp(&want),
            }
        }
        (serde_json::Value::Bool(have), Value::Bool(want)) => have.cmp(want),
        (serde_json::Value::Number(have), Value::Number(want)) => {
            match have.as_f64().and_then(|have| have.partial_cmp(want)) {
                Some(ordering) => ordering,
                None => return false,
            }
        }
        _ => return false,
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Word(word) => write!(f, "`{}`", word.chars().take(40).collect::<String>()),
            Token::Str(_) => f.write_str("a string"),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
            Token::OpenBracket => f.write_str("`[`"),
            Token::CloseBracket => f.write_str("`]`"),
        }
    }
}

/// The filter's tokens: words (paths, operators, literals), JSON strings and brackets. A `]`
/// followed by `.sub` yields the `]` and the word `.sub`.
fn tokens(text: &str) -> Result<Vec<Token>, Invalid> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                let end = string_end(text, start)?;
                let literal: String = serde_json::from_str(&text[start..end])
                    .map_err(|_| Invalid("a string is not a JSON string".to_owned()))?;
                out.push(Token::Str(literal));
                while chars.peek().is_some_and(|&(at, _)| at < end) {
                    chars.next();
                }
            }
            _ => {
                let mut end = text.len();
                while let Some(&(at, c)) = chars.peek() {
                    if matches!(c, ' ' | '(' | ')' | '[' | ']' | '"') {
                        end = at;
                        break;
                    }
                    chars.next();
                }
                out.push(Token::Word(text[start..end].to_owned()));
            }
        }
    }
    Ok(out)
}

/// Where the JSON string that opens at `start` ends (just after its closing quote).
fn string_end(text: &str, start: usize) -> Result<usize, Invalid> {
    let bytes = text.as_bytes();
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return Ok(at + 1),
            _ => at += 1,
        }
    }
    Err(Invalid("a string is not closed".to_owned()))
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    /// Whether the next token is the keyword `word` (any case); takes it when it is.
    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word));
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, wanted: Token) -> Result<(), Invalid> {
        match self.next() {
            Some(token) if token == wanted => Ok(()),
            Some(token) => Err(Invalid(format!("expected {wanted}, found {token}"))),
            None => Err(Invalid(format!("expected {wanted} at the end"))),
        }
    }

    fn deeper(&mut self) -> Result<(), Invalid> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Invalid(format!("the filter nests deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, Invalid> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, Invalid> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, Invalid> {
        if self.keyword("not") {
            self.deeper()?;
            self.expect(Token::Open)?;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            self.deeper()?;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.attribute_expression()
    }

    /// `path pr`, `path op value`, or a bare value path.
    fn attribute_expression(&mut self) -> Result<Filter, Invalid> {
        let path = self.path()?;
        let bare_value_path = path.filter.is_some() && path.sub.is_none();
        let op = match self.peek() {
            Some(Token::Word(word)) => word.to_ascii_lowercase(),
            _ if bare_value_path => return Ok(Filter::Present(path)),
            Some(token) => return Err(Invalid(format!("expected an operator, found {token}"))),
            None => return Err(Invalid("expected an operator at the end".to_owned())),
        };
        if bare_value_path && matches!(op.as_str(), "and" | "or") {
            return Ok(Filter::Present(path));
        }
        self.at += 1;
        if op == "pr" {
            return Ok(Filter::Present(path));
        }
        let op = compare_op(&op)?;
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    /// An attribute path, with a value filter in brackets and a sub-attribute after it.
    fn path(&mut self) -> Result<AttrPath, Invalid> {
        let Some(Token::Word(word)) = self.next() else {
            return Err(Invalid("expected an attribute".to_owned()));
        };
        let mut path = attr_path(&word)?;
        if self.peek() == Some(&Token::OpenBracket) {
            if path.sub.is_some() {
                return Err(Invalid("a value filter follows a sub-attribute".to_owned()));
            }
            self.at += 1;
            self.deeper()?;
            let inner = self.or()?;
            self.expect(Token::CloseBracket)?;
            self.depth -= 1;
            path.filter = Some(Box::new(inner));
            if let Some(Token::Word(word)) = self.peek().cloned()
                && let Some(sub) = word.strip_prefix('.')
            {
                self.at += 1;
                path.sub = Some(attr_name(sub)?);
            }
        }
        Ok(path)
    }

    fn value(&mut self) -> Result<Value, Invalid> {
        match self.next() {
            Some(Token::Str(text)) => Ok(Value::String(text)),
            Some(Token::Word(word)) => match word.to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                _ => word
                    .parse::<f64>()
                    .ok()
                    .filter(|number| number.is_finite())
                    .map(Value::Number)
                    .ok_or_else(|| Invalid(format!("{} is not a value", Token::Word(word)))),
            },
            Some(token) => Err(Invalid(format!("expected a value, found {token}"))),
            None => Err(Invalid("expected a value at the end".to_owned())),
        }
    }
}

fn compare_op(op: &str) -> Result<CompareOp, Invalid> {
    Ok(match op {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "lt" => CompareOp::Lt,
        "ge" => CompareOp::Ge,
        "le" => CompareOp::Le,
        other => {
            let shown: String = other.chars().take(20).collect();
            return Err(Invalid(format!("`{shown}` is not an operator")));
        }
    })
}

/// `[urn:…:]name[.sub]`: the schema is everything before the last `:`.
fn attr_path(word: &str) -> Result<AttrPath, Invalid> {
    let (schema, rest) = match word.rfind(':') {
        Some(colon) if word[..colon].to_ascii_lowercase().starts_with("urn:") => {
            (Some(word[..colon].to_owned()), &word[colon + 1..])
        }
        _ => (None, word),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(attr_name(sub)?)),
        None => (rest, None),
    };
    Ok(AttrPath {
        schema,
        name: attr_name(name)?,
        filter: None,
        sub,
    })
}

/// An attribute name: a letter, then letters, digits, `-`, `_` or `$`.
fn attr_name(name: &str) -> Result<String, Invalid> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$'));
    if valid && name.len() <= 128 {
        Ok(name.to_owned())
    } else {
        let shown: String = name.chars().take(40).collect();
        Err(Invalid(format!("`{shown}` is not an attribute name")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> AttrPath {
        AttrPath {
            schema: None,
            name: name.to_owned(),
            filter: None,
            sub: None,
        }
    }

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare {
            path: path(name),
            op: CompareOp::Eq,
            value: Value::String(value.to_owned()),
        }
    }

    #[test]
    fn the_filters_okta_and_entra_send_parse() {
        assert_eq!(
            parse(r#"userName eq "bjensen""#).unwrap(),
            eq("userName", "bjensen")
        );
        assert_eq!(
            parse(r#"userName Eq "bjensen""#).unwrap(),
            eq("userName", "bjensen")
        );
        assert_eq!(
            parse(r#"externalId eq "00u1" and active eq true"#).unwrap(),
            Filter::And(
                Box::new(eq("externalId", "00u1")),
                Box::new(Filter::Compare {
                    path: path("active"),
                    op: CompareOp::Eq,
                    value: Value::Bool(true),
                })
            )
        );
        let work = parse(r#"emails[type eq "work"].value eq "a@example.com""#).unwrap();
        let Filter::Compare { path, op, value } = work else {
            panic!("a comparison");
        };
        assert_eq!(path.name, "emails");
        assert_eq!(path.sub.as_deref(), Some("value"));
        assert_eq!(*path.filter.unwrap(), eq("type", "work"));
        assert_eq!(
            (op, value),
            (CompareOp::Eq, Value::String("a@example.com".into()))
        );
        let urn = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#).unwrap();
        let Filter::Compare { path, op, .. } = urn else {
            panic!("a comparison");
        };
        assert_eq!(
            path.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!((path.name.as_str(), op), ("userName", CompareOp::Sw));
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_and_groups_nest() {
        let parsed = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        assert_eq!(
            parsed,
            Filter::Or(
                Box::new(eq("a", "1")),
                Box::new(Filter::And(Box::new(eq("b", "2")), Box::new(eq("c", "3"))))
            )
        );
        let grouped = parse(r#"(a eq "1" or b eq "2") and not (c pr)"#).unwrap();
        assert!(matches!(grouped, Filter::And(_, ref right) if matches!(**right, Filter::Not(_))));
        assert!(matches!(
            parse(r#"emails[type eq "work" and primary eq true]"#).unwrap(),
            Filter::Present(_)
        ));
        assert_eq!(
            parse(r#"title eq "say \"hi\"""#).unwrap(),
            eq("title", "say \"hi\"")
        );
        assert!(matches!(
            parse("meta.lastModified gt 1.5e3").unwrap(),
            Filter::Compare {
                value: Value::Number(_),
                ..
            }
        ));
    }

    #[test]
    fn hostile_filters_are_refused_with_a_reason() {
        let deep = format!("{}a pr{}", "(".repeat(1000), ")".repeat(1000));
        let nots = format!("{}a pr{}", "not (".repeat(1000), ")".repeat(1000));
        let brackets = format!("{}{}", "a[".repeat(1000), "b pr");
        for (filter, why) in [
            (deep.as_str(), "deeper"),
            (nots.as_str(), "deeper"),
            (brackets.as_str(), "deeper"),
            ("userName eq \"a\u{0}b\"", "control"),
            ("userName xx \"a\"", "not an operator"),
            ("userName eq", "at the end"),
            ("userName eq \"a", "not closed"),
            ("(userName eq \"a\"", "expected `)`"),
            ("userName eq \"a\")", "unexpected"),
            ("1abc eq \"a\"", "not an attribute"),
            ("userName eq bjensen", "not a value"),
            ("userName eq \"a\" and", "expected an attribute"),
            ("", "expected an attribute"),
        ] {
            let refused = parse(filter).unwrap_err();
            assert!(refused.0.contains(why), "{filter:?}: {refused}");
        }
        let megabyte = format!("userName eq \"{}\"", "x".repeat(1 << 20));
        assert!(parse(&megabyte).unwrap_err().0.contains("longer"));
    }

    #[test]
    fn filters_match_resources_as_scim_compares() {
        let user = serde_json::json!({
            "userName": "Ada@Example.com",
            "externalId": "00u1",
            "active": true,
            "emails": [
                { "value": "ada@home.test", "type": "home" },
                { "value": "Ada@Example.com", "type": "work", "primary": true }
            ],
            "name": { "givenName": "Ada" }
        });
        let yes = [
            "userName eq \"ada@example.com\"",
            "emails[type eq \"work\"].value eq \"ada@example.com\"",
            "emails[type eq \"work\" and primary eq true]",
            "externalId eq \"00u1\" and active eq true",
            "name.givenName sw \"A\"",
            "emails.value co \"home\"",
            "not (active eq false)",
            "nickName eq null",
            "USERNAME ew \"EXAMPLE.COM\"",
        ];
        for text in yes {
            assert!(matches(&parse(text).unwrap(), &user), "{text}");
        }
        let no = [
            "externalId eq \"00U1\"",
            "emails[type eq \"home\"].value eq \"ada@example.com\"",
            "active eq false",
            "userName pr and nickName pr",
            "name.givenName gt \"B\"",
        ];
        for text in no {
            assert!(!matches(&parse(text).unwrap(), &user), "{text}");
        }
    }

    #[test]
    fn patch_paths_parse_with_value_filters_and_extensions() {
        let path = parse_path("members[value eq \"2819c223\"]").unwrap();
        assert_eq!(path.name, "members");
        assert!(path.filter.is_some() && path.sub.is_none());
        let path = parse_path("emails[type eq \"work\"].value").unwrap();
        assert_eq!(path.sub.as_deref(), Some("value"));
        let path =
            parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
                .unwrap();
        assert_eq!(
            path.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.name, "department");
        assert!(parse_path("members[value eq \"x\"] extra").is_err());
        assert!(parse_path("bad\u{0}path").is_err());
        assert!(parse_path("").is_err());
    }
}
