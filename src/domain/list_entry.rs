//! Values of user-defined blocklist entries. A list's kind decides what its entries may hold;
//! each value is checked against the kind and kept in one normalized form, so that
//! `2001:DB8::1` and `2001:db8::1`, or `Bücher.example` and `xn--bcher-kva.example`, are one
//! entry and match the same traffic.
//!
//! Reasons for refusal are short phrases about the value ("is not an IP address") that never
//! repeat it: the caller pairs them with the value it shows.

use std::net::IpAddr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use ipnet::IpNet;

use super::Email;

/// The kind of a user-defined list, which decides what its entries may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    Ip,
    Cidr,
    Domain,
    Url,
    Hash,
    Email,
    Text,
}

impl ListKind {
    pub const ALL: [ListKind; 7] = [
        ListKind::Ip,
        ListKind::Cidr,
        ListKind::Domain,
        ListKind::Url,
        ListKind::Hash,
        ListKind::Email,
        ListKind::Text,
    ];

    /// Stored form: "ip", "cidr", "domain", "url", "hash", "email", "text".
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Ip => "ip",
            ListKind::Cidr => "cidr",
            ListKind::Domain => "domain",
            ListKind::Url => "url",
            ListKind::Hash => "hash",
            ListKind::Email => "email",
            ListKind::Text => "text",
        }
    }

    pub fn parse(stored: &str) -> Option<ListKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }

    /// Validates one raw value and returns its normalized form, or a short human reason why
    /// it does not fit this kind (the reason must NOT repeat the value; the caller pairs them).
    pub fn normalize(self, raw: &str) -> Result<String, String> {
        // Surrounding whitespace, a pasted trailing newline included, is not part of a value;
        // a line break inside one would split it in the one-value-per-line text export.
        let value = raw.trim();
        if value.is_empty() {
            return Err("is empty".into());
        }
        // U+0085, U+2028 and U+2029 are line breaks to many editors too.
        if value.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
            return Err("contains a line break".into());
        }
        if value.contains('\0') {
            return Err("contains a NUL character".into());
        }
        match self {
            ListKind::Ip => ip(value),
            ListKind::Cidr => cidr(value),
            ListKind::Domain => domain(value),
            ListKind::Url => url(value),
            ListKind::Hash => hash(value),
            ListKind::Email => email(value),
            ListKind::Text => text(value),
        }
    }
}

fn ip(value: &str) -> Result<String, String> {
    if value.contains('/') {
        return Err("has a prefix length; blocks of addresses belong in a CIDR list".into());
    }
    match value.parse::<IpAddr>() {
        Ok(address) => Ok(address.to_string()),
        Err(_) if has_leading_zero_octet(value) => Err(
            "has an octet with a leading zero, which some systems read as octal; write it without"
                .into(),
        ),
        Err(_) => Err("is not an IP address".into()),
    }
}

/// `192.168.010.1`: std refuses it because `inet_aton` reads `010` as octal 8 and others read
/// it as decimal 10; guessing either way could block the wrong address, so the user decides.
fn has_leading_zero_octet(value: &str) -> bool {
    let octets: Vec<&str> = value.split('.').collect();
    octets.len() == 4
        && octets
            .iter()
            .all(|octet| !octet.is_empty() && octet.bytes().all(|b| b.is_ascii_digit()))
        && octets
            .iter()
            .any(|octet| octet.len() > 1 && octet.starts_with('0'))
}

fn cidr(value: &str) -> Result<String, String> {
    const NOT_A_BLOCK: &str = "is not a CIDR block, like 10.0.0.0/8 or 2001:db8::/32";
    let Some((address, prefix)) = value.split_once('/') else {
        return Err(match value.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => "needs a prefix length, like 10.0.0.0/8".into(),
            Ok(IpAddr::V6(_)) => "needs a prefix length, like 2001:db8::/32".into(),
            Err(_) => NOT_A_BLOCK.into(),
        });
    };
    let net: IpNet = match value.parse() {
        Ok(net) => net,
        Err(_) => {
            // ipnet only says "invalid IP address syntax"; a prefix longer than the address
            // family allows is the one mistake worth naming.
            if let (Ok(address), Ok(prefix)) = (address.parse::<IpAddr>(), prefix.parse::<u32>()) {
                let (family, max) = if address.is_ipv4() {
                    ("IPv4", 32)
                } else {
                    ("IPv6", 128)
                };
                if prefix > max {
                    return Err(format!(
                        "has a prefix length over {max}, the most for {family}"
                    ));
                }
            }
            return Err(NOT_A_BLOCK.into());
        }
    };
    // `10.0.0.1/8` is most likely a typo or an address pasted with its interface's mask;
    // storing it as 10.0.0.0/8 silently could block far more than meant, so name the block
    // and let the user confirm it.
    let network = net.trunc();
    if network != net {
        return Err(format!("host bits are set; the block is {network}"));
    }
    Ok(net.to_string())
}

const HOST_ONLY: &str = "a domain is only the host name, like example.com";
const NOT_LDH: &str = "contains characters other than letters, digits, hyphens and dots";

/// A host name in its lowercase ASCII (IDNA) form, or why it is not one.
pub fn domain(value: &str) -> Result<String, String> {
    not_another_kind_of_host(value)?;
    // UTS #46 ToASCII: maps case and compatibility forms (full-width letters, the ideographic
    // full stop) and punycodes non-ASCII labels. Hyphen positions and lengths are checked
    // below, on the ASCII form, where each failure gets its own reason.
    let ascii = Uts46::new()
        .to_ascii(
            value.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map_err(|_| "is not a valid internationalized domain name".to_owned())?;

    // One trailing dot is the fully qualified spelling of the same name; stripped after the
    // mapping so that a trailing ideographic full stop counts as one too.
    let name = ascii.strip_suffix('.').unwrap_or(&ascii);
    if name.len() > 253 {
        return Err("is longer than 253 characters in its ASCII form".into());
    }
    dns_labels(name)?;
    Ok(name.to_owned())
}

/// Refuses, with the list it belongs in, a value of another kind, and host names with more
/// than the host: a path, a port, a wildcard or characters no host name holds.
fn not_another_kind_of_host(value: &str) -> Result<(), String> {
    // The other kinds first, so that a value in the wrong list says which list it belongs in.
    if value.contains("://") {
        return Err("is a URL; use a URL list".into());
    }
    if value.parse::<IpAddr>().is_ok() {
        return Err("is an IP address; use an IP list".into());
    }
    if value.parse::<IpNet>().is_ok() {
        return Err("is a CIDR block; use a CIDR list".into());
    }
    if value.contains('@') {
        return Err("looks like an email address; use an email list".into());
    }
    if value.contains(['/', '?', '#']) {
        return Err(format!("has a path; {HOST_ONLY}"));
    }
    if value.contains(':') {
        return Err(format!("has a port or a scheme; {HOST_ONLY}"));
    }
    // Whether an entry covers its subdomains is the list's matching rule, not the entry's
    // syntax; a wildcard would make two spellings of one entry.
    if value.starts_with("*.") {
        return Err("is a wildcard; enter the domain itself, without `*.`".into());
    }
    // UTS #46 refuses these too (STD3 rules), but without saying why.
    if value
        .chars()
        .any(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err(NOT_LDH.into());
    }
    Ok(())
}

/// The labels of an ASCII host name: at least two, none empty or over 63 characters, letters,
/// digits and inner hyphens only, and a top-level label that is not all digits.
fn dns_labels(name: &str) -> Result<(), String> {
    let labels: Vec<&str> = name.split('.').collect();
    if labels.iter().any(|label| label.is_empty()) {
        return Err("has an empty label (a leading dot, or two dots in a row)".into());
    }
    if labels.len() < 2 {
        return Err("needs at least two labels, like example.com".into());
    }
    if labels.iter().any(|label| label.len() > 63) {
        return Err("has a label longer than 63 characters in its ASCII form".into());
    }
    if !labels.iter().all(|label| {
        label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) {
        return Err(NOT_LDH.into());
    }
    if labels
        .iter()
        .any(|label| label.starts_with('-') || label.ends_with('-'))
    {
        return Err("has a label that starts or ends with a hyphen".into());
    }
    // `1.2.3.4.5` or `10.0.0.010`: no top-level domain is all digits, and such a name would
    // be read as an address by some resolvers.
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("ends in an all-numeric label, which no top-level domain is".into());
    }
    Ok(())
}

fn url(value: &str) -> Result<String, String> {
    const MAX: usize = 2048;
    const TOO_LONG: &str = "is longer than 2,048 characters";
    if value.chars().count() > MAX {
        return Err(TOO_LONG.into());
    }
    let url = match url::Url::parse(value) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err("is not an absolute URL; it needs http:// or https://".into());
        }
        Err(_) => return Err("is not a valid URL".into()),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err("is not an http or https URL".into());
    }
    // The url crate refuses an empty host for http(s) already; kept for clarity.
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    // Credentials do not identify a resource, and a blocklist would keep them in plain text.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("contains credentials (user:password@); leave them out".into());
    }
    // Percent-encoding and punycode can make the normalized form longer than what was typed.
    let normalized = String::from(url);
    if normalized.len() > MAX {
        return Err(TOO_LONG.into());
    }
    Ok(normalized)
}

fn hash(value: &str) -> Result<String, String> {
    if !value.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("is not hexadecimal".into());
    }
    // All ASCII now, so the byte length is the number of digits.
    match value.len() {
        32 | 40 | 64 => Ok(value.to_ascii_lowercase()),
        n => Err(format!(
            "has {n} hex digits; a hash has 32 (MD5), 40 (SHA-1) or 64 (SHA-256)"
        )),
    }
}

fn email(value: &str) -> Result<String, String> {
    // The same byte limit as Email::parse, here with a reason of our own.
    if value.len() > 254 {
        return Err("is longer than an email address may be (254 bytes)".into());
    }
    // The parser accepts `Alice<alice@example.com>`; a blocklist holds the address alone.
    if value.contains(['<', '>']) {
        return Err("has a display name or angle brackets; enter only the address".into());
    }
    // Email's errors name the value; only the verdict is kept. Blocklists match
    // case-insensitively, so the whole address is lowercased (the key Email compares by).
    Email::parse("value", value)
        .map(|email| email.key())
        .map_err(|_| "is not an email address".to_owned())
}

fn text(value: &str) -> Result<String, String> {
    const MAX: usize = 1024;
    // Entries are indexed by value, and PostgreSQL's B-tree takes index rows of at most about
    // 2,700 bytes: 1,024 characters of up to four bytes each would not fit, so text is also
    // held to 2,048 bytes (1,024 characters of any European script; 682 of CJK).
    const MAX_BYTES: usize = 2048;
    if value.chars().count() > MAX {
        return Err("is longer than 1,024 characters".into());
    }
    if value.len() > MAX_BYTES {
        return Err("is longer than 2,048 bytes in UTF-8".into());
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err("contains control characters".into());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::ListKind::{self, *};

    /// Each good value normalizes to exactly the expected form.
    fn assert_good(kind: ListKind, cases: &[(&str, &str)]) {
        for (raw, expected) in cases {
            assert_eq!(
                kind.normalize(raw).as_deref(),
                Ok(*expected),
                "{kind:?} {raw:?}"
            );
        }
    }

    /// Each bad value is refused with exactly the expected reason, which never repeats it
    /// (test values avoid the examples some reasons give, such as `10.0.0.0/8`).
    fn assert_bad(kind: ListKind, cases: &[(&str, &str)]) {
        for (raw, reason) in cases {
            let got = kind.normalize(raw);
            assert_eq!(
                got.as_ref().map_err(String::as_str),
                Err(*reason),
                "{kind:?} {raw:?}"
            );
            let trimmed = raw.trim();
            if !trimmed.is_empty() {
                assert!(
                    !reason.contains(trimmed),
                    "{kind:?} {raw:?} echoed: {reason}"
                );
            }
        }
    }

    #[test]
    fn kinds_round_trip_through_their_stored_form() {
        let stored: Vec<&str> = ListKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(
            stored,
            ["ip", "cidr", "domain", "url", "hash", "email", "text"]
        );
        for kind in ListKind::ALL {
            assert_eq!(ListKind::parse(kind.as_str()), Some(kind));
        }
        for unknown in ["", "IP", "Domain", " ip", "ipv4", "regex"] {
            assert_eq!(ListKind::parse(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn every_kind_refuses_empty_values_and_line_breaks() {
        for kind in ListKind::ALL {
            assert_bad(
                kind,
                &[
                    ("", "is empty"),
                    ("   \t ", "is empty"),
                    ("a\nb", "contains a line break"),
                    ("a\rb", "contains a line break"),
                    ("a\u{2028}b", "contains a line break"),
                    ("a\0b", "contains a NUL character"),
                ],
            );
        }
        // A pasted trailing newline is surrounding whitespace, not part of the value.
        assert_eq!(Text.normalize("  spam \n").as_deref(), Ok("spam"));
    }

    #[test]
    fn ip_addresses_take_std_canonical_form() {
        assert_good(
            Ip,
            &[
                ("192.168.1.1", "192.168.1.1"),
                ("  10.0.0.255 ", "10.0.0.255"),
                ("2001:0DB8:0:0:0:0:0:1", "2001:db8::1"),
                ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
                ("FE80::ABCD", "fe80::abcd"),
                ("::1", "::1"),
                ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ],
        );
    }

    #[test]
    fn ip_refuses_blocks_leading_zeros_and_non_addresses() {
        assert_bad(
            Ip,
            &[
                (
                    "10.0.0.0/8",
                    "has a prefix length; blocks of addresses belong in a CIDR list",
                ),
                (
                    "2001:db8::/32",
                    "has a prefix length; blocks of addresses belong in a CIDR list",
                ),
                (
                    " 192.168.001.1",
                    "has an octet with a leading zero, which some systems read as octal; write it without",
                ),
                ("256.1.1.1", "is not an IP address"),
                ("1.2.3", "is not an IP address"),
                ("[::1]", "is not an IP address"),
                ("fe80::1%eth0", "is not an IP address"),
                ("example.com", "is not an IP address"),
            ],
        );
    }

    #[test]
    fn cidr_blocks_take_ipnet_canonical_form() {
        assert_good(
            Cidr,
            &[
                ("10.0.0.0/8", "10.0.0.0/8"),
                (" 192.168.1.0/24 ", "192.168.1.0/24"),
                ("192.0.2.7/32", "192.0.2.7/32"),
                ("0.0.0.0/0", "0.0.0.0/0"),
                ("2001:DB8::/32", "2001:db8::/32"),
                ("2001:0db8:0000::/48", "2001:db8::/48"),
                ("::1/128", "::1/128"),
            ],
        );
    }

    #[test]
    fn cidr_refuses_host_bits_bare_addresses_and_long_prefixes() {
        assert_bad(
            Cidr,
            &[
                ("10.0.0.1/8", "host bits are set; the block is 10.0.0.0/8"),
                (
                    "192.168.1.77/24",
                    "host bits are set; the block is 192.168.1.0/24",
                ),
                (
                    "2001:db8::1/32",
                    "host bits are set; the block is 2001:db8::/32",
                ),
                ("192.0.2.0", "needs a prefix length, like 10.0.0.0/8"),
                ("2001:db8:1::", "needs a prefix length, like 2001:db8::/32"),
                (
                    "10.0.0.0/33",
                    "has a prefix length over 32, the most for IPv4",
                ),
                (
                    "2001:db8::/129",
                    "has a prefix length over 128, the most for IPv6",
                ),
                (
                    "192.0.2.0/",
                    "is not a CIDR block, like 10.0.0.0/8 or 2001:db8::/32",
                ),
                (
                    "10.0.0/8",
                    "is not a CIDR block, like 10.0.0.0/8 or 2001:db8::/32",
                ),
                (
                    "example.com",
                    "is not a CIDR block, like 10.0.0.0/8 or 2001:db8::/32",
                ),
            ],
        );
    }

    #[test]
    fn domains_become_lowercase_ascii_without_the_root_dot() {
        assert_good(
            Domain,
            &[
                ("example.com", "example.com"),
                ("EXAMPLE.Com", "example.com"),
                ("example.com.", "example.com"),
                (" Sub.Example.co.uk ", "sub.example.co.uk"),
                ("Bücher.example", "xn--bcher-kva.example"),
                ("xn--bcher-kva.example", "xn--bcher-kva.example"),
                ("bücher.example。", "xn--bcher-kva.example"),
                ("ＥＸＡＭＰＬＥ.com", "example.com"),
                ("a-b.example", "a-b.example"),
                ("r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"),
                ("123.example", "123.example"),
            ],
        );
        let longest_label = format!("{}.com", "a".repeat(63));
        assert_good(Domain, &[(&longest_label, &longest_label)]);
        // Three labels of 63 characters and one of 61, with three dots: 253 characters.
        let longest_name = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(61));
        assert_eq!(longest_name.len(), 253);
        assert_good(Domain, &[(&longest_name, &longest_name)]);
    }

    #[test]
    fn domain_refuses_other_kinds_and_malformed_names() {
        const HOST_ONLY: &str = "a domain is only the host name, like example.com";
        let path = format!("has a path; {HOST_ONLY}");
        let port = format!("has a port or a scheme; {HOST_ONLY}");
        assert_bad(
            Domain,
            &[
                ("http://example.com", "is a URL; use a URL list"),
                ("https://example.com/a", "is a URL; use a URL list"),
                ("192.0.2.1", "is an IP address; use an IP list"),
                ("2001:db8::1", "is an IP address; use an IP list"),
                ("10.0.0.0/8", "is a CIDR block; use a CIDR list"),
                (
                    "alice@example.com",
                    "looks like an email address; use an email list",
                ),
                ("example.com/path", &path),
                ("example.com?q=1", &path),
                ("example.com:8080", &port),
                (
                    "*.example.com",
                    "is a wildcard; enter the domain itself, without `*.`",
                ),
            ],
        );
    }

    #[test]
    fn domain_refuses_names_that_break_the_label_rules() {
        let not_ldh = "contains characters other than letters, digits, hyphens and dots";
        assert_bad(
            Domain,
            &[
                ("exa_mple.com", not_ldh),
                ("exa mple.com", not_ldh),
                ("ex*ample.com", not_ldh),
                ("localhost", "needs at least two labels, like example.com"),
                (
                    ".example.com",
                    "has an empty label (a leading dot, or two dots in a row)",
                ),
                (
                    "example..com",
                    "has an empty label (a leading dot, or two dots in a row)",
                ),
                (
                    "example.com..",
                    "has an empty label (a leading dot, or two dots in a row)",
                ),
                (
                    "-example.com",
                    "has a label that starts or ends with a hyphen",
                ),
                (
                    "example-.com",
                    "has a label that starts or ends with a hyphen",
                ),
                (
                    "1.2.3.4.5",
                    "ends in an all-numeric label, which no top-level domain is",
                ),
                (
                    "192.168.001.1",
                    "ends in an all-numeric label, which no top-level domain is",
                ),
                (
                    "xn--zz.example",
                    "is not a valid internationalized domain name",
                ),
            ],
        );
    }

    #[test]
    fn domain_refuses_names_too_long_for_dns() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(62));
        assert_bad(
            Domain,
            &[
                (
                    &long_label,
                    "has a label longer than 63 characters in its ASCII form",
                ),
                (
                    &long_name,
                    "is longer than 253 characters in its ASCII form",
                ),
            ],
        );
    }

    #[test]
    fn urls_take_the_url_crates_serialization() {
        assert_good(
            Url,
            &[
                ("HTTPS://Example.COM", "https://example.com/"),
                (
                    "http://example.com/a/b?c=d#e",
                    "http://example.com/a/b?c=d#e",
                ),
                ("https://example.com:443/x", "https://example.com/x"),
                ("http://example.com:8080", "http://example.com:8080/"),
                (
                    "https://Bücher.example/ä",
                    "https://xn--bcher-kva.example/%C3%A4",
                ),
                ("http://example.com/a/../b", "http://example.com/b"),
                ("  https://192.0.2.1/x  ", "https://192.0.2.1/x"),
            ],
        );
        let longest = format!("https://example.com/{}", "a".repeat(2048 - 20));
        assert_eq!(longest.len(), 2048);
        assert_good(Url, &[(&longest, &longest)]);
    }

    #[test]
    fn url_refuses_other_schemes_relative_urls_and_credentials() {
        let too_long = format!("https://example.com/{}", "a".repeat(2048 - 19));
        // Short enough as typed, too long once the space is percent-encoded.
        let too_long_encoded = format!("https://example.com/ {}", "a".repeat(2048 - 21));
        assert_bad(
            Url,
            &[
                ("ftp://example.com/file", "is not an http or https URL"),
                ("javascript:alert(1)", "is not an http or https URL"),
                ("mailto:alice@example.com", "is not an http or https URL"),
                (
                    "example.com/path",
                    "is not an absolute URL; it needs http:// or https://",
                ),
                (
                    "/relative/path",
                    "is not an absolute URL; it needs http:// or https://",
                ),
                (
                    "https://user:pass@example.com/",
                    "contains credentials (user:password@); leave them out",
                ),
                (
                    "https://user@example.com/",
                    "contains credentials (user:password@); leave them out",
                ),
                ("http://", "is not a valid URL"),
                ("http://exa mple.com/", "is not a valid URL"),
                (&too_long, "is longer than 2,048 characters"),
                (&too_long_encoded, "is longer than 2,048 characters"),
            ],
        );
    }

    #[test]
    fn hashes_are_md5_sha1_or_sha256_in_lowercase() {
        let md5 = "D41D8CD98F00B204E9800998ECF8427E";
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_good(
            Hash,
            &[
                (md5, "d41d8cd98f00b204e9800998ecf8427e"),
                (sha1, sha1),
                (
                    sha256,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                ),
                (
                    " d41d8cd98f00B204e9800998ecf8427e ",
                    "d41d8cd98f00b204e9800998ecf8427e",
                ),
            ],
        );
        assert_bad(
            Hash,
            &[
                (
                    "d41d8cd98f00b204e9800998ecf8427",
                    "has 31 hex digits; a hash has 32 (MD5), 40 (SHA-1) or 64 (SHA-256)",
                ),
                (
                    "d41d8cd98f00b204e9800998ecf8427e00",
                    "has 34 hex digits; a hash has 32 (MD5), 40 (SHA-1) or 64 (SHA-256)",
                ),
                ("g41d8cd98f00b204e9800998ecf8427e", "is not hexadecimal"),
                ("0xd41d8cd98f00b204e9800998ecf8427e", "is not hexadecimal"),
                ("d41d8cd98f00 b204e9800998ecf8427e", "is not hexadecimal"),
            ],
        );
    }

    #[test]
    fn emails_are_lowercased_whole() {
        assert_good(
            Email,
            &[
                ("Alice@Example.COM", "alice@example.com"),
                (
                    " bob.smith+tag@mail.example.org ",
                    "bob.smith+tag@mail.example.org",
                ),
            ],
        );
        assert_bad(
            Email,
            &[
                ("alice", "is not an email address"),
                ("alice@", "is not an email address"),
                ("@example.com", "is not an email address"),
                ("alice@example", "is not an email address"),
                ("a b@example.com", "is not an email address"),
                (
                    "Alice<alice@example.com>",
                    "has a display name or angle brackets; enter only the address",
                ),
                (
                    "<alice@example.com>",
                    "has a display name or angle brackets; enter only the address",
                ),
            ],
        );
        let too_long = format!("{}@example.com", "a".repeat(243));
        assert_eq!(too_long.len(), 255);
        assert_bad(
            Email,
            &[(
                &too_long,
                "is longer than an email address may be (254 bytes)",
            )],
        );
    }

    #[test]
    fn text_is_kept_as_typed_up_to_1024_characters_without_control_characters() {
        // 1,024 characters of two bytes each: the limit counts characters, not bytes.
        let longest = "é".repeat(1024);
        assert_good(
            Text,
            &[
                ("  Buy cheap pills now  ", "Buy cheap pills now"),
                ("tab\tseparated", "tab\tseparated"),
                ("Ünïcödé ✓", "Ünïcödé ✓"),
                (&longest, &longest),
            ],
        );
        let too_long = "é".repeat(1025);
        let too_many_bytes = "漢".repeat(683);
        assert_bad(
            Text,
            &[
                (&too_long, "is longer than 1,024 characters"),
                (&too_many_bytes, "is longer than 2,048 bytes in UTF-8"),
                ("bell\u{7}", "contains control characters"),
                ("esc\u{1b}[31m", "contains control characters"),
                ("del\u{7f}", "contains control characters"),
                ("c1\u{9b}", "contains control characters"),
            ],
        );
    }
}
