//! The URL of a webhook endpoint, as an administrator gives it: checked before anything is
//! written. Deliveries go through the outbound guard ([`crate::outbound`]), which checks every
//! address at connect time; this refuses up front what can never be a receiver's URL.

use std::net::IpAddr;

use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::outbound::Guard;

/// The longest URL an endpoint may have.
pub const MAX_URL: usize = 2048;

/// `text` as an endpoint's URL: at most 2,048 characters of one clean line, absolute, `https`
/// (`http` only when the operator allows it, for loopback development), a host, no user name or
/// password, no fragment; a literal address must be one `guard` lets through. INVALID_INPUT
/// naming `field` otherwise, never repeating the value.
pub fn checked(
    field: &'static str,
    text: &str,
    allow_http: bool,
    guard: &Guard,
) -> ApiResult<url::Url> {
    text::check(field, TextKind::Line, text, MAX_URL)?;
    let url = url::Url::parse(text.trim())
        .map_err(|_| ApiError::invalid(field, "is not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ => return Err(ApiError::invalid(field, "must be an https:// URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid(
            field,
            "must not carry a user name or password; the signature authenticates Charter",
        ));
    }
    if url.fragment().is_some() {
        return Err(ApiError::invalid(field, "must not have a fragment (#…)"));
    }
    let literal = match url.host() {
        None => return Err(ApiError::invalid(field, "has no host")),
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = literal
        && let Err(range) = guard.check(ip)
    {
        return Err(ApiError::invalid(
            field,
            format!("is a {range} address, which Charter does not deliver to"),
        ));
    }
    Ok(url)
}

/// How long the check of a host name's addresses may take.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether `url`'s host resolves to at least one address `guard` lets through; INVALID_INPUT
/// naming `field` when it resolves nowhere or only to refused addresses (one message for both,
/// so the check tells nothing of the network Charter runs in). Deliveries check again at
/// connect time, to the address they connect to.
pub async fn resolvable(field: &'static str, url: &url::Url, guard: &Guard) -> ApiResult<()> {
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port))).await;
    let reachable = match found {
        Ok(Ok(mut addresses)) => addresses.any(|address| guard.check(address.ip()).is_ok()),
        _ => false,
    };
    if reachable {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "resolves to no address Charter delivers to",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        checked("url", text, false, &Guard::default())
            .expect_err(text)
            .message
    }

    #[test]
    fn a_public_https_url_is_taken_as_given() {
        let url = checked(
            "url",
            "https://hooks.example.com/charter?team=7",
            false,
            &Guard::default(),
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com/charter?team=7");
    }

    #[test]
    fn what_can_never_be_a_receivers_url_is_refused_naming_the_field() {
        assert_eq!(
            refusal("http://hooks.example.com/"),
            "url: must be an https:// URL"
        );
        assert_eq!(
            refusal("ftp://hooks.example.com/"),
            "url: must be an https:// URL"
        );
        assert_eq!(
            refusal("hooks.example.com/x"),
            "url: is not an absolute URL"
        );
        assert!(refusal("https://user:pw@hooks.example.com/").contains("user name or password"));
        assert!(refusal("https://token@hooks.example.com/").contains("user name or password"));
        assert!(refusal("https://hooks.example.com/#x").contains("fragment"));
        assert!(refusal("https://127.0.0.1/").contains("does not deliver to"));
        assert!(
            refusal("https://2130706433/").contains("does not deliver to"),
            "127.0.0.1 spelled as a number"
        );
        assert!(
            refusal("https://169.254.169.254/latest/meta-data").contains("does not deliver to")
        );
        assert!(refusal("https://[::1]/").contains("does not deliver to"));
        assert!(refusal("https://[fd00::1]/").contains("does not deliver to"));
        assert!(refusal("https://10.0.0.8/").contains("does not deliver to"));
    }

    #[test]
    fn hostile_text_is_refused_before_it_is_parsed() {
        let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL));
        assert!(refusal(&long).contains("more than 2048 characters"));
        let megabyte = format!("https://hooks.example.com/{}", "a".repeat(1 << 20));
        assert!(refusal(&megabyte).contains("more than 2048 characters"));
        assert!(!refusal("https://hooks.example.com/\0").contains('\0'));
        assert!(!refusal("https://hooks.example.com/\r\nX-Injected: 1").contains("X-Injected"));
    }

    #[test]
    fn the_operator_may_allow_http_and_a_network_for_development() {
        let guard = Guard::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let url = checked("url", "http://127.0.0.1:8080/hook", true, &guard).unwrap();
        assert_eq!(url.port(), Some(8080));
        assert!(checked("url", "http://10.0.0.1/hook", true, &guard).is_err());
    }
}
