//! A new password's rules (OWASP ASVS V2.1): its length, and that it is not a common one.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::error::ApiError;

/// The 10,000 most common passwords of 12 to 128 characters, lowercased, from SecLists'
/// ten-million password list (CC BY-SA 3.0; the file's header says where it came from and how it
/// was made). Shorter ones are refused by length already, so the list leaves them out.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with("# "))
        .collect()
});

/// Whether `password` is on the list of common passwords, ignoring case (`Password1234` is
/// guessed as early as `password1234`).
fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// A password chosen by a user (OWASP ASVS: at least 12 and at most 128 characters, not a
/// commonly used or breached one, no composition rules).
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
        // A password is typed, so a control character in a new one is a paste gone wrong.
        if super::text::first_refused(super::text::TextKind::Line, value).is_some() {
            return Err(ApiError::invalid(
                field,
                "a password must not contain control characters",
            ));
        }
        // The message never repeats the password: error messages end up in logs and screenshots.
        if is_common(value) {
            return Err(ApiError::invalid(
                field,
                "this password is among the most commonly used ones and is easy to guess; \
                 choose another",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The most characters of a password offered to be checked against an account's.
pub const MAX_OFFERED: usize = 1024;

/// A password offered for a check (signing in, confirming a change): at most [`MAX_OFFERED`]
/// characters, so that nobody makes the server hash a megabyte. Its characters are not
/// checked: it is only compared with a stored hash, never stored or shown, and refusing a
/// character would lock out an account whose password was set before [`NewPassword`]
/// refused it.
pub fn check_offered(field: &'static str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_OFFERED * 4 || value.chars().count() > MAX_OFFERED {
        return Err(ApiError::invalid(
            field,
            format!("a password has at most {MAX_OFFERED} characters"),
        ));
    }
    Ok(())
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::{COMMON, NewPassword};
    use crate::error::ErrorCode;

    fn refusal(value: &str) -> crate::error::ApiError {
        NewPassword::parse("password", value).expect_err("refused")
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in [
            "password1234",
            "qwertyuiopas",
            "qwerty123456",
            "1qaz2wsx3edc",
            "Password1234",
            "QWERTY123456",
        ] {
            let err = refusal(common);
            assert_eq!(err.code, ErrorCode::InvalidInput, "{common}");
            assert_eq!(err.field, Some("password"));
            assert!(err.message.contains("commonly used"), "{}", err.message);
            assert!(
                !err.message.to_lowercase().contains(&common.to_lowercase()),
                "the message repeats the password: {}",
                err.message
            );
        }
    }

    #[test]
    fn a_long_random_password_is_accepted() {
        let password = NewPassword::parse("password", "vK7#pQ2m!xR9wL4t").expect("accepted");
        assert_eq!(password.into_inner(), "vK7#pQ2m!xR9wL4t");
        // A passphrase is fine too: no composition rules.
        NewPassword::parse("password", "lantern orbit mosaic thistle").expect("accepted");
    }

    #[test]
    fn eleven_characters_are_too_few_and_twelve_enough() {
        let err = refusal("a8#kq2!zm4x");
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("at least 12"), "{}", err.message);
        NewPassword::parse("password", "a8#kq2!zm4xw").expect("twelve characters");
    }

    #[test]
    fn a_hundred_and_twenty_nine_characters_are_too_many() {
        let err = refusal(&"x7".repeat(64).chars().chain(['q']).collect::<String>());
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("at most 128"), "{}", err.message);
        NewPassword::parse("password", &"x7".repeat(64)).expect("128 characters");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Eleven characters of two bytes each: too short although 22 bytes long.
        assert!(refusal("ééééééééééé").message.contains("at least 12"));
        NewPassword::parse("password", "éééééééééééé").expect("twelve characters");
    }

    #[test]
    fn the_shipped_list_is_loaded_whole_and_lowercase() {
        assert_eq!(COMMON.len(), 10_000);
        assert!(COMMON.iter().all(|entry| {
            let length = entry.chars().count();
            (NewPassword::MIN..=NewPassword::MAX).contains(&length)
                && *entry == entry.to_lowercase()
        }));
    }

    #[test]
    fn new_passwords_refuse_control_characters_and_offered_ones_only_length() {
        assert!(refusal("vK7#pQ2m!xR9\u{0}wL4t").message.contains("control"));
        assert!(refusal("vK7#pQ2m!xR9\twL4t").message.contains("control"));
        super::check_offered("password", "vK7#pQ2m!xR9\twL4t").expect("checked as it is");
        assert!(super::check_offered("password", &"x".repeat(1025)).is_err());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let password = NewPassword::parse("password", "vK7#pQ2m!xR9wL4t").expect("accepted");
        assert_eq!(format!("{password:?}"), "NewPassword(..)");
    }
}
