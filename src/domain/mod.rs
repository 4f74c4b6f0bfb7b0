//! Validated values: each parses from untrusted input once, and its type then proves it is valid.

mod email;
mod list_entry;
mod names;
pub mod password;
pub mod text;

pub use email::Email;
pub use list_entry::{ListKind, domain as host_name};
pub use names::{CredentialName, DisplayName, ListName, OrganizationName, RoleName};
pub use password::NewPassword;

use rand::Rng;

/// A public organization id people can read, type and share: `ORG-` and eight characters of
/// Crockford's base32 alphabet (no I, L, O or U), about 40 bits of randomness.
pub fn new_public_org_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::thread_rng();
    let body: String = (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("ORG-{}-{}", &body[..4], &body[4..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_org_ids_have_the_documented_shape() {
        let id = super::new_public_org_id();
        assert_eq!(id.len(), 13, "{id}");
        assert!(id.starts_with("ORG-"));
        assert_eq!(&id[8..9], "-");
        assert!(!id[4..].contains(['I', 'L', 'O', 'U']));
    }
}
