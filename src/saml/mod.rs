//! SAML 2.0 single sign-on, the protocol side: an identity provider's settings as an
//! administrator gives them (its metadata, or its entity id, sign-on URL and certificates), the
//! service provider's own metadata, and the checks a Response must pass. XML signatures are
//! verified by libxmlsec1 through `samael`, which keeps only what was signed before anything is
//! read from it (no signature wrapping); nothing here handles signature bytes itself.
//!
//! Every XML text from outside passes [`guarded`] first: bounded, one text without NUL or other
//! control characters, and without a DOCTYPE or entity declaration, refused before any parser
//! sees it (no billion laughs, no external entities).

pub mod idp;
pub mod sp;

use crate::error::{ApiError, ApiResult};

/// The largest metadata document or decoded Response read.
pub const MAX_XML: usize = 256 * 1024;

/// `xml` when it may be parsed: at most [`MAX_XML`] bytes, no control characters other than
/// line breaks and tabs, and no DOCTYPE, entity or processing of external subsets. INVALID_INPUT
/// naming `field` otherwise, never repeating the text.
pub fn guarded<'a>(field: &'static str, xml: &'a str) -> ApiResult<&'a str> {
    if xml.len() > MAX_XML {
        return Err(ApiError::invalid(
            field,
            format!("is larger than {} KB", MAX_XML / 1024),
        ));
    }
    if xml
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::invalid(field, "holds control characters"));
    }
    let lower = xml.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(ApiError::invalid(
            field,
            "must not hold a DOCTYPE or entity declaration",
        ));
    }
    Ok(xml)
}

/// `url` as an identity provider's sign-on URL: absolute, `https` (`http` only when the operator
/// allows insecure providers, for loopback development), no user name or password.
pub fn endpoint_url(field: &'static str, url: &str, allow_http: bool) -> ApiResult<url::Url> {
    crate::domain::text::check(field, crate::domain::text::TextKind::Line, url, 2048)?;
    let parsed = url::Url::parse(url.trim())
        .map_err(|_| ApiError::invalid(field, "is not an absolute URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ => return Err(ApiError::invalid(field, "must be an https:// URL")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.host().is_none() {
        return Err(ApiError::invalid(
            field,
            "must name a host, without a user name or password",
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctypes_entities_controls_and_megabytes_are_refused_before_parsing() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><x>&lol2;</x>"#;
        let external = r#"<!doctype x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"#;
        for xml in [laughs, external, "<x><!ENTITY a 'b'></x>"] {
            let err = guarded("metadataXml", xml).unwrap_err();
            assert!(err.message.contains("DOCTYPE"), "{}", err.message);
        }
        assert!(guarded("metadataXml", "<x>\0</x>").is_err());
        assert!(guarded("metadataXml", &"x".repeat(MAX_XML + 1)).is_err());
        assert!(guarded("metadataXml", "<x>\n\t<y/>\r\n</x>").is_ok());
    }

    #[test]
    fn sign_on_urls_are_https_without_credentials() {
        assert!(endpoint_url("ssoUrl", "https://idp.example.com/sso", false).is_ok());
        assert!(endpoint_url("ssoUrl", "http://idp.example.com/sso", false).is_err());
        assert!(endpoint_url("ssoUrl", "http://127.0.0.1:9/sso", true).is_ok());
        assert!(endpoint_url("ssoUrl", "https://u:p@idp.example.com/sso", false).is_err());
        assert!(endpoint_url("ssoUrl", "idp.example.com", false).is_err());
    }
}
