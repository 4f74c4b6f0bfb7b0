//! Email addresses as people type them.

use crate::error::ApiError;

/// An email address as the user typed it (trimmed), compared case-insensitively through
/// [`Email::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, value: &str) -> Result<Self, ApiError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::invalid(field, "an email address is required"));
        }
        if value.len() > 254 {
            return Err(ApiError::invalid(
                field,
                "an email address has at most 254 characters",
            ));
        }
        super::text::check(field, super::text::TextKind::Line, value, 254)?;
        // The RFC 5322 grammar allows quoted local parts and comments no mail system of a
        // customer needs; email_address checks the common form including the domain's syntax.
        let parsed: email_address::EmailAddress = value
            .parse()
            .map_err(|_| ApiError::invalid(field, format!("`{value}` is not an email address")))?;
        if !parsed.domain().contains('.') || value.contains(char::is_whitespace) {
            return Err(ApiError::invalid(
                field,
                format!("`{value}` is not an email address"),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and lookups.
    /// The domain after the `@`, in lowercase ASCII (IDNA) form; `None` when it is not a host
    /// name (an address literal).
    pub fn domain(&self) -> Option<String> {
        let (_, domain) = self.as_str().rsplit_once('@')?;
        super::list_entry::domain(domain).ok()
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn emails_compare_case_insensitively_through_their_key() {
        let a = Email::parse("email", " Alice@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "Alice@Example.COM");
        assert_eq!(a.key(), "alice@example.com");
    }

    #[test]
    fn things_that_are_not_emails_are_refused_naming_the_field() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "a b@example.com",
            "alice\u{0}@example.com",
            "alice@example.com\u{7f}",
        ] {
            let err = Email::parse("email", bad).unwrap_err();
            assert_eq!(err.field, Some("email"), "{bad}");
        }
    }
}
