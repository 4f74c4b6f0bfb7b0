//! SCIM errors as RFC 7644 §3.12 spells them: an HTTP status, a `scimType` where the RFC
//! defines one for the case, and a `detail` a person reads. Nothing from the request is echoed
//! beyond a bounded, printable excerpt.

use serde_json::{Value, json};

/// The RFC's error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The longest `detail` sent.
const MAX_DETAIL: usize = 500;

/// The `scimType`s of RFC 7644 Table 9 that Charter answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// A SCIM error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    /// `400` with `scim_type`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// `status` without a `scimType` (401, 403, 404, 409 on seats, 413, 500 …).
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Self::new(status, None, detail)
    }

    /// `status` with `scim_type` (a 409 of `uniqueness`, say).
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        let detail: String = detail
            .into()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_DETAIL)
            .collect();
        Self {
            status,
            scim_type,
            detail,
        }
    }

    /// The body RFC 7644 §3.12 describes; `status` is a string there.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type.as_str());
        }
        body
    }
}

impl From<super::filter::Invalid> for ScimError {
    fn from(invalid: super::filter::Invalid) -> Self {
        Self::bad_request(ScimType::InvalidFilter, invalid.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_rfcs_shape_and_no_raw_request_text() {
        let refused =
            ScimError::from(super::super::filter::parse("userName zz \"x\"").unwrap_err());
        let body = refused.body();
        assert_eq!(body["schemas"], json!([ERROR_SCHEMA]));
        assert_eq!(body["status"], "400");
        assert_eq!(body["scimType"], "invalidFilter");
        assert!(body["detail"].as_str().unwrap().contains("not an operator"));
        let seats = ScimError::status(409, "no seat is left for the role\u{1b}[31m");
        let body = seats.body();
        assert_eq!(body["status"], "409");
        assert!(body.get("scimType").is_none());
        assert!(!body["detail"].as_str().unwrap().contains('\u{1b}'));
        let long = ScimError::bad_request(ScimType::InvalidValue, "x".repeat(1 << 20));
        assert_eq!(long.detail.len(), MAX_DETAIL);
    }
}
