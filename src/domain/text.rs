//! Free text from clients: which characters each kind of field refuses, and how long it may be.
//!
//! Every string argument of the schema passes through [`check`] (or a validated type built on
//! it) before it reaches a query. Control characters are refused because PostgreSQL refuses NUL
//! outright, SQLite's full-text index chokes on it, and the others corrupt logs, CSV exports and
//! terminals. Names also refuse the invisible formatting characters that make one name look
//! like another in a member list or the audit log.

use crate::error::ApiError;

/// What a field holds, which decides the characters it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// One line of text (searches, actions, emails, tokens, notes, keys): no C0 control
    /// (U+0000–U+001F), no DEL and no C1 control (U+007F–U+009F).
    Line,
    /// Prose over several lines (descriptions): like [`TextKind::Line`], except that line
    /// feeds and tabs are kept. Carriage returns are refused: lines end with `\n`, so a stray
    /// `\r` cannot rewrite a line where the text is printed.
    Lines,
    /// A name people read and compare (organization, display, role and list names): one line,
    /// and no bidirectional controls or zero-width characters, which reorder or hide letters.
    Name,
}

/// Why a character is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Control,
    Invisible,
}

/// Bidirectional controls: embeddings and overrides, isolates, the marks, and the Arabic
/// letter mark.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Zero-width space, non-joiner and joiner, word joiner, and the byte order mark.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Whether `kind` refuses `c`, and why.
pub fn refusal(kind: TextKind, c: char) -> Option<Refusal> {
    let kept = kind == TextKind::Lines && matches!(c, '\n' | '\t');
    if c.is_control() && !kept {
        // `char::is_control` is exactly Unicode's Cc: U+0000–U+001F and U+007F–U+009F.
        return Some(Refusal::Control);
    }
    if kind == TextKind::Name && (is_bidi_control(c) || is_zero_width(c)) {
        return Some(Refusal::Invisible);
    }
    None
}

/// The first character of `value` that `kind` refuses: its position (counted in characters,
/// from 1), the character and why.
pub fn first_refused(kind: TextKind, value: &str) -> Option<(usize, char, Refusal)> {
    value
        .chars()
        .enumerate()
        .find_map(|(index, c)| refusal(kind, c).map(|why| (index + 1, c, why)))
}

/// Whether `kind` accepts every character of `value`.
pub fn is_clean(kind: TextKind, value: &str) -> bool {
    first_refused(kind, value).is_none()
}

/// INVALID_INPUT naming `field` when `value` has more than `max` characters or a character
/// `kind` refuses. The message names the character by its code point, never repeats the value.
pub fn check(field: &'static str, kind: TextKind, value: &str, max: usize) -> Result<(), ApiError> {
    // A character takes at most four bytes: longer in bytes is too long without counting.
    if value.len() > max * 4 || value.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("has more than {max} characters"),
        ));
    }
    match first_refused(kind, value) {
        None => Ok(()),
        Some((at, c, Refusal::Control)) => Err(ApiError::invalid(
            field,
            format!(
                "must not contain control characters (U+{:04X} at character {at})",
                c as u32
            ),
        )),
        Some((at, c, Refusal::Invisible)) => Err(ApiError::invalid(
            field,
            format!(
                "must not contain bidirectional controls or zero-width characters, which make \
                 one name look like another (U+{:04X} at character {at})",
                c as u32
            ),
        )),
    }
}

/// The longest search text, action name or policy key a client may send.
pub const MAX_TERM: usize = 200;

/// A search text: one line of at most [`MAX_TERM`] characters.
pub fn search(field: &'static str, value: &str) -> Result<(), ApiError> {
    check(field, TextKind::Line, value, MAX_TERM)
}

/// The most characters of a description.
pub const MAX_DESCRIPTION: usize = 1000;

/// A description: trimmed, blank meaning none, at most [`MAX_DESCRIPTION`] characters over
/// several lines.
pub fn description(field: &'static str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    check(field, TextKind::Lines, value, MAX_DESCRIPTION)?;
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_refuses_c0_del_and_c1_controls() {
        for kind in [TextKind::Line, TextKind::Lines, TextKind::Name] {
            for c in [
                '\0', '\u{1}', '\u{7}', '\r', '\u{1B}', '\u{1F}', '\u{7F}', '\u{85}', '\u{9F}',
            ] {
                assert_eq!(refusal(kind, c), Some(Refusal::Control), "{kind:?} {c:?}");
            }
            for c in ['a', ' ', 'é', '\u{A0}', '中'] {
                assert_eq!(refusal(kind, c), None, "{kind:?} {c:?}");
            }
        }
    }

    #[test]
    fn only_multi_line_text_keeps_line_feeds_and_tabs() {
        assert_eq!(refusal(TextKind::Lines, '\n'), None);
        assert_eq!(refusal(TextKind::Lines, '\t'), None);
        assert_eq!(refusal(TextKind::Line, '\n'), Some(Refusal::Control));
        assert_eq!(refusal(TextKind::Name, '\t'), Some(Refusal::Control));
    }

    #[test]
    fn names_refuse_bidi_controls_and_zero_width_characters() {
        let invisible = [
            '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
        ];
        for c in invisible {
            assert_eq!(
                refusal(TextKind::Name, c),
                Some(Refusal::Invisible),
                "{c:?}"
            );
            assert_eq!(refusal(TextKind::Lines, c), None, "{c:?}");
        }
        assert_eq!(refusal(TextKind::Name, '\u{2065}'), None);
    }

    #[test]
    fn check_names_the_field_and_the_code_point_without_repeating_the_value() {
        let err = check("name", TextKind::Name, "Acme\u{202E}moc.exe", 100).unwrap_err();
        assert_eq!(err.field, Some("name"));
        assert!(
            err.message.contains("U+202E at character 5"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("Acme"), "{}", err.message);
        let err = check("search", TextKind::Line, "abc\0def", 100).unwrap_err();
        assert!(
            err.message.contains("U+0000 at character 4"),
            "{}",
            err.message
        );
        assert!(check("search", TextKind::Line, "abc def", 100).is_ok());
    }

    #[test]
    fn check_counts_characters_not_bytes() {
        assert!(check("name", TextKind::Name, &"é".repeat(100), 100).is_ok());
        assert!(check("name", TextKind::Name, &"é".repeat(101), 100).is_err());
        assert!(check("name", TextKind::Name, &"x".repeat(1 << 20), 100).is_err());
    }

    #[test]
    fn descriptions_are_trimmed_blank_is_none_and_lines_are_kept() {
        assert_eq!(description("description", Some("  ")).unwrap(), None);
        assert_eq!(
            description("description", Some(" a\n\tb "))
                .unwrap()
                .as_deref(),
            Some("a\n\tb")
        );
        assert!(description("description", Some("a\r\nb")).is_err());
        assert!(description("description", Some(&"x".repeat(1001))).is_err());
    }
}
