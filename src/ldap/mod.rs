//! LDAP directories, the protocol side: a directory's settings as an administrator gives them
//! (checked before anything is saved), the check that its service bind works and its search
//! base exists, and a person's sign-in: a search with the service bind for the one entry the
//! email names (its value escaped per RFC 4515, so an email cannot widen the filter), then a
//! bind as that entry with the password given. The LDAP protocol is `ldap3`'s; TLS is rustls,
//! trusting the directory's own CA when one is given and the public roots otherwise.
//!
//! Connections go through the outbound guard like every administrator-given address, and every
//! exchange with a directory is bounded in time as a whole: a stopped or frozen directory fails
//! a sign-in within the bound.

use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, StdStream, ldap_escape};

use crate::certificate::Certificate;
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::outbound::Outbound;

/// The placeholder of the user filter that the escaped email replaces.
pub const EMAIL_PLACEHOLDER: &str = "{email}";
/// The longest DN, filter or URL kept.
const MAX_SETTING: usize = 1024;
/// The attributes read from a person's entry beside the email attribute.
const NAME_ATTRIBUTES: &[&str] = &["displayName", "cn"];
/// OpenLDAP's (RFC 4530) and Active Directory's stable entry ids, which survive a rename.
const ID_ATTRIBUTES: &[&str] = &["entryUUID", "objectGUID"];

/// A directory as a connection keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub url: url::Url,
    /// StartTLS on an `ldap://` URL; `ldaps://` is TLS from the first byte.
    pub start_tls: bool,
    pub bind_dn: String,
    pub bind_password: String,
    pub base_dn: String,
    /// A filter with [`EMAIL_PLACEHOLDER`], e.g. `(mail={email})`.
    pub user_filter: String,
    pub email_attribute: String,
    /// A filter the person's entry must match too, e.g. `(memberOf=cn=charter,ou=groups,…)`.
    pub group_filter: Option<String>,
    /// The CA that signed the directory's certificate, when it is not a public one.
    pub ca_certificate: Option<Certificate>,
}

/// How a directory may be reached: through the outbound guard, within `timeout` in all, and
/// in clear (`ldap://` without StartTLS) only when `allow_plain`.
#[derive(Debug, Clone)]
pub struct Reach<'a> {
    pub outbound: &'a Outbound,
    pub timeout: Duration,
    pub allow_plain: bool,
}

/// Whom the directory vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The entry's stable id (`entryUUID`/`objectGUID`), else its DN.
    pub subject: String,
    pub email: String,
    pub name: Option<String>,
}

/// Why a directory did not sign someone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No entry (or more than one) matches the email and the group filter.
    NoEntry,
    /// The entry's bind with the password failed (wrong, expired, locked).
    BadPassword,
    /// The entry's email attribute is not the email signed in with.
    OtherEmail,
    /// The directory did not answer in time, or could not be reached.
    Unreachable,
}

impl Directory {
    /// The directory these settings describe, each checked: an `ldap://` or `ldaps://` URL with
    /// a host (StartTLS or ldaps unless `allow_plain`), DNs and filters without control
    /// characters, a user filter that holds [`EMAIL_PLACEHOLDER`] and parses once filled, an
    /// optional group filter that parses, and a CA certificate that is one.
    pub fn checked(self, allow_plain: bool) -> ApiResult<Self> {
        self.check_text()?;
        if !matches!(self.url.scheme(), "ldap" | "ldaps") || self.url.host_str().is_none() {
            return Err(ApiError::invalid(
                "url",
                "must be an ldap:// or ldaps:// URL with a host",
            ));
        }
        if self.url.scheme() == "ldap" && !self.start_tls && !allow_plain {
            return Err(ApiError::invalid(
                "url",
                "must be ldaps:// or use StartTLS (plain ldap:// is for loopback development, \
                 under ldap_allow_plain)",
            ));
        }
        if !self.user_filter.contains(EMAIL_PLACEHOLDER) {
            return Err(ApiError::invalid(
                "userFilter",
                format!("must hold {EMAIL_PLACEHOLDER}, where the email goes"),
            ));
        }
        if let Some(group) = &self.group_filter {
            ldap3::parse_filter(group)
                .map_err(|_| ApiError::invalid("groupFilter", "is not an LDAP filter"))?;
        }
        ldap3::parse_filter(self.filter_for("someone@example.com"))
            .map_err(|_| ApiError::invalid("userFilter", "is not an LDAP filter"))?;
        Ok(self)
    }

    /// Every setting is one line of bounded length, and the required ones are there.
    fn check_text(&self) -> ApiResult<()> {
        text::check("url", TextKind::Line, self.url.as_str(), MAX_SETTING)?;
        let required = [
            ("bindDn", &self.bind_dn),
            ("bindPassword", &self.bind_password),
            ("baseDn", &self.base_dn),
            ("userFilter", &self.user_filter),
            ("emailAttribute", &self.email_attribute),
        ];
        for (field, value) in required {
            text::check(field, TextKind::Line, value, MAX_SETTING)?;
            if value.trim().is_empty() {
                return Err(ApiError::invalid(field, "is required"));
            }
        }
        if let Some(group) = &self.group_filter {
            text::check("groupFilter", TextKind::Line, group, MAX_SETTING)?;
        }
        Ok(())
    }

    /// The search for the entry of `email`: the user filter with the email escaped (RFC 4515),
    /// and the group filter beside it.
    pub fn filter_for(&self, email: &str) -> String {
        let user = self
            .user_filter
            .replace(EMAIL_PLACEHOLDER, &ldap_escape(email));
        match &self.group_filter {
            Some(group) => format!("(&{user}{group})"),
            None => user,
        }
    }

    /// Binds with the service account and reads the search base: `Ok` when both work; else
    /// INVALID_INPUT saying which did not (never the directory's own words).
    pub async fn check(&self, reach: &Reach<'_>) -> ApiResult<()> {
        let work = async {
            let mut ldap = self.connect(reach).await.map_err(|()| {
                ApiError::invalid(
                    "url",
                    "could not be reached (or its TLS certificate is not trusted)",
                )
            })?;
            let bound = ldap.simple_bind(&self.bind_dn, &self.bind_password).await;
            if !bound.is_ok_and(|result| result.rc == 0) {
                return Err(ApiError::invalid(
                    "bindDn",
                    "the directory refused the service bind",
                ));
            }
            let base = ldap
                .search(&self.base_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
                .await;
            let _ = ldap.unbind().await;
            match base.map(|result| result.success()) {
                Ok(Ok((entries, _))) if entries.len() == 1 => Ok(()),
                _ => Err(ApiError::invalid(
                    "baseDn",
                    "does not name an entry of the directory",
                )),
            }
        };
        tokio::time::timeout(reach.timeout, work)
            .await
            .unwrap_or_else(|_| Err(ApiError::invalid("url", "did not answer in time")))
    }

    /// Signs `email` in with `password`: the service bind finds its one entry (matching the
    /// group filter too), then a bind as that entry checks the password. Never an empty
    /// password, which LDAP would take as an unauthenticated bind. A span of its own: LDAP
    /// carries no trace context, so the trace shows the directory's time under the request.
    #[tracing::instrument(name = "directory.sign_in", skip_all, fields(otel.kind = "client"))]
    pub async fn sign_in(
        &self,
        reach: &Reach<'_>,
        email: &str,
        password: &str,
    ) -> Result<Person, Refused> {
        if password.is_empty() {
            return Err(Refused::BadPassword);
        }
        tokio::time::timeout(reach.timeout, self.bind_as(reach, email, password))
            .await
            .unwrap_or(Err(Refused::Unreachable))
    }

    async fn bind_as(
        &self,
        reach: &Reach<'_>,
        email: &str,
        password: &str,
    ) -> Result<Person, Refused> {
        let mut ldap = self
            .connect(reach)
            .await
            .map_err(|()| Refused::Unreachable)?;
        let service = ldap.simple_bind(&self.bind_dn, &self.bind_password).await;
        if !service.is_ok_and(|result| result.rc == 0) {
            tracing::warn!(url = %self.url, "a directory refused its service bind");
            return Err(Refused::Unreachable);
        }
        let mut wanted: Vec<&str> = vec![self.email_attribute.as_str()];
        wanted.extend(NAME_ATTRIBUTES);
        wanted.extend(ID_ATTRIBUTES);
        let found = ldap
            .search(
                &self.base_dn,
                Scope::Subtree,
                &self.filter_for(email),
                wanted,
            )
            .await
            .map_err(|_| Refused::Unreachable)?
            .success()
            .map_err(|_| Refused::NoEntry)?;
        let [entry] = found.0.as_slice() else {
            return Err(Refused::NoEntry);
        };
        let entry = SearchEntry::construct(entry.clone());
        let person = self.person(&entry, email)?;
        let bound = ldap.simple_bind(&entry.dn, password).await;
        let _ = ldap.unbind().await;
        match bound {
            Ok(result) if result.rc == 0 => Ok(person),
            Ok(_) => Err(Refused::BadPassword),
            Err(_) => Err(Refused::Unreachable),
        }
    }

    /// The person `entry` describes, when its email attribute holds `email`.
    fn person(&self, entry: &SearchEntry, email: &str) -> Result<Person, Refused> {
        let first = |name: &str| {
            entry
                .attrs
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, values)| values.first().cloned())
        };
        let stated = first(&self.email_attribute).ok_or(Refused::OtherEmail)?;
        if !stated.eq_ignore_ascii_case(email) {
            return Err(Refused::OtherEmail);
        }
        let binary_id = entry
            .bin_attrs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("objectGUID"))
            .and_then(|(_, values)| values.first())
            .map(|bytes| {
                bytes
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect::<String>()
            });
        let subject = first("entryUUID")
            .or(binary_id)
            .unwrap_or_else(|| entry.dn.clone());
        Ok(Person {
            subject,
            email: stated,
            name: NAME_ATTRIBUTES.iter().find_map(|name| first(name)),
        })
    }

    /// A connection to the directory: TCP to an address the outbound guard allows, then TLS
    /// (ldaps or StartTLS) verified against the directory's CA or the public roots.
    async fn connect(&self, reach: &Reach<'_>) -> Result<ldap3::Ldap, ()> {
        let host = self.url.host_str().ok_or(())?;
        let port = self.url.port().unwrap_or(if self.url.scheme() == "ldaps" {
            636
        } else {
            389
        });
        let tls = self.url.scheme() == "ldaps" || self.start_tls;
        if !tls && !reach.allow_plain {
            return Err(());
        }
        let stream = reach
            .outbound
            .connect_tcp(host, port, reach.timeout)
            .await
            .map_err(|_| ())?;
        // In clear only to this machine: a password never crosses a network unencrypted.
        let loopback = stream.peer_addr().is_ok_and(|peer| peer.ip().is_loopback());
        if !tls && !loopback {
            tracing::warn!(url = %self.url, "plain ldap:// refused to an address off this machine");
            return Err(());
        }
        let stream = stream.into_std().map_err(|_| ())?;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(reach.timeout)
            .set_starttls(self.start_tls && self.url.scheme() == "ldap")
            .set_std_stream(StdStream::Tcp(stream));
        if tls {
            settings = settings.set_config(self.tls_config()?);
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, self.url.as_str())
            .await
            .map_err(|err| tracing::debug!(url = %self.url, error = %err, "a directory connection failed"))?;
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        Ok(ldap)
    }

    /// rustls trusting the directory's CA when one is given, else the public roots.
    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, ()> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_certificate {
            Some(ca) => roots
                .add(rustls::pki_types::CertificateDer::from(ca.der().to_vec()))
                .map_err(|_| ())?,
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| ())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        Directory {
            url: url::Url::parse("ldaps://ldap.example.com").unwrap(),
            start_tls: false,
            bind_dn: "cn=charter,dc=example,dc=com".to_owned(),
            bind_password: "secret".to_owned(),
            base_dn: "ou=people,dc=example,dc=com".to_owned(),
            user_filter: "(mail={email})".to_owned(),
            email_attribute: "mail".to_owned(),
            group_filter: None,
            ca_certificate: None,
        }
    }

    #[test]
    fn an_email_never_widens_the_filter() {
        let directory = directory();
        assert_eq!(
            directory.filter_for("*)(uid=*))(|(uid=*"),
            "(mail=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)"
        );
        assert_eq!(directory.filter_for("a\0b@x"), "(mail=a\\00b@x)");
        let grouped = Directory {
            group_filter: Some("(memberOf=cn=charter,ou=groups,dc=example,dc=com)".to_owned()),
            ..directory
        };
        assert_eq!(
            grouped.filter_for("a@example.com"),
            "(&(mail=a@example.com)(memberOf=cn=charter,ou=groups,dc=example,dc=com))"
        );
    }

    fn refused(directory: Directory, field: &str) {
        let err = directory.checked(false).unwrap_err();
        assert!(err.message.starts_with(field), "{}", err.message);
    }

    #[test]
    fn filters_must_hold_the_email_and_parse() {
        assert!(directory().checked(false).is_ok());
        for filter in ["(mail=x)", "(mail={email}"] {
            let user_filter = filter.to_owned();
            refused(
                Directory {
                    user_filter,
                    ..directory()
                },
                "userFilter",
            );
        }
        let group_filter = Some("memberOf=x)".to_owned());
        refused(
            Directory {
                group_filter,
                ..directory()
            },
            "groupFilter",
        );
    }

    #[test]
    fn urls_need_tls_and_names_need_text() {
        let url = |text: &str| url::Url::parse(text).unwrap();
        refused(
            Directory {
                url: url("ldap://ldap.example.com"),
                ..directory()
            },
            "url",
        );
        refused(
            Directory {
                url: url("https://ldap.example.com"),
                ..directory()
            },
            "url",
        );
        refused(
            Directory {
                bind_dn: "cn=a\0b".to_owned(),
                ..directory()
            },
            "bindDn",
        );
        refused(
            Directory {
                base_dn: " ".to_owned(),
                ..directory()
            },
            "baseDn",
        );
        let plain = Directory {
            url: url("ldap://127.0.0.1:389"),
            ..directory()
        };
        assert!(plain.checked(true).is_ok());
        let start_tls = Directory {
            url: url("ldap://ldap.example.com"),
            start_tls: true,
            ..directory()
        };
        assert!(start_tls.checked(false).is_ok());
    }
}
