//! Bounds on a request's document that hold before anything runs: how deeply its text nests
//! (checked before the parser sees it) and how many credential checks it asks for.
//!
//! The parser descends recursively, so a few kilobytes of `[[[[…` or `{a:{a:…` would overflow
//! a worker's stack before authentication and before async-graphql's own depth limits apply.
//! And each `login` runs an argon2 verification: a thousand aliases in one document would be a
//! thousand verifications for the price of one request.

use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Positioned, Request, ServerError};

use crate::error::ErrorCode;

/// How deeply brackets, braces and parentheses may nest in a document's text. The deepest
/// query the depth limit allows, with nested input objects and lists, stays far below it.
pub const MAX_NESTING: usize = 64;

/// The mutations that check a credential (a password or a second-factor code): a document may
/// name at most one of them, once.
const CREDENTIAL_FIELDS: [&str; 7] = [
    "login",
    "exchangeSsoCode",
    "changePassword",
    "acceptInvitation",
    "verifyMfa",
    "confirmTotpEnrollment",
    "removeTotp",
];

/// Refuses a document whose text nests deeper than [`MAX_NESTING`], counting `{`, `[` and `(`
/// outside strings, block strings and comments. Linear in the text and never recursive.
pub fn check_nesting(query: &str) -> Result<(), ServerError> {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // An escaped triple quote does not end the block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(refusal(format!(
                        "the document nests deeper than {MAX_NESTING} levels"
                    )));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Refuses a document any of whose mutations would check credentials more than once.
pub fn check_credential_fields(document: &ExecutableDocument) -> Result<(), ServerError> {
    for (_, operation) in document.operations.iter() {
        if operation.node.ty != OperationType::Mutation {
            continue;
        }
        let mut count = 0;
        let mut seen = HashSet::new();
        count_credential_fields(
            document,
            &operation.node.selection_set,
            &mut seen,
            &mut count,
        );
        if count > 1 {
            return Err(refusal(format!(
                "a request may check credentials once; this one asks {count} times ({})",
                CREDENTIAL_FIELDS.join(", ")
            )));
        }
    }
    Ok(())
}

/// Counts the credential fields of a mutation's root selection, through fragments (each
/// fragment once, so a cycle, which validation refuses later, cannot loop here).
fn count_credential_fields<'a>(
    document: &'a ExecutableDocument,
    selection_set: &'a Positioned<SelectionSet>,
    seen: &mut HashSet<&'a str>,
    count: &mut usize,
) {
    for selection in &selection_set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                if CREDENTIAL_FIELDS.contains(&field.node.name.node.as_str()) {
                    *count += 1;
                }
            }
            Selection::InlineFragment(fragment) => {
                count_credential_fields(document, &fragment.node.selection_set, seen, count);
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if seen.insert(name)
                    && let Some(fragment) = document.fragments.get(name)
                {
                    count_credential_fields(document, &fragment.node.selection_set, seen, count);
                }
            }
        }
    }
}

fn refusal(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", ErrorCode::InvalidInput.as_str());
    error
}

/// Bounds a request's document before it runs: its nesting (on the text, before the parser
/// sees it), then, parsed once (the executor reuses the parse), its credential checks. A
/// document that does not parse is left to the executor, which reports the syntax error.
pub fn bound(request: &mut Request) -> Result<(), ServerError> {
    check_nesting(&request.query)?;
    if let Ok(document) = request.parsed_query() {
        check_credential_fields(document)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, depth: usize) -> String {
        format!("{{ a(b: {}1{}) }}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn nesting_at_the_bound_passes_and_one_deeper_fails() {
        // The outer selection set and the argument list take two levels.
        assert!(check_nesting(&nested("[", "]", MAX_NESTING - 2)).is_ok());
        assert!(check_nesting(&nested("[", "]", MAX_NESTING - 1)).is_err());
        assert!(check_nesting(&nested("{a:", "}", MAX_NESTING - 1)).is_err());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let deep = "[".repeat(1000);
        assert!(check_nesting(&format!("{{ a(b: \"{deep}\") }}")).is_ok());
        assert!(check_nesting(&format!("{{ a(b: \"\"\"{deep}\\\"\"\"{deep}\"\"\") }}")).is_ok());
        assert!(check_nesting(&format!("# {deep}\n{{ a }}")).is_ok());
        assert!(check_nesting(&format!("{{ a(b: \"\\\"{deep}\") }}")).is_ok());
    }

    #[test]
    fn an_unterminated_string_cannot_hide_nesting_after_a_newline() {
        let deep = "[".repeat(100);
        assert!(check_nesting(&format!("{{ a(b: \"x\n{deep}1) }}")).is_err());
    }

    #[test]
    fn the_nesting_check_is_linear_on_huge_input() {
        let long = "{ a }".repeat(200_000);
        assert!(check_nesting(&long).is_ok());
    }

    fn credential_count(query: &str) -> Result<(), ServerError> {
        let document = async_graphql::parser::parse_query(query).expect("a valid document");
        check_credential_fields(&document)
    }

    #[test]
    fn one_credential_check_per_mutation_passes() {
        assert!(credential_count("mutation { login(input: {}) { accessToken } }").is_ok());
        assert!(
            credential_count(
                "mutation A { login(input: {}) { accessToken } } \
                 mutation B { changePassword(input: {}) }"
            )
            .is_ok()
        );
        assert!(
            credential_count("{ a: viewer { user { id } } b: viewer { user { id } } }").is_ok()
        );
    }

    #[test]
    fn aliases_fragments_and_inline_fragments_all_count() {
        assert!(
            credential_count("mutation { a: login(input: {}) { x } b: login(input: {}) { x } }")
                .is_err()
        );
        assert!(
            credential_count(
                "mutation { login(input: {}) { x } ...F } \
                 fragment F on Mutation { acceptInvitation(input: {}) { x } }"
            )
            .is_err()
        );
        assert!(
            credential_count(
                "mutation { ... on Mutation { changePassword(input: {}) } login(input: {}) { x } }"
            )
            .is_err()
        );
    }

    #[test]
    fn a_fragment_cycle_does_not_loop() {
        let cyclic = "mutation { ...F } fragment F on Mutation { login(input: {}) { x } ...G } \
                      fragment G on Mutation { ...F }";
        assert!(credential_count(cyclic).is_ok());
    }
}
