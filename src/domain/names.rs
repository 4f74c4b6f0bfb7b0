//! Names people read and compare: organizations, people, roles and lists.

use super::text::{self, TextKind};
use crate::error::ApiError;

fn parse_name(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be blank"));
    }
    text::check(field, TextKind::Name, value, max)?;
    Ok(value.to_owned())
}

/// An organization's name: 1 to 200 characters, trimmed, no control characters and no
/// bidirectional or zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

impl OrganizationName {
    pub const MAX: usize = 200;

    pub fn parse(field: &'static str, value: &str) -> Result<Self, ApiError> {
        parse_name(field, value, Self::MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A person's display name: 1 to 200 characters, trimmed, no control characters and no
/// bidirectional or zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX: usize = 200;

    pub fn parse(field: &'static str, value: &str) -> Result<Self, ApiError> {
        parse_name(field, value, Self::MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A custom role's name: 1 to 100 characters, trimmed, no control characters and no
/// bidirectional or zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub const MAX: usize = 100;

    pub fn parse(field: &'static str, value: &str) -> Result<Self, ApiError> {
        parse_name(field, value, Self::MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A list's name: 1 to 100 characters, trimmed, no control characters and no
/// bidirectional or zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

impl ListName {
    pub const MAX: usize = 100;

    pub fn parse(field: &'static str, value: &str) -> Result<Self, ApiError> {
        parse_name(field, value, Self::MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The name of a service account or an API key: 1 to 100 characters, trimmed, no control
/// characters and no bidirectional or zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialName(String);

impl CredentialName {
    pub const MAX: usize = 100;

    pub fn parse(field: &'static str, value: &str) -> Result<Self, ApiError> {
        parse_name(field, value, Self::MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_overlong_names_are_refused() {
        assert!(OrganizationName::parse("name", "   ").is_err());
        assert!(OrganizationName::parse("name", &"x".repeat(5000)).is_err());
        assert!(OrganizationName::parse("name", "Acme\u{0007}").is_err());
        assert!(DisplayName::parse("displayName", "Eve\u{202E}nimda").is_err());
        assert!(RoleName::parse("name", "Admin\u{200B}").is_err());
        assert!(ListName::parse("name", "\u{2066}Blocklist").is_err());
        assert!(CredentialName::parse("name", "ci\0deploy").is_err());
        assert!(CredentialName::parse("name", &"k".repeat(101)).is_err());
        assert_eq!(
            OrganizationName::parse("name", "  Acme  ")
                .unwrap()
                .into_inner(),
            "Acme"
        );
    }
}
