use crate::error::ApiError;

/// A password chosen by a user (OWASP ASVS: at least 12 and at most 128 characters, no
/// composition rules).
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN: usize = 12;
    pub const MAX: usize = 128;

    pub fn parse(field: &'static str, value: &str) -> Result<Self, ApiError> {
        let length = value.chars().count();
        if length < Self::MIN {
            return Err(ApiError::invalid(
                field,
                format!("a password needs at least {} characters", Self::MIN),
            ));
        }
        if length > Self::MAX {
            return Err(ApiError::invalid(
                field,
                format!("a password has at most {} characters", Self::MAX),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}
